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
# # Stochastic risk: how sure is the depletion year?
#
# A single projection hides the risk. Here the baseline runs 500 times with different futures:
# fertility and mortality drawn so that their spread matches the UN WPP 2024 80 % prediction
# intervals, wage growth and the funds' rate of return with the volatility of the shipped
# series (see `params/SOURCES.md`, "Stochastic projections"). Each draw has its own seed, so the
# same `seed` gives the same draws however they are split (in this process or on a dask cluster).

# %%
import time

import matplotlib.pyplot as plt
import numpy as np

import socsec_proj as ssp
from socsec_proj import report

began = time.perf_counter()
draws = ssp.run("baseline", draws=500, seed=2024)
print(f"500 draws in {time.perf_counter() - began:.2f} s; dims: {dict(draws.sizes)}")

# %% [markdown]
# ## The spread of the drivers
#
# The fertility driver is the log multiplier of the TFR: its spread widens with the horizon, as
# WPP's interval does.

# %%
tfr = np.exp(draws["driver_fertility"])
for year in (2030, 2050, 2100):
    low, mid, high = np.quantile(tfr.sel(year=year), [0.1, 0.5, 0.9])
    print(f"{year}: TFR multiplier 10-90 %: {low:.2f} - {high:.2f} (median {mid:.2f})")
population = draws["population_total"].sum("province") / 1e6
print((population.quantile([0.05, 0.5, 0.95], "draw").sel(year=[2050, 2100])).round(0).to_pandas())

# %% [markdown]
# ## The employee pension fund: a fan chart and the depletion year

# %%
report.fan_chart(draws, "employee_pension")
plt.show()

# %% [markdown]
# The depletion year over the draws. A draw whose fund never falls below zero by 2100 counts as
# depleted "after 2100" (`> 2100`), never as missing: leaving such draws out would make the
# upper quantiles look earlier than they are.

# %%
from socsec_proj.funds.measures import depletion_year_quantiles, format_depletion_year

quantiles = depletion_year_quantiles(draws, "employee_pension", quantiles=(0.05, 0.5, 0.95))
horizon = int(quantiles.attrs["horizon"])
low, median, high = (format_depletion_year(q, horizon) for q in quantiles.values)
print(f"national depletion year: median {median}, 5-95 %: {low} to {high}; "
      f"{quantiles.attrs['never_depleted']:.1%} of the draws last beyond {horizon}")
report.depletion_histogram(draws, "employee_pension")
plt.show()

# %% [markdown]
# ## Three provinces
#
# The probability that each fund is still positive in 2035 and 2050.

# %%
for province in ("CN-GD", "CN-HE", "CN-GZ"):
    balance = draws["employee_pension_balance"].sel(province=province)
    alive = [(balance.sel(year=y) > 0).mean().item() for y in (2035, 2050)]
    print(f"{province}: P(balance > 0) 2035 {alive[0]:.0%}, 2050 {alive[1]:.0%}")
summary = ssp.summarize(draws, quantiles=(0.05, 0.5, 0.95))
months = summary["employee_pension_months_of_reserve"].sel(province="CN-GD", year=[2030, 2040])
print(months.round(1).to_pandas())
