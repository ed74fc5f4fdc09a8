"""Which breakdown dimensions a count may ask for: one rule for the definition's `breakdown by`,
the CLI's `--by` and the Python API."""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass

from cohortql.omop import BREAKDOWNS

MAX_DIMENSIONS = 2  # tables are one- or two-way (the message says "two")


@dataclass(frozen=True)
class BreakdownProblem:
    message: str
    hint: str | None
    index: int | None  # the dimension at fault; None: the list as a whole


def breakdown_problems(dimensions: Sequence[str]) -> list[BreakdownProblem]:
    """Unknown or repeated dimensions, and more than two: empty when the list is valid."""
    problems, seen = [], set()
    for index, name in enumerate(dimensions):
        if name not in BREAKDOWNS:
            same_but_case = [b for b in BREAKDOWNS if b.lower() == name.lower()]
            close = same_but_case or difflib.get_close_matches(name, BREAKDOWNS, n=1)
            hint = f"did you mean `{close[0]}`?" if close else f"breakdowns: {', '.join(sorted(BREAKDOWNS))}"
            problems.append(BreakdownProblem(f"unknown breakdown `{name}`", hint, index))
        elif name in seen:
            problems.append(BreakdownProblem(f"breakdown `{name}` is listed twice", None, index))
        seen.add(name)
    if len(seen & set(BREAKDOWNS)) > MAX_DIMENSIONS:
        problems.append(BreakdownProblem("at most two breakdown dimensions",
                                         "tables are one- or two-way; run again for other pairs", None))
    return problems
