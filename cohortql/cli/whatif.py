"""The trial designer's commands: compare, whatif, sweep, impact, watch, cache (docs/whatif.md).

Registered on the main app by cohortql/cli/__init__.py; options and exit codes as for `count`
(0 success, 1 a definition or database error, 2 a usage error such as an unknown rule).
"""

from __future__ import annotations

import sys
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import typer

from cohortql.cli import common as base

VariantFormat = base.choices("VariantFormat", ("table", "json", "csv"))  # cohortql/report/whatif.py
FORMAT_OPTION = typer.Option(VariantFormat.table, "--format", help="table, json or csv.")


@dataclass(frozen=True)
class CountingOptions(base.CacheOptions, base.PolicyOptions, base.DatabaseOptions):
    """Where and how every command here counts: the database, policy and cache options, in that order."""


@contextmanager
def command_errors():
    """As for `count`, and a variant that cannot be made (unknown rule, no number) is a usage error."""
    from cohortql.whatif.variants import VariantError

    try:
        with base.expected_errors(), base.cache_warnings():
            yield
    except VariantError as error:
        raise base.fail(error.cause, error.hint, code=2) from None


def count_and_write(counting: CountingOptions, check, count, render, format) -> None:
    """What compare, whatif, sweep and impact share: the policy held against the floor, `check()` of
    the input (a bad rule or number stops before the database), `count(checked, counter, policy,
    note)` on the target's counter, and `render(result, format)` on stdout."""
    active_policy, note = counting.with_floor_note()
    with command_errors():
        checked = check()
        counter = counting.counter(counting.target())
        result = count(checked, counter, active_policy, note)
    sys.stdout.write(render(result, format.value))


@base.option_groups
def compare(
    files: list[Path] = typer.Argument(..., help="Two or more definition files."),
    format: VariantFormat = FORMAT_OPTION,
    *,
    counting: CountingOptions,
) -> None:
    """Attrition of several definitions side by side, rules matched by name, with the differences."""
    from cohortql.report.whatif import render_variants
    from cohortql.whatif import app

    if len(files) < 2:
        raise base.fail("compare needs at least two definition files", code=2)
    sources = [base.read_definition(file) for file in files]
    count_and_write(counting, lambda: sources, app.compare, render_variants, format)


@base.option_groups
def whatif(
    file: Path = typer.Argument(..., help="Definition file (not changed)."),
    drop: list[str] | None = typer.Option(None, "--drop", help="Drop the rule of this name (repeatable)."),
    set_: list[str] | None = typer.Option(
        None, "--set", help='Replace a rule\'s criterion: "rule name: criterion" (repeatable).'),
    each: bool = typer.Option(False, "--each", help="One variant per --drop/--set instead of all together."),
    format: VariantFormat = FORMAT_OPTION,
    *,
    counting: CountingOptions,
) -> None:
    """Variants of a definition without editing it: drop rules, set a rule's criterion."""
    from cohortql.report.whatif import render_variants
    from cohortql.whatif import app

    source = base.read_definition(file)
    count_and_write(counting, lambda: app.whatif_sources(source, drop or [], set_ or [], each),
                    app.release_sources, render_variants, format)


@base.option_groups
def sweep(
    file: Path = typer.Argument(..., help="Definition file (not changed)."),
    rule: str = typer.Option(..., "--rule", help="The rule whose number varies."),
    vary: str = typer.Option(..., "--vary", help="Values: from..to/step (e.g. 65..85/5) or a list (7,8,9)."),
    number: int | None = typer.Option(
        None, "--number", min=1, help="Which number of the rule (1 = first), when it has several."),
    format: VariantFormat = FORMAT_OPTION,
    *,
    counting: CountingOptions,
) -> None:
    """The final count as one number of a rule takes each value (age bounds, values, windows, counts)."""
    from cohortql.report.whatif import render_sweep
    from cohortql.whatif import app
    from cohortql.whatif import variants as edit

    source = base.read_definition(file)

    def check():
        return edit.choose_number(source, rule, edit.parse_range(vary), number)

    def count(_chosen, counter, active_policy, note):
        return app.sweep(source, rule, vary, counter, active_policy, number, note)

    count_and_write(counting, check, count, render_sweep, format)


