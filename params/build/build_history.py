"""Build the published figures of past years in ``params/history/`` (what the model is held against).

Run from the repository root::

    python params/build/build_history.py [--shared ../shared/data] [--out params]

Reads the national MOHRSS bulletin items and the Ministry of Finance's 2023 facts
(``social_insurance/*_secondary.csv``), NBS national births, deaths, population and age
shares (``china_national/``), the servicemen left out of the provinces' census totals
(``census/census2020_province_sex_age5.csv``), and, from ``params/social_insurance/`` (already
built from the shared files by ``build_social_insurance.py``), the 2024 yearbook by province and
the seeds' figures. Writes four long tables, one row per published figure: ``series``,
``province`` (ISO code, ``CN`` for China), ``year``, ``kind`` (``actual`` or ``target``),
``value``, ``unit`` (persons, CNY, CNY/year, CNY/month, /1: never 万人, 亿元 or percent),
``source`` (the page, table or seed the figure was read from) and ``note``.

``socsec_proj.validation.compare_history`` sets every row against the projection; the series
names are those of its mapping table. Described in ``params/SOURCES.md`` (section "History").
Deterministic: ``tests/test_validation.py`` runs it into a temporary folder and checks that the
result equals what is committed.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from socsec_proj.inputs.provinces import CODES  # noqa: E402

GENERATOR = "params/build/build_history.py"
FOLDER = "history"
COLUMNS = ["series", "province", "year", "kind", "value", "unit", "source", "note"]
NATIONAL = "CN"

BULLETIN = "social_insurance/mohrss_national_bulletin_2020_2024_secondary.csv"
MOF = "social_insurance/mof_pension_facts_2023_secondary.csv"
NBS_POPULATION = "china_national/nbs_population_2022_2025.csv"
NBS_VITAL = "china_national/nbs_births_deaths_1950_2023_vicalloy.csv"
CENSUS_2020 = "census/census2020_province_sex_age5.csv"
EMPLOYEE_YEARBOOK = "social_insurance/yearbook_2024_employee_pension.csv"   # in params/
RESIDENT_YEARBOOK = "social_insurance/yearbook_2024_resident_pension.csv"   # in params/
SEED_FIGURES = "social_insurance/seed_figures.csv"                          # in params/

TEN_THOUSAND = 10_000          # 万 (persons)
HUNDRED_MILLION = 100_000_000  # 亿 (yuan)

#: Bulletin and MOF items -> series of the history tables (the names of
#: ``socsec_proj.validation.SERIES``). Flows are CNY/year, balances at year end CNY.
ITEMS = {
    "basic_pension_insured_total": "basic_pension_insured",
    "basic_pension_fund_revenue": "basic_pension_revenue",
    "basic_pension_fund_expenditure": "basic_pension_expenditure",
    "basic_pension_fund_balance": "basic_pension_balance",
    "employee_pension_insured_total": "employee_pension_insured",
    "employee_pension_insured_workers": "employee_pension_insured_workers",
    "employee_pension_insured_retirees": "employee_pension_retirees",
    "employee_pension_fund_revenue": "employee_pension_revenue",
    "employee_pension_fund_expenditure": "employee_pension_expenditure",
    "employee_pension_fund_balance": "employee_pension_balance",
    "resident_pension_insured": "resident_pension_insured",
    "resident_pension_beneficiaries": "resident_pension_beneficiaries",
    "resident_pension_fund_revenue": "resident_pension_revenue",
    "resident_pension_fund_expenditure": "resident_pension_expenditure",
    "resident_pension_fund_balance": "resident_pension_balance",
    "ui_insured": "unemployment_insured",
    "ui_recipients_during_year": "unemployment_recipients_during_year",
    "ui_beneficiaries_year_end": "unemployment_beneficiaries_year_end",
    "ui_monthly_benefit_per_capita": "unemployment_average_benefit",
    "ui_fund_revenue": "unemployment_revenue",
    "ui_fund_expenditure": "unemployment_expenditure",
    "ui_fund_balance": "unemployment_balance",
    "injury_insured": "injury_insured",
    "injury_beneficiaries": "injury_beneficiaries",
    "injury_fund_revenue": "injury_revenue",
    "injury_fund_expenditure": "injury_expenditure",
    "injury_fund_balance": "injury_balance",
    "three_funds_revenue": "three_funds_revenue",
    "three_funds_expenditure": "three_funds_expenditure",
    "three_funds_balance": "three_funds_balance",
    "central_government_basic_pension_subsidy": "basic_pension_central_subsidy",
    "national_pooling_transfers": "employee_pension_pooling_transfers",
    "enterprise_employee_fund_balance_year_end": "employee_pension_enterprise_balance",
}

#: Yearbook columns (params/social_insurance) -> series.
EMPLOYEE_COLUMNS = {"insured_total": "employee_pension_insured", "insured_workers": "employee_pension_insured_workers",
                    "retirees": "employee_pension_retirees", "fund_revenue": "employee_pension_revenue",
                    "fund_expenditure": "employee_pension_expenditure",
                    "accumulated_balance": "employee_pension_balance"}
RESIDENT_COLUMNS = {"insured": "resident_pension_insured", "beneficiaries": "resident_pension_beneficiaries",
                    "fund_revenue": "resident_pension_revenue", "fund_expenditure": "resident_pension_expenditure",
                    "accumulated_balance": "resident_pension_balance"}

#: Seed indicators renamed to the series of the same concept in the bulletin (others keep their name).
SEED_SERIES = {"unemployment_benefit": "unemployment_average_benefit",
               "injury_disability_allowance": "injury_average_benefit"}

#: Years of the NBS tables kept: the projection starts in 2020 (the census base year).
FIRST_YEAR = 2020
#: The NBS press releases each year's figures come from (each URL is checked to be in the file's
#: header); before 2022 the registered births and deaths of the vicalloy compilation.
NBS_RELEASES = {
    2022: "http://m.hg87897.com/hnnew/2023-01-17/666816.html",
    2023: "http://ihouhe.com/cn/Instant/culture/202401/t20240117_7558978.html",
    2024: "https://www.hk01.com/即時中國/60314031/",
    2025: "https://www.stheadline.com/zh-hans/realtime-china/3536841/",
}
VICALLOY = "vicalloy/china-population @ 575f3de4a20d4bccc2766c9bf926dea57cf0a848 : data.csv (NBS registered births and deaths)"


def write_table(path: Path, frame: pd.DataFrame, header: list[str]) -> None:
    """Write a CSV whose leading ``#`` lines name its content, units, source and method."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [f"# {line}" for line in header] + [f"# generated by {GENERATOR}; do not edit by hand"]
    text = "\n".join(lines) + "\n" + frame[COLUMNS].to_csv(index=False, float_format="%.10g", lineterminator="\n")
    path.write_text(text, encoding="utf-8")


