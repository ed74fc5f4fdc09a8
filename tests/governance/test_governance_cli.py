"""The governance commands end to end (typer CliRunner), counting on the embedded Eunomia CDM:
request -> review -> approve -> release on SQLite and PostgreSQL stores, and every refusal."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil

import pytest
from typer.testing import CliRunner

from cohortql.cli import app
from cohortql.protect import DisclosurePolicy
from tests.conftest import REPO
from tests.governance_history import postgres_schema

Q4 = REPO / "examples" / "q4_coronary_events.cohort"


@pytest.fixture
def store(request, tmp_path, monkeypatch, eunomia_target):
    """SQLite unless a test asks for PostgreSQL (`parametrize("store", [...], indirect=True)`)."""
    monkeypatch.delenv("COHORTQL_DB", raising=False)
    monkeypatch.delenv("COHORTQL_USER", raising=False)
    (tmp_path / "no-profile.toml").write_text("")  # a profile of no settings: the defaults (tests may fill it)
    monkeypatch.setenv("COHORTQL_PROFILE", str(tmp_path / "no-profile.toml"))
    if getattr(request, "param", "sqlite") == "sqlite":
        monkeypatch.setenv("COHORTQL_STORE", str(tmp_path / "governance.sqlite"))
        yield "sqlite"
        return
    with postgres_schema(request.getfixturevalue("postgres_database")) as url:
        monkeypatch.setenv("COHORTQL_STORE", url)
        yield "postgres"


def cli(*args, user: str | None = None):
    return CliRunner().invoke(app, [str(a) for a in args] + (["--user", user] if user else []))


def ok(*args, user: str | None = None):
    result = cli(*args, user=user)
    assert result.exit_code == 0, result.output
    return result


def refused(*args, user: str | None = None, code: int = 1):
    result = cli(*args, user=user)
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    return result.stderr


@pytest.fixture
def definition(tmp_path):
    path = tmp_path / "trial.cohort"
    shutil.copy(Q4, path)
    return path


@pytest.fixture
def people(store):
    ok("users", "grant", "stella", "steward", user="ada")  # ada becomes admin of the empty store
    ok("users", "grant", "rita", "requester", user="ada")


def submitted(definition) -> int:
    out = ok("submit", definition, "--study", "FEAS-Q4", "--sponsor", "Acme Pharma", "--note", "phase II",
             user="rita").stdout
    return int(re.search(r"request (\d+) submitted", out).group(1))


def approved(definition) -> int:
    request_id = submitted(definition)
    ok("review", "show", request_id, "--no-concepts", user="stella")
    ok("review", "approve", request_id, "--note", "numbers are fine", user="stella")
    return request_id


@pytest.mark.parametrize("store", ["sqlite", "postgres"], indirect=True)
def test_full_cycle(people, definition, tmp_path, store):
    users = ok("users", "list").stdout
    assert re.search(r"ada\s+admin", users) and re.search(r"stella\s+steward", users)

    request_id = submitted(definition)
    assert re.search(rf"{request_id}\s+submitted\s+FEAS-Q4\s+Acme Pharma\s+rita", ok("review", "list").stdout)

    shown = ok("review", "show", request_id, user="stella").stdout
    assert "Study: FEAS-Q4    Sponsor: Acme Pharma" in shown
    assert "Rule 1, include \"age 40-79\"" in shown  # plain English
    assert "317576 | Coronary arteriosclerosis" in shown  # concept sets resolved in the vocabulary
    assert "== SQL (duckdb) ==" in shown and "observation_period" in shown
    assert re.search(r"event or revascularisation\s+13\s+99", shown)  # the protected result
    assert re.search(r"age 40-79\s+112\s+<10", shown)

    ok("review", "approve", request_id, "--note", "numbers are fine", user="stella")
    assert ok("review", "list").stdout == "no requests\n"
    assert re.search(rf"{request_id}\s+approved", ok("review", "list", "--state", "approved").stdout)

    out = tmp_path / "release.json"
    result = ok("release", request_id, "--format", "json", "-o", out, user="rita")
    assert f"released request {request_id} to {out}" in result.stderr
    document = json.loads(out.read_text())
    release = document["release"]
    assert release["request"] == request_id
    assert release["approved_by"] == "stella" and release["released_by"] == "rita"
    assert release["approval_note"] == "numbers are fine"
    assert release["fingerprint"] == document["result"]["fingerprint"]
    assert release["policy"] == DisclosurePolicy().to_dict()
    assert release["engine"]["dialect"] == "duckdb"
    assert document["result"]["final"] == {"value": 13, "display": "13"}

    markdown = ok("release", request_id, "--format", "markdown", user="stella").stdout
    assert "| approved_by | stella |" in markdown and "Final cohort: **13** persons" in markdown
    # The stamp as a person reads it, never Python's reprs of dicts, booleans or None.
    assert "| policy | small-cell suppression: threshold 10 (small counts shown as <10); 0 shown exactly; " \
           "no rounding; complementary suppression on; attrition differences protected |" in markdown
    assert re.search(r"\| approved_at \| \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC \|", markdown)
    assert "| engine | duckdb: Eunomia demo CDM" in markdown
    assert re.search(r"\| audit_record \| record \d+, sha256:[0-9a-f]{64} \|", markdown)
    csv_text = ok("release", request_id, "--format", "csv", user="rita").stdout
    assert csv_text.startswith("# cohortql release\n# request: ")
    stamp_lines = [line for line in csv_text.splitlines() if line.startswith("#")]
    assert not any(word in line for line in stamp_lines for word in ("True", "False", "None", "{", "=")), stamp_lines
    rows = list(csv.DictReader(io.StringIO("".join(line + "\n" for line in csv_text.splitlines()
                                                   if not line.startswith("#")))))
    assert [r["persons"] for r in rows] == ["191", "112", "13"]

    log = ok("audit", "log").stdout
    for action in ("role_granted", "submitted", "ran", "approved", "released"):
        assert action in log
    entries = json.loads(ok("audit", "log", "--request", request_id, "--format", "json").stdout)
    assert [e["action"] for e in entries] == ["submitted", "ran", "approved", "released", "released", "released"]
    assert entries[0]["detail"]["engine"]["description"].startswith("Eunomia")
    assert "password" not in json.dumps(entries)
    assert ok("audit", "verify").stdout.startswith("ok: 9 records, head sha256:")

    indicators = json.loads(ok("kpi", "--format", "json").stdout)
    assert indicators["requests_by_month_and_sponsor"][0]["sponsor"] == "Acme Pharma"
    assert indicators["approval_rate"] == 1.0 and indicators["released"] == 1
    assert "approval rate: 100% (1 approved, 0 rejected)" in ok("kpi").stdout


def test_reject_and_withdraw(people, definition):
    first, second = submitted(definition), submitted(definition)
    ok("review", "show", first, "--no-concepts", user="stella")
    ok("review", "reject", first, "--reason", "ask for a narrower age band", user="stella")
    ok("withdraw", second, "--reason", "duplicate", user="rita")
    assert "was rejected by stella" in refused("release", first, user="rita")
    assert "was withdrawn by rita" in refused("release", second, user="rita")
    assert "approval rate: 0% (0 approved, 1 rejected)" in ok("kpi").stdout


def test_release_refuses_until_approved(people, definition):
    request_id = submitted(definition)
    stderr = refused("release", request_id, user="rita")
    assert f"cannot release request {request_id}: it is still waiting for a steward's decision" in stderr
    assert "no reviewed result yet" in refused("review", "approve", request_id, user="stella")


def test_a_steward_cannot_approve_their_own_request(people, definition):
    ok("users", "grant", "rita", "steward", user="ada")
    request_id = submitted(definition)
    ok("review", "show", request_id, "--no-concepts", user="rita")
    assert "it is their own request" in refused("review", "approve", request_id, user="rita")
    assert "it is their own request" in refused("review", "reject", request_id, "--reason", "x", user="rita")
    assert "mallory does not have the steward role" in refused("review", "approve", request_id, user="mallory")
    assert "mallory does not have the admin role" in refused("users", "grant", "mallory", "steward", user="mallory")


def test_revoked_approval(people, definition):
    request_id = approved(definition)
    ok("review", "revoke", request_id, "--reason", "protocol amended", user="stella")
    assert "had its approval revoked by stella" in refused("release", request_id, user="rita")


def test_release_refuses_a_changed_definition(people, definition):
    request_id = approved(definition)
    definition.write_text("# reformatted, same meaning\n" + definition.read_text())
    ok("release", request_id, user="rita")  # comments and layout do not change the fingerprint
    definition.write_text(definition.read_text().replace("age 40-79", "age 40-80"))
    stderr = refused("release", request_id, user="rita")
    assert "no longer matches its approval: the definition changed" in stderr


def test_release_rereads_the_definition_from_where_it_is_given(people, definition, tmp_path):
    request_id = approved(definition)
    moved = tmp_path / "moved.cohort"
    definition.rename(moved)
    assert f"the definition file {definition} no longer exists" in refused("release", request_id, user="rita")
    ok("release", request_id, "--file", moved, user="rita")


def test_release_refuses_another_engine(people, definition):
    request_id = approved(definition)
    assert "the engine changed" in refused("release", request_id, "--cdm-schema", "main", user="rita")
    stderr = refused("review", "show", request_id, "--db", "postgresql://nobody@127.0.0.1:1/none", user="stella")
    assert "the result could not be shown" in stderr


def test_release_refuses_another_policy(people, definition, tmp_path):
    request_id = approved(definition)
    (tmp_path / "no-profile.toml").write_text("[disclosure]\nthreshold = 20\n")  # the profile is now stricter
    assert "the disclosure policy changed" in refused("release", request_id, user="rita")
    (tmp_path / "no-profile.toml").write_text("[disclosure]\nthreshold = 0\n")
    assert "the disclosure policy cannot be read" in refused("release", request_id, user="rita")


def test_approval_refuses_a_policy_changed_since_submission(people, definition, tmp_path):
    request_id = submitted(definition)
    ok("review", "show", request_id, "--no-concepts", user="stella")
    (tmp_path / "no-profile.toml").write_text("[disclosure]\nthreshold = 20\n")
    assert "the disclosure policy changed since it was submitted" in refused(
        "review", "approve", request_id, user="stella")


def test_release_refuses_on_a_tampered_store(people, definition, tmp_path):
    import sqlite3

    request_id = approved(definition)
    with sqlite3.connect(tmp_path / "governance.sqlite") as connection:
        connection.execute("UPDATE audit_record SET actor = 'mallory' WHERE action = 'submitted'")
    assert "record 4 was altered" in refused("audit", "verify")
    assert "the audit record does not verify: record 4 was altered" in refused("release", request_id, user="rita")


def test_usage_errors(people, definition, tmp_path):
    assert "no request 42" in refused("review", "show", 42, user="stella", code=2)
    assert "no such file" in refused("submit", tmp_path / "missing.cohort", "--study", "S", "--sponsor", "P",
                                     user="rita", code=2)
    assert "unknown role" in refused("users", "grant", "bob", "superuser", user="ada", code=2)
    assert "unknown state" in refused("review", "list", "--state", "pending", code=2)
    broken = tmp_path / "broken.cohort"
    broken.write_text("entry first condition T2D\n")
    assert "error[E" in refused("submit", broken, "--study", "S", "--sponsor", "P", user="rita")


def test_store_failure_is_one_line(store, monkeypatch):
    monkeypatch.setenv("COHORTQL_STORE", "postgresql://nobody@127.0.0.1:1/none")
    stderr = refused("users", "list")
    assert "cannot open the governance store postgresql://nobody@127.0.0.1:1/none" in stderr


def test_release_as_the_feasibility_report(people, definition, tmp_path):
    request_id = approved(definition)
    refused("release", request_id, "--format", "html", user="rita", code=2)  # a report is a file: -o
    out = tmp_path / "feasibility.html"
    result = ok("release", request_id, "--format", "html", "-o", out, "--lang", "fr", user="rita")
    assert f"released request {request_id} to {out}" in result.stderr
    page = out.read_text(encoding="utf-8")
    assert f"Diffusé comme demande {request_id}, approuvé par stella" in page
    assert "Acme Pharma" in page  # the sponsor named at submission
    entries = json.loads(ok("audit", "log", "--request", request_id, "--format", "json").stdout)
    assert entries[-1]["action"] == "released" and entries[-1]["detail"]["format"] == "html"


def test_the_steward_reviews_the_reports_tables_and_the_release_checks_them(people, definition, tmp_path,
                                                                             monkeypatch):
    """Every table the report shows (by site, by sex x age band, the series the forecast comes from) is
    in what `review show` prints and the steward approves; a report whose tables differ is refused."""
    from cohortql import pipeline

    request_id = submitted(definition)
    shown = ok("review", "show", request_id, "--no-concepts", user="stella").stdout
    report = shown.split("== Feasibility report (cohortql release --format html|pdf) ==", 1)[1]
    assert "series: newly eligible by" in report
    for table in ("breakdown by sex, age10:", "breakdown by site:"):
        assert table in report, report
    assert re.search(r"breakdown by (site, )?(month|quarter):", report), report
    ok("review", "approve", request_id, user="stella")
    original = pipeline.run_report

    def other_series(*args, **kwargs):  # the data changed in a way only the series shows
        answer = original(*args, **kwargs)
        layout = answer.layout
        shifted = type(layout.window)(layout.window.months[1:])
        return pipeline.ReportAnswer(answer.result, type(layout)(layout.grain, shifted, layout.place,
                                                                 layout.finer_grains_refused), answer.cdm_source)

    monkeypatch.setattr(pipeline, "run_report", other_series)
    out = tmp_path / "feasibility.html"
    stderr = refused("release", request_id, "--format", "html", "-o", out, user="rita")
    assert "the numbers differ from those the steward approved" in stderr
    assert not out.exists()
    monkeypatch.setattr(pipeline, "run_report", original)
    ok("release", request_id, "--format", "html", "-o", out, user="rita")
    assert out.exists()


def test_a_report_whose_tables_were_not_reviewed_is_not_released(people, definition, tmp_path, monkeypatch):
    """A request reviewed without the report's tables (as before cohortql showed them) releases its
    count, but not the report."""
    from cohortql.governance import workflow

    original = workflow.record_result

    def as_before(store, actor, request_id, result, **kwargs):
        return original(store, actor, request_id, {k: v for k, v in result.items() if k != workflow.REPORT_KEY},
                        **kwargs)

    monkeypatch.setattr(workflow, "record_result", as_before)
    request_id = submitted(definition)
    shown = ok("review", "show", request_id, "--no-concepts", user="stella").stdout
    assert "not reviewed: the request was run before cohortql showed the report's tables" in shown
    ok("review", "approve", request_id, user="stella")
    stderr = refused("release", request_id, "--format", "html", "-o", tmp_path / "f.html", user="rita")
    assert "its tables were not reviewed" in stderr
    ok("release", request_id, "--format", "json", user="rita")
