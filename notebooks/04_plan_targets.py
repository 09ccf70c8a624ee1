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
# # The 14th Five-Year plans of Guangdong, Hebei and Guizhou: does current law meet the 2025 targets?
#
# Three shipped scenarios carry the 2025 targets of the provincial 14th-plan documents for
# social insurance (`targets`: indicator, province, year, value, source). Each projects the
# baseline (current law) for its province only. For every target the notebook sets the
# projected value against the target and marks it met or not met; a target is a floor for
# counts and revenues (met when projected >= target) and a ceiling for expenditure and
# dependency ratios. Targets on indicators the Dataset does not hold (the unemployment and
# work-injury funds, being added now) are listed with a note instead.

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from IPython.display import display

import socsec_proj as ssp
from socsec_proj.inputs.paths import params_dir

PLANS = ["guangdong_14th_plan", "hebei_14th_plan", "guizhou_14th_plan"]
scenarios = {name: ssp.load_scenario(name) for name in PLANS}
runs = {name: ssp.run(scenario) for name, scenario in scenarios.items()}
for name, scenario in scenarios.items():
    print(f"{name}: {len(scenario.targets)} targets, provinces {[str(p) for p in runs[name]['province'].values]}")

# %%
CEILINGS = ("_expenditure", "system_dependency_ratio", "deaths")


def projected(ds, indicator, province, year):
    """(value, note): the indicator at a province (None = sum of the projected provinces) and year."""
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


# %% [markdown]
# ## Targets the projection can check
#
# Counts are in persons, revenues in CNY per year, the coverage rate a fraction. The column
# *2024* is the model's value in the calibration year, equal to the yearbook for enrolment and
# revenue; *projected* is 2025.

# %%
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

# %% [markdown]
# ## Targets on indicators not in the Dataset
#
# These are skipped with a note. Once the unemployment and work-injury stages write their
# variables (`unemployment_contributors`, `injury_revenue`, ...) the same cell evaluates them
# without change.

# %%
if len(skipped):
    display(skipped.assign(target=[shown(v, i) for v, i in zip(skipped["target"], skipped["indicator"])])[
        ["plan", "province", "indicator", "year", "target", "note"]])
else:
    print("every target was evaluated")

# %%
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

# %% [markdown]
# ## The same targets measured from the plans' own 2020 base
#
# The plans set their targets from their own 2020 actuals (`seed_figures.csv`), and the model's
# levels are the 2024 yearbook's, which do not always share the plan's definition (Guangdong's
# coverage rate has another denominator). A level-free reading applies the model's growth from
# 2020 to 2025 to the plan's 2020 actual: *plan's 2020 x model 2025 / model 2020*. Caveat: the
# model's 2020 holds 2024's coverage, so its 2020-2025 growth is demographic only and
# understates growth where enrolment was rising.

# %%
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

# %% [markdown]
# **Reading the results.**
#
# - The employee-pension enrolment targets of Hebei and Guizhou were already exceeded in the 2024
#   yearbook, so the projection meets them. From the plans' 2020 base, demographic growth alone
#   would not have got there: enrolment rose by widening coverage between 2020 and 2024, which
#   the plans' targets asked for.
# - Guizhou's 2025 revenue targets for both pension funds are below their 2024 revenue already
#   (the employee fund's revenue counts the national pooling transfer Guizhou receives).
# - Guizhou's resident-pension enrolment falls short of 20 M on the yearbook's level but
#   reaches it from the plan's own 2020 base: the model's 2020 is below the plan's 19.04 M.
# - The unemployment and work-injury targets (evaluated when those stages are in the pipeline)
#   are enrolment and revenue: their insured are a calibrated ratio to the employee pension's
#   insured workers, so they move with the working-age insured population, and a target well
#   above the 2024 level is met only if coverage widens, which current law does not assume.
# - None of the three coverage targets (95 %) is met: coverage is held at its 2024 level, so
#   only ageing moves the rate. These are the targets most sensitive to definitions:
#   Guangdong's plan reports 90 % for 2020, the model's rate (insured of both schemes per
#   resident aged 16+) is about 75 %, because many of Guangdong's insured are counted as
#   residents of their home province.
