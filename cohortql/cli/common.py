"""What every command group shares: the error console, reading and compiling a definition, the
database and policy options, and the mapping of expected failures to one message and an exit code.

Exit codes: 0 success, 1 a definition or database error, 2 a usage error.
"""

from __future__ import annotations

import functools
import inspect
import json
import typing
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, fields
from enum import StrEnum
from pathlib import Path

import typer
from rich.console import Console

from cohortql import pipeline
from cohortql.diagnostics import CohortQLError
from cohortql.profile import ProfileError, read_profile

# Messages carry user text (rule names, paths, URLs): never read as Rich markup or emoji codes.
err = Console(stderr=True, highlight=False, soft_wrap=True, markup=False, emoji=False)


# Quick steps print nothing; a longer one shows its line from here on, refreshed four times a second.
PROGRESS_AFTER_SECONDS = 0.5
PROGRESS_EVERY_SECONDS = 0.25


@contextmanager
def working(what: str):
    """`what 3.2 s` on standard error while a long step runs, with what the engine says it is
    doing (Spark: `stage 4: 37/200 tasks`, cohortql/execute/progress.py); refreshed in place,
    erased when the step ends, and only on a terminal: nothing goes into a pipe or a log."""
    isatty = getattr(err.file, "isatty", None)
    if not (isatty and isatty()):  # the stream itself: FORCE_COLOR (as CI sets it) makes Rich say terminal
        yield
        return
    import threading
    import time

    from rich.live import Live
    from rich.text import Text

    from cohortql.execute import progress

    started = time.monotonic()
    ended = threading.Event()

    def line() -> Text:
        doing = progress.current()
        return Text(f"{what} {time.monotonic() - started:.1f} s" + (f"  {doing}" if doing else ""), no_wrap=True)

    def draw() -> None:
        if ended.wait(PROGRESS_AFTER_SECONDS):
            return
        with Live(line(), console=err, transient=True, auto_refresh=False) as live:
            while not ended.wait(PROGRESS_EVERY_SECONDS):
                live.update(line(), refresh=True)

    drawer = threading.Thread(target=draw, name="cohortql-progress", daemon=True)
    drawer.start()
    try:
        yield
    finally:
        ended.set()
        drawer.join()


def command_group(help: str, cls: type | None = None) -> typer.Typer:
    """A group of commands (`cohortql review ...`). Help is plain text: the options with their values'
    types, a flag without a `<bool>` placeholder, and nothing that needs a wide terminal to read.
    `cls`: a Typer group class that parses the group's arguments its own way."""
    return typer.Typer(help=help, no_args_is_help=True, rich_markup_mode=None, pretty_exceptions_enable=False,
                       cls=cls)


def choices(name: str, values: tuple[str, ...]) -> type[StrEnum]:
    """A Typer choice type whose values are the tuple some stage declares (one list of them)."""
    return StrEnum(name, {value: value for value in values})


ErrorFormat = choices("ErrorFormat", ("text", "json"))
ReportLanguage = choices("ReportLanguage", ("en", "fr"))  # the languages of cohortql/report/i18n.py


def report_definition_errors(errors: list[CohortQLError], fmt: ErrorFormat) -> None:
    if fmt is ErrorFormat.json:
        print(json.dumps({"errors": [d for e in errors for d in e.to_dicts()]}, indent=2))
    else:
        for error in errors:
            err.print(str(error), markup=False)
            err.print()


def write_whole(path: Path, text: str) -> None:
    """Write a file completely or not at all: a temporary file beside it, then renamed over it
    (an interrupted or failed write leaves the old file, and no partial one)."""
    partial = path.with_name(f".{path.name}.partial")
    try:
        partial.write_text(text, encoding="utf-8")
        partial.replace(path)
    except OSError as error:  # named by the file asked for, not the partial one
        raise OSError(error.errno, error.strerror, str(path)) from None
    finally:
        partial.unlink(missing_ok=True)


def open_definition(path: Path, reader=pipeline.read_source):
    """`reader(path)`; a file that cannot be read is a usage error (exit 2). A file that is not
    UTF-8 is a definition error (E006, a CohortQLError), for the caller to show with the others."""
    try:
        return reader(path)
    except pipeline.UnreadableFile as error:
        raise fail(error.message, error.hint, code=2) from None


def read_definition(path: Path, reader=pipeline.read_source):
    """`open_definition`, a definition error shown at once (exit 1)."""
    with expected_errors():
        return open_definition(path, reader)


