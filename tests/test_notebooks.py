"""The example notebooks: every ``notebooks/NN_name.py`` runs top to bottom.

The notebooks' single source is jupytext percent-format Python (``# %%`` cells, Markdown in
``# %% [markdown]`` comments), reviewed and linted as code; ``jupytext --to ipynb`` makes a
notebook of one (``.ipynb`` files are kept out of git). Each is read with ``jupytext.reads``
and executed with nbclient in a fresh ``python3`` kernel (this interpreter, so the installed
``socsec_proj``), from ``notebooks/`` as working directory, with a 300 s limit per cell and
matplotlib on the Agg backend; a failing cell fails the test with its source and traceback.
"""

from __future__ import annotations

import os
import re
import sys
import time
from pathlib import Path

import jupytext
import nbformat
import pytest
from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

REPO = Path(__file__).resolve().parents[1]
NOTEBOOK_DIR = REPO / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("[0-9][0-9]_*.py"))

KERNEL = "python3"
CELL_TIMEOUT = 300  # seconds, per cell
#: A notebook takes a few seconds (kernel start, a handful of projections of ~0.1-1 s each; the
#: first one on a fresh install also compiles the numba kernels, ~10 s more). The budget is a
#: guard against a notebook that runs many projections: all of them together stay well under
#: five minutes.
NOTEBOOK_BUDGET = 120  # seconds

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def _runs_this_python(executable: str) -> bool:
    """Whether a kernel spec's argv[0] starts this interpreter.

    jupyter_client replaces a bare ``python``/``python3``/``python3.X`` with ``sys.executable``;
    any other path must be this interpreter's own (not resolved: a venv's python is a symlink to
    the base interpreter but has other packages).
    """
    bare = {"python", f"python{sys.version_info[0]}", "python{}.{}".format(*sys.version_info[:2])}
    return executable in bare or os.path.abspath(executable) == os.path.abspath(sys.executable)


@pytest.fixture(scope="session")
def kernel_name(tmp_path_factory):
    """``python3``, made to run this interpreter.

    ipykernel installs a ``python3`` spec with the interpreter (and jupyter_client falls back to
    the native kernel when none is installed). If the spec found starts another Python (a
    kernel installed for another environment), a spec for this one is written to a temporary
    folder placed first on ``JUPYTER_PATH`` for the session; nothing outside it is touched.
    """
    try:
        spec = KernelSpecManager().get_kernel_spec(KERNEL)
        ok = _runs_this_python(spec.argv[0])
    except NoSuchKernel:
        ok = False
    if ok:
        yield KERNEL
        return
    from ipykernel.kernelspec import write_kernel_spec

    root = tmp_path_factory.mktemp("jupyter")
    write_kernel_spec(root / "kernels" / KERNEL)  # argv[0] = sys.executable
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("JUPYTER_PATH", os.pathsep.join(filter(None, [str(root), os.environ.get("JUPYTER_PATH")])))
        assert _runs_this_python(KernelSpecManager().get_kernel_spec(KERNEL).argv[0])
        yield KERNEL


def test_there_are_notebooks():
    names = [path.name for path in NOTEBOOKS]
    for expected in ("01_quickstart.py", "02_calibration.py", "03_retirement_reform.py", "04_plan_targets.py",
                     "05_stochastic_risk.py", "06_custom_model.py"):
        assert expected in names
    assert not list(NOTEBOOK_DIR.glob("_make_*.py")), "the notebooks' source is the .py files themselves"


def _read(path):
    return jupytext.reads(path.read_text(encoding="utf-8"), fmt="py:percent")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[path.stem for path in NOTEBOOKS])
def test_notebook_runs(path, kernel_name, monkeypatch):
    monkeypatch.setenv("MPLBACKEND", "Agg")  # inherited by the kernel: headless
    notebook = _read(path)
    client = NotebookClient(notebook, timeout=CELL_TIMEOUT, kernel_name=kernel_name,
                            resources={"metadata": {"path": str(NOTEBOOK_DIR)}})
    start = time.perf_counter()
    try:
        client.execute()
    except CellExecutionError as error:
        pytest.fail(f"{path.name}: a cell failed\n{_ANSI.sub('', str(error))}", pytrace=False)
    elapsed = time.perf_counter() - start
    errors = [output for cell in notebook.cells if cell.cell_type == "code"
              for output in cell.get("outputs", []) if output.get("output_type") == "error"]
    assert not errors, f"{path.name}: {errors[0].get('ename')}: {errors[0].get('evalue')}"
    assert elapsed < NOTEBOOK_BUDGET, f"{path.name} took {elapsed:.0f} s (budget {NOTEBOOK_BUDGET} s)"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[path.stem for path in NOTEBOOKS])
def test_notebook_source_is_a_valid_notebook(path):
    notebook = _read(path)
    nbformat.validate(notebook)
    assert notebook.metadata.get("kernelspec", {}).get("name") == KERNEL
    kinds = [cell.cell_type for cell in notebook.cells]
    assert kinds[0] == "markdown" and kinds.count("code") >= 2, kinds  # a title, then code
    assert all(cell.source.strip() for cell in notebook.cells), f"{path.name}: an empty cell"
