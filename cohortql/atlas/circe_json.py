"""Reads a Circe cohort expression from the JSON ATLAS exports, WebAPI returns or PhenotypeLibrary stores."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

from cohortql.atlas.errors import AtlasError, Problem
from cohortql.diagnostics import UNSAFE_IN_TEXT, describe_character
from cohortql.omop import MAX_NUMBER_DIGITS

MAX_BYTES = 20_000_000  # the largest PhenotypeLibrary definition is under 1 MB


class _Unreadable(ValueError):
    """A JSON number no cohort expression holds: NaN, an infinity, a float overflowing, a huge integer."""


def _integer(text: str) -> int:
    digits = sum(char.isdigit() for char in text)
    if digits > MAX_NUMBER_DIGITS:
        raise _Unreadable(f"a number of {digits} digits")
    return int(text)


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _Unreadable(f"the number {text[:30]} overflows a double")
    return value


def _constant(text: str):
    raise _Unreadable(f"`{text}` (not a JSON number)")


def _unsafe_strings(value, path: str = "$"):
    """(JSON path, character) of each key or string holding a bidirectional or control character."""
    stack = [(value, path)]
    while stack:
        value, path = stack.pop()
        items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
        children = []
        for key, item in items:
            where = f"{path}[{key}]" if isinstance(key, int) else f"{path}.{UNSAFE_IN_TEXT.sub('?', key)}"
            for text in (key, item):
                found = UNSAFE_IN_TEXT.search(text) if isinstance(text, str) else None
                if found:
                    yield where, found.group()
            children.append((item, where))
        stack.extend(reversed(children))


def _refuse_unsafe_strings(value, root: str, file_name: str) -> None:
    hint = "it makes text display otherwise than it is, so a reader can be shown spoofed text; remove it"
    unsafe = [Problem("E308", f"a text holds a {describe_character(char)}", where, hint)
              for where, char in _unsafe_strings(value, root)]
    if unsafe:
        raise AtlasError(file_name, tuple(unsafe[:20]))


def _loads(text: str):
    return json.loads(text, parse_int=_integer, parse_float=_float, parse_constant=_constant)


@dataclass(frozen=True)
class CirceFile:
    expression: dict
    name: str | None  # the cohort's name, when the file carries it (WebAPI)
    root: str  # JSON path of the expression: $ or $.expression


def read_circe(text: str, file_name: str) -> CirceFile:
    """The cohort expression in `text`; raises `AtlasError` for anything that is not one."""

    def fail(code: str, message: str, path: str = "$", hint: str | None = None):
        return AtlasError(file_name, (Problem(code, message, path, hint),))

    if len(text.encode("utf-8")) > MAX_BYTES:
        raise fail("E306", f"the file is larger than {MAX_BYTES // 1_000_000} MB", hint="is it a cohort definition?")
    try:
        document = _loads(text)
    except json.JSONDecodeError as error:
        raise fail(
            "E301", f"not JSON: {error.msg} at line {error.lineno} column {error.colno}", hint="export it from ATLAS"
        ) from None
    except RecursionError:
        raise fail("E301", "not JSON this reader accepts: nested too deeply") from None
    except _Unreadable as error:
        raise fail("E301", f"not JSON this reader accepts: {error}") from None
    if not isinstance(document, dict):
        raise fail("E302", f"the JSON is a {type(document).__name__}, not a cohort expression object")
    _refuse_unsafe_strings(document, "$", file_name)
    name, root = None, "$"
    if "expression" in document:  # WebAPI: {"name": ..., "expression": {...} or "{...}"}
        name = document.get("name") if isinstance(document.get("name"), str) else None
        expression, root = document["expression"], "$.expression"
        if isinstance(expression, str):
            try:
                expression = _loads(expression)
            except json.JSONDecodeError as error:
                raise fail("E301", f"the expression string is not JSON: {error.msg}", root) from None
            except RecursionError:
                raise fail("E301", "the expression string is nested too deeply", root) from None
            except _Unreadable as error:
                raise fail("E301", f"the expression string holds {error}", root) from None
            _refuse_unsafe_strings(expression, root, file_name)
        if not isinstance(expression, dict):
            raise fail("E302", "the expression is not a JSON object", root)
        document = expression
    if "items" in document and "PrimaryCriteria" not in document:
        raise fail(
            "E302",
            "this is a concept-set expression, not a cohort definition",
            root,
            "write a cohort around it, or export the cohort definition from ATLAS",
        )
    if not isinstance(document.get("PrimaryCriteria"), dict):
        raise fail(
            "E302",
            "not a cohort expression: no PrimaryCriteria object",
            root,
            "a Circe cohort expression has ConceptSets, PrimaryCriteria and InclusionRules",
        )
    return CirceFile(document, name, root)
