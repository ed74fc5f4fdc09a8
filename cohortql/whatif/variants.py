"""Variants of a definition without editing its file: drop a rule, set a rule's criterion, vary a number.

A variant is new definition text: the rule's statement is removed or rewritten in the source,
and the result is parsed and resolved as any file is, so a variant's errors point at the text
the user gave (shown in its own line) and every variant means exactly what its text says.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from decimal import Decimal

from cohortql.diagnostics import Source
from cohortql.parse import parse
from cohortql.parse.ast import Rule


class VariantError(Exception):
    """A variant that cannot be made: unknown rule, no number to vary, a bad range."""

    def __init__(self, cause: str, hint: str | None = None):
        super().__init__(cause)
        self.cause = cause
        self.hint = hint


@dataclass(frozen=True)
class RuleText:
    rule: Rule
    start: int  # offset of the statement in the source text
    end: int
    criterion_start: int  # offset just after the rule's `:`


def _offset(text: str, line: int, column: int) -> int:
    lines = text.split("\n")
    return sum(len(item) + 1 for item in lines[: line - 1]) + column - 1


def rules_of(source: Source) -> dict[str, RuleText]:
    """Each rule's statement in the source text, by name."""
    found = {}
    for statement in parse(source.text, source.name).statements:
        if isinstance(statement, Rule):
            span, name = statement.span, statement.name_span
            start = _offset(source.text, span.line, span.column)
            end = _offset(source.text, span.end_line, span.end_column)
            colon = source.text.index(":", _offset(source.text, name.end_line, name.end_column))
            found[statement.name] = RuleText(statement, start, end, colon + 1)
    return found


def _rule(source: Source, name: str) -> RuleText:
    rules = rules_of(source)
    if name not in rules:
        close = difflib.get_close_matches(name, rules, n=1)
        hint = f'did you mean "{close[0]}"?' if close else "rules: " + ", ".join(f'"{r}"' for r in rules)
        raise VariantError(f'no rule named "{name}" in {source.name}', hint if rules else "the definition has no rules")
    return rules[name]


def _replaced(source: Source, start: int, end: int, text: str, label: str) -> Source:
    return Source(f"{source.name} [{label}]", source.text[:start] + text + source.text[end:])


def drop_rule(source: Source, name: str) -> Source:
    found = _rule(source, name)
    return _replaced(source, found.start, found.end, "", f'drop "{name}"')


def split_setting(source: Source, setting: str) -> tuple[str, str]:
    """`rule name: criterion` -> (rule name, criterion); the name is the longest rule name that fits."""
    names = sorted(rules_of(source), key=len, reverse=True)
    for name in names:
        for spelled in (name, f'"{name}"'):
            if setting.startswith(spelled) and setting[len(spelled):].lstrip().startswith(":"):
                return name, setting[len(spelled):].lstrip()[1:].strip()
    head = setting.split(":", 1)[0].strip().strip('"')
    if ":" not in setting:
        example = 'e.g. --set "age 18-75: age between 18 and 80"'
        raise VariantError(f"--set needs `rule: criterion`, got `{setting}`", example)
    _rule(source, head)  # raises with a hint
    raise VariantError(f"--set `{setting}`: no criterion after the rule name")


def set_rule(source: Source, name: str, criterion: str) -> Source:
    """The rule keeps its name and kind; its criterion is `criterion` (any criterion of the language)."""
    found = _rule(source, name)
    kind = found.rule.kind
    quoted = name.replace("\\", "\\\\").replace('"', '\\"')
    return _replaced(source, found.start, found.end, f'{kind} "{quoted}": {criterion}', f'set "{name}"')


# Numbers a designer may vary: outside strings, not part of a date or a name.
_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"|\d{4}-\d{2}-\d{2}|[A-Za-z_][A-Za-z0-9_]*|(?P<number>\d+(?:\.\d+)?)')


@dataclass(frozen=True)
class NumberInRule:
    start: int
    end: int
    text: str

    @property
    def value(self) -> Decimal:
        return Decimal(self.text)


def numbers_in_rule(source: Source, name: str) -> list[NumberInRule]:
    found = _rule(source, name)
    criterion = source.text[found.criterion_start : found.end]
    return [
        NumberInRule(found.criterion_start + m.start("number"), found.criterion_start + m.end("number"), m["number"])
        for m in _TOKENS.finditer(criterion)
        if m["number"]
    ]


MAX_SWEEP_VALUES = 200


def parse_range(text: str) -> list[Decimal]:
    """`65..85/5` (from..to/step, both ends included) or `7,8.5,10` (a list), at most 200 finite values."""
    try:
        if ".." in text:
            bounds, _, step_text = text.partition("/")
            low_text, high_text = bounds.split("..")
            low, high = Decimal(low_text.strip()), Decimal(high_text.strip())
            step = Decimal(step_text.strip()) if step_text else Decimal(1)
            if not (low.is_finite() and high.is_finite() and step.is_finite()) or step <= 0 or high < low:
                raise ValueError
            count = int((high - low) / step) + 1  # counted before listing: 0..1e9/0.001 is no list to build
            values = [low + i * step for i in range(min(count, MAX_SWEEP_VALUES + 1))]
        else:
            values = [Decimal(part.strip()) for part in text.split(",") if part.strip()]
            count = len(values)
            if not all(value.is_finite() for value in values):
                raise ValueError
    except (ArithmeticError, ValueError):
        hint = "write from..to/step (e.g. 65..85/5) or a list (7,8,9)"
        raise VariantError(f"--vary `{text}` is not a range", hint) from None
    if count > MAX_SWEEP_VALUES:
        hint = f"sweep at most {MAX_SWEEP_VALUES} values at a time"
        raise VariantError(f"--vary `{text}` gives {count:,} values", hint)
    return values


def choose_number(source: Source, name: str, values: list[Decimal], position: int | None) -> NumberInRule:
    """The number to vary: `position` (1-based) if given, else the only one, else the only one in range."""
    numbers = numbers_in_rule(source, name)
    listed = ", ".join(f"{i}: {n.text}" for i, n in enumerate(numbers, start=1))
    if not numbers:
        raise VariantError(f'rule "{name}" has no number to vary', "sweep a rule with an age, value, window or count")
    if position is not None:
        if not 1 <= position <= len(numbers):
            raise VariantError(f'rule "{name}" has {len(numbers)} number(s); --number {position} is out of range',
                               f"its numbers: {listed}")
        return numbers[position - 1]
    if len(numbers) == 1:
        return numbers[0]
    low, high = min(values), max(values)
    inside = [n for n in numbers if low <= n.value <= high]
    if len(inside) == 1:
        return inside[0]
    raise VariantError(f'rule "{name}" has {len(numbers)} numbers; which one to vary?', f"add --number N; {listed}")


def vary_number(source: Source, number: NumberInRule, value: Decimal) -> Source:
    text = format(value.normalize(), "f") if value != value.to_integral() else str(int(value))
    return _replaced(source, number.start, number.end, text, text)
