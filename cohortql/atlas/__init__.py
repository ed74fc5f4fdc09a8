"""ATLAS / Circe cohort definitions in and out: import as canonical CohortQL, export as Circe JSON."""

from __future__ import annotations

from dataclasses import dataclass

from cohortql.atlas.errors import AtlasError, Problem


@dataclass(frozen=True)
class ImportResult:
    text: str  # canonical CohortQL, `cohortql fmt`-clean
    ignored: tuple  # to_cohortql.Ignored: features that cannot change a count


def import_circe(text: str, name: str) -> ImportResult:
    """Circe JSON text -> CohortQL text; raises `AtlasError` with every problem of the file."""
    from cohortql.atlas.circe_json import read_circe
    from cohortql.atlas.to_cohortql import import_expression
    from cohortql.format import format_definition
    from cohortql.parse.parser import keywords

    result = import_expression(read_circe(text, name), keywords())
    if isinstance(result, list):
        raise AtlasError(name, tuple(result))
    return ImportResult(format_definition(result.definition), result.ignored)


def is_circe_path(path) -> bool:
    return str(path).lower().endswith(".json")


__all__ = ["AtlasError", "ImportResult", "Problem", "import_circe", "is_circe_path"]
