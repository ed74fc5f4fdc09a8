"""The governance commands: parse options, call workflow / identity / verify / kpi, print, map errors.

`register(app)` adds `submit`, `withdraw`, `release`, `kpi` and the `review`, `audit` and `users`
groups to the main command line. Exit codes: 0 success; 1 refused, not permitted, or a
definition / database error; 2 a usage error (unknown request, user or role, unreadable file).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from cohortql import pipeline
from cohortql.cli.common import (
    DB_OPTION,
    TIMEOUT_OPTION,
    DatabaseOptions,
    ErrorFormat,
    ReportLanguage,
    choices,
    command_group,
    compile_or_exit,
    err,
    fail,
    option_groups,
    target_from_options,
    working,
    write_whole,
)
from cohortql.diagnostics import CohortQLError
from cohortql.execute.errors import DatabaseError, explain_driver_error
from cohortql.governance.errors import GovernanceError, Refused
from cohortql.governance.states import STATES
from cohortql.profile import ProfileError

if TYPE_CHECKING:
    from cohortql.execute.target import Target
    from cohortql.governance.store import Store

# The store, the workflow and the pipeline's stages (SQLAlchemy, the SQL and protection libraries)
# are imported by the commands that use them, so that every other command starts quickly.

StoreOption = Annotated[str | None, typer.Option(
    "--store", help="Governance store: a SQLite file or a URL (else COHORTQL_STORE, the profile, the data dir).")]
UserOption = Annotated[str | None, typer.Option("--user", help="Act as this user (else COHORTQL_USER, the OS login).")]
# Ids are SQL BIGINTs: a larger number is a usage error here, not an OverflowError in the store.
MAX_ID = 2**63 - 1
RequestArgument = Annotated[int, typer.Argument(min=1, max=MAX_ID, help="Request id (see `cohortql review list`).")]


# The release document's formats (cohortql/report/release.py), the feasibility report's among them.
ReleaseFormat = choices("ReleaseFormat", ("json", "csv", "markdown", "html", "pdf"))


@contextmanager
def governed(store_option: str | None, *, read_only: bool = False) -> Iterator[Store]:
    """Open the store and turn every expected failure into a message and an exit code."""
    from sqlalchemy.exc import DBAPIError

    from cohortql.governance.store import open_store
    from cohortql.transpile import TranspileError

    try:
        with open_store(store_option, read_only=read_only) as store:
            yield store
    except GovernanceError as error:
        raise fail(error.message, error.hint, error.exit_code) from None
    except ProfileError as error:
        raise fail(error.message, error.hint, code=2) from None
    except CohortQLError as error:
        err.print(str(error), markup=False)
        raise typer.Exit(1) from None
    except DatabaseError as error:
        raise fail(error.cause, error.hint) from None
    except TranspileError as error:
        raise fail(str(error)) from None
    except DBAPIError as error:  # the store failed mid-transaction: it was rolled back
        cause = explain_driver_error(error)
        raise fail(f"the governance store failed, nothing was changed: {cause.cause}", cause.hint) from None


# ---- requester -------------------------------------------------------------------------------


@option_groups
def submit(
    file: Annotated[Path, typer.Argument(help="Definition file (.cohort).")],
    study: Annotated[str, typer.Option("--study", help="Study or protocol id the sponsor asks about.")],
    sponsor: Annotated[str, typer.Option("--sponsor", help="Who asks (receives the release).")],
    note: Annotated[str | None, typer.Option("--note", help="A note for the steward.")] = None,
    store: StoreOption = None, user: UserOption = None, *, database: DatabaseOptions,
) -> None:
    """Submit a definition for a steward's review (text, fingerprint, engine, policy, requester, time)."""
    from cohortql.governance import binding, identity, workflow

    with governed(store) as opened:
        actor = identity.acting_user(user)
        compiled = compile_or_exit(file)
        target = database.target()
        request = workflow.submit(opened, actor, workflow.Submission(
            study=study, sponsor=sponsor, note=note, title=dict(compiled.plan.metadata).get("title"),
            definition_path=str(file.resolve()), definition_text=compiled.source.text,
            binding=binding.current_binding(compiled, target),
        ))
    print(f"request {request.id} submitted: {study} for {sponsor}, {request.fingerprint}")
    err.print(f"a steward reviews it with: cohortql review show {request.id}", markup=False)


