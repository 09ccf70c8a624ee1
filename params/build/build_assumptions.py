"""Build the long-run economic assumptions: the intermediate set in ``params/`` and the
low-cost and high-cost scenarios around it.

Run from the repository root::

    python params/build/build_assumptions.py [--shared ../shared/data] [--out params] [--scenarios scenarios]

Reads ``policy/national_rates_by_year.csv`` (the pension increases and crediting rates of
2016-2025) from ``--shared`` and the committed tables ``params/social_insurance/average_wage.csv``
and ``yearbook_2024_employee_pension.csv`` (written by ``build_social_insurance.py``), and writes

- ``parameters/economy/wage_growth.yaml``: the 2020-2024 growth, tapering to the long-run rate;
- ``parameters/employee_pension/indexation_wage_share.yaml``: the share of wage growth the
  2016-2025 pension increases passed on;
- ``parameters/employee_pension/account_crediting_rate.yaml`` and ``investment_return.yaml``:
  the 2016-2025 record, then a path to the long-run rate;
- ``scenarios/low_cost.yaml`` and ``scenarios/high_cost.yaml``: the same rules with the
  long-run values of :data:`SETS`.

Which numbers are records and which are assumptions, and why, is in ``params/SOURCES.md``
(section "Long-run assumptions"). Deterministic: ``tests/test_sensitivity.py`` rebuilds into
a temporary folder and checks that the result equals what is committed.
"""

from __future__ import annotations

import argparse
import functools
import importlib.util
import json
import math
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[2]
GENERATOR = "params/build/build_assumptions.py"
NATIONAL_RATES = "policy/national_rates_by_year.csv"

#: Years of the record whose prior-year wage growth straddles the 2018-2020 switch of the wage
#: series to the all-unit average (params/SOURCES.md#average-wage): left out of the fitted share.
BREAK_WAGE_YEARS = (2018, 2019, 2020)

#: The last year of the record (pension increases, crediting rates) and the first assumed year.
RECORD_LAST, FIRST_ASSUMED = 2025, 2026

#: Long-run values of the three sets [/1] and the years by which they are reached. Every number
#: is an ASSUMPTION; the reasoning is in params/SOURCES.md#long-run-assumptions.
SETS = {
    "intermediate": {"wage_growth": 0.040, "cpi": 0.020, "return": 0.030, "indexation_share": None,
                     "flexible_early": 0.20, "flexible_late": 0.05},
    "low_cost": {"wage_growth": 0.050, "cpi": 0.025, "return": 0.035, "indexation_share": 0.45,
                 "flexible_early": 0.10, "flexible_late": 0.10},
    "high_cost": {"wage_growth": 0.030, "cpi": 0.015, "return": 0.025, "indexation_share": 0.75,
                  "flexible_early": 0.30, "flexible_late": 0.05},
}
WAGE_ULTIMATE_YEAR = 2050    # nominal wage growth reaches its long-run rate
RETURN_ULTIMATE_YEAR = 2035  # the fund's return and the crediting rate reach theirs

DESCRIPTIONS = {
    "low_cost": (
        "The low-cost set: the intermediate assumptions of the baseline moved together in the directions that "
        "help the funds. Nominal wage growth tapers from 5.36 % to 5 % by 2050 (real 2.5 % over CPI 2.5 %) "
        "instead of 4 %; pensions in payment rise by 45 % of wage growth instead of the record's {share:.0f} %; the fund's "
        "return and the account crediting rate reach 3.5 % by 2035 instead of 3 %; one worker in ten retires early "
        "under the flexible clause instead of two, and one in ten late instead of one in twenty. Law, demography and subsidy rule as in the baseline."),
    "high_cost": (
        "The high-cost set: the intermediate assumptions of the baseline moved together in the directions that "
        "hurt the funds. Nominal wage growth tapers from 5.36 % to 3 % by 2050 (real 1.5 % over CPI 1.5 %) "
        "instead of 4 %; pensions in payment rise by 75 % of wage growth instead of the record's {share:.0f} %; the fund's "
        "return and the account crediting rate reach 2.5 % by 2035 instead of 3 %; three workers in ten retire "
        "early under the flexible clause instead of two (late take-up, which needs the employer's agreement, stays "
        "at one in twenty). Law, demography and subsidy rule as in the baseline."),
}


