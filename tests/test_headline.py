"""The headline figures the README quotes, held to the code.

After a change that moves the projection (a new population, a new assumption), re-pin by
running ``python -m tests.test_headline`` from the repository root: it prints the table below
with today's figures; paste it over :data:`HEADLINE` and write the same numbers into the
README's "What the baseline says".
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

import socsec_proj as ssp

README = Path(__file__).resolve().parents[1] / "README.md"

#: Every figure of the README's "What the baseline says", as printed there.
HEADLINE = {
    "table": {  # national employee pension: insured workers [M], pensioners [M], balance [trillion CNY]
        2024: (386.6, 147.0, 7.06),
        2035: (394.5, 195.3, 13.77),
        2050: (318.7, 270.7, -35.32),
    },
    "sets": {  # national depletion year, balance 2035 and 2050 [trillion CNY]
        "high_cost": (2041, 8.67, -71.37),
        "baseline": (2046, 13.77, -35.32),
        "low_cost": (2052, 19.50, 8.69),
    },
    "variants": {  # depletion year of the intermediate set without ...
        "without fiscal subsidies": 2032,
        "without the retirement-age delay": 2038,
        "without either": 2030,
    },
    "first_provinces": (("CN-LN", "CN-HL"), 2025),
    "stochastic": (2046, 2043, 2049),  # 1,000 draws, seed 42: median, 5 % and 95 % of the depletion year
    "resident": (2044, 2041, 2051),    # the resident fund: baseline, then the earliest and latest set
    "sensitivity": {  # earlier and later depletion year, the assumption shifted down and up by its stated shift
        "labour.employee_coverage_scale": (2044, 2047),
        "employee_pension.indexation_wage_share": (2044, 2048),
        "economy.wage_growth": (2045, 2047),
        "employee_pension.investment_return": (2046, 2046),
    },
    "unemployment": (2035, 1),  # provinces whose unemployment fund runs out by that year
}

NO_SUBSIDY = {"employee_pension.subsidy_scale": {"2025-01-01": 0.0}}


def _readme_section() -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index("## What the baseline says")
    return " ".join(text[start:text.index("\n## ", start + 1)].split())


def _with(scenario, changes):
    return scenario.model_copy(update={"parameters": scenario.parameters.with_changes(changes)})


def measure() -> dict:
    """Today's figures, in the layout of :data:`HEADLINE`."""
    def national(ds):
        return float(ssp.depletion_year(ds, "employee_pension", national_total=True))

    def balance(ds, year):
        return round(float(ds["employee_pension_balance"].sel(year=year).sum()) / 1e12, 2)

    runs = {name: ssp.run(name) for name in ("high_cost", "baseline", "low_cost")}
    base = runs["baseline"]
    table = {}
    for year in (2024, 2035, 2050):
        workers = float(base["employee_pension_contributors"].sel(year=year).sum()) / 1e6
        pensioners = float(base["employee_pension_retirees"].sel(year=year).sum()) / 1e6
        table[year] = (round(workers, 1), round(pensioners, 1), balance(base, year))
    sets = {name: (int(national(ds)), balance(ds, 2035), balance(ds, 2050)) for name, ds in runs.items()}
    baseline, no_delay = ssp.load_scenario("baseline"), ssp.load_scenario("no_retirement_delay")
    variants = {"without fiscal subsidies": int(national(ssp.run(_with(baseline, NO_SUBSIDY)))),
                "without the retirement-age delay": int(national(ssp.run(no_delay))),
                "without either": int(national(ssp.run(_with(no_delay, NO_SUBSIDY))))}
    by_province = ssp.depletion_year(base, "employee_pension")
    first = by_province.where(by_province == by_province.min(), drop=True)
    draws = ssp.depletion_year(ssp.run("baseline", draws=1000, seed=42), "employee_pension",
                               national_total=True).values
    draws = np.where(np.isnan(draws), np.inf, draws)  # a draw that lasts the horizon counts as late
    resident = [float(ssp.depletion_year(ds, "resident_pension", national_total=True)) for ds in runs.values()]
    moved = ssp.sensitivity("baseline", list(HEADLINE["sensitivity"]))
    by_direction = moved.set_index(["parameter", "direction"])["depletion_year"]
    year, _ = HEADLINE["unemployment"]
    return {
        "table": table,
        "sets": sets,
        "variants": variants,
        "first_provinces": (tuple(str(p) for p in first["province"].values), int(by_province.min())),
        "stochastic": tuple(int(v) for v in np.percentile(draws, [50, 5, 95], method="lower")),
        "resident": (int(resident[1]), int(min(resident)), int(max(resident))),
        "sensitivity": {path: tuple(sorted(int(by_direction[path, d]) for d in ("down", "up")))
                        for path in HEADLINE["sensitivity"]},
        "unemployment": (year, int((ssp.depletion_year(base, "unemployment") <= year).sum())),
    }


