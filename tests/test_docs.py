"""The documentation site: it builds with ``mkdocs build --strict``, its glossary and parameter
reference are current and its formulas render offline (MathML made at build time).

The build needs the docs packages of the test extra (mkdocs, mkdocs-material,
mkdocstrings[python]); without mkdocs the build test is skipped, saying so.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"


def _load_generator():
    spec = importlib.util.spec_from_file_location("_make_glossary", DOCS / "_make_glossary.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_glossary_is_generated_from_variables():
    generator = _load_generator()
    committed = (DOCS / "glossary.md").read_text(encoding="utf-8")
    assert committed == generator.render(), (
        "docs/glossary.md is stale: run `python docs/_make_glossary.py` from the repository root")


def test_parameter_reference_is_generated_and_lists_every_parameter():
    from socsec_proj.inputs.parameters import load_parameters

    committed = (DOCS / "parameters.md").read_text(encoding="utf-8")
    assert committed == _load_generator().render_parameters(), (
        "docs/parameters.md is stale: run `python docs/_make_glossary.py` from the repository root")
    for path in load_parameters().paths():
        assert f"| `{path}` |" in committed, path
    employer = "| `employee_pension.employer_rate` | Employer pension contribution rate | /1 | 0 .. 0.3 | yes |"
    assert employer in committed


def test_pages_hold_no_control_characters():
    # a formula once written through a Python string lost "\text" to tabs ("\t"; "\rfloor" to a
    # line break): the page still built, with "ext{below}" in its maths
    pages = [*DOCS.glob("*.md"), ROOT / "README.md", ROOT / "ARCHITECTURE.md", ROOT / "params" / "SOURCES.md",
             ROOT / "benchmarks" / "README.md"]
    for page in pages:
        for number, line in enumerate(page.read_text(encoding="utf-8").splitlines(), 1):
            assert not any(ord(c) < 32 for c in line), f"{page.name}:{number}: {line!r}"


def test_formulas_become_mathml_without_a_script():
    spec = importlib.util.spec_from_file_location("_math", DOCS / "_math.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    page = module.render('<p><span class="arithmatex">\\(e_x = \\frac{T_x}{l_x}\\)</span></p>'
                         '<div class="arithmatex">\\[P_{Y} = P_{Y-1} &amp; x\\]</div>')
    assert page.count("<math") == 2 and 'display="block"' in page and "\\(" not in page
    assert "<mfrac>" in page and "<msub>" in page


def test_glossary_lists_every_variable():
    from socsec_proj.variables import VARIABLES

    committed = (DOCS / "glossary.md").read_text(encoding="utf-8")
    for name, variable in VARIABLES.items():
        assert f"| `{name}` | ({', '.join(variable.dims)}) | {variable.units} |" in committed


def test_mkdocs_build_strict(tmp_path):
    if importlib.util.find_spec("mkdocs") is None:
        pytest.skip("mkdocs is not installed: pip install -e '.[test]' to build the documentation")
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1")  # mkdocs-material's end-of-life banner
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    elapsed = time.monotonic() - started
    assert result.returncode == 0, f"mkdocs build --strict failed:\n{result.stdout}\n{result.stderr}"
    assert elapsed < 120, f"the documentation build took {elapsed:.0f} s"
    site = tmp_path / "site"
    for page in ("index.html", "user-guide/index.html", "method/index.html", "api/index.html",
                 "glossary/index.html", "parameters/index.html", "architecture/index.html", "benchmarks/index.html"):
        assert (site / page).is_file(), page
    # formulas are MathML rendered at build time: no MathJax, no script or font from a CDN (they render offline)
    method = (site / "method" / "index.html").read_text(encoding="utf-8")
    assert method.count("<math") > 50 and "\\frac" not in method
    for page in site.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        assert "mathjax" not in text.lower() and "cdn.jsdelivr" not in text and "fonts.googleapis" not in text, page
    api = (site / "api" / "index.html").read_text(encoding="utf-8")
    for name in ("socsec_proj.run", "socsec_proj.balancing_contribution_rate", "socsec_proj.list_scenarios",
                 "socsec_proj.labour.retirement.statutory_retirement_age", "socsec_proj.inputs.parameters",
                 "socsec_proj.inputs.scenario.load_scenario", "socsec_proj.demography.lifetable.life_table",
                 "socsec_proj.report.plots.fan_chart", "socsec_proj.report.summary.summary_markdown",
                 "socsec_proj.stochastic.run"):
        assert f'id="{name}"' in api, name
    # the snippets were included, not left as markers
    architecture = (site / "architecture" / "index.html").read_text(encoding="utf-8")
    assert "--8&lt;--" not in architecture and "The path of a projection" in architecture
    benchmarks = (site / "benchmarks" / "index.html").read_text(encoding="utf-8")
    assert "Latest figures" in benchmarks
