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
# # What the retirement-age delay does to medical insurance
#
# In the employee basic medical insurance, in-service workers and their employers contribute
# (6 % + 2 % of the base by the national guide) while retirees who met the required years pay
# nothing (Social Insurance Law art. 27) and, at NHSA's 2024 figures, cost 3.33 times as much per
# head (9,810 against 2,949 CNY of medical-institution spending). The 2024 law's gradual delay of
# the retirement ages keeps people on the paying side longer and postpones their free cover.
# Spending itself follows age, not status: a 61-year-old costs the same working or retired.
#
# `baseline` is current law, `no_retirement_delay` keeps the original ages; everything else is
# the same. The resident scheme is shown too: the delay does not move anyone between the two
# medical schemes, so it is almost unchanged.

# %%
import matplotlib.pyplot as plt
import pandas as pd

import socsec_proj as ssp

SCENARIOS = {"current law": "baseline", "no delay": "no_retirement_delay"}
runs = {label: ssp.run(name) for label, name in SCENARIOS.items()}
YEARS = [2024, 2030, 2035, 2040, 2045, 2050]

# %% [markdown]
# ## Contributors and retirees of the employee scheme (China, millions)

# %%
rows = {}
for label, ds in runs.items():
    for name, text in (("employee_medical_contributors", "in-service (contributing)"),
                       ("employee_medical_retirees", "retirees (not contributing)")):
        rows[(label, text)] = ds[name].sum("province").sel(year=YEARS).to_series() / 1e6
members = pd.DataFrame(rows).T.round(1)
members

# %% [markdown]
# ## The pooled fund (统筹基金): contributions, spending, balance (China, trillion CNY)

# %%
funds = {}
for label, ds in runs.items():
    china = ssp.national(ds, "employee_medical")
    for name, text in (("employee_medical_contributions", "contributions"),
                       ("employee_medical_expenditure", "expenditure"),
                       ("employee_medical_balance", "balance")):
        funds[(label, text)] = china[name].sel(year=YEARS).to_series() / 1e12
pd.DataFrame(funds).T.round(2)

# %%
depletion = pd.DataFrame({
    label: {scheme: ssp.depletion_year(ds, scheme, national_total=True).item()
            for scheme in ("employee_medical", "resident_medical")}
    for label, ds in runs.items()})
depletion

# %%
fig, axes = plt.subplots(1, 2, figsize=(11, 4))
for label, ds in runs.items():
    china = ssp.national(ds, "employee_medical").sel(year=slice(2024, 2060))
    axes[0].plot(china["year"], china["employee_medical_balance"] / 1e12, label=label)
    payroll = ds["employee_medical_covered_payroll"].sel(year=slice(2024, 2060)).sum("province")
    spent = ds["employee_medical_expenditure"].sel(year=slice(2024, 2060)).sum("province")
    axes[1].plot(payroll["year"], 100 * spent / payroll, label=label)  # the national cost rate
axes[0].axhline(0, color="grey", lw=0.8)
axes[0].set(title="Employee medical pooled fund: balance", ylabel="trillion CNY")
axes[1].set(title="Pooled-fund spending per covered payroll", ylabel="%")
for ax in axes:
    ax.legend()
fig.tight_layout()

# %% [markdown]
# ## What the delay is worth each year (current law less no delay, China, billion CNY)

# %%
law, none = runs["current law"], runs["no delay"]
gain = pd.DataFrame({
    text: ((law[name] - none[name]).sum("province").sel(year=YEARS) / 1e9).to_series()
    for name, text in (("employee_medical_contributions", "more contributions"),
                       ("employee_medical_account_credits", "account credits to retirees"),
                       ("employee_medical_expenditure", "pooled spending"),
                       ("employee_medical_balance", "pooled balance"))})
gain.round(1)

# %% [markdown]
# The delay adds contributors (and their employers' contributions) and removes retirees'
# account credits, while the bill, which follows age, hardly moves (-0.4 % in 2035); the
# accounts, fed by the added workers' own 2 %, pay more of it, so the pooled fund spends less
# (-2.2 % in 2035): its balance stays higher, and its depletion comes later. Each number above
# comes from the same stages as any run (`employee_medical.py`); the assumptions behind them
# (the spending profile by age, cost growth with wages from 2026) are in
# `params/SOURCES.md#medical-insurance`.
