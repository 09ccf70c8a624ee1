"""Write the example notebooks of ``notebooks/`` from the cell sources below.

The notebooks are generated so that their review is a review of this file, and so that they are
committed without outputs (``execution_count`` null): run it after editing a cell.

    python notebooks/_make_notebooks.py            # (re)write every notebook
    python notebooks/_make_notebooks.py --check    # exit 1 if a notebook differs from its source

``tests/test_notebooks.py`` executes every notebook and checks that the committed files are the
ones this script writes.
"""

from __future__ import annotations

import argparse
import sys
import textwrap
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent

METADATA = {
    "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
    "language_info": {"name": "python"},
}


def md(text: str) -> tuple[str, str]:
    return "markdown", textwrap.dedent(text).strip("\n")


def code(text: str) -> tuple[str, str]:
    return "code", textwrap.dedent(text).strip("\n")


# --------------------------------------------------------------------------------------------
# 01 quickstart
# --------------------------------------------------------------------------------------------

QUICKSTART = [
    md("""
    # Quickstart: one projection, from the population to a provincial pension fund

    `socsec_proj` projects China's provincial social-insurance funds as a pipeline of stages over
    one `xarray.Dataset`: population (cohort-component, 31 provinces x sex x single age x year,
    2020-2100), insured workers and pensioners, then the fund accounts calibrated to the 2024
    statistical yearbook.

    This notebook runs the baseline (current law, including the gradual retirement-age delay of
    2025-2039), looks at what the Dataset holds, and follows Guangdong's urban-employee pension
    fund to the end of the century.
    """),
    code("""
    import time

    import matplotlib.pyplot as plt
    import pandas as pd

    import socsec_proj as ssp

    start = time.perf_counter()
    ds = ssp.run("baseline")
    print(f"baseline projected in {time.perf_counter() - start:.2f} s "
          "(the first run of a session also compiles/loads the numba kernels)")
    """),
    md("""
    ## What the Dataset holds

    Four dimensions: `province` (ISO 3166-2:CN codes, with Chinese and English names as
    coordinates), `sex`, single `age` 0..100 (100 = 100 and over) and `year`. Stocks are at
    1 July; flows labelled year Y run from 1 July Y-1 to 1 July Y. The fund accounts start in
    2024, the calibration year (NaN before).
    """),
    code("""
    print("dimensions:", dict(ds.sizes))
    print("years:", int(ds["year"][0]), "to", int(ds["year"][-1]))
    print("first provinces:", ", ".join(f"{code} {name}" for code, name in
                                        zip(ds["province"].values[:4], ds["name_en"].values[:4])), "...")
    schemes = [s for s in ("employee_pension", "resident_pension", "unemployment", "injury") if f"{s}_balance" in ds]
    print("funds projected:", ", ".join(schemes))
    """),
    md("""
    Every variable carries `units` and `long_name`. Money is nominal CNY, people are persons,
    ratios are fractions (unit `1`).
    """),
    code("""
    rows = []
    for name in ["population", "life_expectancy", "employee_pension_contributors", "pension_coverage_rate",
                 "employee_pension_balance", "employee_pension_months_of_reserve"]:
        rows.append({"variable": name, "dims": ", ".join(ds[name].dims), "units": ds[name].attrs["units"],
                     "long_name": ds[name].attrs["long_name"]})
    pd.DataFrame(rows).set_index("variable")
    """),
    md("""
    ## The population of China

    The sum over provinces, sexes and ages. 2020 is the census base (1,409.8 million); the
    fertility, mortality and migration assumptions are the UN's World Population Prospects 2024
    (medium variant), so by 2100 China has well under half its 2020 population and a far older
    one.
    """),
    code("""
    china = ds["population"].sum(("province", "sex"))
    for year in (2020, 2050, 2100):
        total = float(china.sel(year=year).sum())
        aged = float(china.sel(year=year, age=slice(65, None)).sum())
        print(f"{year}: {total / 1e6:8,.1f} million, of whom {aged / total:5.1%} aged 65 and over")
    """),
    md("""
    ## Guangdong's urban-employee pension fund

    Guangdong (`CN-GD`) holds the largest balance of any province. With a young insured
    population and net in-migration the balance first grows; as the large cohorts of insured
    workers reach retirement it peaks and is then drawn down. *Months of reserve* (balance over
    one month of expenditure) shows the same path relative to what the fund pays out.
    """),
    code("""
    gd = ds.sel(province="CN-GD", year=slice(2024, None))
    balance = gd["employee_pension_balance"]
    months = gd["employee_pension_months_of_reserve"]
    depletion = ssp.depletion_year(ds, "employee_pension").sel(province="CN-GD").item()

    peak = int(balance.idxmax("year"))
    print(f"balance end-2024: {float(balance.sel(year=2024)) / 1e12:.2f} trillion CNY, "
          f"{float(months.sel(year=2024)):.0f} months of payment")
    print(f"peak: {float(balance.sel(year=peak)) / 1e12:.2f} trillion CNY in {peak}")
    print("first year below zero:", "not by the horizon" if pd.isna(depletion) else int(depletion))

    years = [2024, 2030, 2040, 2050, 2060, 2070, 2080]
    pd.DataFrame({"balance (trillion CNY)": (balance.sel(year=years) / 1e12).round(2).values,
                  "months of reserve": months.sel(year=years).round(1).values},
                 index=pd.Index(years, name="year"))
    """),
    code("""
    shown = slice(2024, 2080)  # after depletion the (notional) debt grows without limit
    fig, (top, bottom) = plt.subplots(2, 1, sharex=True, figsize=(8, 6))
    top.plot(balance["year"].sel(year=shown), balance.sel(year=shown) / 1e12, color="tab:blue")
    top.set_ylabel("trillion CNY (nominal)")
    top.set_title("balance at the end of the year")
    bottom.plot(months["year"].sel(year=shown), months.sel(year=shown), color="tab:orange")
    bottom.set_ylabel("months of payment")
    bottom.set_title("months of reserve")
    bottom.set_xlabel("year")
    for ax in (top, bottom):
        ax.axhline(0, color="black", linewidth=0.8)
        if not pd.isna(depletion):
            ax.axvline(depletion, color="grey", linestyle="--", linewidth=0.8)
    fig.suptitle("Guangdong, urban-employee pension, baseline (dashed: first year below zero)")
    fig.tight_layout()
    plt.show()
    """),
    md("""
    ## China as a whole

    `ssp.national` sums the flows and balances over provinces and recomputes the ratios;
    `ssp.depletion_year(..., national_total=True)` gives the first year the pooled national
    balance is negative. Individual provinces run out far earlier: the north-east within a few
    years.
    """),
    code("""
    nat = ssp.national(ds, "employee_pension")
    for year in (2024, 2035, 2050):
        print(f"{year}: national balance {float(nat['employee_pension_balance'].sel(year=year)) / 1e12:6.2f} trillion CNY")
    print("national balance first below zero:", int(ssp.depletion_year(ds, "employee_pension", national_total=True)))
    first = ssp.depletion_year(ds, "employee_pension").to_series().sort_values().head(5)
    print("earliest provinces:", ", ".join(f"{code} {int(year)}" for code, year in first.items()))
    """),
]


