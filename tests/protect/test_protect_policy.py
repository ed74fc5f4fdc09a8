"""The policy in force: the profile's [disclosure] table, `cohortql policy show`, stricter-only options."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from cohortql.cli import app
from cohortql.protect import DisclosurePolicy, PolicyError
from cohortql.protect.profile import active_policy
from tests.conftest import REPO

Q4 = str(REPO / "examples" / "q4_coronary_events.cohort")


@pytest.fixture
def profile(monkeypatch, tmp_path):
    """Write the profile file's text; COHORTQL_PROFILE points at it."""
    path = tmp_path / "profile.toml"
    monkeypatch.setenv("COHORTQL_PROFILE", str(path))
    monkeypatch.setenv("COHORTQL_STORE", str(tmp_path / "governance.sqlite"))  # the deployment's floor
    monkeypatch.delenv("COHORTQL_DB", raising=False)

    def write(text: str):
        path.write_text(text, encoding="utf-8")
        return path

    return write


def test_without_a_profile_the_default_policy_is_active(profile, monkeypatch, tmp_path):
    monkeypatch.delenv("COHORTQL_PROFILE")  # the default path, absent
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "no-config"))
    active = active_policy()
    assert active.policy == DisclosurePolicy()
    assert "built-in default" in active.source


def test_the_profile_sets_the_policy(profile):
    path = profile('[database]\ntimeout_seconds = 60\n\n[disclosure]\nthreshold = 11\nrounding_base = 5\n')
    active = active_policy()
    assert active.policy == DisclosurePolicy(threshold=11, rounding_base=5)
    assert str(path) in active.source
    profile("[database]\ntimeout_seconds = 60\n")
    assert active_policy().policy == DisclosurePolicy()


@pytest.mark.parametrize(
    "text, message",
    [
        ("[disclosure]\ntreshold = 11\n", "unknown key(s) in [disclosure]: treshold"),
        ("[disclosure]\nthreshold = 0\n", "threshold must be an integer >= 1"),
        ("[disclosure]\nthreshold = '11'\n", "threshold must be an integer >= 1"),
        ("[disclosure\n", "cannot read profile"),
        ("disclosure = 3\n", "must be a table"),
    ],
)
def test_a_bad_disclosure_table_is_an_error(profile, text, message):
    profile(text)
    with pytest.raises(PolicyError) as error:
        active_policy()
    assert message in str(error.value)


def test_policy_show_prints_the_active_policy(profile):
    profile("[disclosure]\nthreshold = 11\nsuppress_zero = true\n")
    text = CliRunner().invoke(app, ["policy", "show"])
    assert text.exit_code == 0, text.output
    assert "threshold" in text.stdout and "11" in text.stdout and "0 is shown as <11" in text.stdout
    shown = CliRunner().invoke(app, ["policy", "show", "--format", "json", "--rounding-base", "5"])
    document = json.loads(shown.stdout)
    assert document["policy"]["threshold"] == 11 and document["policy"]["rounding_base"] == 5
    assert "made stricter by options" in document["source"]


def test_policy_show_with_a_broken_profile_exits_2(profile):
    profile("[disclosure]\nthreshold = -1\n")
    result = CliRunner().invoke(app, ["policy", "show"])
    assert result.exit_code == 2
    assert "threshold must be an integer >= 1" in result.stderr and "hint:" in result.stderr


@pytest.mark.parametrize(
    "options, message",
    [
        (["--threshold", "5"], "threshold 5 < 11"),
        (["--rounding-base", "2"], "rounding base 2 < 5"),
        (["--threshold", "0"], "threshold must be an integer >= 1"),
    ],
)
def test_count_options_looser_than_the_profile_are_usage_errors(profile, options, message, eunomia_target):
    profile("[disclosure]\nthreshold = 11\nrounding_base = 5\n")
    result = CliRunner().invoke(app, ["count", Q4, *options])
    assert result.exit_code == 2
    assert message in result.stderr
    assert "only the profile can loosen it" in result.stderr or "integer" in result.stderr
    assert "Traceback" not in result.output


def test_count_uses_the_profile_and_stricter_options(profile, eunomia_target):
    profile("[disclosure]\nthreshold = 5\n")
    refused = CliRunner().invoke(app, ["count", Q4, "--format", "json"])
    assert refused.exit_code == 2 and "looser than the deployment's floor (threshold 10" in refused.stderr
    assert "Traceback" not in refused.output
    for args in (["users", "init", "--user", "ada"],
                 ["admin", "policy", "set", "--threshold", "10", "--allow-looser-profiles", "--user", "ada"]):
        assert CliRunner().invoke(app, args).exit_code == 0
    loose = json.loads(CliRunner().invoke(app, ["count", Q4, "--format", "json"]).stdout)
    assert loose["policy"]["threshold"] == 5
    assert "LOOSER than the deployment's floor" in loose["policy_note"] and "never for release" in loose["policy_note"]
    table = CliRunner().invoke(app, ["count", Q4]).stdout
    assert "policy note: the policy of the" in table and "LOOSER" in table
    assert loose["attrition"][1]["gain"] == {"value": 5, "display": "5"}  # 5 persons: not below a threshold of 5
    strict = json.loads(CliRunner().invoke(app, ["count", Q4, "--format", "json", "--threshold", "20",
                                                 "--rounding-base", "10"]).stdout)
    assert strict["policy"]["threshold"] == 20 and strict["policy"]["rounding_base"] == 10
    assert "stricter than the deployment's floor" in strict["policy_note"]
    assert strict["final"] == {"value": None, "display": "<20"}  # 13 persons
    assert all(step["value"] is None or step["value"] % 10 == 0 for step in strict["attrition"])


def test_a_named_profile_that_is_missing_is_a_usage_error(tmp_path, monkeypatch):
    monkeypatch.setenv("COHORTQL_PROFILE", str(tmp_path / "typo.toml"))
    result = CliRunner().invoke(app, ["policy", "show"])
    assert result.exit_code == 2
    assert "no profile file at" in result.output and "COHORTQL_PROFILE" in result.output


def test_one_profile_file_gives_every_stage_its_table(tmp_path, monkeypatch):
    from cohortql.execute.target import resolve_target
    from cohortql.governance.store import store_url

    profile = tmp_path / "profile.toml"
    profile.write_text('[database]\ntimeout_seconds = 77\n[disclosure]\nthreshold = 12\n'
                       f'[governance]\nstore = "{tmp_path / "gov.sqlite"}"\n', encoding="utf-8")
    monkeypatch.setenv("COHORTQL_PROFILE", str(profile))
    monkeypatch.delenv("COHORTQL_DB", raising=False)
    monkeypatch.delenv("COHORTQL_STORE", raising=False)
    assert resolve_target().timeout_seconds == 77
    assert active_policy().policy.threshold == 12
    assert store_url(create=False).database == str(tmp_path / "gov.sqlite")
