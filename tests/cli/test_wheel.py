"""The wheel carries grammar/ and sql_templates/: install it in a fresh venv and use it elsewhere."""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

from tests.conftest import REPO


def _run(args, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=600)


def test_wheel_installs_and_checks_outside_the_source_tree(tmp_path):
    build = _run([sys.executable, "-m", "pip", "wheel", str(REPO), "--no-deps", "-q", "-w", str(tmp_path / "dist")],
                 cwd=tmp_path)
    assert build.returncode == 0, build.stderr
    (wheel,) = (tmp_path / "dist").glob("cohortql-*.whl")
    with zipfile.ZipFile(wheel) as archive:  # the feasibility report's page template rides in the package
        assert "cohortql/report/templates/feasibility.html.j2" in archive.namelist()

    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    site = Path(_run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                     cwd=tmp_path).stdout.strip())
    # Dependencies come from the test environment (appended to sys.path, after the wheel's own files);
    # cohortql itself only from the wheel.
    (site / "zz_test_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    install = _run([str(python), "-m", "pip", "install", "--no-deps", "-q", str(wheel)], cwd=tmp_path)
    assert install.returncode == 0, install.stderr

    workdir = tmp_path / "elsewhere"
    workdir.mkdir()
    shutil.copy(REPO / "examples" / "q1_gi_bleed_nsaid.cohort", workdir / "trial.cohort")
    where = _run([str(python), "-c", "import cohortql; print(cohortql.__file__)"], cwd=workdir)
    assert str(env_dir) in where.stdout, where.stdout + where.stderr

    cli = env_dir / "bin" / "cohortql"
    check = _run([str(cli), "check", "trial.cohort"], cwd=workdir)
    assert check.returncode == 0, check.stderr
    sql = _run([str(cli), "sql", "trial.cohort", "--dialect", "postgres"], cwd=workdir)
    assert sql.returncode == 0, sql.stderr
    assert "observation_period" in sql.stdout