# --------------------------------------------------------------------------------------------
# 02 calibration
# --------------------------------------------------------------------------------------------

CALIBRATION = [
    md("""
    # Calibration: 2024 against the yearbook, 2020 against the provincial plans

    The projection is calibrated province by province so that 2024 reproduces the *China
    Statistical Yearbook 2025* (tables 24-26 and 24-27): insured workers and retirees of the
    urban-employee pension, insured and beneficiaries of the resident pension, and each fund's
    revenue, expenditure and accumulated balance. This notebook

    1. sets the model's 2024 against the yearbook for all 31 provinces (table and charts of the
       residuals);
    2. shows where that information goes: the calibrated levels per province;
    3. checks the model's 2020 *backcast* (the projection from the 2020 census with 2024's
       coverage) against the 2020 actuals the Hebei, Guizhou and Guangdong plans print
       (`params/social_insurance/seed_figures.csv`).
    """),
    code("""
    import textwrap

    import matplotlib.pyplot as plt
    import numpy as np
    import pandas as pd

    import socsec_proj as ssp
    from socsec_proj.inputs import data
    from socsec_proj.inputs.paths import params_dir

    ds = ssp.run("baseline")
    y2024 = ds.sel(year=2024)


    def by_province(da):
        \"\"\"A variable summed over every dimension but province (sex, age), as a Series.\"\"\"
        return da.sum([d for d in da.dims if d != "province"]).to_series()
    """),
    md("""
    ## 2024: model against the yearbook

    Each yearbook column is paired with the model variable that should reproduce it.
    """),
    code("""
    PAIRS = {
        "employee_pension": (data.yearbook_employee_pension(), {
            "insured_workers": "employee_pension_contributors",
            "retirees": "employee_pension_retirees",
            "fund_revenue": "employee_pension_revenue",
            "fund_expenditure": "employee_pension_expenditure",
            "accumulated_balance": "employee_pension_balance",
        }),
        "resident_pension": (data.yearbook_resident_pension(), {
            "insured": "resident_pension_insured",
            "beneficiaries": "resident_pension_beneficiaries",
            "fund_revenue": "resident_pension_revenue",
            "fund_expenditure": "resident_pension_expenditure",
            "accumulated_balance": "resident_pension_balance",
        }),
    }

    frames = []
    for scheme, (yearbook, columns) in PAIRS.items():
        for column, variable in columns.items():
            model = by_province(y2024[variable]).loc[yearbook.index]
            frames.append(pd.DataFrame({"scheme": scheme, "quantity": column, "province": yearbook.index,
                                        "yearbook": yearbook[column].to_numpy(), "model": model.to_numpy()}))
    comparison = pd.concat(frames, ignore_index=True)
    comparison["residual"] = comparison["model"] - comparison["yearbook"]
    comparison["relative residual"] = comparison["residual"] / comparison["yearbook"]

    summary = comparison.groupby(["scheme", "quantity"], sort=False).agg(
        yearbook_total=("yearbook", "sum"), model_total=("model", "sum"),
        largest_abs_residual=("residual", lambda r: r.abs().max()),
        largest_relative_residual=("relative residual", lambda r: r.abs().max()))
    print(f"{len(comparison)} province-quantity pairs; largest relative residual "
          f"{comparison['relative residual'].abs().max():.1e}")
    summary
    """),
    md("""
    The fit is exact to floating-point rounding (relative residuals of order 1e-16, absolute ones
    a fraction of a person or of a yuan): 2024 is not a test of the model but its starting
    point. The table below shows it in readable units for the three provinces whose plans the
    project follows.
    """),
    code("""
    def readable(frame):
        money = frame["quantity"].str.startswith(("fund_", "accumulated_"))
        out = frame.copy()
        out["unit"] = np.where(money, "bn CNY", "million persons")
        scale = np.where(money, 1e9, 1e6)
        for column in ("yearbook", "model", "residual"):
            out[column] = out[column] / scale
        return out

    three = comparison[comparison["province"].isin(["CN-GD", "CN-HE", "CN-GZ"])]
    readable(three).set_index(["province", "scheme", "quantity"]).sort_index()[
        ["unit", "yearbook", "model", "residual", "relative residual"]].round(
        {"yearbook": 3, "model": 3, "residual": 9})
    """),
    md("""
    **Charts.** Left: model against yearbook for every province and quantity (log scales; every
    point sits on the diagonal). Right: the relative residual of each province and quantity in
    units of 1e-15, i.e. parts per quadrillion.
    """),
    code("""
    fig, (scatter, heat) = plt.subplots(1, 2, figsize=(13, 7), gridspec_kw={"width_ratios": [1, 1.2]})
    for (scheme, quantity), group in comparison.groupby(["scheme", "quantity"], sort=False):
        positive = group[group["yearbook"] > 0]
        scatter.scatter(positive["yearbook"], positive["model"], s=12,
                        marker="o" if scheme == "employee_pension" else "x", label=f"{scheme}: {quantity}")
    low, high = comparison["yearbook"][comparison["yearbook"] > 0].agg(["min", "max"])
    scatter.plot([low, high], [low, high], color="black", linewidth=0.8)
    scatter.set(xscale="log", yscale="log", xlabel="yearbook 2024 (persons or CNY)",
                ylabel="model 2024", title="model vs yearbook, 31 provinces")
    scatter.legend(fontsize=7, loc="upper left")

    grid = comparison.assign(column=comparison["scheme"].str.replace("_pension", "") + ": " + comparison["quantity"])
    grid = grid.pivot(index="province", columns="column", values="relative residual").loc[
        list(ds["province"].values), grid["column"].unique()] * 1e15
    limit = max(float(np.nanmax(np.abs(grid.to_numpy()))), 1.0)
    image = heat.imshow(grid.to_numpy(), cmap="RdBu_r", vmin=-limit, vmax=limit, aspect="auto")
    heat.set_xticks(range(grid.shape[1]), grid.columns, rotation=60, ha="right", fontsize=7)
    heat.set_yticks(range(grid.shape[0]), grid.index, fontsize=7)
    heat.set_title("relative residual (model / yearbook - 1), x 1e-15")
    fig.colorbar(image, ax=heat, shrink=0.8)
    fig.tight_layout()
    plt.show()
    """),
    md("""
    ## Where the information goes: the calibrated levels

    An exact fit moves the yearbook's information into a few levels per province, which then
    stay constant over the projection: the coverage of working-age residents by the employee
    scheme, the pension take-up of cohorts already retired, the effective contribution factor
    (contributions over insured workers x 12 x average wage x the 24 % rate), the fiscal subsidy's
    share of expenditure, and the resident scheme's contribution share and take-up. Values above 1
    are real: the yearbook counts people where they are insured, the census where they live
    (Beijing insures more workers than it has working-age residents).
    """),
    code("""
    levels = [name for name in ds.data_vars if ds[name].dims == ("province",)]
    calibrated = ds[levels].to_dataframe()[levels]
    calibrated.insert(0, "name", ds["name_en"].to_series())
    print("distribution over the 31 provinces:")
    display(calibrated[levels].describe().loc[["min", "25%", "50%", "75%", "max"]].round(3) + 0.0)
    calibrated.loc[["CN-GD", "CN-HE", "CN-GZ", "CN-BJ", "CN-HL"]].round(3).replace(-0.0, 0.0)
    """),
    md("""
    ## 2020: the backcast against the plans' actuals

    The plans of Hebei, Guizhou and Guangdong print 2020 actuals (`kind == "actual"` in
    `seed_figures.csv`). Where an indicator is a model variable with a 2020 value the two are set
    side by side; the seeds' age shares of the population are compared with the same shares of
    the model's population. The other figures are listed with the reason they cannot be
    compared.

    What to expect: the population is the 2020 census, so its age shares match; enrolment in 2020
    is the projection from the census with *2024's* coverage, so it overstates 2020 where
    enrolment grew after 2020.
    """),
    code("""
    seeds = pd.read_csv(params_dir() / "social_insurance" / "seed_figures.csv", comment="#")
    actual_2020 = seeds[(seeds["kind"] == "actual") & (seeds["year"] == 2020)]


    def population_share(province, from_age, year=2020):
        population = ds["population"].sel(province=province, year=year)
        return float(population.sel(age=slice(from_age, None)).sum() / population.sum())


    DERIVED = {"population_share_60plus": lambda p: population_share(p, 60),
               "population_share_65plus": lambda p: population_share(p, 65)}
    # the plans' names for what the unemployment and work-injury stages call otherwise
    ALIASES = {"unemployment_insured": "unemployment_contributors", "injury_insured": "injury_contributors",
               "unemployment_benefit": "unemployment_average_benefit",
               "injury_disability_allowance": "injury_average_benefit"}
    provinces = set(ds["province"].values)
    matched, unmatched = [], []
    for row in actual_2020.itertuples():
        reason, value, how = "", np.nan, ""
        variable = ALIASES.get(row.indicator, row.indicator)
        if row.province not in provinces:
            reason = "province not projected"
        elif variable in ds.data_vars and "year" in ds[variable].dims:
            da = ds[variable].sel(province=row.province, year=2020)
            value = float(da.sum(min_count=1)) if da.ndim else float(da)
            how = "model variable" if variable == row.indicator else f"model variable {variable}"
            if np.isnan(value):
                reason = "model variable, but no 2020 value (the fund accounts start in 2024)"
        elif row.indicator in DERIVED:
            value, how = DERIVED[row.indicator](row.province), "share of model population"
        else:
            reason = "no model variable"
        if reason:
            unmatched.append({"province": row.province, "indicator": row.indicator, "reason": reason})
        else:
            matched.append({"province": row.province, "indicator": row.indicator, "unit": row.unit,
                            "seed 2020": row.value, "model 2020": value, "model / seed - 1": value / row.value - 1,
                            "compared with": how})
    backcast = pd.DataFrame(matched).sort_values(["indicator", "province"]).reset_index(drop=True)


    def shown(value, unit):
        if unit == "persons":
            return f"{value / 1e6:.2f} M"
        if unit.startswith("CNY"):
            return f"{value / 1e9:.2f} bn CNY"
        return f"{value:.2%}"


    table = backcast.assign(**{c: [shown(v, u) for v, u in zip(backcast[c], backcast["unit"])]
                              for c in ("seed 2020", "model 2020")})
    table["model / seed - 1"] = table["model / seed - 1"].map("{:+.1%}".format)
    table.drop(columns="unit")
    """),
    code("""
    print(f"{len(backcast)} of {len(actual_2020)} figures of 2020 compared; the others:")
    for reason, group in pd.DataFrame(unmatched).groupby("reason"):
        print(f"- {reason}:")
        print(textwrap.fill(", ".join(sorted(set(group["indicator"]))), width=100,
                            initial_indent="    ", subsequent_indent="    "))
    """),
    code("""
    labels = backcast["province"] + "  " + backcast["indicator"]
    ratio = backcast["model 2020"] / backcast["seed 2020"]
    fig, ax = plt.subplots(figsize=(8, 0.4 * len(backcast) + 1.2))
    ax.barh(labels, ratio - 1, color=np.where(ratio >= 1, "tab:red", "tab:blue"))
    ax.axvline(0, color="black", linewidth=0.8)
    ax.xaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:+.0%}"))
    ax.set_xlabel("model 2020 / plan's 2020 actual - 1")
    ax.set_title("2020 backcast against the provincial plans")
    ax.invert_yaxis()
    fig.tight_layout()
    plt.show()
    """),
    md("""
    **Reading the comparison.**

    - Age shares of the population match to the rounding of the published percentages: the base
      population is built on the census's provincial age shares.
    - Hebei's employee-pension enrolment is overstated by about an eighth: Hebei's insured grew from
      17.4 M (2020) to 20.2 M (2024), and the backcast holds 2024's coverage. Guizhou's is over by
      about 6 % for the same reason; the resident scheme, whose enrolment changed little, is
      within about 3 %.
    - Guangdong's pension coverage rate is far below the plan's 90 %: the model divides the
      insured of both schemes by *resident* population aged 16+, while Guangdong's own rate uses
      another denominator (many of its insured are registered elsewhere). The indicator is the
      same name, not the same definition, which matters again for the plan targets
      (`04_plan_targets.ipynb`).
    """),
]


