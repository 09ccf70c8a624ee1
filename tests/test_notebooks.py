"""The example notebooks: every ``notebooks/*.ipynb`` runs top to bottom, and is committed clean.

Each notebook is executed with nbclient in a fresh ``python3`` kernel (this interpreter, so the
installed ``socsec_proj``), from ``notebooks/`` as working directory, with a 300 s limit per cell
and matplotlib on the Agg backend; a failing cell fails the test with its source and traceback.
The committed files must have no outputs and be exactly what ``notebooks/_make_notebooks.py``
writes, so that a notebook is reviewed as Python source.
"""

from __future__ import annotations

import importlib.util
import os
import re
import sys
import time
from pathlib import Path

import nbformat
import pytest
from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

REPO = Path(__file__).resolve().parents[1]
NOTEBOOK_DIR = REPO / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
GENERATOR = NOTEBOOK_DIR / "_make_notebooks.py"

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
    for expected in ("01_quickstart.ipynb", "02_calibration.ipynb", "03_retirement_reform.ipynb",
                     "04_plan_targets.ipynb", "06_custom_model.ipynb"):
        assert expected in names


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[path.stem for path in NOTEBOOKS])
def test_notebook_runs(path, kernel_name, monkeypatch):
    monkeypatch.setenv("MPLBACKEND", "Agg")  # inherited by the kernel: headless
    notebook = nbformat.read(path, as_version=4)
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
def test_notebook_is_committed_without_outputs(path):
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    assert notebook.metadata.get("kernelspec", {}).get("name") == KERNEL
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type == "code":
            assert cell.outputs == [], f"{path.name}: cell {index} has outputs"
            assert cell.execution_count is None, f"{path.name}: cell {index} has an execution count"


def test_notebooks_match_their_generator():
    spec = importlib.util.spec_from_file_location("_make_notebooks", GENERATOR)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    stale = [name for name in module.NOTEBOOKS
             if not (NOTEBOOK_DIR / name).is_file() or (NOTEBOOK_DIR / name).read_text(encoding="utf-8")
             != module.render(name)]
    assert not stale, f"run `python notebooks/_make_notebooks.py`: out of date: {', '.join(stale)}"
