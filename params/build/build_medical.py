"""Build the basic-medical-insurance tables and parameters in ``params/`` from ``../shared/data``.

Run from the repository root::

    python params/build/build_medical.py [--shared ../shared/data] [--out params]

Reads ``medical_insurance/`` (the NHSA statistical bulletins 2020-2025, the resident scheme's
financing standards, the employee scheme's national rules, retirees' and in-service workers'
spending per head, the seeds' medical figures) and the committed 2020 census base population,
and writes

- ``params/medical/national_bulletin.csv``: the national figures the two medical stages
  calibrate to (2024) and start from (balances at the end of each year 2019-2024);
- ``params/medical/spending_profile.csv``: medical spending per head by sex and age relative to
  age 20 to 44, an exponential in age whose retiree / in-service ratio is the 2024 bulletin's 3.33;
- ``params/history/medical_insurance.csv``: the published national figures 2020-2025 and the
  seeds' 2020 figures and 2025 targets for Guizhou and Hebei, for ``validation.compare_history``;
- the dated parameters of ``params/parameters/employee_medical/`` and ``resident_medical/``.

Method: ``params/SOURCES.md#medical-insurance``. Deterministic: ``tests/test_medical_build.py``
runs it into a temporary folder and checks the result equals what is committed.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.optimize import brentq

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "params" / "build"))

from build_demography import write_table  # noqa: E402

GENERATOR = "params/build/build_medical.py"
MEDICAL = "medical_insurance"
WIDE = f"{MEDICAL}/nhsa_national_medical_insurance_wide.csv"
STANDARDS = f"{MEDICAL}/resident_scheme_financing_standards_2018_2026.csv"
SPENDING = f"{MEDICAL}/employee_retiree_vs_inservice_spending.csv"
SEEDS = f"{MEDICAL}/seeds_medical_insurance_figures.csv"
NBS_POPULATION = "china_national/nbs_population_2022_2025.csv"
#: Active servicemen of the 2020 census: in NBS's national total, in no province's.
SERVICEMEN = 2_000_000
BULLETIN_2024 = "NHSA 2024 statistical bulletin https://www.nhsa.gov.cn/art/2025/7/14/art_7_17248.html"

TEN_THOUSAND = 10_000          # 万 (persons)
HUNDRED_MILLION = 100_000_000  # 亿 (yuan)
#: The bulletins' units (万人, 亿元) in persons and CNY.
BULLETIN_UNITS = {"persons": TEN_THOUSAND, "CNY/year": HUNDRED_MILLION}

#: The NHSA bulletin figures both tables take, in their order: (bulletin key, unit, series of
#: ``params/medical/national_bulletin.csv`` the funds calibrate to, or None where they do not use
#: it; series of ``params/history/medical_insurance.csv`` the validation table compares).
BULLETIN_FIGURES = (
    (("employee", "insured"), "persons", None, "employee_medical_insured"),
    (("employee", "insured_in_service"), "persons", "employee_in_service", "employee_medical_contributors"),
    (("employee", "insured_retirees"), "persons", "employee_retirees", "employee_medical_retirees"),
    (("resident", "insured"), "persons", "resident_insured", "resident_medical_insured"),
    (("total", "insured"), "persons", None, "medical_insured"),
    (("employee", "fund_revenue_incl_maternity"), "CNY/year", "employee_revenue", "employee_medical_total_revenue"),
    (("employee", "fund_expenditure_incl_maternity"), "CNY/year", "employee_expenditure",
     "employee_medical_total_expenditure"),
    (("employee", "pooled_fund_revenue_incl_maternity"), "CNY/year", "employee_pooled_revenue",
     "employee_medical_revenue"),
    (("employee", "pooled_fund_expenditure_incl_maternity"), "CNY/year", "employee_pooled_expenditure",
     "employee_medical_expenditure"),
    (("employee", "personal_account_revenue"), "CNY/year", "employee_account_revenue",
     "employee_medical_account_revenue"),
    (("employee", "personal_account_expenditure"), "CNY/year", "employee_account_expenditure",
     "employee_medical_account_expenditure"),
    (("resident", "fund_revenue"), "CNY/year", "resident_revenue", "resident_medical_revenue"),
    (("resident", "fund_expenditure"), "CNY/year", "resident_expenditure", "resident_medical_expenditure"),
    (("total", "fund_revenue_incl_maternity"), "CNY/year", None, "medical_revenue"),
    (("total", "fund_expenditure_incl_maternity"), "CNY/year", None, "medical_expenditure"),
)

#: Ages from which spending per head rises exponentially; below it the profile is flat.
PROFILE_START_AGE = 20
#: Original statutory retirement ages splitting the census population into in-service and
#: retired (men 60, women workers 50: the ages of most urban-employee retirees of 2024).
RETIREMENT_AGES = {"male": 60, "female": 50}
#: Wage growth of 2025 (economy.wage_growth), against which the 2025 excess cost growth is read.
WAGE_PARAMETER = "params/parameters/economy/wage_growth.yaml"


# --------------------------------------------------------------------------------------------
# Reading


def _number(cell) -> float:
    """A cell of the wide bulletin file: '~' (quick report) and '*' (derived) suffixes dropped."""
    if cell is None or (isinstance(cell, float) and np.isnan(cell)) or str(cell).strip() == "":
        return np.nan
    return float(str(cell).rstrip("~*"))


def bulletin(shared: Path) -> dict:
    """``{(scheme, metric): {year: value}}`` of the wide NHSA file, in its units (万人, 亿元)."""
    frame = pd.read_csv(shared / WIDE, comment="#", dtype=str)
    out = {}
    for row in frame.itertuples(index=False):
        values = {int(year): _number(getattr(row, f"_{i + 3}")) for i, year in enumerate(frame.columns[3:])}
        out[(row.scheme, row.metric)] = {y: v for y, v in values.items() if np.isfinite(v)}
    return out


def wage_growth_2025() -> float:
    import yaml

    values = yaml.safe_load((REPO / WAGE_PARAMETER).read_text(encoding="utf-8"))["values"]
    return float(values[min(values, key=lambda day: abs(pd.Timestamp(day).year - 2025))])


# --------------------------------------------------------------------------------------------
# The national figures the stages use


def national_table(b: dict) -> pd.DataFrame:
    """Flows, stocks and end-of-year balances of the two schemes, 2019-2025 [persons, CNY/year, CNY]."""
    rows = []

    def put(series, year, value, unit, status):
        rows.append({"series": series, "year": int(year), "value": float(value), "unit": unit, "status": status})

    flows = {}  # series -> bulletin key, for the balances derived below
    for key, unit, series, _ in BULLETIN_FIGURES:
        if series is not None:
            flows[series] = key
            for year, value in b[key].items():
                put(series, year, value * BULLETIN_UNITS[unit], unit, "bulletin")
    pooled = dict(b[("employee", "pooled_fund_cumulative_balance")])
    account = dict(b[("employee", "personal_account_cumulative_balance")])
    resident = dict(b[("resident", "cumulative_balance")])
    # end of 2023 (accounts): the 2024 balance less 2024's net revenue
    account[2023] = account[2024] - (b[flows["employee_account_revenue"]][2024]
                                     - b[flows["employee_account_expenditure"]][2024])
    # end of 2019: the 2020 balances less 2020's net revenue; the employee fund's split between
    # pooled fund and accounts in the proportion of their 2020 balances (no 2020 split of flows)
    net_2020 = b[flows["employee_revenue"]][2020] - b[flows["employee_expenditure"]][2020]
    total_2019 = pooled[2020] + account[2020] - net_2020
    pooled[2019] = total_2019 * pooled[2020] / (pooled[2020] + account[2020])
    account[2019] = total_2019 - pooled[2019]
    resident[2019] = resident[2020] - (b[flows["resident_revenue"]][2020] - b[flows["resident_expenditure"]][2020])
    derived = {("pooled", 2019), ("account", 2019), ("account", 2023), ("resident", 2019),
               ("pooled", 2021), ("pooled", 2022), ("pooled", 2023)}
    for name, series in (("pooled", pooled), ("account", account), ("resident", resident)):
        for year in sorted(series):
            status = "derived" if (name, year) in derived else "bulletin"
            put(f"{'employee_' if name != 'resident' else ''}{name}_balance", year, series[year] * HUNDRED_MILLION,
                "CNY", status)
    return pd.DataFrame(rows).sort_values(["series", "year"]).reset_index(drop=True)


def population_rows(shared: Path) -> list[dict]:
    """China's 1 July population of 2023-2025: the mean of the NBS year-ends around it less the
    2.0 M active servicemen of the 2020 census (as socsec_proj.validation compares it) [persons]."""
    nbs = pd.read_csv(shared / NBS_POPULATION, comment="#").set_index("year")["year_end_population_10k"]
    return [{"series": "population", "year": year, "value": (nbs[year - 1] + nbs[year]) / 2 * TEN_THOUSAND - SERVICEMEN,
             "unit": "persons", "status": "derived"} for year in (2023, 2024, 2025)]


def spending_ratio_row(shared: Path) -> dict:
    spending = pd.read_csv(shared / SPENDING, comment="#").set_index("year")
    ratio = spending.loc[2024, "retiree_per_capita_yuan"] / spending.loc[2024, "in_service_per_capita_yuan"]
    return {"series": "retiree_spending_ratio", "year": 2024, "value": round(float(ratio), 6), "unit": "/1",
            "status": "derived"}


# --------------------------------------------------------------------------------------------
# The spending profile


def census_population() -> pd.DataFrame:
    """National 2020 census population by sex and single age (``params/demography``) [persons]."""
    frame = pd.read_csv(REPO / "params/demography/base_population_2020.csv", comment="#")
    return frame.groupby(["sex", "age"])["population"].sum().unstack("sex")


def profile_values(gradient: float, ages: np.ndarray) -> np.ndarray:
    """exp(gradient x (age - 20)) from age 20, 1 below [/1]."""
    return np.exp(gradient * np.clip(ages - PROFILE_START_AGE, 0, None))


def spending_ratio(gradient: float, population: pd.DataFrame) -> float:
    """Retirees' mean spending per head over in-service workers' under the profile, census weights."""
    ages = population.index.to_numpy()
    weights_in, weights_out, spend_in, spend_out = 0.0, 0.0, 0.0, 0.0
    values = profile_values(gradient, ages)
    for sex, retire in RETIREMENT_AGES.items():
        counts = population[sex].to_numpy()
        working = (ages >= PROFILE_START_AGE) & (ages < retire)
        retired = ages >= retire
        weights_in += counts[working].sum()
        spend_in += (counts * values)[working].sum()
        weights_out += counts[retired].sum()
        spend_out += (counts * values)[retired].sum()
    return (spend_out / weights_out) / (spend_in / weights_in)


def spending_profile(shared: Path) -> tuple[pd.DataFrame, float, float]:
    spending = pd.read_csv(shared / SPENDING, comment="#").set_index("year")
    target = float(spending.loc[2024, "retiree_per_capita_yuan"] / spending.loc[2024, "in_service_per_capita_yuan"])
    population = census_population()
    gradient = brentq(lambda g: spending_ratio(g, population) - target, 0.0, 0.2, xtol=1e-12)
    ages = np.arange(0, 101)
    values = profile_values(gradient, ages)
    frame = pd.DataFrame([{"sex": sex, "age": int(a), "relative_spending": round(float(v), 8)}
                          for sex in ("male", "female") for a, v in zip(ages, values)])
    return frame, gradient, target


# --------------------------------------------------------------------------------------------
# Parameters


def _yaml(path: Path, *, description: str, unit: str, label: str, reference, value_range, values: dict,
          allowed=None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [f"# generated by {GENERATOR}; do not edit by hand",
             f"description: {json.dumps(description, ensure_ascii=False)}", "metadata:", f"  unit: {unit}",
             f"  label: {json.dumps(label, ensure_ascii=False)}", "  reference:"]
    lines += [f"  - {json.dumps(r, ensure_ascii=False)}" for r in ([reference] if isinstance(reference, str)
                                                                 else reference)]
    if allowed:
        lines.append(f"  allowed: [{', '.join(allowed)}]")
    else:
        lines.append("  range: [" + ", ".join("null" if v is None else str(v) for v in value_range) + "]")
    lines.append("values:")
    for day, value in values.items():
        lines.append(f"  {day}: {value if isinstance(value, str) else format(value, '.10g')}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def excess_growth(b: dict, ratio: float, wage_growth: float) -> dict:
    """Growth of spending per head above wage growth in 2021-2025 as the bulletins show it [/1].

    Employee: fund expenditure per in-service-equivalent insured (retirees counted ``ratio``
    times, the profile's age mix), resident: per insured; each year over the year before, less
    ``economy.wage_growth`` (whose first value, 2025's, holds before 2025).
    """
    def weighted(year):
        return b[("employee", "insured_in_service")][year] + ratio * b[("employee", "insured_retirees")][year]

    def per_head(spent, heads, year):
        return spent[year] / heads(year)

    employee_spent = b[("employee", "fund_expenditure_incl_maternity")]
    resident_spent = b[("resident", "fund_expenditure")]
    resident_heads = b[("resident", "insured")].__getitem__
    out = {"employee": {}, "resident": {}}
    for year in range(2021, 2026):
        employee = per_head(employee_spent, weighted, year) / per_head(employee_spent, weighted, year - 1) - 1.0
        resident = (per_head(resident_spent, resident_heads, year)
                    / per_head(resident_spent, resident_heads, year - 1) - 1.0)
        out["employee"][year] = round(employee - wage_growth, 6)
        out["resident"][year] = round(resident - wage_growth, 6)
    return out


def write_parameters(out: Path, shared: Path, b: dict, ratio: float) -> dict:
    folder = out / "parameters"
    policy = f"{MEDICAL}/employee_scheme_policy_parameters.csv"
    _yaml(folder / "employee_medical/employer_rate.yaml",
          description="Employer contribution rate of the employee basic medical insurance on the contribution base "
                      "(maternity insurance merged into it): the national guide of about 6 % of payroll. Local "
                      "rates (6-10 % plus maternity) differ: the stage's calibrated contribution factor carries the "
                      "difference in 2024.",
          unit="/1", label="Employer medical contribution rate",
          reference=[f"{policy}: 国发〔1998〕44号 「用人单位缴费率应控制在职工工资总额的6%左右」"],
          value_range=(0, 0.2), values={"1998-12-14": 0.06})
    _yaml(folder / "employee_medical/employee_rate.yaml",
          description="Employee contribution rate of the employee basic medical insurance on the own wage; after "
                      "the 2021 reform it is all the in-service worker's individual account receives.",
          unit="/1", label="Employee medical contribution rate",
          reference=[f"{policy}: 国发〔1998〕44号 「职工个人缴费率一般为本人工资收入的2%，全部计入个人账户」; "
                     "国办发〔2021〕14号 「在职职工个人账户由个人缴纳的基本医疗保险费计入」"],
          value_range=(0, 0.1), values={"1998-12-14": 0.02})
    _yaml(folder / "employee_medical/retiree_contribution_rate.yaml",
          description="Policy option: retirees contribute this share of their pension to the pooled fund "
                      "(0 under current law: retirees who met the required years pay nothing, Social Insurance "
                      "Law art. 27; the debated reform is 2 %).",
          unit="/1", label="Retirees' medical contribution rate on their pension",
          reference=[f"{policy}: 《社会保险法》第二十七条 「退休后不再缴纳基本医疗保险费」"],
          value_range=(0, 0.1), values={"2010-10-28": 0.0})
    growth = excess_growth(b, ratio, wage_growth_2025())
    for scheme, label in (("employee", "employee"), ("resident", "resident")):
        values = {f"{year}-01-01": value for year, value in growth[scheme].items()}
        values["2026-01-01"] = 0.0
        _yaml(folder / f"{scheme}_medical/excess_cost_growth.yaml",
              description=f"Growth of medical spending per head at a given sex and age above nominal wage growth, "
                          f"{label} scheme [/1 per year]. 2021-2025: what the NHSA bulletins show (spending per "
                          f"head over the year before, age mix held, less economy.wage_growth; read by funds that "
                          f"start before 2025 and in 2025); from 2026 an ASSUMPTION: spending per head at each age "
                          f"grows with wages (params/SOURCES.md#medical-insurance).",
              unit="/1", label=f"Excess medical cost growth ({label} scheme)",
              reference=[f"{WIDE} (2020-2025), {SPENDING} (ratio 3.33), {WAGE_PARAMETER}",
                         "from 2026 ASSUMPTION (params/SOURCES.md#medical-insurance)"],
              value_range=(-1, 1), values=values)
    standards = pd.read_csv(shared / STANDARDS, comment="#").set_index("year")
    subsidy = {f"{y}-01-01": float(v) for y, v in standards["fiscal_subsidy_min"].dropna().items()}
    premium = {f"{y}-01-01": float(v) for y, v in standards["individual_premium"].dropna().items()}
    quote = f"{STANDARDS} (annual NHSA/MOF/STA notices, quotes and pages per row)"
    _yaml(folder / "resident_medical/fiscal_subsidy.yaml",
          description="National minimum fiscal subsidy per insured resident of the resident basic medical insurance "
                      "(all levels of government) set by the notice of each year and paid in that year [CNY/year]; "
                      "2026: 700 + the announced increase of 24.",
          unit="CNY/year", label="Resident medical fiscal subsidy per person", reference=[quote],
          value_range=(0, None), values=subsidy)
    _yaml(folder / "resident_medical/individual_premium.yaml",
          description="National benchmark individual premium of the resident basic medical insurance set by the "
                      "notice of each year [CNY/year]; held at 400 after 2025 (no national figure for 2026 found).",
          unit="CNY/year", label="Resident medical individual premium", reference=[quote],
          value_range=(0, None), values=premium)
    _yaml(folder / "resident_medical/advance_collection_share.yaml",
          description="Share of the premiums of the notice of year N collected in the autumn of N for coverage in "
                      "N+1 (from the insured of N+1); the rest is paid in N by the insured of N. 1: the timing the "
                      "Fujian and Hunan notices quote.",
          unit="/1", label="Resident premiums collected for the next coverage year",
          reference=[f"{STANDARDS} caveat (2): 「2023年...财政补助...640元, 2024年居民医保个人缴费标准...380元」"],
          value_range=(0, 1), values={"2018-01-01": 1.0})
    _yaml(folder / "resident_medical/financing_rule.yaml",
          description="How the resident scheme's premium and subsidy move: 'notices' = the dated national standards; "
                      "'wage_indexation' = the previous year's standard raised by economy.wage_growth (the Guizhou "
                      "plan links premiums to residents' income). From 2027, after the last announced standard, the "
                      "second (an ASSUMPTION: a standard held in CNY for 75 years is not neutral).",
          unit="rule", label="Rule of the resident medical financing standards",
          reference=[f"{SEEDS}: Guizhou 14th FYP 「缴费与经济社会发展水平和居民人均可支配收入挂钩」",
                     "from 2027 ASSUMPTION (params/SOURCES.md#medical-insurance)"],
          value_range=None, values={"2018-01-01": "notices", "2027-01-01": "wage_indexation"},
          allowed=("notices", "wage_indexation"))
    return growth


# --------------------------------------------------------------------------------------------
# Published figures for validation


def history_table(b: dict, national: pd.DataFrame, shared: Path) -> pd.DataFrame:
    rows = []
    source = f"{WIDE} (NHSA statistical bulletins; '~' quick report)"

    def put(series, province, year, kind, value, unit, source, note=""):
        rows.append({"series": series, "province": province, "year": int(year), "kind": kind, "value": float(value),
                     "unit": unit, "source": source, "note": note})

    for key, unit, _, series in BULLETIN_FIGURES:
        maternity = unit == "CNY/year" and series.startswith(("employee", "medical"))
        for year, value in sorted(b[key].items()):
            put(series, "CN", year, "actual", value * BULLETIN_UNITS[unit], unit, source,
                "employee figures include maternity insurance" if maternity else "")
    balances = {"employee_medical_balance": "employee_pooled_balance",
                "employee_medical_account_savings": "employee_account_balance",
                "resident_medical_balance": "resident_balance"}
    for series, name in balances.items():
        part = national[(national["series"] == name) & (national["year"] >= 2020)]
        for row in part.itertuples():
            put(series, "CN", row.year, "actual", row.value, "CNY", source,
                "derived: balance of the year before plus the year's net revenue" if row.status == "derived" else "")
    seeds = pd.read_csv(shared / SEEDS, comment="#", dtype=str)
    wanted = {("Guizhou", "基本医疗保险参保人数"): "medical_insured",
              ("Guizhou", "城镇职工医保参保人数"): "employee_medical_insured",
              ("Guizhou", "城乡居民医保参保人数"): "resident_medical_insured",
              ("Guizhou", "基本医疗保险基金收入"): "medical_revenue",
              ("Guizhou", "城镇职工医保基金收入"): "employee_medical_total_revenue",
              ("Guizhou", "城乡居民医保基金收入"): "resident_medical_revenue",
              ("Hebei", "基本医疗保险参保人数"): "medical_insured",
              ("Hebei", "基本医疗保险参保率"): "medical_coverage_rate"}
    codes = {"Guizhou": "CN-GZ", "Hebei": "CN-HE"}
    for row in seeds.itertuples(index=False):
        series = wanted.get((row.province, row.indicator_cn))
        if series is None or row.year not in ("2020", "2025") or row.kind not in ("actual", "target"):
            continue
        text = str(row.value).replace("稳定在", "").replace("以上", "")
        scale = {"万人": TEN_THOUSAND, "亿元": HUNDRED_MILLION, "%": 0.01}[row.unit]
        unit = {"万人": "persons", "亿元": "CNY/year", "%": "/1"}[row.unit]
        put(series, codes[row.province], int(row.year), row.kind, float(text) * scale, unit,
            f"seed {row.raw_file[:3]} ({row.seed_note}) via {SEEDS}", str(row.quote_or_note))
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------------------------


def build(shared: Path, out: Path) -> dict:
    b = bulletin(shared)
    national = national_table(b)
    national = pd.concat([national, pd.DataFrame([*population_rows(shared), spending_ratio_row(shared)])],
                         ignore_index=True).sort_values(["series", "year"]).reset_index(drop=True)
    write_table(out / "medical/national_bulletin.csv", national, [
        "National basic medical insurance (China): insured [persons] at year end, fund revenue and expenditure "
        "[CNY/year], accumulated balances at the end of the year [CNY]; employee figures include maternity insurance; "
        "population = China's 1 July population [persons]; retiree_spending_ratio = retirees' over in-service "
        "workers' medical-institution spending per head [/1]",
        f"source: {WIDE} (NHSA 全国医疗保障事业发展统计公报 2020-2025; 2020 partly the quick report); 万人 x 10,000, "
        "亿元 x 100,000,000",
        "status derived: the end-2023 account balance = 2024 balance less 2024's net revenue; end-2019 balances = "
        "2020 balances less 2020's net revenue (employee: split as the 2020 balances); pooled 2021-2023 as derived "
        "in the source; population: mean of the NBS year-ends Y-1 and Y less the 2.0 M servicemen "
        f"({NBS_POPULATION}); retiree_spending_ratio: {SPENDING} (9,809.56 / 2,949.43)",
        "method: params/SOURCES.md#medical-insurance",
    ], generator=GENERATOR)
    profile, gradient, target = spending_profile(shared)
    write_table(out / "medical/spending_profile.csv", profile, [
        "Medical spending per head by sex and age relative to ages 0-20 [/1] (100 = 100 and over): "
        f"exp({gradient:.6f} x (age - 20)) from age 20, flat below; the same for both sexes",
        f"source: {SPENDING} (2024 retirees 9,809.56 vs in-service 2,949.43 CNY of medical-institution spending per "
        f"head, ratio {target:.4f}); weights params/demography/base_population_2020.csv (2020 census)",
        "method: params/SOURCES.md#medical-insurance (gradient fitted so that the census population retired at 60 "
        "(men) and 50 (women) spends the bulletin's ratio more per head than that aged 20 to retirement; no age "
        "profile by sex is published: NHSA gives only retirees vs in-service)",
    ], generator=GENERATOR)
    history = history_table(b, national, shared)
    write_table(out / "history/medical_insurance.csv", history, [
        "Basic medical insurance: national NHSA bulletin figures 2020-2025 (province CN) and the seeds' 2020 figures "
        "and 2025 targets for Guizhou and Hebei: insured [persons] at year end, revenue and expenditure [CNY/year], "
        "balances at year end [CNY], coverage [/1]",
        f"source: {WIDE}; {SEEDS}; employee_medical_revenue / _expenditure / _balance = the pooled fund (统筹基金), "
        "_account_* = individual accounts, _total_* = both; medical_* = employee + resident",
        "method: params/SOURCES.md#medical-insurance",
    ], generator=GENERATOR)
    growth = write_parameters(out, shared, b, target)
    return {"gradient": gradient, "ratio": target, "census_ratio": spending_ratio(gradient, census_population()),
            "excess_cost_growth": growth, "rows": len(history)}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--out", type=Path, default=REPO / "params")
    args = parser.parse_args(argv)
    print(build(args.shared, args.out))


if __name__ == "__main__":
    main()
