"""ruff is configured in pyproject.toml and the tree is clean."""

import subprocess
import sys

from tests.conftest import REPO


def test_ruff_is_clean():
    result = subprocess.run([sys.executable, "-m", "ruff", "check", str(REPO)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