def _convert(value: float, unit: str, series: str) -> tuple[float, str]:
    """A published value in plain units: persons, CNY (balances), CNY/year (flows), CNY/month."""
    if unit == "10k persons":
        return round(value * TEN_THOUSAND), "persons"
    if unit == "100m yuan":
        return round(value * HUNDRED_MILLION), "CNY" if series.endswith("balance") else "CNY/year"
    if unit == "yuan/month":
        return value, "CNY/month"
    raise ValueError(f"unknown unit {unit!r} of {series}")


def _header_text(path: Path) -> str:
    return "\n".join(line for line in path.read_text(encoding="utf-8").splitlines() if line.startswith("#"))


# --------------------------------------------------------------------------------------------


def build_national_bulletin(shared: Path, out: Path) -> dict:
    """MOHRSS bulletin items 2020-2024 and the MOF 2023 facts, national, in plain units."""
    bulletin = pd.read_csv(shared / BULLETIN, comment="#", dtype={"note": str}).fillna({"note": ""})
    mof = pd.read_csv(shared / MOF, comment="#").rename(columns={"quote": "note"})
    mof["source"] = re.search(r"https?://\S+", _header_text(shared / MOF)).group(0)
    rows = []
    for raw in pd.concat([bulletin, mof], ignore_index=True).itertuples():
        if raw.item not in ITEMS:
            raise ValueError(f"{raw.item!r}: no series for this bulletin item (add it to ITEMS)")
        series = ITEMS[raw.item]
        value, unit = _convert(float(raw.value), raw.unit, series)
        rows.append({"series": series, "province": NATIONAL, "year": int(raw.year), "kind": "actual",
                     "value": value, "unit": unit, "source": raw.source, "note": raw.note})
    table = pd.DataFrame(rows)
    if table.duplicated(["series", "year"]).any():
        raise ValueError("a bulletin series is given twice for one year")
    value = table.set_index(["series", "year"])["value"]
    # Checks of the reprints against each other (the bulletin's own identities), to the rounding.
    checks = {
        "2021 employee workers + retirees - insured [persons]":
            value[("employee_pension_insured_workers", 2021)] + value[("employee_pension_retirees", 2021)]
            - value[("employee_pension_insured", 2021)],
        "2021 basic pension revenue - employee - resident [CNY]":
            value[("basic_pension_revenue", 2021)] - value[("employee_pension_revenue", 2021)]
            - value[("resident_pension_revenue", 2021)],
        "2021 three funds revenue - basic pension - unemployment - injury [CNY]":
            value[("three_funds_revenue", 2021)] - value[("basic_pension_revenue", 2021)]
            - value[("unemployment_revenue", 2021)] - value[("injury_revenue", 2021)],
    }
    if abs(checks["2021 employee workers + retirees - insured [persons]"]) > 0 or any(
            abs(v) > 2 * HUNDRED_MILLION for k, v in checks.items() if "CNY" in k):
        raise ValueError(f"the bulletin's identities do not hold: {checks}")
    write_table(out / FOLDER / "national_bulletin.csv", table, [
        "National social-insurance figures 2020-2024 (China, province CN): MOHRSS statistical bulletins"
        " (人力资源和社会保障事业发展统计公报) as reprinted (every row names its page), the 2024 national row of the"
        " China Statistical Yearbook 2025 (tables 24-26, 24-27), and the Ministry of Finance's 2023 facts",
        f"source: {BULLETIN}; {MOF}; 万人 x 10,000 [persons], 亿元 x 100,000,000 [CNY/year for flows, CNY for"
        " balances at year end], yuan/month [CNY/month]",
        "stocks are at year end; unemployment_recipients_during_year and injury_beneficiaries count everyone who"
        " drew a benefit in the year (flows of people), unemployment_beneficiaries_year_end the year-end stock;"
        " basic_pension_* = employee + resident pension; three_funds_* = basic pension + unemployment + injury"
        " (2021: revenue identity holds to 1 亿); rows noted 'rounded' are press totals to 2-3 digits",
        "basic_pension_central_subsidy (MOF, 'about 1 trillion', central budget only; local budgets pay more),"
        " employee_pension_pooling_transfers (funds moved between provinces by national pooling) and"
        " employee_pension_enterprise_balance ('nearly 6 trillion', enterprise scheme only) are rounded as spoken",
        "method: params/SOURCES.md#history",
    ])
    return {"rows": len(table), "checks": checks}


