"""The feasibility report's content: every section, as words and protected numbers, in one language.

It reads only a `ProtectedResult` (and what the release plan says about its grain), so every
number it shows is a released one; a suppressed count keeps its mark (`<10`, `>=10`) and is never
turned into a zero. Each shown count carries the JSON pointer of the same number in the embedded
protected result, so a reader (and the tests) can check the page against the JSON.
"""

from __future__ import annotations

import datetime
import math
from dataclasses import dataclass, field

from cohortql.protect.result import Cell, ProtectedResult, ProtectedTable
from cohortql.protect.series import AGE_BAND, BEFORE, Layout
from cohortql.report.forecast import DEFAULT_ENROL_FRACTION, Forecast, Unit, forecast
from cohortql.report.i18n import Language
from cohortql.version import __version__

_AGE_WIDTH = {"age5": 5, "age10": 10}


@dataclass(frozen=True)
class Count:
    """A released count as the page shows it: its number (None when suppressed), its text, its pointer."""

    value: int | None
    text: str
    pointer: str

    @property
    def suppressed(self) -> bool:
        return self.value is None


@dataclass
class Report:
    lang: Language
    title: str
    metadata: dict
    source: dict
    summary: str
    definition: str
    attrition: list[dict]
    by_place: dict | None
    by_sex_age: dict
    series: dict
    forecast: Forecast | None
    forecast_text: list[str]
    provenance: list[tuple[str, str]]
    result_json: dict
    threshold: int
    notes: list[str] = field(default_factory=list)


def _count(cell: Cell, pointer: str, lang: Language) -> Count:
    if cell.value is None:
        return Count(None, cell.display.replace(">=", "≥"), pointer)
    return Count(cell.value, lang.number(cell.value), pointer)


class _Table:
    """A protected table's cells by coordinates, each with the pointer of its number in the JSON."""

    def __init__(self, table: ProtectedTable, index: int):
        self.strata = table.strata
        self._cells: dict[tuple, tuple[Cell, str]] = {}
        counters = {"cells": 0, "margins": 0}
        for cell in table.cells:
            kind = "margins" if cell.margin else "cells"
            self._cells[cell.coords] = (cell.count, f"/breakdowns/{index}/{kind}/{counters[kind]}/value")
            counters[kind] += 1
        self.coords = list(self._cells)

    def get(self, coords: tuple, lang: Language) -> Count:
        cell, pointer = self._cells[coords]
        return _count(cell, pointer, lang)


def _label(lang: Language, stratum: str, value) -> str:
    if value is None:
        return lang("unknown")
    if stratum in _AGE_WIDTH:
        return lang("age_band", low=value, high=value + _AGE_WIDTH[stratum] - 1)
    if stratum == "sex":
        return lang(value)
    if stratum in ("month", "quarter"):
        return lang.period(value) if value != BEFORE else value
    return str(value)


def _attrition(result: ProtectedResult, lang: Language) -> list[dict]:
    rows = []
    for i, step in enumerate(result.attrition):
        rows.append({
            "label": lang("entry_step") if step.kind == "entry" else step.rule,
            "kind": lang(f"kind_{step.kind}"),
            "persons": _count(step.persons, f"/attrition/{i}/value", lang),
            "gain": _count(step.gain, f"/attrition/{i}/gain/value", lang) if step.gain else None,
        })
    return rows


def _by_place(table: _Table, place: str, lang: Language) -> dict:
    rows = []
    for coords in table.coords:
        (coord,) = coords
        if coord is None:
            rows.append({"label": lang("total"), "level": "total", "count": table.get(coords, lang)})
        elif coord[0] != place:  # a site group's subtotal within a table by site
            label = lang("group_total", group=_label(lang, "site_group", coord[1]))
            rows.append({"label": label, "level": "group", "count": table.get(coords, lang)})
        else:
            rows.append({"label": _label(lang, place, coord[1]), "level": "value", "count": table.get(coords, lang)})
    return {"title": lang(f"by_{place}"), "header": lang(place), "rows": rows}


