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
# # Your own model: replace a stage, or change a parameter, without touching the package
#
# A projection is a sequence of stages `stage(ds, scenario) -> ds` (`ssp.STAGES`), and
# `ssp.run(scenario, stages=[...])` runs any sequence you give it. An actuary can therefore
# change the model from a notebook in two ways:
#
# 1. **wrap or replace a stage** in Python: here, the resident-pension stage is wrapped so that
#    every province's basic pension (基础养老金) rises 5 % a year from 2027 to 2050 instead of
#    staying at the 2026 level;
# 2. **write a scenario** (a YAML file of dated parameter changes, anywhere on disk): here, a
#    fertility rebound to a TFR of 1.6 from 2030, written to a temporary file.
#
# Both are compared with the baseline.

# %%
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

# %% [markdown]
# ## 1. Wrapping the resident-pension stage
#
# The wrapper keeps the package's stage and hands it a scenario whose parameter
# `resident_pension.basic_pension` grows 5 % a year from 2027 to 2050 in every projected
# province, starting from that province's 2026 level (its own standard, never below the
# national minimum of 163 CNY/month). `Scenario` is an immutable pydantic model and
# `ParameterSet.with_changes` returns a changed copy with every value checked (the parameter's
# range is 0-2000 CNY/month, which is why the growth stops in 2050). The stage is found by
# name, so the wrapper also works when other stages (unemployment, injury) are added to the
# pipeline.

# %%
resident_stage = next(stage for stage in ssp.STAGES if stage.__name__ == "project_resident_pension")


def basic_pension_growth(stage, growth=0.05, first_year=2027, last_year=2050):
    """The stage, run with a basic pension rising by `growth` a year from `first_year` to `last_year`."""

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

# %%
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

# %%
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

# %% [markdown]
# A 5 % yearly rise roughly triples the basic pension by 2050. The stage funds the basic pension
# from government in its 2024 proportion to expenditure, so the subsidy triples too; members'
# contributions only follow prices, and the accumulated fund, which grows steadily in the
# baseline, is drawn down within about fifteen years.
#
# ## 2. A scenario written to a file
#
# The same mechanism the shipped scenarios use: `extends: baseline` plus dated changes. Loading
# checks every key, date and value before anything runs, so a typo stops with the file, line and
# key (shown at the end).

# %%
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


# %%
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

# %%
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

# %% [markdown]
# More births change the population a lot by 2100, but the pension fund hardly at all before
# 2060: children born from 2030 start contributing in the late 2040s, and by then the balance is
# already shaped by the cohorts alive today. Fertility is a long-run lever; the retirement age
# (`03_retirement_reform.py`) works within the plan horizon.
#
# Finally, what a mistake looks like: a misspelt parameter stops at loading, naming the file,
# line and key, and suggesting the nearest valid name.

# %%
typo = folder / "typo.yaml"
typo.write_text("name: typo\nextends: baseline\nchanges:\n  demography.total_fertility_rat:\n    2030-01-01: 1.6\n")
try:
    ssp.load_scenario(typo)
except ssp.InputError as error:
    print(f"InputError: {error}")

# %%
import shutil

shutil.rmtree(folder)  # the temporary scenario files
