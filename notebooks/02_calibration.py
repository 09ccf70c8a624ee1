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
# # Calibration: 2024 against the yearbook, 2020 against the provincial plans
#
# The projection is calibrated province by province so that 2024 reproduces the *China
# Statistical Yearbook 2025* (tables 24-26 and 24-27): insured workers and retirees of the
# urban-employee pension, insured and beneficiaries of the resident pension, and each fund's
# revenue, expenditure and accumulated balance. This notebook
#
# 1. sets the model's 2024 against the yearbook for all 31 provinces (table and charts of the
#    residuals);
# 2. shows where that information goes: the calibrated levels per province;
# 3. checks the model's 2020 *backcast* (the projection from the 2020 census with 2024's
#    coverage) against the 2020 actuals the Hebei, Guizhou and Guangdong plans print
#    (`params/social_insurance/seed_figures.csv`).

# %%
import textwrap

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from IPython.display import display

import socsec_proj as ssp
from socsec_proj.inputs import data
from socsec_proj.inputs.paths import params_dir

ds = ssp.run("baseline")
y2024 = ds.sel(year=2024)


def by_province(da):
    """A variable summed over every dimension but province (sex, age), as a Series."""
    return da.sum([d for d in da.dims if d != "province"]).to_series()


# %% [markdown]
# ## 2024: model against the yearbook
#
# Each yearbook column is paired with the model variable that should reproduce it.

# %%
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


# %% [markdown]
# The fit is exact to floating-point rounding (relative residuals of order 1e-16, absolute ones
# a fraction of a person or of a yuan): 2024 is not a test of the model but its starting
# point. The table below shows it in readable units for the three provinces whose plans the
# project follows.

# %%
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

# %% [markdown]
# **Charts.** Left: model against yearbook for every province and quantity (log scales; every
# point sits on the diagonal). Right: the relative residual of each province and quantity in
# units of 1e-15, i.e. parts per quadrillion.

# %%
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

# %% [markdown]
# ## Where the information goes: the calibrated levels
#
# An exact fit moves the yearbook's information into a few levels per province, which then
# stay constant over the projection: the coverage of working-age residents by the employee
# scheme, the pension take-up of cohorts already retired, the effective contribution factor
# (contributions over insured workers x 12 x average wage x the 24 % rate), the fiscal subsidy's
# share of expenditure, and the resident scheme's contribution share and take-up. Values above 1
# are real: the yearbook counts people where they are insured, the census where they live
# (Beijing insures more workers than it has working-age residents).

# %%
levels = [name for name in ds.data_vars if ds[name].dims == ("province",)]
calibrated = ds[levels].to_dataframe()[levels]
calibrated.insert(0, "name", ds["name_en"].to_series())
print("distribution over the 31 provinces:")
display(calibrated[levels].describe().loc[["min", "25%", "50%", "75%", "max"]].round(3) + 0.0)
calibrated.loc[["CN-GD", "CN-HE", "CN-GZ", "CN-BJ", "CN-HL"]].round(3).replace(-0.0, 0.0)

# %% [markdown]
# ## 2020: the backcast against the plans' actuals
#
# The plans of Hebei, Guizhou and Guangdong print 2020 actuals (`kind == "actual"` in
# `seed_figures.csv`). Where an indicator is a model variable with a 2020 value the two are set
# side by side; the seeds' age shares of the population are compared with the same shares of
# the model's population. The other figures are listed with the reason they cannot be
# compared.
#
# What to expect: the population is the 2020 census, so its age shares match; enrolment in 2020
# is the projection from the census with *2024's* coverage, so it overstates 2020 where
# enrolment grew after 2020.

# %%
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
            reason = "model variable, but no 2020 value (the fund accounts start later)"
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

# %%
print(f"{len(backcast)} of {len(actual_2020)} figures of 2020 compared; the others:")
for reason, group in pd.DataFrame(unmatched).groupby("reason"):
    print(f"- {reason}:")
    print(textwrap.fill(", ".join(sorted(set(group["indicator"]))), width=100,
                        initial_indent="    ", subsequent_indent="    "))