# --------------------------------------------------------------------------------------------
# 03 retirement reform
# --------------------------------------------------------------------------------------------

RETIREMENT = [
    md("""
    # The 2024 retirement-age reform: current law against no delay

    On 13 September 2024 the NPC Standing Committee decided to raise the statutory retirement
    ages gradually from 1 January 2025: men from 60 to 63 and women cadres/staff from 55 to 58
    (one month of delay for every four months of birth), women workers from 50 to 55 (one month
    for every two), over fifteen years. The minimum contribution for a monthly pension rises from
    15 to 20 years from 2030.

    The `baseline` is current law; `no_retirement_delay` keeps the original ages and changes
    nothing else. Comparing the two shows what the reform does to insured workers, pensioners,
    the average pension and the urban-employee fund, for China and for Guangdong, Hebei and
    Guizhou.
    """),
    code("""
    import matplotlib.pyplot as plt
    import numpy as np
    import pandas as pd

    import socsec_proj as ssp

    SCENARIOS = {"current law": "baseline", "no delay": "no_retirement_delay"}
    runs = {label: ssp.run(name) for label, name in SCENARIOS.items()}
    for label, name in SCENARIOS.items():
        print(f"{label:12s} {name}: {ssp.load_scenario(name).description.strip()[:110]}...")
    """),
    md("""
    ## Statutory ages by birth cohort

    `ssp.retirement.statutory_retirement_age(category, birth_year, birth_month)` gives the age
    exactly to the month (years, months). People born in January of each year:
    """),
    code("""
    CATEGORIES = {"male": "men", "female_cadre": "women cadres/staff", "female_worker": "women workers"}
    BIRTH_YEARS = [1960, 1965, 1970, 1972, 1975, 1978, 1980, 1985, 1990]


    def age_text(age):
        years, months = age
        return f"{years} y {months} m" if months else f"{years} y"


    ages = pd.DataFrame({label: [age_text(ssp.retirement.statutory_retirement_age(category, year, 1))
                                 for year in BIRTH_YEARS]
                         for category, label in CATEGORIES.items()},
                        index=pd.Index(BIRTH_YEARS, name="born in January"))
    ages
    """),
    code("""
    minimum = {year: ssp.retirement.minimum_contribution_years(year) for year in (2029, 2030, 2032, 2035, 2039, 2045)}
    print("minimum contribution years for a monthly pension, by year of retirement:")
    print(", ".join(f"{year}: {years:g}" for year, years in minimum.items()))
    """),
    md("""
    ## China

    Insured workers and pensioners are summed over provinces, sexes and ages; the average pension
    is weighted by pensioners; the balance is the sum of the provincial funds; the cost rate is
    expenditure over covered payroll (`ssp.cost_rate`, here for the national totals).
    """),
    code("""
    YEARS = [2024, 2030, 2035, 2040, 2050, 2060]


    def national_path(ds):
        contributors = ds["employee_pension_contributors"].sum(("province", "sex", "age"))
        retirees_by_province = ds["employee_pension_retirees"].sum(("sex", "age"))
        retirees = retirees_by_province.sum("province")
        fund = ssp.national(ds, "employee_pension")
        average = (ds["employee_pension_average_benefit"] * retirees_by_province).sum("province", min_count=1) / retirees
        return pd.DataFrame({
            "insured workers (M)": contributors / 1e6,
            "pensioners (M)": retirees / 1e6,
            "pensioners per worker": retirees / contributors,
            "average pension (CNY/month)": average,
            "cost rate (% of payroll)": 100 * fund["employee_pension_expenditure"]
                                        / fund["employee_pension_covered_payroll"],
            "balance (trillion CNY)": fund["employee_pension_balance"] / 1e12,
        }, index=pd.Index(ds["year"].values, name="year"))


    paths = {label: national_path(ds) for label, ds in runs.items()}
    table = pd.concat({**paths, "difference": paths["current law"] - paths["no delay"]}, axis=1)
    table.loc[YEARS].T.round(2).replace(-0.0, 0.0)
    """),
    code("""
    law, nodelay = paths["current law"], paths["no delay"]
    for year in (2035, 2050):
        print(f"{year}: the delay keeps {law.loc[year, 'insured workers (M)'] - nodelay.loc[year, 'insured workers (M)']:.1f} M "
              f"more people contributing and {nodelay.loc[year, 'pensioners (M)'] - law.loc[year, 'pensioners (M)']:.1f} M "
              "fewer drawing a pension")
    for label, ds in runs.items():
        year = ssp.depletion_year(ds, "employee_pension", national_total=True).item()
        print(f"{label:12s}: national balance first below zero in {'never (by 2100)' if np.isnan(year) else int(year)}")
    """),
    code("""
    panels = ["insured workers (M)", "pensioners (M)", "average pension (CNY/month)", "balance (trillion CNY)"]
    fig, axes = plt.subplots(2, 2, figsize=(11, 7), sharex=True)
    for ax, column in zip(axes.flat, panels):
        for label, path in paths.items():
            series = path[column].loc[2020:2070].dropna()
            ax.plot(series.index, series, label=label)
        ax.set_title(column)
        if column.startswith("balance"):
            ax.axhline(0, color="black", linewidth=0.8)
    axes[0, 0].legend()
    fig.suptitle("Urban-employee pension, China: current law vs no retirement-age delay")
    fig.tight_layout()
    plt.show()
    """),
    md("""
    The delay works through both sides of the account: every month of delay keeps a cohort paying
    contributions and postpones its pension, so the same people move from the pensioner column to
    the worker column. The average pension is *higher* under the delay: each extra year of work
    adds a contribution year to the formula (1 % of the wage per year), a later retirement shortens
    the annuity divisor of the individual account, and the pension is set on a later, higher wage.
    The balance effect is large: without the delay the national fund is exhausted about fifteen
    years earlier.

    ## Guangdong, Hebei and Guizhou
    """),
    code("""
    PROVINCES = ["CN-GD", "CN-HE", "CN-GZ"]
    rows = []
    for label, ds in runs.items():
        depletion = ssp.depletion_year(ds, "employee_pension")
        for code in PROVINCES:
            p = ds.sel(province=code)
            rows.append({
                "province": f"{code} {p['name_en'].item()}", "scenario": label,
                "insured workers 2035 (M)": float(p["employee_pension_contributors"].sel(year=2035).sum()) / 1e6,
                "pensioners 2035 (M)": float(p["employee_pension_retirees"].sel(year=2035).sum()) / 1e6,
                "average pension 2035 (CNY/month)": float(p["employee_pension_average_benefit"].sel(year=2035)),
                "balance 2035 (bn CNY)": float(p["employee_pension_balance"].sel(year=2035)) / 1e9,
                "balance 2050 (bn CNY)": float(p["employee_pension_balance"].sel(year=2050)) / 1e9,
                "first year below zero": depletion.sel(province=code).item(),
            })
    pd.DataFrame(rows).set_index(["province", "scenario"]).round(1)
    """),
    code("""
    fig, axes = plt.subplots(1, 3, figsize=(13, 4), sharex=True)
    for ax, code in zip(axes, PROVINCES):
        for label, ds in runs.items():
            balance = ds["employee_pension_balance"].sel(province=code, year=slice(2024, 2080)) / 1e9
            ax.plot(balance["year"], balance, label=label)
        ax.axhline(0, color="black", linewidth=0.8)
        ax.set_title(f"{code} {runs['current law']['name_en'].sel(province=code).item()}")
        ax.set_ylabel("balance (bn CNY)")
    axes[0].legend()
    fig.suptitle("Urban-employee pension fund balance by province")
    fig.tight_layout()
    plt.show()
    """),
    md("""
    Hebei's fund is small relative to its expenditure (about three months of payment at the end of
    2024): it runs out first, in the 2040s with the delay and within a few years without it.
    Guangdong and Guizhou, with younger insured populations, keep a positive balance into the
    2070s under current law and lose a decade or more of it without the delay. National pooling (a
    remittance on 90 % of each province's wage bill, allocated equally per pensioner) moves money
    from provinces with many workers per pensioner to the others in both scenarios.
    """),
]