def _by_sex_age(table: _Table, lang: Language) -> dict:
    sexes, bands = [], []
    for first, second in table.coords:
        for found, seen in ((first, sexes), (second, bands)):
            key = found[1] if found else "total"
            if key not in seen:
                seen.append(key)
    columns = [s for s in sexes if s != "total"] + ["total"]
    rows = []
    for band in bands:
        band_coord = ("age10", band) if band != "total" else None
        cells = [table.get((("sex", s) if s != "total" else None, band_coord), lang) for s in columns]
        rows.append({"label": lang("total") if band == "total" else _label(lang, AGE_BAND, band), "cells": cells})
    headers = [lang("total") if s == "total" else _label(lang, "sex", s) for s in columns]
    return {"headers": headers, "rows": rows, "sexes": [s for s in columns if s != "total"]}


def _series(table: _Table, layout: Layout, lang: Language) -> dict:
    grain = layout.grain
    period_name = grain.period
    periods = [*layout.window.periods(period_name)]
    places: list = [None]
    if grain.place:
        places = []
        for coords in table.coords:
            coord = coords[0]
            if coord is not None and coord[0] == grain.place and coord[1] not in places:
                places.append(coord[1])

    def place_coord(place):
        return (grain.place, place)

    rows = []
    for place in places:
        if grain.place:
            cells = [table.get((place_coord(place), (period_name, p)), lang) for p in periods]
            before = table.get((place_coord(place), (period_name, BEFORE)), lang)
            total = table.get((place_coord(place), None), lang)
            label = _label(lang, grain.place, place)
        else:
            cells = [table.get(((period_name, p),), lang) for p in periods]
            before = table.get(((period_name, BEFORE),), lang)
            total = table.get((None,), lang)
            label = lang("place_none")
        rows.append({"label": label, "name": label, "cells": cells, "before": before, "total": total})
    if grain.place:
        overall = {"total": table.get((None, None), lang), "before": table.get((None, (period_name, BEFORE)), lang),
                   "cells": [table.get((None, (period_name, p)), lang) for p in periods]}
    else:
        overall = rows[0]
    place_word = lang(f"place_{grain.place}" if grain.place else "place_none")
    wording = "series_coarsened" if layout.finer_grains_refused else "series_grain"
    months = layout.window.months
    return {
        "periods": periods,
        "period_labels": [lang.period(p) for p in periods],
        "rows": rows,
        "overall": overall,
        "grain_text": lang(wording, place=place_word, period=lang(f"period_{period_name}")),
        "note": lang("series_note", first=lang.period(months[0]), last=lang.period(months[-1])) if months else "",
        "before_label": lang("before", first=lang.period(months[0])) if months else BEFORE,
        "coarsened": bool(layout.finer_grains_refused),
        "place_header": lang(grain.place) if grain.place else lang("unit"),
        "period_header": lang("period"),
        "months": len(months),
    }


def _window_count(total: Count, before: Count) -> int | None:
    """Newly eligible inside the window: the row's total less its entries before the window."""
    if total.value is None or before.value is None:
        return None
    return max(0, total.value - before.value)


def _forecast(series: dict, fraction: float, target: int | None):
    units = [Unit(row["name"], _window_count(row["total"], row["before"])) for row in series["rows"]]
    overall = _window_count(series["overall"]["total"], series["overall"]["before"])
    known = sum(u.count for u in units if u.count is not None)
    pooled = overall - known if overall is not None and any(u.count is None for u in units) else None
    if pooled is not None and pooled < 0:  # rounded margins can disagree by a little
        pooled = 0
    return forecast(units, series["months"], pooled, fraction, target), [u.name for u in units if u.count is None]


def _months(lang: Language, value: float) -> str:
    return lang.number(value, 1) if math.isfinite(value) else "∞"


