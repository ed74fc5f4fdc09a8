"""Writes the feasibility report as one self-contained HTML page: CSS, the font and the charts inline.

Nothing is fetched when the page opens (its Content-Security-Policy forbids it): the charts are
inline SVG, the font is DejaVu Sans (the one matplotlib ships), cut down to a fixed repertoire
and any other character the page uses, and embedded as a data URL, and the protected result
rides along as JSON. The repertoire's cut, matplotlib and the template are prepared ahead
(`prepare`), in a thread while the database counts.
"""

from __future__ import annotations

import base64
import io
import json
from functools import lru_cache
from pathlib import Path

import jinja2

from cohortql.report import charts
from cohortql.report.feasibility import Report

# Regular and bold; the browser slants the regular face for italics.
_FACES = (("DejaVuSans.ttf", "normal"), ("DejaVuSans-Bold.ttf", "bold"))


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    folder = Path(__file__).resolve().parent / "templates"
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(folder)), autoescape=True, undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )


# Every character the page is likely to use (ASCII, Latin-1, the punctuation and marks of the
# messages in both languages), so that the font can be cut before the page exists (`prepare`).
_REPERTOIRE = frozenset(
    [chr(c) for c in range(0x20, 0x7F)] + [chr(c) for c in range(0xA0, 0x180)]
    + list("\u2009\u202f\u2013\u2014\u2018\u2019\u201c\u201d\u2026\u2022\u2212\u2248\u2264\u2265")
    + list("\u00b7\u2192\u03bb\u03b1\u03b2\u03c4")
)


@lru_cache(maxsize=4)
def _font_css_for(characters: frozenset[str]) -> str:
    import matplotlib
    from fontTools import subset, ttLib

    folder = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    rules = []
    for filename, weight in _FACES:
        options = subset.Options()
        options.drop_tables += ["FFTM"]
        options.hinting = False
        options.layout_features = ["kern", "liga"]
        font = ttLib.TTFont(str(folder / filename), lazy=True)  # reads only the tables the subset needs
        cutter = subset.Subsetter(options)
        cutter.populate(unicodes=sorted(ord(c) for c in characters))
        cutter.subset(font)
        buffer = io.BytesIO()
        font.save(buffer)
        data = base64.b64encode(buffer.getvalue()).decode("ascii")
        rules.append(f'@font-face {{ font-family: "DejaVu Sans"; font-weight: {weight}; '
                     f'src: url(data:font/ttf;base64,{data}) format("truetype"); }}')
    return "\n".join(rules)


def _font_css(text: str) -> str:
    """@font-face rules for the page's font, subset to the repertoire and any other character of `text`
    (a few tens of kB)."""
    characters = {c for c in text if c >= " "}  # control characters (line breaks) have no glyph
    return _font_css_for(_REPERTOIRE if characters <= _REPERTOIRE else _REPERTOIRE | frozenset(characters))


def prepare() -> None:
    """What writing any page needs, done ahead (while the query runs, `document.prepare_report`):
    matplotlib with its fonts loaded, the font cut to the repertoire, the template compiled."""
    charts.prepare()
    _font_css_for(_REPERTOIRE)
    _environment().get_template("feasibility.html.j2")


def _charts(report: Report) -> dict:
    return {
        "attrition": charts.attrition_chart(report),
        "place": charts.place_chart(report) if report.by_place else None,
        "sex_age": charts.sex_age_chart(report),
        "series": charts.series_chart(report),
        "forecast": charts.forecast_chart(report),
    }


def render_html(report: Report) -> str:
    template = _environment().get_template("feasibility.html.j2")
    # `<` escaped so that no text in the result can close the script element
    embedded = json.dumps(report.result_json, ensure_ascii=False, default=str).replace("<", "\\u003c")
    context = {"r": report, "charts": _charts(report), "result_json": embedded}
    draft = template.render(font_css="", **context)
    return template.render(font_css=_font_css(draft), **context)