# %%
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

# %% [markdown]
# **Reading the comparison.**
#
# - Age shares of the population match to the rounding of the published percentages: the base
#   population is built on the census's provincial age shares.
# - Hebei's employee-pension enrolment is overstated by about an eighth: Hebei's insured grew from
#   17.4 M (2020) to 20.2 M (2024), and the backcast holds 2024's coverage. Guizhou's is over by
#   about 6 % for the same reason; the resident scheme, whose enrolment changed little, is
#   within about 3 %.
# - Guangdong's pension coverage rate is far below the plan's 90 %: the model divides the
#   insured of both schemes by *resident* population aged 16+, while Guangdong's own rate uses
#   another denominator (many of its insured are registered elsewhere). The indicator is the
#   same name, not the same definition, which matters again for the plan targets
#   (`04_plan_targets.py`).

# %% [markdown]
# ## Each province's own demography against the census
#
# Fertility and mortality differ by province (issue #12): the TFR of each province in 2020 is set
# from its census births, and its life expectancy from its census deaths relative to the national
# schedule. `provincial_checks` puts the projection's 2020 figures beside the census TFR and the
# official provincial life expectancy of 1990 and 2000, with the ranks of the provinces.

# %%
from socsec_proj.demography.calibration import provincial_checks

checks = provincial_checks(ds)
print(checks[["tfr", "tfr_census_2020", "e0_male", "e0_female", "rank_e0_male", "rank_e0_2000_male"]]
      .sort_values("e0_male", ascending=False).round(2).to_string())
print(f"\nrank correlation with the official 2000 ranking: men "
      f"{checks['rank_e0_male'].corr(checks['rank_e0_2000_male'], method='spearman'):.2f}, women "
      f"{checks['rank_e0_female'].corr(checks['rank_e0_2000_female'], method='spearman'):.2f}")

fig, axes = plt.subplots(1, 2, figsize=(11, 4.5))
axes[0].scatter(checks["tfr_census_2020"], checks["tfr"])
axes[0].set_xlabel("census 2020 TFR [children/woman]")
axes[0].set_ylabel("model 2020 TFR [children/woman]")
axes[0].set_title("Fertility by province")
ds["life_expectancy"].sel(sex="female", year=[2020, 2050]).to_pandas().sort_values(2020).plot.barh(
    ax=axes[1], legend=True, fontsize=6)
axes[1].set_xlabel("female life expectancy at birth [years]")
axes[1].set_title("Life expectancy by province, 2020 and 2050")
fig.tight_layout()
plt.show()

# %% [markdown]
# ## Every published figure: the validation table
#
# `socsec_proj.validation.compare_history` sets every published figure of `params/history/`
# (the MOHRSS bulletins 2020-2024, the Ministry of Finance's 2023 facts, the 2024 yearbook, the
# seeds' actuals and targets, NBS demography) beside the model's value of the same series, place
# and year; `socsec-proj validate-history --out DIR` writes it as `history.csv` with the chart
# below. The unemployment fund is calibrated to the 2021 bulletin's insured and the 2023
# bulletin's revenue, beneficiaries, benefit and balance; the work-injury fund to the 2021
# bulletin (the injury rows of 2021 stay empty while its accounts start in 2023: the tests
# compare them through the rule of `params/SOURCES.md#unemployment-and-work-injury`).

# %%
from socsec_proj import validation

history = validation.compare_history(ds)
funds = history[(history["province"] == "CN") & history["series"].str.match("unemployment_|injury_")]
shown_history = funds[["series", "year", "model", "actual", "relative_difference", "missing"]].copy()
shown_history["relative_difference"] = shown_history["relative_difference"].map(
    lambda v: "" if np.isnan(v) else f"{v:+.1%}")
display(shown_history.sort_values(["series", "year"]).reset_index(drop=True))
print(f"{int(history['model'].notna().sum())} of {len(history)} published figures have a model value")

# %%
validation.plot_history(history[history["province"] == "CN"])

