"""Speed of the charts and files a run writes for readers (issue #18: 1.8-1.9 s for the CLI's charts).

``report_charts_*`` the charts of a run as ``report.write_outputs`` draws them (2024 prices, to
2060, fixed margins, unhinted text, PNG zlib level 1: ``outputs.png``), in English and in both
languages, one after the other in this process (the command line draws them in a second process
beside the rest of its writing: ``test_bench_scale.py::test_cli_run_baseline``);
``report_html`` and ``results_xlsx`` the two other files. (``cli_charts``, the command line's
chart step before the report package, went with ``cli._charts``.)
"""

from __future__ import annotations

import pytest

import socsec_proj as ssp
from socsec_proj.report import html, outputs, prices, workbook


@pytest.fixture(scope="module")
def run():
    scenario = ssp.load_scenario("baseline")
    ds = ssp.run(scenario)
    return scenario, ds, prices.price_index(scenario, ds["year"].values)


def _report_charts(ds, index, folder, lang):
    return {key: outputs._save(draw(), folder / file, 150)
            for key, file, _, _, draw, _ in outputs._chart_plan(ds, index, 2060, lang)}


@pytest.mark.parametrize("lang", ["en", "both"])
def test_report_charts(benchmark, run, tmp_path, lang):
    benchmark.group = "charts of a run (14 PNG)"
    files = benchmark.pedantic(_report_charts, args=(run[1], run[2], tmp_path, lang), rounds=5, iterations=1,
                               warmup_rounds=1)
    assert len(files) == 14


def test_report_html(benchmark, run, tmp_path):
    benchmark.group = "files of a run"
    scenario, ds, index = run
    files = _report_charts(ds, index, tmp_path, "both")
    path = benchmark.pedantic(html.write_report, args=(ds, scenario, tmp_path),
                              kwargs={"charts": files, "prices": index}, rounds=5, iterations=1)
    assert path.stat().st_size > 1e6


def test_results_xlsx(benchmark, run, tmp_path):
    benchmark.group = "files of a run"
    path = benchmark.pedantic(workbook.write_workbook, args=(run[1], tmp_path, run[0]), rounds=3, iterations=1)
    assert path.name == "results.xlsx"