# --------------------------------------------------------------------------------------------
# 04 plan targets
# --------------------------------------------------------------------------------------------

PLAN_TARGETS = [
    md("""
    # The 14th Five-Year plans of Guangdong, Hebei and Guizhou: does current law meet the 2025 targets?

    Three shipped scenarios carry the 2025 targets of the provincial 14th-plan documents for
    social insurance (`targets`: indicator, province, year, value, source). Each projects the
    baseline (current law) for its province only. For every target the notebook sets the
    projected value against the target and marks it met or not met; a target is a floor for
    counts and revenues (met when projected >= target) and a ceiling for expenditure and
    dependency ratios. Targets on indicators the Dataset does not hold (the unemployment and
    work-injury funds, being added now) are listed with a note instead.
    """),
    code("""
    import matplotlib.pyplot as plt
    import numpy as np
    import pandas as pd

    import socsec_proj as ssp
    from socsec_proj.inputs.paths import params_dir

    PLANS = ["guangdong_14th_plan", "hebei_14th_plan", "guizhou_14th_plan"]
    scenarios = {name: ssp.load_scenario(name) for name in PLANS}
    runs = {name: ssp.run(scenario) for name, scenario in scenarios.items()}
    for name, scenario in scenarios.items():
        print(f"{name}: {len(scenario.targets)} targets, provinces {[str(p) for p in runs[name]['province'].values]}")
    """),
    code("""
    CEILINGS = ("_expenditure", "system_dependency_ratio", "deaths")


    def projected(ds, indicator, province, year):
        \"\"\"(value, note): the indicator at a province (None = sum of the projected provinces) and year.\"\"\"
        if indicator not in ds.data_vars:
            return np.nan, "not in the Dataset (not modelled yet)"
        da = ds[indicator]
        if "year" not in da.dims or year not in ds["year"].values:
            return np.nan, "year not projected"
        da = da.sel(year=year)
        if province is None:
            if da.attrs.get("units") == "1":
                return np.nan, "national ratio: not additive over provinces"
            da = da.sum("province")
        elif province in ds["province"].values:
            da = da.sel(province=province)
        else:
            return np.nan, "province not projected"
        value = float(da.sum(min_count=1)) if da.ndim else float(da)
        return value, ("no value in that year" if np.isnan(value) else "")


    rows = []
    for name, scenario in scenarios.items():
        ds = runs[name]
        for target in scenario.targets:
            value, note = projected(ds, target.indicator, target.province, target.year)
            value_2024, _ = projected(ds, target.indicator, target.province, 2024)
            rule = "<=" if target.indicator.endswith(CEILINGS) else ">="
            met = None if np.isnan(value) else (value >= target.value if rule == ">=" else value <= target.value)
            rows.append({"plan": name.replace("_14th_plan", ""), "province": target.province,
                         "indicator": target.indicator, "year": target.year, "target": target.value,
                         "2024 (calibration year)": value_2024, "projected": value,
                         "projected / target": value / target.value, "rule": rule,
                         "status": "not modelled" if met is None else ("met" if met else "NOT met"),
                         "note": note, "source": target.source})
    checks = pd.DataFrame(rows)
    evaluated = checks[checks["status"] != "not modelled"].reset_index(drop=True)
    skipped = checks[checks["status"] == "not modelled"].reset_index(drop=True)
    print(f"{len(checks)} targets: {len(evaluated)} evaluated "
          f"({(evaluated['status'] == 'met').sum()} met, {(evaluated['status'] == 'NOT met').sum()} not met), "
          f"{len(skipped)} on indicators not in the Dataset")
    """),
    md("""
    ## Targets the projection can check

    Counts are in persons, revenues in CNY per year, the coverage rate a fraction. The column
    *2024* is the model's value in the calibration year, equal to the yearbook for enrolment and
    revenue; *projected* is 2025.
    """),
    code("""
    def shown(value, indicator):
        if np.isnan(value):
            return ""
        if indicator.endswith("_rate"):
            return f"{value:.1%}"
        if indicator.endswith(("_revenue", "_expenditure", "_balance")):
            return f"{value / 1e9:,.1f} bn CNY"
        return f"{value / 1e6:,.2f} M"


    display_table = evaluated.copy()
    for column in ("target", "2024 (calibration year)", "projected"):
        display_table[column] = [shown(v, i) for v, i in zip(evaluated[column], evaluated["indicator"])]
    display_table["projected / target"] = evaluated["projected / target"].map("{:.3f}".format)
    display_table[["plan", "province", "indicator", "year", "target", "2024 (calibration year)", "projected",
                   "projected / target", "rule", "status"]]
    """),
    md("""
    ## Targets on indicators not in the Dataset

    These are skipped with a note. Once the unemployment and work-injury stages write their
    variables (`unemployment_contributors`, `injury_revenue`, ...) the same cell evaluates them
    without change.
    """),
    code("""
    if len(skipped):
        display(skipped.assign(target=[shown(v, i) for v, i in zip(skipped["target"], skipped["indicator"])])[
            ["plan", "province", "indicator", "year", "target", "note"]])
    else:
        print("every target was evaluated")
    """),
    code("""
    labels = evaluated["plan"] + ": " + evaluated["indicator"]
    ratio = evaluated["projected / target"]
    fig, ax = plt.subplots(figsize=(8, 0.45 * len(evaluated) + 1.2))
    ax.barh(labels, ratio, color=np.where(evaluated["status"] == "met", "tab:green", "tab:red"))
    ax.axvline(1, color="black", linewidth=0.8)
    ax.set_xlim(0, max(1.1, float(ratio.max()) * 1.05))
    ax.set_xlabel("projected 2025 / target (green: met, red: not met)")
    ax.set_title("14th-plan targets under current law")
    ax.invert_yaxis()
    fig.tight_layout()
    plt.show()
    """),
    md("""
    ## The same targets measured from the plans' own 2020 base

    The plans set their targets from their own 2020 actuals (`seed_figures.csv`), and the model's
    levels are the 2024 yearbook's, which do not always share the plan's definition (Guangdong's
    coverage rate has another denominator). A level-free reading applies the model's growth from
    2020 to 2025 to the plan's 2020 actual: *plan's 2020 x model 2025 / model 2020*. Caveat: the
    model's 2020 holds 2024's coverage, so its 2020-2025 growth is demographic only and
    understates growth where enrolment was rising.
    """),
    code("""
    seeds = pd.read_csv(params_dir() / "social_insurance" / "seed_figures.csv", comment="#")
    base_2020 = seeds[(seeds["kind"] == "actual") & (seeds["year"] == 2020)].set_index(["province", "indicator"])["value"]
    rows = []
    for target in evaluated.itertuples():
        if (target.province, target.indicator) not in base_2020.index:
            continue
        ds = runs[f"{target.plan}_14th_plan"]
        model_2020, _ = projected(ds, target.indicator, target.province, 2020)
        if np.isnan(model_2020):
            continue
        plan_2020 = float(base_2020.loc[(target.province, target.indicator)])
        adjusted = plan_2020 * target.projected / model_2020
        met = adjusted >= target.target if target.rule == ">=" else adjusted <= target.target
        rows.append({"plan": target.plan, "indicator": target.indicator, "plan's 2020": shown(plan_2020, target.indicator),
                     "model 2020": shown(model_2020, target.indicator),
                     "model growth 2020-2025": f"{target.projected / model_2020 - 1:+.1%}",
                     "level-adjusted 2025": shown(adjusted, target.indicator),
                     "target": shown(target.target, target.indicator),
                     "status": "met" if met else "NOT met"})
    pd.DataFrame(rows)
    """),
    md("""
    **Reading the results.**

    - The employee-pension enrolment targets of Hebei and Guizhou were already exceeded in the 2024
      yearbook, so the projection meets them. From the plans' 2020 base, demographic growth alone
      would not have got there: enrolment rose by widening coverage between 2020 and 2024, which
      the plans' targets asked for.
    - Guizhou's 2025 revenue targets for both pension funds are below their 2024 revenue already
      (the employee fund's revenue counts the national pooling transfer Guizhou receives).
    - Guizhou's resident-pension enrolment falls short of 20 M on the yearbook's level but
      reaches it from the plan's own 2020 base: the model's 2020 is below the plan's 19.04 M.
    - The unemployment and work-injury targets (evaluated when those stages are in the pipeline)
      are enrolment and revenue: their insured are a calibrated ratio to the employee pension's
      insured workers, so they move with the working-age insured population, and a target well
      above the 2024 level is met only if coverage widens, which current law does not assume.
    - None of the three coverage targets (95 %) is met: coverage is held at its 2024 level, so
      only ageing moves the rate. These are the targets most sensitive to definitions:
      Guangdong's plan reports 90 % for 2020, the model's rate (insured of both schemes per
      resident aged 16+) is about 75 %, because many of Guangdong's insured are counted as
      residents of their home province.
    """),
]