def withdraw(
    request_id: RequestArgument,
    reason: Annotated[str | None, typer.Option("--reason", help="Why it is withdrawn.")] = None,
    store: StoreOption = None, user: UserOption = None,
) -> None:
    """Withdraw a request that is submitted or approved (its requester or an admin)."""
    from cohortql.governance import identity, workflow

    with governed(store) as opened:
        workflow.withdraw(opened, identity.acting_user(user), request_id, reason)
    print(f"request {request_id} withdrawn")


@option_groups
def release(
    request_id: RequestArgument,
    file: Annotated[Path | None, typer.Option(
        "--file", help="The definition file, if not at the path recorded at submission.")] = None,
    format: Annotated[ReleaseFormat, typer.Option(
        "--format", help="json, csv, markdown, or the feasibility report as html or pdf.")] = ReleaseFormat.json,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write to this file (else stdout).")] = None,
    lang: Annotated[ReportLanguage, typer.Option("--lang", help="html, pdf: its language.")] = ReportLanguage.en,
    target_count: Annotated[int | None, typer.Option(
        "--target", min=1, max=10_000_000, help="html, pdf: patients to enrol, for the forecast.")] = None,
    enrol_fraction: Annotated[float | None, typer.Option(
        "--enrol-fraction", help="html, pdf: share of newly eligible patients who enrol (default 0.35).")] = None,
    store: StoreOption = None, user: UserOption = None, *, database: DatabaseOptions,
) -> None:
    """Release an approved request's protected result for the sponsor, stamped with its approval."""
    from sqlalchemy.exc import DBAPIError

    from cohortql.governance import binding, identity, ledger, workflow
    from cohortql.governance.release_doc import stamp
    from cohortql.report.pdf import PdfError
    from cohortql.report.release import REPORT_FORMATS, render_release

    report_format = format.value in REPORT_FORMATS
    if report_format and output is None:
        raise fail(f"--format {format.value} writes a file", "name it with -o FILE", code=2)
    if enrol_fraction is not None and not 0 < enrol_fraction <= 1:
        raise fail(f"--enrol-fraction {enrol_fraction} is not a share", "give a number above 0 and at most 1", 2)
    with governed(store) as opened:
        actor = identity.acting_user(user)
        with opened.reading() as session:
            request = workflow.get(session, request_id)
        compiled = binding.compile_file(file or Path(request.definition_path))
        target = database.target()
        current = binding.current_binding(compiled, target)
        with opened.reading() as session:
            workflow.check_releasable(session, request, actor, current)  # refuse before running the query
        with working(f"counting on {target.description} and checking earlier releases ..."):
            checked = ledger.check(opened, request, compiled, target, binding.active_policy())
            # The report's own release: the same definition, engine and policy as approved.
            answer = pipeline.run_report(compiled, target, binding.active_policy()) if report_format else None
        with opened.reading() as session:
            reviewed_hidden = ledger.hidden_of(session, request_id) or frozenset()
        if not checked.verdict.ok or checked.verdict.hide != reviewed_hidden:
            reasons = "; ".join(checked.verdict.problems) or (
                "releases approved since the review interact with it: it now needs "
                + ", ".join(sorted(checked.verdict.hide - reviewed_hidden) or ["fewer"]) + " hidden")
            raise Refused(f"cannot release request {request_id}: {reasons}", "submit it again for a new review")
        result = checked.result

        def deliver(request, approval, record) -> None:
            if answer is not None:
                _write_report(answer, compiled, target, stamp(request, approval, record), output,
                              pdf=format.value == "pdf", lang=lang.value, target_count=target_count,
                              enrol_fraction=enrol_fraction)
                return
            document = render_release(result, stamp(request, approval, record), format.value)
            if output is None:
                sys.stdout.write(document)
                sys.stdout.flush()
            else:
                write_whole(output, document)

        released = result.to_dict() if answer is None else {**result.to_dict(), workflow.REPORT_KEY: answer.to_dict()}
        try:
            _, _, record = workflow.release(opened, actor, request_id, current, released,
                                            fmt=format.value, output=str(output) if output else None,
                                            deliver=deliver)
        except DBAPIError:
            if output is not None:  # written, but the record did not commit: it was not delivered
                output.unlink(missing_ok=True)
            raise
        except (OSError, PdfError) as error:
            reason = getattr(error, "strerror", None) or getattr(error, "cause", None) or error.__class__.__name__
            failed = workflow.release_failed(opened, actor, request_id, fmt=format.value,
                                             output=str(output) if output else None, reason=reason)
            where = output or "standard output"
            raise fail(f"request {request_id} was not released: {where} could not be written "
                        f"({reason}); audit record {failed.seq} says "
                        "`release_failed`", f"fix the path and release again: cohortql release {request_id}") from None
    if output is not None:
        err.print(f"released request {request_id} to {output} (audit record {record.seq})", markup=False)


