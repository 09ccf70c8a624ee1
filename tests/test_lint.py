"""ruff (configured in pyproject.toml) finds nothing in the files that are already clean.

The list grows as the other modules are cleaned; ``ruff check .`` shows what is left.
"""

from __future__ import annotations

import shutil
import subprocess

import pytest

from .conftest import REPO

CLEAN = ["socsec_proj/inputs", "socsec_proj/errors.py", "notebooks", "params/build/build_social_insurance.py",
         "tests/test_parameters.py", "tests/test_scenario.py", "tests/test_input_safety.py",
         "tests/test_notebooks.py", "tests/test_lint.py"]


@pytest.mark.skipif(shutil.which("ruff") is None, reason="ruff is not installed (pip install -e '.[test]')")
def test_the_clean_files_stay_clean():
    result = subprocess.run(["ruff", "check", "--no-cache", "--output-format", "concise", *CLEAN], cwd=REPO,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