@base.option_groups
def impact(
    file: Path = typer.Argument(..., help="Definition file."),
    format: VariantFormat = FORMAT_OPTION,
    *,
    counting: CountingOptions,
) -> None:
    """Each rule's impact on the final count: Shapley value, persons it alone excludes, gain if dropped."""
    from cohortql.report.whatif import render_impact
    from cohortql.whatif import app

    source = base.read_definition(file)
    count_and_write(counting, lambda: source, app.impact, render_impact, format)


@base.option_groups
def watch(
    file: Path = typer.Argument(..., help="Definition file to watch."),
    interval: float = typer.Option(0.5, "--interval", min=0.01, max=3600, help="Seconds between looks at the file."),
    iterations: int | None = typer.Option(
        None, "--iterations", min=1, help="Stop after this many looks (default: until Ctrl-C)."),
    *,
    counting: CountingOptions,
) -> None:
    """Re-count on every save, showing what changed since the last count; errors shown, watching goes on."""
    from cohortql.diagnostics import CohortQLError
    from cohortql.execute.errors import DatabaseError
    from cohortql.pipeline import UnreadableFile
    from cohortql.report.whatif import render_variants_table
    from cohortql.whatif import app
    from cohortql.whatif.watch import watch as watch_loop

    active_policy, note = counting.with_floor_note()
    counter = counting.counter(counting.target())

    def recount(previous, current) -> str:
        pairs = [("now", current)] if previous is None else [("before", previous), ("now", current)]
        with base.cache_warnings():
            released = app.release_sources(pairs, counter, active_policy, note)
        return render_variants_table(released, title=f"{file}: count on save")

    def describe(error: Exception, source) -> str:
        if isinstance(error, CohortQLError):
            return f"{error}\n(watching {file}: fix and save)\n"
        if isinstance(error, DatabaseError):
            return f"error: {error.cause}\n" + (f"  hint: {error.hint}\n" if error.hint else "")
        if isinstance(error, UnreadableFile):
            return f"error: {error.message}\n"
        return f"error: cannot read {file}: {error}\n"

    def show(text: str) -> None:
        sys.stdout.write(text)
        sys.stdout.flush()

    base.err.print(f"watching {file} on {counter.target.description} (Ctrl-C to stop)", markup=False)
    watch_loop(file, recount, show, describe, interval, iterations)


cache_app = base.command_group("The what-if cache on this machine.")


@cache_app.command("info")
def cache_info(cache: Path | None = base.CACHE_OPTION) -> None:
    """Where the cache is, how many files and bytes it holds, and its size bound."""
    from cohortql.whatif.store import VectorCache

    info = VectorCache(cache).info()
    sys.stdout.write(
        f"directory: {info.directory}\nfiles: {info.files}\nsize: {info.bytes / 1e6:.1f} MB "
        f"of at most {info.max_bytes / 1e6:.0f} MB (COHORTQL_CACHE_MAX_MB), least recently used evicted first\n"
    )


@cache_app.command("clear")
def cache_clear(cache: Path | None = base.CACHE_OPTION) -> None:
    """Delete every file of the cache (the next count recomputes from the database)."""
    from cohortql.whatif.store import VectorCache

    store = VectorCache(cache)
    try:
        removed = store.clear()
    except OSError as error:
        raise base.fail(f"cannot clear {store.directory}: {error.strerror or error}") from None
    sys.stdout.write(f"removed {removed} file(s) from {store.directory}\n")


def register(app: typer.Typer) -> None:
    for command in (compare, whatif, sweep, impact, watch):
        name = command.__name__
        app.command(name)(command)
    app.add_typer(cache_app, name="cache")
