"""The report's charts, drawn by matplotlib as inline SVG, from protected counts only.

A suppressed count is drawn as a hatched bar up to the threshold with its mark (`<10`, `≥10`)
beside it, never as a zero and never at a height that says more than the mark. Value axes carry
no tick labels: every number on a chart is a released count written next to its bar (with the
`count` id, so tests can find them). Text stays text in the SVG, in the font the page embeds.
"""

from __future__ import annotations

import io
import re

from cohortql.report.feasibility import Count, Report

INK, ACCENT, PALE, GROUP = "#1f2937", "#2563eb", "#bfdbfe", "#1e3a8a"
FEMALE, MALE = "#c2410c", "#0f766e"
SUPPRESSED = "#9ca3af"
FONT = "DejaVu Sans"
_WIDTH = 7.0  # inches: fits an A4 page's text width at 96 dpi


def _pyplot():
    import matplotlib

    matplotlib.use("svg")
    matplotlib.rcParams.update({
        "svg.fonttype": "none", "svg.hashsalt": "cohortql", "font.family": FONT, "font.size": 8,
        "axes.edgecolor": INK, "axes.labelcolor": INK, "xtick.color": INK, "ytick.color": INK,
        "axes.spines.top": False, "axes.spines.right": False,
    })
    import matplotlib.pyplot as plt

    return plt


def prepare() -> None:
    """matplotlib imported, its font found and loaded: one small figure drawn (`html.prepare`)."""
    plt = _pyplot()
    figure, ax = plt.subplots(figsize=(1, 1))
    ax.text(0, 0, "0")
    _svg(figure, plt)


def _margins(figure, labels: list[str], bottom: float = 0.3, top: float = 0.1) -> None:
    """Room for the longest label at the left and `bottom`/`top` inches, without a tight-bbox pass
    (which draws every chart twice): a character of the 8 pt font is about 0.075 inch wide."""
    width, height = figure.get_size_inches()
    left = 0.15 + 0.075 * max((len(label) for label in labels), default=0)
    figure.subplots_adjust(left=min(0.5, left / width), right=0.97, bottom=bottom / height, top=1 - top / height)


def _svg(figure, plt) -> str:
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    plt.close(figure)
    text = buffer.getvalue()
    text = text[text.index("<svg"):]  # drop the XML prologue and DOCTYPE: the SVG sits inside HTML
    text = re.sub(r"\s*<metadata>.*?</metadata>", "", text, count=1, flags=re.S)
    return re.sub(r'<svg ([^>]*?)width="[^"]*" height="[^"]*"', r'<svg \1', text, count=1)


def _bar_length(count: Count, threshold: int) -> float:
    return float(threshold if count.suppressed else count.value)


def _label(ax, x: float, y: float, count: Count, horizontal: bool, **style) -> None:
    text = ax.text(x, y, " " + count.text if horizontal else count.text, va="center" if horizontal else "bottom",
                   ha="left" if horizontal else "center", color=SUPPRESSED if count.suppressed else INK, **style)
    text.set_gid(f"count{count.pointer.replace('/', '-')}")


def _row_labels(ax, positions: list[float], labels: list[str]) -> None:
    """Row labels left of the axes as plain text: one Text each, where a tick would build a line
    and two texts per row (most of a chart's drawing time)."""
    ax.set_yticks([])
    for y, label in zip(positions, labels, strict=True):
        ax.text(-0.006, y, label, transform=ax.get_yaxis_transform(), ha="right", va="center", color=INK)


def _hbars(labels: list[str], counts: list[Count], colors: list[str], threshold: int) -> str:
    plt = _pyplot()
    figure, ax = plt.subplots(figsize=(_WIDTH, 0.28 * len(labels) + 0.6))
    positions = list(range(len(labels)))[::-1]
    lengths = [_bar_length(c, threshold) for c in counts]
    for suppressed in (False, True):  # one call per kind: a bar each is many artists to add
        chosen = [i for i, count in enumerate(counts) if count.suppressed is suppressed]
        if not chosen:
            continue
        style = {"color": "white", "edgecolor": SUPPRESSED, "hatch": "////", "linewidth": 0.8} if suppressed \
            else {"color": [colors[i] for i in chosen]}
        ax.barh([positions[i] for i in chosen], [lengths[i] for i in chosen], **style)
    for y, length, count in zip(positions, lengths, counts, strict=True):
        _label(ax, length, y, count, True)
    _row_labels(ax, positions, labels)
    _margins(figure, labels, bottom=0.1)
    ax.set_xticks([])
    ax.spines["bottom"].set_visible(False)
    ax.set_xlim(0, max(lengths + [threshold]) * 1.18)
    ax.set_ylim(-0.6, len(labels) - 0.4)
    return _svg(figure, plt)


def attrition_chart(report: Report) -> str:
    rows = report.attrition
    labels = [row["label"] for row in rows]
    counts = [row["persons"] for row in rows]
    return _hbars(labels, counts, [ACCENT] * len(rows), report.threshold)


def place_chart(report: Report) -> str:
    rows = [row for row in report.by_place["rows"] if row["level"] != "total"]
    colors = [GROUP if row["level"] == "group" else ACCENT for row in rows]
    return _hbars([row["label"] for row in rows], [row["count"] for row in rows], colors, report.threshold)


