"""Numbers beyond what the engines, the store or a person can mean are refused where they are
given, with one message and exit 2: never an OverflowError, a database's range error, a hang, or
silent acceptance. (Numbers inside definitions: E135, tests/error_cases/66-71.)"""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from cohortql.cli import app
from cohortql.protect import DisclosurePolicy
from cohortql.protect.policy import MAX_THRESHOLD, PolicyRangeError
from cohortql.whatif import variants
from tests.conftest import REPO

runner = CliRunner()
Q1 = str(REPO / "examples" / "q1_gi_bleed_nsaid.cohort")
HUGE = "99999999999999999999"  # above 2^63 - 1


@pytest.fixture(autouse=True)
def _no_profile(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.delenv("COHORTQL_PROFILE", raising=False)
    monkeypatch.delenv("COHORTQL_DB", raising=False)
    monkeypatch.setenv("COHORTQL_STORE", str(tmp_path / "store.sqlite"))


@pytest.mark.parametrize(
    "args",
    [
        ["review", "show", HUGE],
        ["review", "approve", HUGE],
        ["review", "reject", HUGE, "--reason", "r"],
        ["review", "revoke", HUGE, "--reason", "r"],
        ["release", HUGE],
        ["withdraw", HUGE],
        ["audit", "log", "--request", HUGE],
        ["count", Q1, "--timeout", HUGE],
        ["submit", Q1, "--study", "S", "--sponsor", "P", "--timeout", HUGE],
        ["report", Q1, "-o", "r.html", "--target", HUGE],
        ["watch", Q1, "--interval", "1e300"],  # time.sleep(1e300) was an OverflowError
        ["fixtures", "generate", "--persons", HUGE, "--out", "x.duckdb"],
        ["fixtures", "generate", "--persons", "10", "--seed", HUGE, "--out", "x.duckdb"],
        ["fixtures", "scale-eunomia", "--copies", HUGE, "--out", "x.duckdb"],
    ],
    ids=lambda args: " ".join(args[:2]) + " " + next((a for a in args if a.startswith("--")), "ID"),
)
def test_huge_numbers_on_the_command_line_are_usage_errors(args, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert "Invalid value" in result.output
    assert not isinstance(result.exception, OverflowError) and "Traceback" not in result.output
    assert not list(tmp_path.glob("*.duckdb")) and not list(tmp_path.glob("*.html"))


def test_a_threshold_beyond_any_cohort_is_refused():
    DisclosurePolicy(threshold=MAX_THRESHOLD)
    with pytest.raises(PolicyRangeError):
        DisclosurePolicy(threshold=MAX_THRESHOLD + 1)
    result = runner.invoke(app, ["policy", "show", "--threshold", HUGE])
    assert result.exit_code == 2
    assert f"threshold {HUGE} is more than 1,000,000" in result.stderr and "5 to 20" in result.stderr


def test_a_profile_threshold_or_time_limit_beyond_range_is_a_usage_error(tmp_path, monkeypatch):
    profile = tmp_path / "profile.toml"
    monkeypatch.setenv("COHORTQL_PROFILE", str(profile))
    profile.write_text("[disclosure]\nthreshold = 10000000\n", encoding="utf-8")
    result = runner.invoke(app, ["policy", "show"])
    assert result.exit_code == 2 and "more than 1,000,000" in result.stderr
    profile.write_text(f"[database]\ntimeout_seconds = {HUGE}\n", encoding="utf-8")
    result = runner.invoke(app, ["count", Q1])
    assert result.exit_code == 2 and "timeout_seconds" in result.stderr and "not a time limit" in result.stderr
    # Before: PostgreSQL's statement_timeout (int ms) refused it at run time; DuckDB's Timer overflowed.


def test_the_python_time_limit_is_bounded_too():
    from cohortql.execute.target import MAX_TIMEOUT_SECONDS, resolve_target
    from cohortql.profile import ProfileError

    assert resolve_target(timeout_seconds=MAX_TIMEOUT_SECONDS).timeout_seconds == MAX_TIMEOUT_SECONDS
    for wrong in (0, MAX_TIMEOUT_SECONDS + 1, 10**20, 1.5, True):
        with pytest.raises(ProfileError):
            resolve_target(timeout_seconds=wrong)


def test_a_sweep_range_is_counted_before_it_is_listed():
    with pytest.raises(variants.VariantError) as raised:
        variants.parse_range("0..1000000000/0.001")  # before: a loop building 10^12 Decimals
    assert "gives 1,000,000,000,001 values" in raised.value.args[0]
    assert len(variants.parse_range("1..200")) == 200
    for wrong in ("1..Infinity", "NaN,1", "0..10/NaN"):
        with pytest.raises(variants.VariantError):
            variants.parse_range(wrong)
    result = runner.invoke(app, ["sweep", Q1, "--rule", "age 35-45", "--number", "1", "--vary", "0..1e9/0.001"])
    assert result.exit_code == 2 and "sweep at most 200 values" in result.stderr


def test_a_named_missing_profile_says_how_to_fix_it(tmp_path, monkeypatch):
    monkeypatch.setenv("COHORTQL_PROFILE", str(tmp_path / "typo.toml"))
    for args in (["policy", "show"], ["count", Q1]):
        result = runner.invoke(app, args)
        assert result.exit_code == 2 and "no profile file at" in result.stderr
        assert "unset COHORTQL_PROFILE" in result.stderr and "[disclosure]" not in result.stderr  # not a bad table
