"""Reads a Circe cohort expression from the JSON ATLAS exports, WebAPI returns or PhenotypeLibrary stores."""

from __future__ import annotations

import json
from dataclasses import dataclass

from cohortql.atlas.errors import AtlasError, Problem

MAX_BYTES = 20_000_000  # the largest PhenotypeLibrary definition is under 1 MB


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
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise fail(
            "E301", f"not JSON: {error.msg} at line {error.lineno} column {error.colno}", hint="export it from ATLAS"
        ) from None
    except RecursionError:
        raise fail("E301", "not JSON this reader accepts: nested too deeply") from None
    if not isinstance(document, dict):
        raise fail("E302", f"the JSON is a {type(document).__name__}, not a cohort expression object")
    name, root = None, "$"
    if "expression" in document:  # WebAPI: {"name": ..., "expression": {...} or "{...}"}
        name = document.get("name") if isinstance(document.get("name"), str) else None
        expression, root = document["expression"], "$.expression"
        if isinstance(expression, str):
            try:
                expression = json.loads(expression)
            except json.JSONDecodeError as error:
                raise fail("E301", f"the expression string is not JSON: {error.msg}", root) from None
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
