"""report.html: self-contained, bilingual, rendered in a real headless Chromium, no request leaving the file.

The page of a real baseline run (with a few stochastic draws) is written by
``report.outputs.write_outputs`` and opened in Chromium (``--dump-dom``, the DOM after
rendering) with a network log: every request the page starts is listed, and the browser's
own name lookups are mapped to nowhere, so nothing leaves the machine whatever the page
held. A control page with an outside image and no Content Security Policy shows that the
log does catch a request. Skipped, with the reason, where Chromium is not installed.
"""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from socsec_proj import report
from socsec_proj.errors import InputError
from socsec_proj.report import html as report_html
from socsec_proj.report.outputs import check_chart_end, write_comparison, write_outputs
from socsec_proj.report.prices import price_index

CHROMIUM = next((path for path in (shutil.which("chromium"), shutil.which("chromium-browser"), "/usr/bin/chromium")
                 if path and Path(path).exists()), None)
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (apt-get install chromium): "
                                    "report.html is not rendered in a browser here")

#: Flags for a quiet, offline browser: no first-run, sync, updates or background traffic, and every
#: host name except the loopback resolved to nothing.
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--disable-default-apps", "--disable-extensions", "--no-default-browser-check",
                  "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1")


def render(page: Path, tmp_path: Path) -> tuple[str, list[str]]:
    """The DOM of ``page`` after Chromium rendered it, and the URLs of the requests the page started."""
    profile, netlog = tmp_path / f"profile-{page.stem}", tmp_path / f"{page.stem}.netlog.json"
    done = subprocess.run([CHROMIUM, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", f"--log-net-log={netlog}",
                           "--dump-dom", page.resolve().as_uri()], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    log = json.loads(netlog.read_text(encoding="utf-8"))
    start = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
    # Requests the page started carry its origin; the browser's own (updates, sign-in) "not an origin".
    requested = [event["params"]["url"] for event in log["events"] if event["type"] == start
                 and "url" in event.get("params", {}) and event["params"].get("initiator") != "not an origin"]
    return done.stdout, requested


class _Elements(HTMLParser):
    """Tags and attributes of a page, and its visible text, as the parser meets them."""

    def __init__(self):
        super().__init__()
        self.tags, self.text = [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)


def parse(text: str) -> _Elements:
    elements = _Elements()
    elements.feed(text)
    return elements


@pytest.fixture(scope="module")
def draws():
    import socsec_proj as ssp

    return ssp.run("baseline", draws=8, seed=3)


@pytest.fixture(scope="module")
def written(baseline, draws, tmp_path_factory):
    import socsec_proj as ssp

    folder = tmp_path_factory.mktemp("run")
    charts = write_outputs(baseline, ssp.load_scenario("baseline"), folder, draws=draws)
    return folder, charts


# --------------------------------------------------------------------------------------------
# The file itself
# --------------------------------------------------------------------------------------------


def test_outputs_written_once_and_linked(written):
    folder, charts = written
    files = {path.name for path in folder.iterdir()}
    assert {"report.html", "results.xlsx", "population_pyramid.png", "employee_pension_balance.png",
            "employee_pension_fan.png", "employee_pension_depletion_years.png"} <= files
    assert set(charts.values()) <= files and not [name for name in files if name.endswith(".tmp")]


def test_report_is_self_contained(written):
    text = (written[0] / "report.html").read_text(encoding="utf-8")
    elements = parse(text)
    csp = [attrs["content"] for tag, attrs in elements.tags
           if tag == "meta" and attrs.get("http-equiv") == "Content-Security-Policy"]
    assert csp == ["default-src 'none'; img-src data:; style-src 'unsafe-inline'"]
    assert not re.search(r"https?://", text)  # no address of anything anywhere
    assert not [tag for tag, _ in elements.tags if tag in ("script", "link", "iframe", "object", "embed")]
    references = [value for _, attrs in elements.tags for key, value in attrs.items() if key in ("src", "href")]
    assert references and all(value.startswith("data:image/png;base64,") for value in references)
    assert "url(" not in text and "@import" not in text
    images = [attrs for tag, attrs in elements.tags if tag == "img"]
    assert len(images) == len(written[1])  # every chart written is embedded, once


# --------------------------------------------------------------------------------------------
# Rendered in a real browser
# --------------------------------------------------------------------------------------------


@needs_chromium
def test_report_renders_in_chromium_with_no_request(written, baseline, draws, tmp_path):
    import socsec_proj as ssp
    from socsec_proj.provenance import scenario_hash

    dom, requested = render(written[0] / "report.html", tmp_path)
    assert requested == []
    elements = parse(dom)
    text = " ".join(" ".join(elements.text).split())
    # Both languages, province names in both.
    assert "Projection report: scenario baseline" in text and "预测报告：情景 baseline" in text
    assert "Guangdong (CN-GD)" in text and "广东（CN-GD）" in text and "黑龙江（CN-HL）" in text
    assert "城镇职工基本养老保险" in text and "Urban-employee pension" in text
    # The headline table: the figures of summary.headline_figures, as printed in summary.md.
    years, figures = report.headline_figures(baseline)
    population = next(row for row in figures if row["variable"] == "population")
    assert f"{population['values'][0]:,.1f}" in text and years == [2024, 2035, 2050]
    # Depletion year of the pooled employee pension, and the plan-target section.
    pooled = report.depletion_years(baseline, national=True).loc["total", "employee_pension"]
    assert f"{int(pooled)}" in text and "The scenario sets no plan targets." in text
    # Assumptions behind the funds, with units and references.
    assert "employee_pension.employer_rate" in text and "economy.cpi_inflation" in text
    # Stochastic draws: the depletion-year distribution.
    assert f"{draws.sizes['draw']:,} draws" in text and "Stochastic draws" in text
    # Provenance.
    assert ssp.__version__ in text and scenario_hash(ssp.load_scenario("baseline")) in text
    rendered = [attrs for tag, attrs in elements.tags if tag == "img"]
    assert rendered and all(attrs["src"].startswith("data:image/png") for attrs in rendered)


@needs_chromium
def test_the_request_log_catches_an_outside_image_and_the_policy_blocks_it(written, tmp_path):
    text = (written[0] / "report.html").read_text(encoding="utf-8")
    outside = text.replace("<main>", '<main><img src="http://127.0.0.1:9/outside.png" alt="">', 1)
    guarded, open_page = tmp_path / "guarded.html", tmp_path / "open.html"
    guarded.write_text(outside, encoding="utf-8")
    open_page.write_text(re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", outside), encoding="utf-8")
    assert render(open_page, tmp_path)[1] == ["http://127.0.0.1:9/outside.png"]  # the log sees it
    assert render(guarded, tmp_path)[1] == []  # the page's policy stops it


# --------------------------------------------------------------------------------------------
# Contents, checked by hand
# --------------------------------------------------------------------------------------------


def _cells(text: str, first_cell: str) -> list[str]:
    """The cells of the table row whose first cell contains ``first_cell``."""
    for row in re.findall(r"<tr[^>]*>(.*?)</tr>", text, flags=re.S):
        cells = [" ".join(re.sub(r"<[^>]+>", " ", cell).split())
                 for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, flags=re.S)]
        if cells and first_cell in cells[0]:
            return cells
    raise AssertionError(f"no row {first_cell!r}")


def test_balance_tables_in_2024_prices_of_100_million_yuan(baseline):
    import socsec_proj as ssp

    scenario = ssp.load_scenario("baseline")
    prices = price_index(scenario, baseline["year"].values)
    text = report_html.report_html(baseline, scenario, prices=prices)
    row = _cells(text, "Guangdong (CN-GD)")  # the first such row: the employee pension's table
    header = re.findall(r"<th>(\d{4})</th>", text.split("年末累计结余", 1)[1])[:6]
    assert header == ["2024", "2030", "2035", "2040", "2050", "2060"]  # up to the chart's end, 2060
    balance = float(baseline["employee_pension_balance"].sel(province="CN-GD", year=2030))
    assert row[2] == f"{balance / 1.02 ** 6 / 1e8:,.0f}"  # CPI 2 % a year from 2025: 1.02^6 in 2030
    assert "年末累计结余［亿元，2024年价格］" in text
    hl = _cells(text, "Heilongjiang (CN-HL)")
    years = report.depletion_years(baseline)
    assert hl[-1] == str(int(years.loc["CN-HL", "employee_pension"]))


def test_assumptions_mark_what_the_scenario_changed(baseline):
    import socsec_proj as ssp

    scenario = ssp.load_scenario("contribution_rate_cut")
    text = report_html.report_html(baseline, scenario)
    row = _cells(text, "employee_pension.employer_rate")
    assert "★" in row[0] and "2027-01-01: 0.14" in row[2] and row[3] == "/1"
    assert re.search(r'<tr class="changed"><td><code>employee_pension\.employer_rate</code>', text)
    parameter = scenario.parameters.get("employee_pension.employer_rate")
    assert html.unescape(row[4]) == " ".join(str(parameter.metadata.reference).split())
    assert "★" not in _cells(text, "employee_pension.employee_rate")[0]


def test_targets_in_both_languages(baseline):
    import socsec_proj as ssp

    scenario = ssp.load_scenario("hebei_14th_plan")
    checks = report.target_checks(baseline, scenario)
    text = report_html.report_html(baseline, scenario)
    met = int(sum(check is True for check in checks["met"]))
    assert f"{met} of {len(checks)} targets met." in text and f"{len(checks)}项目标中达到{met}项。" in text


def _fake_draws(never: int, total: int = 10) -> xr.Dataset:
    """``total`` draws of one province: draw i runs out in 2030 + i, the last ``never`` never do."""
    years = np.arange(2024, 2041)
    balance = np.ones((total, 1, years.size))
    for draw in range(total - never):
        balance[draw, 0, years >= 2030 + draw] = -1.0
    return xr.Dataset({"employee_pension_balance": (("draw", "province", "year"), balance, {"units": "CNY"})},
                      coords={"draw": np.arange(total), "province": ["CN-GD"], "year": years})


def test_depletion_distribution_counts_never_depleted_draws_after_the_horizon():
    found = report_html.depletion_distribution(_fake_draws(never=6), "employee_pension")
    # Draws run out in 2030..2033; six never do: more than half, so the median is after 2040.
    assert found["draws"] == 10 and found["never"] == 6 and found["horizon"] == 2040
    assert found["quantiles"][0.05] == 2030 and found["quantiles"][0.25] == 2032
    assert found["quantiles"][0.5] is None and found["quantiles"][0.95] is None
    found = report_html.depletion_distribution(_fake_draws(never=0), "employee_pension")
    assert found["quantiles"][0.5] == 2034 and found["never"] == 0  # draws 0..9 in 2030..2039


def test_comparison_page(baseline, tmp_path):
    import socsec_proj as ssp

    a, b = ssp.load_scenario("baseline"), ssp.load_scenario("contribution_rate_cut")
    other = baseline.copy()
    other["employee_pension_balance"] = baseline["employee_pension_balance"] - 1e13  # 10 trillion less everywhere
    other.attrs["scenario"] = "contribution_rate_cut"
    charts = write_comparison(baseline, other, a, b, tmp_path, chart_end=2050)
    assert "Urban-employee pension: balance" in charts and (tmp_path / "compare_employee_pension_balance.png").exists()
    text = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "Comparison: contribution_rate_cut against baseline" in text and "情景比较" in text
    row = _cells(text, "Urban-employee pension 城镇职工基本养老保险")
    pooled_a = report.depletion_years(baseline, national=True).loc["total", "employee_pension"]
    pooled_b = report.depletion_years(other, national=True).loc["total", "employee_pension"]
    assert row[1] == str(int(pooled_a)) and row[2] == str(int(pooled_b)) and pooled_b < pooled_a
    assert not re.search(r"https?://", text)


def test_chart_end_outside_the_projection_is_refused():
    assert check_chart_end(2050, 2020, 2100) == 2050 and check_chart_end(None, 2020, 2100) == 2060
    for bad in (2020, 2101, 1999, "2050", 2050.0, True):
        with pytest.raises(InputError, match="--chart-end") as error:
            check_chart_end(bad, 2020, 2100)
        assert "2021..2100" in str(error.value)
