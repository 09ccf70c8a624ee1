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
# The depletion year over the draws. Draws whose fund never falls below zero by 2100 have no
# depletion year (NaN): the quantiles below are of the draws that deplete, and the share of
# the others is printed beside them.

# %%
# TO UPDATE (issue #16 item 4, branch issue16): once `summarize` and the histogram count the
# never-depleted draws as "> 2100", print those quantiles here instead of the two facts side by
# side. This cell uses only today's API.
years = ssp.depletion_year(draws, "employee_pension", national_total=True)
finite = years.values[np.isfinite(years.values)]
print(f"national depletion year: median {np.median(finite):.0f}, 5-95 %: "
      f"{np.quantile(finite, 0.05):.0f}-{np.quantile(finite, 0.95):.0f}; "
      f"{np.isnan(years.values).mean():.0%} of draws last beyond 2100")
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
