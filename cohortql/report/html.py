"""Writes the feasibility report as one self-contained HTML page: CSS, the font and the charts inline.

Nothing is fetched when the page opens (its Content-Security-Policy forbids it): the charts are
inline SVG, the font is DejaVu Sans (the one matplotlib ships), cut down to the characters the
page uses and embedded as a data URL, and the protected result rides along as JSON.
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


def _font_css(text: str) -> str:
    """@font-face rules for the page's font, subset to `text`'s characters (a few tens of kB)."""
    import matplotlib
    from fontTools import subset, ttLib

    folder = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    characters = set(text) | {chr(c) for c in range(0x20, 0x7F)}
    rules = []
    for filename, weight in _FACES:
        options = subset.Options()
        options.drop_tables += ["FFTM"]
        options.hinting = False
        options.layout_features = ["kern", "liga"]
        font = ttLib.TTFont(str(folder / filename), lazy=True)  # reads only the tables the subset needs
        cutter = subset.Subsetter(options)
        cutter.populate(unicodes=[ord(c) for c in characters])
        cutter.subset(font)
        buffer = io.BytesIO()
        font.save(buffer)
        data = base64.b64encode(buffer.getvalue()).decode("ascii")
        rules.append(f'@font-face {{ font-family: "DejaVu Sans"; font-weight: {weight}; '
                     f'src: url(data:font/ttf;base64,{data}) format("truetype"); }}')
    return "\n".join(rules)


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