def build_yearbook(params: Path, out: Path) -> int:
    """The 2024 yearbook by province (params/social_insurance), one row per province and column."""
    rows = []
    for name, columns, table_no in ((EMPLOYEE_YEARBOOK, EMPLOYEE_COLUMNS, "24-26"),
                                    (RESIDENT_YEARBOOK, RESIDENT_COLUMNS, "24-27")):
        frame = pd.read_csv(params / name, comment="#").set_index("province")
        if list(frame.index) != list(CODES):
            raise ValueError(f"{name}: not the 31 provinces in national order")
        for column, series in columns.items():
            unit = "persons" if series.endswith(("insured", "workers", "retirees", "beneficiaries")) else (
                "CNY" if series.endswith("balance") else "CNY/year")
            for code in CODES:
                rows.append({"series": series, "province": code, "year": 2024, "kind": "actual",
                             "value": int(frame.loc[code, column]), "unit": unit,
                             "source": f"China Statistical Yearbook 2025 table {table_no} (params/{name}, column {column})",
                             "note": ""})
    table = pd.DataFrame(rows)
    write_table(out / FOLDER / "yearbook_2024.csv", table, [
        "Urban-employee (table 24-26) and urban-rural resident (table 24-27) basic pension by province, 2024:"
        " insured, insured workers, retirees, beneficiaries [persons] at year end; revenue, expenditure [CNY/year];"
        " accumulated balance at year end [CNY]",
        f"source: params/{EMPLOYEE_YEARBOOK} and params/{RESIDENT_YEARBOOK} (built from the China Statistical"
        " Yearbook 2025 by params/build/build_social_insurance.py); the national rows are in national_bulletin.csv",
        "method: params/SOURCES.md#history",
    ])
    return len(table)