# --------------------------------------------------------------------------------------------
# 06 custom model
# --------------------------------------------------------------------------------------------

CUSTOM = [
    md("""
    # Your own model: replace a stage, or change a parameter, without touching the package

    A projection is a sequence of stages `stage(ds, scenario) -> ds` (`ssp.STAGES`), and
    `ssp.run(scenario, stages=[...])` runs any sequence you give it. An actuary can therefore
    change the model from a notebook in two ways:

    1. **wrap or replace a stage** in Python: here, the resident-pension stage is wrapped so that
       every province's basic pension (基础养老金) rises 5 % a year from 2027 to 2050 instead of
       staying at the 2026 level;
    2. **write a scenario** (a YAML file of dated parameter changes, anywhere on disk): here, a
       fertility rebound to a TFR of 1.6 from 2030, written to a temporary file.

    Both are compared with the baseline.
    """),
    code("""
    import functools
    import tempfile
    import textwrap
    from pathlib import Path

    import matplotlib.pyplot as plt
    import numpy as np
    import pandas as pd

    import socsec_proj as ssp

    base = ssp.run("baseline")
    print("stages of the default pipeline:")
    for stage in ssp.STAGES:
        print(f"  {stage.__module__}.{stage.__name__}")
    """),
    md("""
    ## 1. Wrapping the resident-pension stage

    The wrapper keeps the package's stage and hands it a scenario whose parameter
    `resident_pension.basic_pension` grows 5 % a year from 2027 to 2050 in every projected
    province, starting from that province's 2026 level (its own standard, never below the
    national minimum of 163 CNY/month). `Scenario` is an immutable pydantic model and
    `ParameterSet.with_changes` returns a changed copy with every value checked (the parameter's
    range is 0-2000 CNY/month, which is why the growth stops in 2050). The stage is found by
    name, so the wrapper also works when other stages (unemployment, injury) are added to the
    pipeline.
    """),
    code("""
    resident_stage = next(stage for stage in ssp.STAGES if stage.__name__ == "project_resident_pension")


    def basic_pension_growth(stage, growth=0.05, first_year=2027, last_year=2050):
        \"\"\"The stage, run with a basic pension rising by `growth` a year from `first_year` to `last_year`.\"\"\"

        @functools.wraps(stage)  # keeps the name and any `check` the stage carries
        def wrapped(ds, scenario):
            parameters = scenario.parameters
            provinces = [str(code) for code in ds["province"].values]
            start = first_year - 1
            own = parameters.get("resident_pension.basic_pension").by_province([start], provinces)[:, 0]
            floor = parameters.get("resident_pension.minimum_basic_pension").annual([start])[0]
            level = np.maximum(own, floor)
            path = {code: {f"{year}-01-01": round(float(value * (1 + growth) ** (year - start)), 2)
                           for year in range(first_year, last_year + 1)}
                    for code, value in zip(provinces, level)}
            changes = {"resident_pension.basic_pension": {"provinces": path}}
            changed = scenario.model_copy(update={"parameters": parameters.with_changes(changes)})
            return stage(ds, changed)

        return wrapped


    stages = [basic_pension_growth(stage) if stage is resident_stage else stage for stage in ssp.STAGES]
    raised = ssp.run("baseline", stages=stages)

    same = [name for name in ("population", "employee_pension_balance") if base[name].equals(raised[name])]
    print("unchanged by the wrapper:", ", ".join(same))
    """),
    code("""
    YEARS = [2024, 2026, 2030, 2040, 2050, 2060]


    def resident_path(ds):
        fund = ssp.national(ds, "resident_pension")
        beneficiaries = ds["resident_pension_beneficiaries"].sum(("province", "sex", "age"))
        return pd.DataFrame({
            "average pension (CNY/month)": fund["resident_pension_expenditure"] / beneficiaries / 12,
            "expenditure (bn CNY)": fund["resident_pension_expenditure"] / 1e9,
            "government subsidy (bn CNY)": fund["resident_pension_subsidy"] / 1e9,
            "balance (bn CNY)": fund["resident_pension_balance"] / 1e9,
        }, index=pd.Index(ds["year"].values, name="year"))


    resident = {"baseline": resident_path(base), "basic pension +5 %/year": resident_path(raised)}
    pd.concat(resident, axis=1).loc[YEARS].T.round(0)
    """),
    code("""
    for label, ds in (("baseline", base), ("basic pension +5 %/year", raised)):
        depletion = ssp.depletion_year(ds, "resident_pension")
        national = ssp.depletion_year(ds, "resident_pension", national_total=True).item()
        print(f"{label:24s}: {int(depletion.notnull().sum()):2d} of {depletion.size} provincial resident funds run out by "
              f"{int(ds['year'][-1])}; national balance below zero "
              f"{'never' if np.isnan(national) else 'from ' + str(int(national))}")

    fig, axes = plt.subplots(1, 3, figsize=(13, 4), sharex=True)
    for ax, column in zip(axes, ["average pension (CNY/month)", "government subsidy (bn CNY)", "balance (bn CNY)"]):
        for label, path in resident.items():
            series = path[column].loc[2024:2070]
            ax.plot(series.index, series, label=label)
        ax.set_title(column)
    axes[2].axhline(0, color="black", linewidth=0.8)
    axes[0].legend(loc="upper left")
    fig.suptitle("Urban-rural resident pension, China")
    fig.tight_layout()
    plt.show()
    """),
    md("""
    A 5 % yearly rise roughly triples the basic pension by 2050. The stage funds the basic pension
    from government in its 2024 proportion to expenditure, so the subsidy triples too; members'
    contributions only follow prices, and the accumulated fund, which grows steadily in the
    baseline, is drawn down within about fifteen years.

    ## 2. A scenario written to a file

    The same mechanism the shipped scenarios use: `extends: baseline` plus dated changes. Loading
    checks every key, date and value before anything runs, so a typo stops with the file, line and
    key (shown at the end).
    """),
    code("""
    folder = Path(tempfile.mkdtemp(prefix="socsec_proj_"))
    scenario_file = folder / "fertility_rebound.yaml"
    scenario_file.write_text(textwrap.dedent('''
        name: fertility_rebound
        description: What if the total fertility rate rose to 1.6 from 2030 (baseline about 1.0-1.2)?
        extends: baseline
        changes:
          demography.total_fertility_rate:
            2030-01-01: 1.6
    '''))
    rebound = ssp.run(scenario_file)
    print(rebound.attrs["scenario"], "-", rebound.attrs["description"])
    """),
    code("""
    def headline(ds):
        china = ds["population"].sum(("province", "sex", "age"))
        workers = ds["employee_pension_contributors"].sum(("province", "sex", "age"))
        fund = ssp.national(ds, "employee_pension")
        out = {}
        for year in (2050, 2075, 2100):
            out[f"population {year} (M)"] = float(china.sel(year=year)) / 1e6
            out[f"insured workers {year} (M)"] = float(workers.sel(year=year)) / 1e6
        out["pension balance 2050 (trillion CNY)"] = float(fund["employee_pension_balance"].sel(year=2050)) / 1e12
        out["national fund first below zero"] = ssp.depletion_year(ds, "employee_pension", national_total=True).item()
        return out


    pd.DataFrame({"baseline": headline(base), "TFR 1.6 from 2030": headline(rebound)}).round(1)
    """),
    code("""
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4))
    for label, ds in (("baseline", base), ("TFR 1.6 from 2030", rebound)):
        china = ds["population"].sum(("province", "sex", "age")) / 1e6
        left.plot(china["year"], china, label=label)
        balance = ssp.national(ds, "employee_pension")["employee_pension_balance"].sel(year=slice(2024, 2080)) / 1e12
        right.plot(balance["year"], balance, label=label)
    left.set_title("population of China (M)")
    right.set_title("urban-employee pension, national balance (trillion CNY)")
    right.axhline(0, color="black", linewidth=0.8)
    left.legend()
    fig.tight_layout()
    plt.show()
    """),
    md("""
    More births change the population a lot by 2100, but the pension fund hardly at all before
    2060: children born from 2030 start contributing in the late 2040s, and by then the balance is
    already shaped by the cohorts alive today. Fertility is a long-run lever; the retirement age
    (`03_retirement_reform.ipynb`) works within the plan horizon.

    Finally, what a mistake looks like: a misspelt parameter stops at loading, naming the file,
    line and key, and suggesting the nearest valid name.
    """),
    code("""
    typo = folder / "typo.yaml"
    typo.write_text("name: typo\\nextends: baseline\\nchanges:\\n  demography.total_fertility_rat:\\n    2030-01-01: 1.6\\n")
    try:
        ssp.load_scenario(typo)
    except ssp.InputError as error:
        print(f"InputError: {error}")
    """),
    code("""
    import shutil

    shutil.rmtree(folder)  # the temporary scenario files
    """),
]