DB_OPTION = typer.Option(None, "--db", help="Database URL (else COHORTQL_DB, the profile, or the Eunomia demo).")
CDM_OPTION = typer.Option(None, "--cdm-schema", help="Schema holding the CDM tables.")
VOCAB_OPTION = typer.Option(None, "--vocab-schema", help="Schema holding the vocabulary (default: the CDM schema).")
TIMEOUT_OPTION = typer.Option(
    None, "--timeout", min=1, max=7 * 24 * 3600,  # execute/target.py MAX_TIMEOUT_SECONDS
    help="Time limit for the query, in seconds (default 600).",
)


def compile_or_exit(file: Path) -> pipeline.Compiled:
    with expected_errors():
        return pipeline.compile_source(read_definition(file))


def fail(cause: str, hint: str | None = None, code: int = 1) -> typer.Exit:
    err.print(f"error: {cause}", markup=False)
    if hint:
        err.print(f"  hint: {hint}", markup=False)
    return typer.Exit(code)


def target_from_options(db, cdm_schema, vocab_schema, timeout):
    from cohortql.execute.errors import DatabaseError
    from cohortql.execute.target import resolve_target
    from cohortql.render.identifiers import IdentifierError, quote_identifier

    try:
        for schema in (cdm_schema, vocab_schema):
            if schema:
                quote_identifier(schema, "schema name")
        return resolve_target(db, cdm_schema, vocab_schema, timeout)
    except IdentifierError as error:
        raise fail(str(error), code=2) from None
    except ProfileError as error:
        raise fail(error.message, error.hint, code=2) from None
    except DatabaseError as error:
        raise fail(error.cause, error.hint) from None


THRESHOLD_OPTION = typer.Option(None, "--threshold", help="Suppress counts below N (at least the profile's threshold).")
SUPPRESS_ZERO_OPTION = typer.Option(False, "--suppress-zero", help="Suppress counts of 0 as well.")
ROUNDING_OPTION = typer.Option(
    None, "--rounding-base", help="Round released counts to a multiple of N (only coarser than the profile's)."
)
COMPLEMENTARY_OPTION = typer.Option(False, "--complementary", help="Turn on complementary suppression.")
DIFFERENCES_OPTION = typer.Option(False, "--attrition-differences", help="Protect persons removed by each rule.")


def policy_from_options(threshold, suppress_zero, rounding_base, complementary, attrition_differences):
    """The profile's disclosure policy, made stricter by the options (looser is a usage error)."""
    from cohortql.protect import PolicyError
    from cohortql.protect.policy import PolicyRangeError
    from cohortql.protect.profile import ActivePolicy, active_policy

    try:
        read_profile()  # a named profile that is missing or unreadable says so, with its own hint
        active = active_policy()
    except ProfileError as error:
        raise fail(error.message, error.hint, code=2) from None
    except PolicyError as error:
        raise fail(str(error), "fix the [disclosure] table of the profile (see docs/disclosure.md)", code=2) from None
    try:
        policy = active.policy.tightened(
            threshold=threshold,
            suppress_zero=suppress_zero or None,
            rounding_base=rounding_base,
            complementary=complementary or None,
            attrition_differences=attrition_differences or None,
        )
    except PolicyError as error:
        hint = f"the active policy is {active.source}; only the profile can loosen it"
        if isinstance(error, PolicyRangeError):
            hint = "small-cell thresholds are usually 5 to 20"
        raise fail(str(error), hint, code=2) from None
    changed = policy != active.policy
    return ActivePolicy(policy, f"{active.source}, made stricter by options" if changed else active.source)


def against_floor(active) -> str | None:
    """How the policy stands to the deployment's floor: a note for every output, or a usage error."""
    from cohortql.governance.errors import GovernanceError
    from cohortql.governance.floor import deployment_floor

    try:
        floor = deployment_floor()
    except GovernanceError as error:
        raise fail(error.message, error.hint, code=2) from None
    if active.policy == floor.policy:
        return None
    looser = active.policy.looser_than(floor.policy)
    if not looser:
        return f"the policy of {active.source} is stricter than {floor.describe()}"
    if not floor.allow_looser_profiles:
        raise fail(f"the disclosure policy of {active.source} is looser than {floor.describe()}: "
                    + "; ".join(looser), "only an admin can change the floor (cohortql admin policy set)", code=2)
    return (f"the policy of {active.source} is LOOSER than {floor.describe()} ({'; '.join(looser)}): "
            "for the insider's own use, never for release")


def breakdown_dimensions(by: list[str] | None) -> tuple[str, ...] | None:
    """`--by site,sex` or `--by site --by sex`; None when not given (the definition decides)."""
    from cohortql.resolve.breakdowns import breakdown_problems

    if not by:
        return None
    dimensions = tuple(d.strip() for item in by for d in item.split(",") if d.strip())
    for problem in breakdown_problems(dimensions):
        raise fail(problem.message, problem.hint, code=2)
    return dimensions