def build_seed_figures(params: Path, out: Path) -> int:
    """The seeds' figures (params/social_insurance/seed_figures.csv): actuals and plan targets."""
    seeds = pd.read_csv(params / SEED_FIGURES, comment="#", dtype={"value": float})
    table = pd.DataFrame({
        "series": seeds["indicator"].replace(SEED_SERIES),
        "province": seeds["province"],
        "year": seeds["year"].astype(int),
        "kind": seeds["kind"],
        "value": seeds["value"],
        "unit": seeds["unit"],
        "source": "seed " + seeds["seed_file"] + " (" + seeds["note_id"] + ")",
        "note": seeds["quote"],
    })
    if not set(table["kind"]) <= {"actual", "target"}:
        raise ValueError("seed figures: kind other than actual / target")
    write_table(out / FOLDER / "seed_figures.csv", table, [
        "Figures of the provincial plans (seeds) for Guangdong, Hebei and Guizhou: actuals (kind actual) and plan"
        " targets (kind target) by province and year [unit column]; note = the seed's own words",
        f"source: params/{SEED_FIGURES} (each quote checked against the seed text by"
        " params/build/build_social_insurance.py); series = the seed indicator, except "
        + ", ".join(f"{a} -> {b}" for a, b in SEED_SERIES.items()),
        "method: params/SOURCES.md#history",
    ])
    return len(table)


def _servicemen(shared: Path) -> tuple[int, str]:
    """Active servicemen outside the 31 provinces' census totals: national less provinces, 2020."""
    header = _header_text(shared / CENSUS_2020)
    found = re.search(r"31-province total ([\d,]+) \(\+ ~2\.0m military = ([\d,]+) national\)", header)
    if not found:
        raise ValueError(f"{CENSUS_2020}: the national and 31-province totals are not in the header")
    provinces, national = (int(x.replace(",", "")) for x in found.groups())
    return national - provinces, found.group(0)