def _forecast_text(result: Forecast | None, pooled: list[str], lang: Language) -> list[str]:
    if result is None:
        return [lang("forecast_none")]
    lines = [lang("forecast_note", fraction=lang.percent(result.enrol_fraction)),
             lang("forecast_expected", rate=lang.number(result.monthly_enrolment, 1))]
    timing = result.time_to_target
    if timing:
        if math.isfinite(timing[0.95][1]) and timing[0.95][1] <= 120:
            lines.append(lang(
                "forecast_target", target=lang.number(result.target), median=_months(lang, timing["median"]),
                lo80=_months(lang, timing[0.8][0]), hi80=_months(lang, timing[0.8][1]),
                lo95=_months(lang, timing[0.95][0]), hi95=_months(lang, timing[0.95][1])))
        else:
            lines.append(lang("forecast_unreached", target=lang.number(result.target)))
    if pooled:
        lines.append(lang("pooled_units", names=", ".join(pooled)))
    return lines


def _provenance(result: ProtectedResult, lang: Language, stamp: dict | None, generated: datetime.date) -> list:
    policy = result.policy
    policy_text = lang("policy_text", low=policy.lowest_small, high=policy.threshold - 1, mark=policy.suppressed_text)
    if policy.rounding_base:
        policy_text += "; " + lang("policy_rounding", base=policy.rounding_base)
    rows = [
        (lang("fingerprint"), result.fingerprint),
        (lang("policy"), policy_text),
        (lang("version"), __version__),
        (lang("generated"), lang.date(generated)),
    ]
    if stamp:
        rows.append((lang("approval"), lang(
            "approval_stamp", request=stamp["request"], approved_by=stamp["approved_by"],
            approved_at=stamp["approved_at"], released_by=stamp["released_by"], released_at=stamp["released_at"],
            seq=stamp["audit_record"]["seq"])))
    else:
        rows.append((lang("approval"), lang("not_approved")))
    return rows


def build_report(
    result: ProtectedResult,
    layout: Layout,
    *,
    metadata: dict,
    definition: str,
    cdm_source: tuple | None,
    answered_by: str,
    lang: str = "en",
    enrol_fraction: float = DEFAULT_ENROL_FRACTION,
    target: int | None = None,
    stamp: dict | None = None,
    generated: datetime.date | None = None,
) -> Report:
    """Every section of the report from one protected release."""
    if not isinstance(result, ProtectedResult):
        raise TypeError(f"the report layer only takes a ProtectedResult, not {type(result).__name__}")
    words = Language(lang)
    tables = [_Table(table, i) for i, table in enumerate(result.breakdowns)]
    by_place = _by_place(tables[0], layout.place, words) if layout.place else None
    by_sex_age = _by_sex_age(tables[-2], words)
    series = _series(tables[-1], layout, words)
    predicted, pooled = _forecast(series, enrol_fraction, target)
    final = _count(result.final, "/final/value", words)
    if not final.suppressed:
        summary = words("summary", final=final.text)
    elif result.final.display == result.policy.suppressed_text:
        summary = words("summary_small", k=words.number(result.policy.threshold))
    else:  # hidden so that no small count can be computed from it
        summary = words("summary_hidden", k=words.number(result.policy.threshold))
    name, holder, source_date, cdm_date = cdm_source or (None, None, None, None)
    source = {"name": name or words("not_given"), "holder": holder, "date": words.date(cdm_date or source_date),
              "answered_by": answered_by}
    sponsor = (stamp or {}).get("sponsor") or metadata.get("sponsor")
    return Report(
        lang=words,
        title=result.title or metadata.get("title") or words("document"),
        metadata={"protocol": metadata.get("protocol") or words("not_given"), "sponsor": sponsor or words("not_given")},
        source=source,
        summary=summary,
        definition=definition,
        attrition=_attrition(result, words),
        by_place=by_place,
        by_sex_age=by_sex_age,
        series=series,
        forecast=predicted,
        forecast_text=_forecast_text(predicted, pooled, words),
        provenance=_provenance(result, words, stamp, generated or datetime.date.today()),
        result_json=result.to_dict(),
        threshold=result.policy.threshold,
    )