def _write_report(answer, compiled, target, release_stamp, output: Path, *, pdf: bool, lang: str,
                  target_count: int | None, enrol_fraction: float | None) -> None:
    """The feasibility report with its approval stamp, written whole: HTML, or printed to PDF."""
    from cohortql.report.document import report_html, write_report
    from cohortql.report.forecast import DEFAULT_ENROL_FRACTION
    html = report_html(answer, compiled, answered_by=target.description, stamp=release_stamp, lang=lang,
                       target=target_count, enrol_fraction=enrol_fraction or DEFAULT_ENROL_FRACTION)
    write_report(html, output)  # whole or not at all, HTML or PDF by the suffix

def kpi(
    format: Annotated[ErrorFormat, typer.Option("--format", help="text or json.")] = ErrorFormat.text,
    store: StoreOption = None,
) -> None:
    """Indicators: requests per month and sponsor, approval rate, median days to approval and release."""
    from cohortql.governance import chain
    from cohortql.governance import kpi as kpi_module
    from cohortql.report import records

    with governed(store) as opened, opened.reading() as session:
        indicators = kpi_module.compute(chain.records(session))
    if format is ErrorFormat.json:
        print(json.dumps(indicators.to_dict(), indent=2))
    else:
        sys.stdout.write(records.kpi_text(indicators))


# ---- steward ---------------------------------------------------------------------------------

review_app = command_group("A data steward's review: list, show, approve, reject, revoke.")


@review_app.command("list")
def review_list(
    state: Annotated[str | None, typer.Option(
        "--state", help=f"Only requests in this state ({', '.join(STATES)}).")] = None,
    all_states: Annotated[bool, typer.Option("--all", help="Every request, whatever its state.")] = False,
    store: StoreOption = None,
) -> None:
    """List requests waiting for a decision (or --state STATE, or --all)."""
    from sqlalchemy import select

    from cohortql.governance.models import Request
    from cohortql.report import records

    if state is not None and state not in STATES:
        raise fail(f"unknown state `{state}`", f"states are {', '.join(STATES)}", code=2)
    with governed(store) as opened, opened.reading() as session:
        query = select(Request).order_by(Request.id)
        if not all_states:
            query = query.where(Request.state == (state or "submitted"))
        requests = list(session.execute(query).scalars())
    sys.stdout.write(records.requests_table(requests))


def _show_result(opened: Store, actor: str, request, compiled: pipeline.Compiled, target: Target,
                 concepts: bool) -> bool:
    """Resolved concept sets, earlier releases it interacts with, and the protected result; False when
    they cannot be shown on this engine."""
    from cohortql.governance import binding, chain, ledger, workflow
    from cohortql.report import records

    if binding.engine_of(target) != request.engine:
        print(f"\n== Protected result ==\nnot run here: the request is for {records.engine_text(request.engine)}, "
              f"this is {records.engine_text(binding.engine_of(target))}")
        return False
    if request.result is None and request.state == "submitted":
        with working(f"counting on {target.description} and checking earlier releases ..."):
            checked = ledger.check(opened, request, compiled, target, binding.active_policy())
        if not checked.verdict.ok:
            print("\n== Earlier releases on this CDM ==")
            print("interacts with: " + ", ".join(checked.verdict.interacting))
            for problem in checked.verdict.problems:
                print(f"refused: {problem}")
            raise Refused(f"request {request.id} cannot be released safely next to the earlier releases",
                          "the requester asks for a coarser question (fewer rules apart, no breakdown), or an "
                          "earlier approval is revoked before it is released")
        with working(f"running the feasibility report's release on {target.description} ..."):
            report = pipeline.run_report(compiled, target, binding.active_policy())
        # The report's tables are reviewed with the count: `release --format html|pdf` checks them too.
        request = workflow.record_result(opened, actor, request.id,
                                         {**checked.result.to_dict(), workflow.REPORT_KEY: report.to_dict()},
                                         ledger_record=ledger.record_of(checked))
    if concepts:
        print("\n== Resolved concept sets ==")
        for codeset, rows in pipeline.concept_report(compiled, target, binding.active_policy(),
                                                     shown_with=request.result):
            print(f"{codeset.name}: {len(rows)} concepts")
            for row in rows:
                print("  " + " | ".join(row))
    print("\n== Earlier releases on this CDM ==")
    with opened.reading() as session:
        ran = [r for r in chain.records(session, request.id) if r.action == "ran"]
    sys.stdout.write(ledger.summary(json.loads(ran[0].detail).get("ledger") if ran else None))
    print("\n== Protected result ==")
    print(records.result_table(request.result) if request.result else "not run (the request was not reviewed)")
    if request.result:
        print("\n== Feasibility report (cohortql release --format html|pdf) ==")
        print(records.report_tables(request.result.get(workflow.REPORT_KEY)))
    return True


