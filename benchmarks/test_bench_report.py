"""Speed of the charts and files a run writes for readers (issue #18: 1.8-1.9 s for the CLI's charts).

``cli_charts`` is the command line's chart step as it was (``cli._charts``: English, nominal, to
2100, constrained layout); ``report_charts_*`` the same ten charts as ``report.write_outputs``
draws them (2024 prices, to 2060, fixed margins, PNG zlib level 1), in English and in both
languages; ``report_html`` and ``results_xlsx`` the two new files.
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


def test_cli_charts(benchmark, run, tmp_path):
    from socsec_proj import cli

    benchmark.group = "charts of a run (10 PNG)"
    written = benchmark.pedantic(cli._charts, args=(run[1], tmp_path), rounds=5, iterations=1, warmup_rounds=1)
    assert len(written) == 10


@pytest.mark.parametrize("lang", ["en", "both"])
def test_report_charts(benchmark, run, tmp_path, lang):
    benchmark.group = "charts of a run (10 PNG)"
    files = benchmark.pedantic(_report_charts, args=(run[1], run[2], tmp_path, lang), rounds=5, iterations=1,
                               warmup_rounds=1)
    assert len(files) == 10


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
