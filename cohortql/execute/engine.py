"""The engine interface: what DuckDB, PostgreSQL and Spark each do to answer one statement.

An engine module (`duckdb.py`, `postgres.py`, `spark.py`) implements `Engine`, states what the rest
of cohortql needs to know of it as one `EngineSettings` value and keeps its other differences as
its own constants; `runner.py` drives any of them the same way. Nothing outside the engine modules
asks which engine it is talking to.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Protocol

from cohortql.execute.cancel import Cancellable
from cohortql.execute.errors import SCHEMA_HINT, DatabaseError
from cohortql.execute.target import Target
from cohortql.render import SqlStatement, TempTable


@dataclass(frozen=True)
class EngineSettings:
    """How one engine differs from the others, as data (each field says why it exists)."""

    dialect: str  # the transpile dialect the engine's SQL is written in
    # Prefix giving the executed plan of a query; None: no plan from this engine (see the hint).
    explain_prefix: str | None = None
    no_explain_hint: str | None = None
    # The what-if cache (cohortql/whatif/) rebuilds the cohort query's rows: where ORDER BY puts NULL,
    nulls_first: bool = False
    # how a table's data version is read cheaply ("counts": row count and largest id; "catalog":
    # PostgreSQL's catalog, never a scan), and whether the database is one local file, whose size
    # and time then version every table at once.
    data_version: str = "counts"
    local_file: bool = False

    def no_executed_plan(self) -> DatabaseError:
        return DatabaseError(f"no executed plan from {self.dialect}", self.no_explain_hint)


def check_schemas(target: Target, exists: Callable[[str], bool], *, noun: str = "schema",
                  hint: str = SCHEMA_HINT) -> None:
    """A missing schema would otherwise surface as a missing table: name it instead (`exists` asks
    the engine; Spark calls its schemas databases)."""
    for name in dict.fromkeys(s for s in (target.cdm_schema, target.vocab_schema) if s):
        if not exists(name):
            raise DatabaseError(f"{noun} not found: {name}", hint)


class EngineSession(Protocol):
    """One connection or session, open on the target; it never writes to the CDM.

    Used in order: `stage_inputs` and `stage_concept_sets` (when the statement reads concept
    sets), `start_reading`, then one `fetch` or `explain`.
    """

    def stage_inputs(self, tables: Sequence[TempTable]) -> None:
        """Each input as a temporary table (or view) holding its rows, loaded as bind parameters."""

    def stage_concept_sets(self, codesets: SqlStatement) -> None:
        """The resolved concept sets, materialised once as `cq_codeset`."""

    def start_reading(self) -> None:
        """From here on, read-only: the statement that follows only reads."""

    def fetch(self, statement: SqlStatement) -> list[tuple]:
        """The statement's rows, each a tuple."""

    def explain(self, statement: SqlStatement) -> str:
        """The engine's executed plan of the statement (settings.explain_prefix)."""


class Engine(Protocol):
    settings: EngineSettings

    def connect(self, target: Target, cancellable: Cancellable) -> AbstractContextManager[EngineSession]:
        """A session on `target`, its schemas checked, under the target's time limit.

        `cancellable` is told what to cancel on Ctrl-C. Every failure of the engine, inside the
        block too, leaves it as a `DatabaseError`; a KeyboardInterrupt passes through.
        """
