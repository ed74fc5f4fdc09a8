"""Commands that write data: load a CDM into a database or Parquet, generate synthetic CDMs."""

from __future__ import annotations

from pathlib import Path

import typer

from cohortql.cli.common import command_group, err, fail, working


def load(
    source: str = typer.Argument(..., help="tiny, eunomia, a DuckDB file, or a directory of Parquet files."),
    db: str | None = typer.Option(None, "--db", help="Target database URL (postgresql://... or duckdb:///file)."),
    schema: str | None = typer.Option(None, "--schema", help="Schema to create and fill (with --db)."),
    parquet: Path | None = typer.Option(
        None, "--parquet", help="Instead of a database: write one Parquet file per table into this directory (Spark)."
    ),
    replace: bool = typer.Option(
        False, "--replace", help="Reload a schema that holds tables, or overwrite the Parquet files."
    ),
) -> None:
    """Load an OMOP CDM into a database schema (COPY, indexes, ANALYZE), or write it as Parquet files."""
    from cohortql.execute.errors import DatabaseError
    from cohortql.execute.loader import SourceError, export_parquet
    from cohortql.execute.loader import load as load_cdm
    from cohortql.render.identifiers import IdentifierError

    if (db is None) == (parquet is None):
        raise fail("name one target: --db URL --schema NAME, or --parquet DIR", code=2)
    if db is not None and schema is None:
        raise fail("--db needs --schema: the schema to create and fill", code=2)
    if parquet is not None and schema is not None:
        raise fail("--schema goes with --db; a Parquet directory has no schemas", code=2)

    def progress(line: str) -> None:
        err.print(line, markup=False)

    try:
        if parquet is not None:
            export_parquet(source, parquet, replace, progress=progress)
        else:
            load_cdm(source, db, schema, replace, progress=progress)
    except (IdentifierError, SourceError) as error:
        raise fail(getattr(error, "cause", str(error)), getattr(error, "hint", None), code=2) from None
    except DatabaseError as error:
        raise fail(error.cause, error.hint) from None


fixtures_app = command_group("Synthetic OMOP data for tests and benchmarks.")


@fixtures_app.command("generate")
def fixtures_generate(
    persons: int = typer.Option(..., "--persons", min=1, max=100_000_000, help="Number of persons."),
    seed: int = typer.Option(42, "--seed", min=0, max=2**63 - 1, help="Seed: the same seed gives the same data."),
    out: str = typer.Option(..., "--out", help="FILE.duckdb, or DIR/ for one Parquet file per table."),
) -> None:
    """Generate a synthetic OMOP CDM 5.4 of hospital groups (deterministic for a seed)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from cohortql.fixtures.synthetic import generate

    columns = (TextColumn("generating"), BarColumn(), MofNCompleteColumn(), TextColumn("persons"), TimeElapsedColumn())
    try:
        with Progress(*columns, console=err, transient=True) as bar:
            task = bar.add_task("generate", total=persons)
            path = generate(out, persons, seed, progress=lambda done, _total: bar.update(task, completed=done))
    except ValueError as error:
        raise fail(str(error), code=2) from None
    except OSError as error:
        raise fail(f"cannot write {out}: {error.strerror or error}") from None
    err.print(f"wrote {path}: {persons:,} persons, seed {seed}", markup=False)


@fixtures_app.command("scale-eunomia")
def fixtures_scale_eunomia(
    copies: int = typer.Option(..., "--copies", min=1, max=1000, help="Number of copies of Eunomia."),
    out: str = typer.Option(..., "--out", help="DuckDB file to write."),
) -> None:
    """Replicate the Eunomia demo CDM N times, each copy with new person and event ids."""
    from cohortql.fixtures.scale_eunomia import scale_eunomia

    try:
        with working(f"writing {copies} copies of Eunomia ..."):
            path = scale_eunomia(out, copies)
    except ValueError as error:
        raise fail(str(error), code=2) from None
    except OSError as error:
        raise fail(f"cannot write {out}: {error.strerror or error}") from None
    err.print(f"wrote {path}: {copies} copies of Eunomia", markup=False)


def register(app: typer.Typer) -> None:
    app.command()(load)
    app.add_typer(fixtures_app, name="fixtures")
