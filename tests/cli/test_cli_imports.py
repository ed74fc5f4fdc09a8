"""Start-up cost: the CLI, `--help` and `check` load none of the heavy libraries (not a timed test).

Each runs in a fresh interpreter, which then lists the heavy modules it has loaded.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("pandas", "sqlalchemy", "sqlglot", "highspy", "pyspark", "numpy", "scipy", "duckdb", "jinja2")

_PROBE = """
import json, sys
{body}
print(json.dumps(sorted(m for m in {heavy!r} if m in sys.modules)))
"""


def _heavy_modules_after(body: str) -> list[str]:
    code = _PROBE.format(body=body, heavy=HEAVY)
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def _cli_run(*args: str) -> str:
    return (
        "from cohortql.cli import app\n"
        f"try:\n    app({list(args)!r}, standalone_mode=False)\nexcept SystemExit:\n    pass"
    )


def test_importing_the_cli_loads_no_heavy_library():
    assert _heavy_modules_after("import cohortql.cli") == []


@pytest.mark.parametrize(
    "args",
    [
        ("--help",),
        ("check", "examples/q7_type2_diabetes_trial.cohort"),
        ("explain", "examples/q9_breast_cancer_chemo.cohort"),
    ],
    ids=["help", "check", "explain"],
)
def test_commands_without_a_database_load_no_heavy_library(args):
    assert _heavy_modules_after(_cli_run(*args)) == []


def test_the_probe_sees_a_heavy_library_when_one_is_loaded():
    """The check above could pass vacuously if the probe never saw anything: it does see sqlglot."""
    assert _heavy_modules_after("from cohortql.transpile import transpile") == ["sqlglot"]


def test_counting_on_duckdb_needs_no_sql_translator_and_no_sqlalchemy(eunomia_target, tmp_path):
    """DuckDB runs the canonical SQL as rendered, on the duckdb module itself: a count there never
    loads sqlglot nor SQLAlchemy (nor Spark, pandas); without a governance store, its floor is the
    default one, known without the ORM."""
    body = (f"import os\nos.environ['XDG_DATA_HOME'] = {str(tmp_path)!r}\n"
            + _cli_run("count", "examples/q1_gi_bleed_nsaid.cohort", "--db", eunomia_target.url, "--by", "sex",
                       "--format", "json"))
    loaded = _heavy_modules_after(body)
    assert "duckdb" in loaded  # it did count
    assert not {"sqlglot", "sqlalchemy", "pyspark", "pandas", "scipy"} & set(loaded), loaded


def test_the_default_eunomia_count_loads_no_sqlalchemy(tmp_path):
    """The count a first-time user runs: no --db (the embedded Eunomia), no governance store yet."""
    body = f"import os\nos.environ['XDG_DATA_HOME'] = {str(tmp_path)!r}\n" + _cli_run(
        "count", "examples/q3_new_af_warfarin.cohort")
    loaded = _heavy_modules_after(body)
    assert "duckdb" in loaded
    assert "sqlalchemy" not in loaded, loaded


def test_a_governance_store_is_read_when_there_is_one(tmp_path):
    """The fast path above is for a missing store only: an existing one is opened (with SQLAlchemy)."""
    from cohortql.governance.store import Store, store_url

    path = tmp_path / "governance.sqlite"
    with Store(store_url(str(path))):
        pass
    body = f"from cohortql.governance.floor import deployment_floor\ndeployment_floor({str(path)!r})"
    assert "sqlalchemy" in _heavy_modules_after(body)