@functools.cache  # loaded once: its YAML dumper knows the flow-list type of its own documents
def _social_insurance_writer():
    """The YAML writer of build_social_insurance.py, so both builds write one format."""
    spec = importlib.util.spec_from_file_location("build_social_insurance",
                                                  Path(__file__).with_name("build_social_insurance.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --------------------------------------------------------------------------------------------
# The record


def national_wage_growth(params: Path) -> pd.Series:
    """Year-on-year growth of the national average wage [/1], by year: provinces with both years,
    weighted by their 2024 insured workers (the weights of ``economy.wage_growth``)."""
    wages = pd.read_csv(params / "social_insurance/average_wage.csv", comment="#")
    weights = pd.read_csv(params / "social_insurance/yearbook_2024_employee_pension.csv",
                          comment="#").set_index("province")["insured_workers"]
    table = wages.pivot(index="province", columns="year", values="average_wage")
    growth = {}
    for year in table.columns[1:]:
        both = table[[year - 1, year]].dropna().index
        growth[int(year)] = float((table.loc[both, year] * weights[both]).sum()
                                  / (table.loc[both, year - 1] * weights[both]).sum() - 1.0)
    return pd.Series(growth)


def recent_wage_growth(params: Path, first=2020, last=2024) -> float:
    """Mean yearly growth of the weighted national average wage from ``first`` to ``last`` [/1]."""
    wages = pd.read_csv(params / "social_insurance/average_wage.csv", comment="#")
    weights = pd.read_csv(params / "social_insurance/yearbook_2024_employee_pension.csv",
                          comment="#").set_index("province")["insured_workers"]
    table = wages.pivot(index="province", columns="year", values="average_wage")[[first, last]].dropna()
    ratio = (table[last] * weights[table.index]).sum() / (table[first] * weights[table.index]).sum()
    return float(ratio ** (1.0 / (last - first)) - 1.0)


def indexation_record(shared: Path, params: Path) -> pd.DataFrame:
    """The 2016-2025 pension increases against the wage growth of the year before.

    The annual notice of year Y sets the increase from 1 January Y with the wage growth of Y-1
    known, so increase(Y) is set against growth(Y-1). Columns: ``increase``, ``wage_growth``,
    ``ratio`` and ``kept`` (False where growth(Y-1) straddles the 2018-2020 break of the wage
    series).
    """
    rates = pd.read_csv(shared / NATIONAL_RATES, comment="#").dropna(subset=["pension_adjustment"])
    growth = national_wage_growth(params)
    record = pd.DataFrame({"increase": rates.set_index("year")["pension_adjustment"].astype(float)})
    record["wage_growth"] = [growth.get(year - 1, math.nan) for year in record.index]
    record["ratio"] = record["increase"] / record["wage_growth"]
    record["kept"] = [year - 1 not in BREAK_WAGE_YEARS for year in record.index]
    return record


def fitted_indexation_share(record: pd.DataFrame) -> float:
    """Share of wage growth passed to pensions over the kept years: sum of log increases over
    sum of log wage growth (a ratio of cumulated growth, not a mean of yearly ratios) [/1]."""
    kept = record[record["kept"]]
    return float(sum(math.log1p(v) for v in kept["increase"]) / sum(math.log1p(v) for v in kept["wage_growth"]))


# --------------------------------------------------------------------------------------------
# Paths


def linear_path(start_value: float, end_value: float, start_year: int, end_year: int) -> list:
    """``(YYYY-01-01, value)`` for each year after ``start_year`` to ``end_year``: a straight line."""
    step = (end_value - start_value) / (end_year - start_year)
    return [(f"{year}-01-01", round(start_value + step * (year - start_year), 6))
            for year in range(start_year + 1, end_year + 1)]


def set_paths(assumptions: dict, recent_growth: float, last_rate: float) -> dict:
    """The dated values of one set from 2026: ``{parameter path: [(date, value), ...]}``."""
    return {
        "economy.wage_growth": linear_path(recent_growth, assumptions["wage_growth"], RECORD_LAST,
                                           WAGE_ULTIMATE_YEAR),
        "economy.cpi_inflation": [(f"{FIRST_ASSUMED}-01-01", assumptions["cpi"])],
        "employee_pension.investment_return": linear_path(last_rate, assumptions["return"], RECORD_LAST,
                                                          RETURN_ULTIMATE_YEAR),
        "employee_pension.account_crediting_rate": linear_path(last_rate, assumptions["return"], RECORD_LAST,
                                                               RETURN_ULTIMATE_YEAR),
        "employee_pension.indexation_wage_share": [(f"{FIRST_ASSUMED}-01-01", assumptions["indexation_share"])],
        "labour.flexible_early_share": [("2025-01-01", assumptions["flexible_early"])],
        "labour.flexible_late_share": [("2025-01-01", assumptions["flexible_late"])],
    }


def flexible_values(share_path: list) -> list:
    """No flexible retirement before the 2024 law took effect (1 January 2025), then the set's share."""
    return [("2020-01-01", 0.0), *share_path]


# --------------------------------------------------------------------------------------------
# Writing


def _write(path: Path, document: dict) -> None:
    """One parameter file in build_social_insurance.py's format (its ``yaml`` dumper), with our header."""
    import yaml

    writer = _social_insurance_writer()
    text = yaml.dump(document, Dumper=writer._Dumper, allow_unicode=True, sort_keys=False, width=1_000_000)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"# generated by {GENERATOR}; do not edit by hand\n" + text, encoding="utf-8")


def build_parameters(shared: Path, params: Path, out: Path, paths: dict, share: float, record: pd.DataFrame,
                     recent: float) -> None:
    """The six parameter files of the intermediate set."""
    lines = _social_insurance_writer().parameter_document
    rates = pd.read_csv(shared / NATIONAL_RATES, comment="#").dropna(subset=["ia_crediting_rate"])
    history = [(f"{int(y)}-01-01", float(v)) for y, v in zip(rates["year"], rates["ia_crediting_rate"])]
    section = "params/SOURCES.md#long-run-assumptions"
    kept = ", ".join(str(y) for y in record.index[record["kept"]])
    _write(out / "parameters/economy/wage_growth.yaml", lines(
        description="Nominal growth of the provincial average wage used for pensions (contribution base, benefit "
        f"formula, pooling remittances). 2025: the 2020-2024 growth of the 31 provinces' average wage, weighted "
        f"by their 2024 insured workers ({100 * recent:.2f} %/year); then a straight line to the long-run "
        f"{100 * SETS['intermediate']['wage_growth']:g} % (real {100 * (SETS['intermediate']['wage_growth'] - SETS['intermediate']['cpi']):g} % "
        f"over CPI {100 * SETS['intermediate']['cpi']:g} %) in {WAGE_ULTIMATE_YEAR}, held after.",
        unit="/1", label="Nominal average-wage growth", value_range=(-0.2, 0.3),
        reference=["params/social_insurance/average_wage.csv (2020 and 2024), weights yearbook2025 table 24-26 "
                   "insured workers (the 2025 value)",
                   f"ASSUMPTION: the long-run rate and the taper ({section})"],
        values=[("2025-01-01", round(recent, 4)), *paths["economy.wage_growth"]]))
    _write(out / "parameters/employee_pension/indexation_wage_share.yaml", lines(
        description="Share of average-wage growth passed to pensions in payment under the \"wage_share\" rule. "
        f"From {FIRST_ASSUMED}: the share the 2016-2025 national increases passed on, each set against the "
        f"national wage growth of the year before (years {kept}; those after the 2018-2020 break of the wage "
        "series are left out): sum of log increases / sum of log wage growth. 1 = full wage indexation.",
        unit="/1", label="Wage share of indexation", value_range=(0, 2),
        national="pensions in payment rise by the one national increase of the annual MOHRSS / MOF notice",
        reference=[f"{NATIONAL_RATES} (pension_adjustment) against params/social_insurance/average_wage.csv",
                   f"the fit: {section}"],
        values=[("2016-01-01", 1.0), (f"{FIRST_ASSUMED}-01-01", round(share, 4))]))
    for name, label, what in (
        ("account_crediting_rate", "Individual-account crediting rate",
         "Crediting (interest) rate of the urban-employee individual accounts (个人账户记账利率), uniform "
         "nationally since 2016, by calendar year."),
        ("investment_return", "Return on the fund balance",
         "Return on the urban-employee pension fund's balance (interest on the opening balance). No provincial "
         "return series is in the shipped data; the national crediting rate of the individual accounts, the rate "
         "the system itself pays on its members' money, is used as the proxy for 2016-2025."),
    ):
        _write(out / f"parameters/employee_pension/{name}.yaml", lines(
            description=f"{what} 2016-2025 the annual notices; then a straight line from 1.5 % to the long-run "
            f"{100 * SETS['intermediate']['return']:g} % (CPI {100 * SETS['intermediate']['cpi']:g} % + 1 % real) "
            f"in {RETURN_ULTIMATE_YEAR}, held after.",
            unit="/1", label=label, value_range=(0, 0.2) if name == "account_crediting_rate" else (-0.5, 0.5),
            national=("MOHRSS / MOF announce one crediting rate for the whole country each year (since 2016)"
                      if name == "account_crediting_rate" else "the pooled fund (全国统筹, 2022) is invested as "
                      "one: an assumption about its return, not a provincial rule"),
            reference=[f"{NATIONAL_RATES} (MOHRSS / MOF annual notices), column ia_crediting_rate (2016-2025)",
                       f"ASSUMPTION: the path from {FIRST_ASSUMED} ({section})"],
            values=history + paths[f"employee_pension.{name}"]))
    law = "全国人民代表大会常务委员会关于实施渐进式延迟法定退休年龄的决定 (2024-09-13), 办法 art. {}"
    for side, article, clause, what in (("early", 2, "弹性提前退休", "early: up to three years (labour.flexible_months) "
                                         "before its new statutory age, never below the original age"),
                                        ("late", 3, "弹性延迟退休", "late: up to three years (labour.flexible_months) "
                                         "after its statutory age")):
        _write(out / f"parameters/labour/flexible_{side}_share.yaml", lines(
            description=f"Share of each cohort that retires {what}, under the flexible-retirement clause of the "
            "2024 law. No take-up is in the shipped data: the value is an ASSUMPTION (0 is not neutral: it "
            "says nobody uses a right the law gives).",
            unit="/1", label=f"Share retiring {side} (flexible retirement)", value_range=(0, 1),
            national="an assumption about take-up of a right the 2024 law gives in every province alike; "
            "no provincial take-up is known",
            reference=[f"{law.format(article)} ({clause})", f"ASSUMPTION: the share ({section})"],
            values=flexible_values(paths[f"labour.flexible_{side}_share"])))


def _yaml_value(value) -> str:
    return repr(float(value)) if isinstance(value, float) else json.dumps(value)


def build_scenario(name: str, paths: dict, out: Path, share: float) -> None:
    """``scenarios/<name>.yaml``: the set's dated values as changes of the baseline."""
    text = json.dumps(DESCRIPTIONS[name].format(share=100 * share), ensure_ascii=False)
    lines = [f"name: {name}", f"description: {text}", "extends: baseline", "changes:"]
    for path, values in paths.items():
        lines.append(f"  {path}:")
        lines += [f"    {day}: {_yaml_value(value)}" for day, value in values]
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{name}.yaml").write_text("\n".join([f"# generated by {GENERATOR}; do not edit by hand", *lines]) + "\n",
                                      encoding="utf-8")