def sex_age_chart(report: Report) -> str:
    plt = _pyplot()
    from matplotlib.patches import Patch

    table = report.by_sex_age
    bands = [row for row in table["rows"] if row["label"] != report.lang("total")]
    sexes = table["sexes"]
    figure, ax = plt.subplots(figsize=(_WIDTH, 2.4))
    width = 0.8 / max(1, len(sexes))
    colors = {"female": FEMALE, "male": MALE}
    top = report.threshold
    for j, sex in enumerate(sexes):
        for i, row in enumerate(bands):
            count = row["cells"][j]
            x = i + (j - (len(sexes) - 1) / 2) * width
            height = _bar_length(count, report.threshold)
            top = max(top, height)
            if count.suppressed:
                ax.bar(x, height, width * 0.95, color="white", edgecolor=SUPPRESSED, hatch="////", linewidth=0.8)
            else:
                ax.bar(x, height, width * 0.95, color=colors.get(sex, ACCENT))
            _label(ax, x, height, count, False, fontsize=6.5)
    ax.set_xticks(range(len(bands)), [row["label"] for row in bands])
    ax.set_yticks([])
    ax.spines["left"].set_visible(False)
    ax.set_ylim(0, top * 1.2)
    ax.set_xlabel(report.lang("age"))
    _margins(figure, [], bottom=0.45)
    legend = [Patch(color=colors.get(sex, ACCENT), label=table["headers"][j]) for j, sex in enumerate(sexes)]
    ax.legend(handles=legend, frameon=False, loc="upper left")
    return _svg(figure, plt)


def series_chart(report: Report) -> str:
    """One row per place, one column per period: released counts written in cells, suppressed hatched."""
    plt = _pyplot()
    from matplotlib.collections import PatchCollection
    from matplotlib.colors import to_rgba
    from matplotlib.patches import Rectangle

    series = report.series
    rows, periods = series["rows"], series["period_labels"]
    figure, ax = plt.subplots(figsize=(_WIDTH, 0.3 * len(rows) + 1.0))
    shown = [c.value for row in rows for c in row["cells"] if not c.suppressed]
    peak = max(shown + [1])
    cells, shades, hidden = [], [], []  # two collections, not a patch per cell (each is re-measured)
    for r, row in enumerate(rows):
        y = len(rows) - 1 - r
        for p, count in enumerate(row["cells"]):
            if count.suppressed:
                hidden.append(Rectangle((p, y), 1, 1))
            else:
                cells.append(Rectangle((p, y), 1, 1))
                shades.append(to_rgba(ACCENT, 0.12 + 0.88 * count.value / peak))
    ax.add_collection(PatchCollection(cells, facecolors=shades, edgecolors="white", linewidths=0.4),
                      autolim=False)
    ax.add_collection(PatchCollection(hidden, facecolors="white", edgecolors=SUPPRESSED, hatch="////",
                                      linewidths=0.4), autolim=False)
    for r, row in enumerate(rows):
        y = len(rows) - 1 - r
        for p, count in enumerate(row["cells"]):
            size = 5.5 if len(periods) <= 16 else 4.2
            text = ax.text(p + 0.5, y + 0.5, count.text, ha="center", va="center", fontsize=size,
                           color="white" if not count.suppressed and count.value > peak * 0.55 else INK)
            text.set_gid(f"count{count.pointer.replace('/', '-')}")
    ax.set_xlim(0, len(periods))
    ax.set_ylim(0, len(rows))
    step = 1 if len(periods) <= 16 else 3
    ax.set_xticks([p + 0.5 for p in range(0, len(periods), step)], periods[::step], rotation=60, ha="right")
    _row_labels(ax, [len(rows) - 1 - r + 0.5 for r in range(len(rows))], [row["label"] for row in rows])
    _margins(figure, [row["label"] for row in rows], bottom=0.75, top=0.05)
    ax.tick_params(length=0)
    for spine in ax.spines.values():
        spine.set_visible(False)
    return _svg(figure, plt)


def forecast_chart(report: Report) -> str | None:
    """The expected enrolment curve with its 80% and 95% bands (model outputs, not counts)."""
    result = report.forecast
    if result is None:
        return None
    plt = _pyplot()
    lang = report.lang
    figure, ax = plt.subplots(figsize=(_WIDTH, 2.6))
    months = result.horizon
    ax.fill_between(months, *result.bands[0.95], step="mid", color=PALE, alpha=0.6, label=lang("band_95"))
    ax.fill_between(months, *result.bands[0.8], step="mid", color=PALE, label=lang("band_80"))
    ax.plot(months, result.expected, color=ACCENT, linewidth=1.6, label=lang("expected_curve"))
    if result.target:
        ax.axhline(result.target, color=INK, linestyle="--", linewidth=0.8, label=lang("target_line"))
    ax.set_xlim(0, months[-1])
    ax.set_ylim(0, None)
    ax.set_xlabel(lang("months_from_start"))
    ax.set_ylabel(lang("enrolled"))
    _margins(figure, ["    0000"], bottom=0.45)
    ax.yaxis.set_major_formatter(lambda value, _pos: lang.number(value))
    ax.legend(frameon=False, loc="upper left")
    return _svg(figure, plt)