@pytest.fixture(scope="module")
def today():
    return measure()


@pytest.mark.parametrize("key", list(HEADLINE))
def test_the_code_gives_the_pinned_figures(today, key):
    assert today[key] == HEADLINE[key]


def test_the_sets_are_ordered_high_cost_baseline_low_cost(today):
    years = [today["sets"][name][0] for name in ("high_cost", "baseline", "low_cost")]
    assert years == sorted(years) and len(set(years)) == 3


def test_the_readme_quotes_the_pinned_figures():
    text = _readme_section()
    workers, pensioners, balances = ([f"{HEADLINE['table'][y][k]:.{d}f}" for y in (2024, 2035, 2050)]
                                     for k, d in ((0, 1), (1, 1), (2, 2)))
    assert f"| insured workers (M) | {' | '.join(workers)} |" in text
    assert f"| pensioners (M) | {' | '.join(pensioners)} |" in text
    assert f"| balance (trillion CNY) | {' | '.join(balances)} |" in text
    for name, (year, b2035, b2050) in HEADLINE["sets"].items():
        label = "`baseline` (intermediate)" if name == "baseline" else f"`{name}`"
        assert f"| {label} | {year} | {b2035:.2f} | {b2050:.2f} |" in text, name
    base = HEADLINE["sets"]["baseline"][0]
    variants = HEADLINE["variants"]
    assert (f"first falls below zero in {base} under the intermediate set, "
            f"{variants['without fiscal subsidies']} without fiscal subsidies, "
            f"{variants['without the retirement-age delay']} without the retirement-age delay and "
            f"{variants['without either']} without either") in text
    names = {"CN-LN": "Liaoning", "CN-HL": "Heilongjiang"}
    codes, year = HEADLINE["first_provinces"]
    assert f"{' and '.join(names[c] for c in codes)} run out in {year}" in text
    median, low, high = HEADLINE["stochastic"]
    assert f"median of {median} (5-95 %: {low}-{high})" in text
    assert "runs out in {} ({}-{} across the sets)".format(*HEADLINE["resident"]) in text
    for path, label in (("labour.employee_coverage_scale", "employee coverage (±5 %: {}-{})"),
                        ("employee_pension.indexation_wage_share", "indexation share (±0.1: {}-{})"),
                        ("economy.wage_growth", "±0.5 point of wage growth gives {}-{}"),
                        ("employee_pension.investment_return", "±0.5 point of the fund's return {}-{}")):
        assert label.format(*HEADLINE["sensitivity"][path]) in text, path
    assert "by {} in {} province".format(*HEADLINE["unemployment"]) in text   # "province" or "provinces"
    # every year the section names is one of the pinned ones or a stated input year
    pinned = {str(v) for v in re.findall(r"\b(20\d\d)\b", repr(HEADLINE))}
    inputs = {"2016", "2020", "2024", "2025", "2026", "2035", "2050", "2100", "2056"}  # 2056: the old baseline
    assert set(re.findall(r"\b(20\d\d)\b", text)) <= pinned | inputs


if __name__ == "__main__":
    import pprint

    pprint.pprint(measure(), sort_dicts=False)
