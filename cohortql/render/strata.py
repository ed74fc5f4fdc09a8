"""Which strata the one-pass query aggregates for a breakdown request (render decides its GROUP BY).

A table by site is released with every site group's subtotal (cohortql.protect.strata), so asking
for either site level aggregates by both.
"""

from __future__ import annotations

from cohortql.omop import BREAKDOWNS

SITE_STRATA = ("site", "site_group")


def strata_for(dimensions: tuple[str, ...]) -> tuple[str, ...]:
    """The strata the query must aggregate by: the dimensions, plus both site levels if either is asked."""
    unknown = [d for d in dimensions if d not in BREAKDOWNS]
    if unknown:
        raise ValueError(f"unknown breakdown {unknown[0]!r}; choose from {', '.join(BREAKDOWNS)}")
    strata = list(dict.fromkeys(dimensions))
    if any(d in SITE_STRATA for d in strata):
        strata += [s for s in SITE_STRATA if s not in strata]
    return tuple(strata)
