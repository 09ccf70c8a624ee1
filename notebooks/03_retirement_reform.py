# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # The 2024 retirement-age reform: current law against no delay
#
# On 13 September 2024 the NPC Standing Committee decided to raise the statutory retirement
# ages gradually from 1 January 2025: men from 60 to 63 and women cadres/staff from 55 to 58
# (one month of delay for every four months of birth), women workers from 50 to 55 (one month
# for every two), over fifteen years. The minimum contribution for a monthly pension rises from
# 15 to 20 years from 2030.
#
# The `baseline` is current law; `no_retirement_delay` keeps the original ages and changes
# nothing else. Comparing the two shows what the reform does to insured workers, pensioners,
# the average pension and the urban-employee fund, for China and for Guangdong, Hebei and
# Guizhou.

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

import socsec_proj as ssp

SCENARIOS = {"current law": "baseline", "no delay": "no_retirement_delay"}
runs = {label: ssp.run(name) for label, name in SCENARIOS.items()}
for label, name in SCENARIOS.items():
    print(f"{label:12s} {name}: {ssp.load_scenario(name).description.strip()[:110]}...")

# %% [markdown]
# ## Statutory ages by birth cohort
#
# `ssp.retirement.statutory_retirement_age(category, birth_year, birth_month)` gives the age
# exactly to the month (years, months). People born in January of each year:

# %%
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

# %%
minimum = {year: ssp.retirement.minimum_contribution_years(year) for year in (2029, 2030, 2032, 2035, 2039, 2045)}
print("minimum contribution years for a monthly pension, by year of retirement:")
print(", ".join(f"{year}: {years:g}" for year, years in minimum.items()))

# %% [markdown]
# ## China
#
# Insured workers and pensioners are summed over provinces, sexes and ages; the average pension
# is weighted by pensioners; the balance is the sum of the provincial funds; the cost rate is
# expenditure over covered payroll (`ssp.cost_rate`, here for the national totals).

# %%
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

# %%
law, nodelay = paths["current law"], paths["no delay"]
for year in (2035, 2050):
    more = law.loc[year, "insured workers (M)"] - nodelay.loc[year, "insured workers (M)"]
    fewer = nodelay.loc[year, "pensioners (M)"] - law.loc[year, "pensioners (M)"]
    print(f"{year}: the delay keeps {more:.1f} M more people contributing and {fewer:.1f} M fewer drawing a pension")
for label, ds in runs.items():
    year = ssp.depletion_year(ds, "employee_pension", national_total=True).item()
    print(f"{label:12s}: national balance first below zero in {'never (by 2100)' if np.isnan(year) else int(year)}")

# %%
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

# %% [markdown]
# The delay works through both sides of the account: every month of delay keeps a cohort paying
# contributions and postpones its pension, so the same people move from the pensioner column to
# the worker column. The average pension is *higher* under the delay: each extra year of work
# adds a contribution year to the formula (1 % of the wage per year), a later retirement shortens
# the annuity divisor of the individual account, and the pension is set on a later, higher wage.
# The balance effect is large: without the delay the national fund is exhausted about fifteen
# years earlier.
#
# ## Guangdong, Hebei and Guizhou

# %%
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

# %%
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

# %% [markdown]
# Hebei's fund is small relative to its expenditure (about three months of payment at the end of
# 2024): it runs out first, in the 2040s with the delay and within a few years without it.
# Guangdong and Guizhou, with younger insured populations, keep a positive balance into the
# 2070s under current law and lose a decade or more of it without the delay. National pooling (a
# remittance on 90 % of each province's wage bill, allocated equally per pensioner) moves money
# from provinces with many workers per pensioner to the others in both scenarios.