@review_app.command("show")
def review_show(
    request_id: RequestArgument,
    concepts: Annotated[bool, typer.Option(
        "--concepts/--no-concepts", help="Resolve the concept sets against the vocabulary.")] = True,
    db: str | None = DB_OPTION, timeout: int | None = TIMEOUT_OPTION, store: StoreOption = None,
    user: UserOption = None,
) -> None:
    """What a steward needs to decide: plain English, concept sets, SQL, and the protected result."""
    from cohortql.fingerprint import fingerprint
    from cohortql.governance import binding, identity, workflow
    from cohortql.report import records
    from cohortql.report.explain import concept_labels, explain_plan

    with governed(store) as opened:
        actor = identity.acting_user(user)
        with opened.reading() as session:
            request = workflow.get(session, request_id)
        sys.stdout.write(records.request_header(request))
        compiled = binding.compile_text(request.definition_text, request.definition_path)
        if fingerprint(compiled.plan) != request.fingerprint:
            raise Refused(f"the stored definition of request {request_id} now has another fingerprint",
                          "this cohortql version reads it differently: submit it again")
        print("\n== In plain English ==")
        sys.stdout.write(explain_plan(compiled.plan, concept_labels(compiled.definition)))
        engine = request.engine
        print(f"\n== SQL ({engine['dialect']}) ==")
        sys.stdout.write(pipeline.rendered_sql(compiled, engine["dialect"], engine["cdm_schema"],
                                               engine["vocab_schema"]))
        target = target_from_options(db, engine["cdm_schema"], engine["vocab_schema"], timeout)
        shown = _show_result(opened, actor, request, compiled, target, concepts)
    if not shown:
        raise fail("the result could not be shown", "connect to the engine the request names (--db URL)")


def _decide(store, user, decide, said: str) -> None:
    """One steward decision, `decide(opened store, acting user)` -> the request; then `said` with the
    request's {id} and who decided ({by})."""
    from cohortql.governance import identity

    with governed(store) as opened:
        request = decide(opened, identity.acting_user(user))
    print(said.format(id=request.id, by=request.decided_by))


@review_app.command("approve")
def review_approve(
    request_id: RequestArgument,
    note: Annotated[str | None, typer.Option("--note", help="The steward's note, kept in the audit record.")] = None,
    store: StoreOption = None, user: UserOption = None,
) -> None:
    """Approve a reviewed request (stewards only; never your own request)."""
    from cohortql.governance import binding, workflow

    def approve(opened, actor):
        return workflow.approve(opened, actor, request_id, note, policy_now=binding.active_policy().to_dict())

    _decide(store, user, approve, "request {id} approved by {by}")


RejectReason = Annotated[str, typer.Option("--reason", help="Why, for the requester.")]
RevokeReason = Annotated[str, typer.Option("--reason", help="Why the approval no longer stands.")]


def _decide_with_reason(action: str, request_id: int, reason: str, store, user, said: str) -> None:
    """`review reject` and `review revoke`: the workflow step of that name, with the reason."""
    from cohortql.governance import workflow

    step = getattr(workflow, action)
    _decide(store, user, lambda opened, actor: step(opened, actor, request_id, reason), said)