def build_demography(shared: Path, out: Path) -> int:
    """NBS national year-end population, calendar-year births and deaths, 60+ and 65+ shares."""
    population = pd.read_csv(shared / NBS_POPULATION, comment="#").set_index("year")
    vital = pd.read_csv(shared / NBS_VITAL, comment="#").set_index("year")
    header = _header_text(shared / NBS_POPULATION)
    for year, url in NBS_RELEASES.items():
        if url not in header:
            raise ValueError(f"{NBS_POPULATION}: the release of {year} ({url}) is not named in the header")
    rows = []

    def add(series, year, value, unit, source, note=""):
        rows.append({"series": series, "province": NATIONAL, "year": int(year), "kind": "actual",
                     "value": value, "unit": unit, "source": source, "note": note})

    def release(year):
        if year == 2024:   # no reprint of the January 2025 release: the 2026 release's comparison
            return f"NBS press release of January 2026: {NBS_RELEASES[year]}", "2024 figures as compared in the 2026 release"
        return f"NBS press release of January {year + 1}: {NBS_RELEASES[year]}", ""

    for year in range(FIRST_YEAR, int(population.index.max()) + 1):
        for series, column in (("births_calendar_year", "births_10k"), ("deaths_calendar_year", "deaths_10k")):
            if year in population.index and pd.notna(population.loc[year, column]):
                source, note = release(year)
                if year in vital.index and vital.loc[year, column] != population.loc[year, column]:
                    note = (f"{note}; " if note else "") + (
                        f"vicalloy compilation: {vital.loc[year, column]:g} 万 (the release is used)")
                add(series, year, round(population.loc[year, column] * TEN_THOUSAND), "persons/year", source, note)
            elif year in vital.index:
                add(series, year, round(vital.loc[year, column] * TEN_THOUSAND), "persons/year", VICALLOY)
    for year in population.index:
        source, note = release(year)
        add("population_year_end", year, round(population.loc[year, "year_end_population_10k"] * TEN_THOUSAND),
            "persons", source, (f"{note}; " if note else "") + "31 provinces and the active servicemen")
        for series, column in (("population_share_60plus_year_end", "age60plus_pct"),
                               ("population_share_65plus_year_end", "age65plus_pct")):
            if pd.notna(population.loc[year, column]):
                add(series, year, round(population.loc[year, column] / 100.0, 6), "/1", source, note)
    servicemen, quote = _servicemen(shared)
    add("servicemen", 2020, servicemen, "persons",
        f"{CENSUS_2020} header (7th census, 1 November 2020): national less the 31 provinces", quote)
    table = pd.DataFrame(rows)
    write_table(out / FOLDER / "nbs_demography.csv", table, [
        "China's population (province CN): year-end population (31 Dec, with the active servicemen) [persons];"
        " births and deaths of the calendar year [persons/year]; shares of the year-end population aged 60+ and"
        " 65+ [/1]; the active servicemen of the 2020 census, outside the provinces' totals [persons]",
        f"source: {NBS_POPULATION} (NBS January press releases, reprints named per row); births and deaths before"
        f" 2022 from {NBS_VITAL}; servicemen from {CENSUS_2020}; 万人 x 10,000, percent / 100",
        "the model's stocks are at 1 July and its flows run 1 July to 30 June: socsec_proj.validation sets them"
        " against the mean of two year-ends (less the servicemen) and of two calendar years",
        "method: params/SOURCES.md#history",
    ])
    return len(table)


def build(shared: Path, out: Path, params: Path | None = None) -> dict:
    """Write every table of ``params/history/`` under ``out``; return counts and checks for the log.

    ``params`` is the folder holding the yearbook and seed tables already built (default: the
    repository's ``params/``).
    """
    shared, out = Path(shared), Path(out)
    params = Path(params) if params is not None else REPO / "params"
    bulletin = build_national_bulletin(shared, out)
    return {
        "national_bulletin": bulletin["rows"],
        "bulletin_checks": bulletin["checks"],
        "yearbook_2024": build_yearbook(params, out),
        "seed_figures": build_seed_figures(params, out),
        "nbs_demography": build_demography(shared, out),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--out", type=Path, default=REPO / "params")
    args = parser.parse_args(argv)
    checks = build(args.shared, args.out)
    for name, value in checks.items():
        print(f"{name}: {value}")


if __name__ == "__main__":
    main()