# --------------------------------------------------------------------------------------------
# 05 stochastic risk
# --------------------------------------------------------------------------------------------

STOCHASTIC = [
    md("""
    # Stochastic risk: how sure is the depletion year?

    A single projection hides the risk. Here the baseline runs 500 times with different futures:
    fertility and mortality drawn so that their spread matches the UN WPP 2024 80 % prediction
    intervals, wage growth and the funds' rate of return with the volatility of the shipped
    series (see `params/SOURCES.md`, "Stochastic projections"). Each draw has its own seed, so the
    same `seed` gives the same draws however they are split (in this process or on a dask cluster).
    """),
    code("""
    import time

    import matplotlib.pyplot as plt
    import numpy as np

    import socsec_proj as ssp
    from socsec_proj import report

    began = time.perf_counter()
    draws = ssp.run("baseline", draws=500, seed=2024)
    print(f"500 draws in {time.perf_counter() - began:.2f} s; dims: {dict(draws.sizes)}")
    """),
    md("""
    ## The spread of the drivers

    The fertility driver is the log multiplier of the TFR: its spread widens with the horizon, as
    WPP's interval does.
    """),
    code("""
    tfr = np.exp(draws["driver_fertility"])
    for year in (2030, 2050, 2100):
        low, mid, high = np.quantile(tfr.sel(year=year), [0.1, 0.5, 0.9])
        print(f"{year}: TFR multiplier 10-90 %: {low:.2f} - {high:.2f} (median {mid:.2f})")
    population = draws["population_total"].sum("province") / 1e6
    print((population.quantile([0.05, 0.5, 0.95], "draw").sel(year=[2050, 2100])).round(0).to_pandas())
    """),
    md("""
    ## The employee pension fund: a fan chart and the depletion year
    """),
    code("""
    report.fan_chart(draws, "employee_pension")
    plt.show()
    years = ssp.depletion_year(draws, "employee_pension", national_total=True)
    finite = years.values[np.isfinite(years.values)]
    print(f"national depletion year: median {np.median(finite):.0f}, 5-95 %: "
          f"{np.quantile(finite, 0.05):.0f}-{np.quantile(finite, 0.95):.0f}; "
          f"{np.isnan(years.values).mean():.0%} of draws last beyond 2100")
    report.depletion_histogram(draws, "employee_pension")
    plt.show()
    """),
    md("""
    ## Three provinces

    The probability that each fund is still positive in 2035 and 2050.
    """),
    code("""
    for province in ("CN-GD", "CN-HE", "CN-GZ"):
        balance = draws["employee_pension_balance"].sel(province=province)
        alive = [(balance.sel(year=y) > 0).mean().item() for y in (2035, 2050)]
        print(f"{province}: P(balance > 0) 2035 {alive[0]:.0%}, 2050 {alive[1]:.0%}")
    summary = ssp.summarize(draws, quantiles=(0.05, 0.5, 0.95))
    months = summary["employee_pension_months_of_reserve"].sel(province="CN-GD", year=[2030, 2040])
    print(months.round(1).to_pandas())
    """),
]


