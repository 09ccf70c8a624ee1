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
# # Quickstart: one projection, from the population to a provincial pension fund
#
# `socsec_proj` projects China's provincial social-insurance funds as a pipeline of stages over
# one `xarray.Dataset`: population (cohort-component, 31 provinces x sex x single age x year,
# 2020-2100), insured workers and pensioners, then the fund accounts calibrated to the 2024
# statistical yearbook.
#
# This notebook runs the baseline (current law, including the gradual retirement-age delay of
# 2025-2039), looks at what the Dataset holds, and follows Guangdong's urban-employee pension
# fund to the end of the century.

# %%
import time

import matplotlib.pyplot as plt
import pandas as pd

import socsec_proj as ssp

start = time.perf_counter()
ds = ssp.run("baseline")
print(f"baseline projected in {time.perf_counter() - start:.2f} s "
      "(the first run of a session also compiles/loads the numba kernels)")

# %% [markdown]
# ## What the Dataset holds
#
# Four dimensions: `province` (ISO 3166-2:CN codes, with Chinese and English names as
# coordinates), `sex`, single `age` 0..100 (100 = 100 and over) and `year`. Stocks are at
# 1 July; flows labelled year Y run from 1 July Y-1 to 1 July Y. The fund accounts start in
# 2024, the calibration year (NaN before).

# %%
print("dimensions:", dict(ds.sizes))
print("years:", int(ds["year"][0]), "to", int(ds["year"][-1]))
print("first provinces:", ", ".join(f"{code} {name}" for code, name in
                                    zip(ds["province"].values[:4], ds["name_en"].values[:4])), "...")
schemes = [s for s in ("employee_pension", "resident_pension", "unemployment", "injury") if f"{s}_balance" in ds]
print("funds projected:", ", ".join(schemes))

# %% [markdown]
# Every variable carries `units` and `long_name`. Money is nominal CNY, people are persons,
# ratios are fractions (unit `1`).

# %%
rows = []
for name in ["population", "life_expectancy", "employee_pension_contributors", "pension_coverage_rate",
             "employee_pension_balance", "employee_pension_months_of_reserve"]:
    rows.append({"variable": name, "dims": ", ".join(ds[name].dims), "units": ds[name].attrs["units"],
                 "long_name": ds[name].attrs["long_name"]})
pd.DataFrame(rows).set_index("variable")

# %% [markdown]
# ## The population of China
#
# The sum over provinces, sexes and ages. 2020 is the census base (1,409.8 million); the
# fertility, mortality and migration assumptions are the UN's World Population Prospects 2024
# (medium variant), so by 2100 China has well under half its 2020 population and a far older
# one.

# %%
china = ds["population"].sum(("province", "sex"))
for year in (2020, 2050, 2100):
    total = float(china.sel(year=year).sum())
    aged = float(china.sel(year=year, age=slice(65, None)).sum())
    print(f"{year}: {total / 1e6:8,.1f} million, of whom {aged / total:5.1%} aged 65 and over")

# %% [markdown]
# ## Guangdong's urban-employee pension fund
#
# Guangdong (`CN-GD`) holds the largest balance of any province. With a young insured
# population and net in-migration the balance first grows; as the large cohorts of insured
# workers reach retirement it peaks and is then drawn down. *Months of reserve* (balance over
# one month of expenditure) shows the same path relative to what the fund pays out.

# %%
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

# %%
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

# %% [markdown]
# ## China as a whole
#
# `ssp.national` sums the flows and balances over provinces and recomputes the ratios;
# `ssp.depletion_year(..., national_total=True)` gives the first year the pooled national
# balance is negative. Individual provinces run out far earlier: the north-east within a few
# years.

# %%
nat = ssp.national(ds, "employee_pension")
for year in (2024, 2035, 2050):
    print(f"{year}: national balance {float(nat['employee_pension_balance'].sel(year=year)) / 1e12:6.2f} trillion CNY")
print("national balance first below zero:", int(ssp.depletion_year(ds, "employee_pension", national_total=True)))
first = ssp.depletion_year(ds, "employee_pension").to_series().sort_values().head(5)
print("earliest provinces:", ", ".join(f"{code} {int(year)}" for code, year in first.items()))