@contextmanager
def expected_errors():
    """A definition, database or dialect error as the CLI shows it: one message, exit code 1."""
    from cohortql.execute.errors import DatabaseError
    from cohortql.transpile import TranspileError

    try:
        yield
    except CohortQLError as error:
        report_definition_errors([error], ErrorFormat.text)
        raise typer.Exit(1) from None
    except ProfileError as error:
        raise fail(error.message, error.hint, code=2) from None
    except DatabaseError as error:
        raise fail(error.cause, error.hint) from None
    except TranspileError as error:
        raise fail(str(error)) from None


def warn_unknown_concepts(compiled: pipeline.Compiled, target) -> None:
    """A concept id the target's vocabulary lacks matches no record: say so once the count has
    succeeded (when it fails, its own error is the one to read, not a warning before it)."""
    with expected_errors():
        unknown = pipeline.unknown_concepts(compiled, target)
    for diagnostic in unknown:
        where = f"{compiled.source.name}:{diagnostic.span.line}:{diagnostic.span.column}"
        err.print(f"warning: {diagnostic.message} ({where}); it matches no record", markup=False)


@contextmanager
def cache_warnings():
    """A what-if cache that cannot be used is a warning on stderr, never a traceback."""
    from cohortql.whatif.store import CacheWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", CacheWarning)
        try:
            yield
        finally:
            for warning in caught:
                if issubclass(warning.category, CacheWarning):
                    err.print(f"warning: {warning.message}", markup=False)
                else:
                    warnings.showwarning(warning.message, warning.category, warning.filename, warning.lineno)


# ---- option groups: the same options on many commands, declared once -------------------------


@dataclass(frozen=True)
class DatabaseOptions:
    """--db, --cdm-schema, --vocab-schema, --timeout: where a command counts."""

    db: str | None = DB_OPTION
    cdm_schema: str | None = CDM_OPTION
    vocab_schema: str | None = VOCAB_OPTION
    timeout: int | None = TIMEOUT_OPTION

    def target(self):
        return target_from_options(self.db, self.cdm_schema, self.vocab_schema, self.timeout)


@dataclass(frozen=True)
class PolicyOptions:
    """--threshold ... --attrition-differences: the profile's policy made stricter, never looser."""

    threshold: int | None = THRESHOLD_OPTION
    suppress_zero: bool = SUPPRESS_ZERO_OPTION
    rounding_base: int | None = ROUNDING_OPTION
    complementary: bool = COMPLEMENTARY_OPTION
    attrition_differences: bool = DIFFERENCES_OPTION

    def active(self):
        """The active policy (`ActivePolicy`); a usage error when an option would loosen it."""
        return policy_from_options(self.threshold, self.suppress_zero, self.rounding_base, self.complementary,
                                   self.attrition_differences)

    def with_floor_note(self):
        """(policy, note): the active policy held against the deployment's floor (looser is exit 2)."""
        active = self.active()
        return active.policy, against_floor(active)


CACHE_OPTION = typer.Option(
    None, "--cache", help="What-if cache directory (default: $COHORTQL_CACHE_DIR/whatif or ~/.cache/cohortql/whatif).")


@dataclass(frozen=True)
class CacheOptions:
    """--cache DIR, --no-cache: the what-if cache counts are re-used from (docs/whatif.md)."""

    cache: Path | None = CACHE_OPTION
    no_cache: bool = typer.Option(False, "--no-cache", help="Count in one pass on the database; keep nothing.")

    def counter(self, target):
        from cohortql.whatif.app import target_counter

        return target_counter(target, self.cache, not self.no_cache)


OPTION_GROUPS = (DatabaseOptions, PolicyOptions, CacheOptions)


def option_groups(command):
    """Lets a command take a parameter of an option group: Typer sees the group's options one by one,
    the command receives the group as one value."""
    hints = typing.get_type_hints(command, include_extras=True)
    parameters, groups = [], {}
    for parameter in inspect.signature(command).parameters.values():
        kind = hints[parameter.name]
        if isinstance(kind, type) and issubclass(kind, OPTION_GROUPS):  # a group, or several in one
            groups[parameter.name] = kind
            parameters += [inspect.Parameter(f.name, inspect.Parameter.KEYWORD_ONLY, default=f.default,
                                             annotation=typing.get_type_hints(kind)[f.name]) for f in fields(kind)]
        else:
            parameters.append(parameter.replace(kind=inspect.Parameter.KEYWORD_ONLY, annotation=kind))

    @functools.wraps(command)
    def run(**options):
        for name, group in groups.items():
            options[name] = group(**{f.name: options.pop(f.name) for f in fields(group)})
        return command(**options)

    run.__signature__ = inspect.Signature(parameters)
    run.__annotations__ = {parameter.name: parameter.annotation for parameter in parameters}
    return run