NOTEBOOKS = {
    "01_quickstart.ipynb": QUICKSTART,
    "02_calibration.ipynb": CALIBRATION,
    "03_retirement_reform.ipynb": RETIREMENT,
    "04_plan_targets.ipynb": PLAN_TARGETS,
    "05_stochastic_risk.ipynb": STOCHASTIC,
    "06_custom_model.ipynb": CUSTOM,
}


def build(filename: str, cells) -> nbformat.NotebookNode:
    """A notebook without outputs, with stable cell ids (``<number>-<index>``) so that rebuilding is idempotent."""
    prefix = filename.split("_", 1)[0]
    made = []
    for index, (kind, source) in enumerate(cells):
        cell_id = f"nb{prefix}-{index:02d}"
        if kind == "markdown":
            made.append(new_markdown_cell(source, id=cell_id))
        else:
            made.append(new_code_cell(source, id=cell_id, execution_count=None, outputs=[]))
    notebook = new_notebook(cells=made, metadata=METADATA)
    nbformat.validate(notebook)
    return notebook


def render(filename: str) -> str:
    return nbformat.writes(build(filename, NOTEBOOKS[filename]), version=4) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only check that the notebooks are up to date")
    parser.add_argument("--out", type=Path, default=HERE, help="folder to write to (default: notebooks/)")
    args = parser.parse_args(argv)
    stale = []
    for filename in NOTEBOOKS:
        path = args.out / filename
        text = render(filename)
        if args.check:
            if not path.is_file() or path.read_text(encoding="utf-8") != text:
                stale.append(filename)
        else:
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path}")
    if stale:
        print("out of date (run python notebooks/_make_notebooks.py):", ", ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