def build(shared: Path, out: Path, scenarios: Path, params: Path = REPO / "params") -> dict:
    """Write the intermediate parameters under ``out`` and the two scenarios under ``scenarios``;
    return the figures of the fit for the log and the tests."""
    shared, out, scenarios, params = Path(shared), Path(out), Path(scenarios), Path(params)
    record = indexation_record(shared, params)
    share = fitted_indexation_share(record)
    recent = recent_wage_growth(params)
    rates = pd.read_csv(shared / NATIONAL_RATES, comment="#").dropna(subset=["ia_crediting_rate"])
    last_rate = float(rates["ia_crediting_rate"].iloc[-1])
    sets = {}
    for name, assumptions in SETS.items():
        values = dict(assumptions, indexation_share=round(share, 4) if assumptions["indexation_share"] is None
                      else assumptions["indexation_share"])
        sets[name] = set_paths(values, round(recent, 4), last_rate)
    build_parameters(shared, params, out, sets["intermediate"], share, record, recent)
    for name in ("low_cost", "high_cost"):
        build_scenario(name, sets[name], scenarios, share)
    return {"record": record, "indexation_share": share, "recent_wage_growth": recent}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--out", type=Path, default=REPO / "params")
    parser.add_argument("--scenarios", type=Path, default=REPO / "scenarios")
    args = parser.parse_args(argv)
    figures = build(args.shared, args.out, args.scenarios)
    print(figures["record"].round(4).to_string())
    print(f"fitted indexation share {figures['indexation_share']:.4f}; "
          f"2020-2024 wage growth {figures['recent_wage_growth']:.6f}")


if __name__ == "__main__":
    main()