@review_app.command("reject")
def review_reject(request_id: RequestArgument, reason: RejectReason, store: StoreOption = None,
                  user: UserOption = None) -> None:
    """Reject a request, with the reason (stewards only; never your own request)."""
    _decide_with_reason("reject", request_id, reason, store, user, "request {id} rejected by {by}")


@review_app.command("revoke")
def review_revoke(request_id: RequestArgument, reason: RevokeReason, store: StoreOption = None,
                  user: UserOption = None) -> None:
    """Revoke an approval that has not been released (stewards only)."""
    _decide_with_reason("revoke", request_id, reason, store, user, "approval of request {id} revoked by {by}")


# ---- audit -----------------------------------------------------------------------------------

audit_app = command_group("The append-only, hash-chained audit record.")


@audit_app.command("log")
def audit_log(
    request_id: Annotated[
        int | None, typer.Option("--request", min=1, max=MAX_ID, help="Only this request's records.")
    ] = None,
    format: Annotated[ErrorFormat, typer.Option("--format", help="text or json.")] = ErrorFormat.text,
    store: StoreOption = None,
) -> None:
    """Print the audit records in order (all, or one request's)."""
    from cohortql.governance import chain
    from cohortql.report.records import audit_dicts, audit_table

    with governed(store) as opened, opened.reading() as session:
        records = chain.records(session, request_id)
    if format is ErrorFormat.json:
        print(json.dumps(audit_dicts(records), indent=2))
    else:
        sys.stdout.write(audit_table(records))


@audit_app.command("verify")
def audit_verify(
    anchor: Annotated[str | None, typer.Option(
        "--anchor", help="A head hash noted earlier: it must still be in the chain.")] = None,
    store: StoreOption = None,
) -> None:
    """Check the hash chain and the tables against it; report the first altered, deleted or moved record."""
    from cohortql.governance.verify import verify

    with governed(store, read_only=True) as opened:
        opened.require_current_schema()
        with opened.reading() as session:
            result = verify(session, anchor)
    if not result.ok:
        problems = [result.chain.problem] if result.chain.problem else result.problems
        for problem in problems[1:]:
            err.print(f"also: {problem}", markup=False)
        intact = f"records 1 to {result.chain.records} are intact" if result.chain.first_bad else None
        raise fail(problems[0], intact)
    print(f"ok: {result.chain.records} records, head {result.chain.head}")


# ---- users -----------------------------------------------------------------------------------

users_app = command_group("Roles: requester, steward, admin (granted by an admin).")
UserArgument = Annotated[str, typer.Argument(help="User name.")]
RoleArgument = Annotated[str, typer.Argument(help="requester, steward or admin.")]


@users_app.command("init")
def users_init(store: StoreOption = None, user: UserOption = None) -> None:
    """Make yourself the first admin of an empty store."""
    from cohortql.governance import identity

    with governed(store) as opened:
        actor = identity.acting_user(user)
        identity.init(opened, actor)
    print(f"{actor} is admin of {opened.description}")


@users_app.command("grant")
def users_grant(user_name: UserArgument, role: RoleArgument, store: StoreOption = None,
                user: UserOption = None) -> None:
    """Grant a role (admins only; on an empty store, the caller first becomes admin)."""
    from cohortql.governance import identity

    with governed(store) as opened:
        actor = identity.acting_user(user)
        added = identity.grant(opened, actor, user_name, role)
    print(f"{user_name} is {role}" + ("" if added else " (already)"))


@users_app.command("revoke")
def users_revoke(user_name: UserArgument, role: RoleArgument, store: StoreOption = None,
                 user: UserOption = None) -> None:
    """Take a role away (admins only; the last admin stays)."""
    from cohortql.governance import identity

    with governed(store) as opened:
        identity.revoke(opened, identity.acting_user(user), user_name, role)
    print(f"{user_name} is no longer {role}")


@users_app.command("list")
def users_list(store: StoreOption = None) -> None:
    """List users and their roles."""
    from cohortql.governance import identity
    from cohortql.report import records

    with governed(store) as opened, opened.reading() as session:
        grants = identity.grants(session)
    sys.stdout.write(records.users_table(grants))


def register(app: typer.Typer) -> None:
    for command in (submit, withdraw, release, kpi):
        app.command()(command)
    app.add_typer(review_app, name="review")
    app.add_typer(audit_app, name="audit")
    app.add_typer(users_app, name="users")
