"""Derive the national levels of the unemployment and work-injury parameters from the bulletins.

Seven parameters of ``params/parameters/unemployment/`` and ``injury/`` are DERIVED by running the
model (params/SOURCES.md#unemployment-and-work-injury): each is the value at which the
baseline reproduces one national bulletin figure, given the labour stage's insured by age. A
change to the labour stage (coverage, ages) moves them; this script prints, for each, the
figure, the model's value, and the parameter value that makes them agree (one step of a fixed
point: the figures are linear in each parameter but for the investment income, so a second run
after writing the values agrees to a few 1e-4). Run from the repository root::

    python params/build/derive_fund_levels.py

and write the printed values into the YAML files (the benefit share into
``UI_BENEFIT_SHARE`` of ``build_social_insurance.py``, then run that build).
"""

from __future__ import annotations

import numpy as np

import socsec_proj as ssp
from socsec_proj.funds import bulletin, injury
from socsec_proj.inputs import data

UI_YEAR = 2023


def _national(parameters, path):
    return float(parameters.get(path).at(f"{UI_YEAR}-07-01"))


def _with_own_value(parameters, path, provinces) -> np.ndarray:
    """Provinces whose value of ``path`` is their own (a provincial breakdown), not the national default."""
    own = {code for code, _ in parameters.get(path).provincial}
    return np.isin(provinces, sorted(own))


def derive(ds=None) -> list[tuple[str, float, float, float]]:
    """``(parameter, bulletin figure, model value, derived parameter value)`` for each derived parameter."""
    scenario = ssp.load_scenario("baseline")
    parameters = scenario.parameters
    ds = ssp.run(scenario) if ds is None else ds
    provinces = ds["province"].values
    ui = ds.sel(year=UI_YEAR)
    total = {name: float(ui[name].sum()) for name in ui.data_vars if name.startswith("unemployment_")}
    rows = []
    # beneficiaries: entrants and the mean spell from the year-end stock and the recipients during the year
    stock, recipients = (bulletin.figure(s, UI_YEAR) for s in ("unemployment_beneficiaries_year_end",
                                                                 "unemployment_recipients_during_year"))
    entrants = total["unemployment_recipients_during_year"] - total["unemployment_beneficiaries"]
    rows.append(("unemployment.inflow_rate", recipients - stock, entrants,
                 _national(parameters, "unemployment.inflow_rate") * (recipients - stock) / entrants))
    spell = total["unemployment_beneficiaries"] / entrants
    rows.append(("unemployment.duration_share", stock / (recipients - stock), spell,
                 _national(parameters, "unemployment.duration_share") * stock / (recipients - stock) / spell))
    # the average benefit: provinces with their own share keep it, the national default is scaled
    own = _with_own_value(parameters, "unemployment.benefit_share_of_minimum_wage", provinces)
    paid = (ui["unemployment_average_benefit"] * ui["unemployment_beneficiaries"]).values
    average = bulletin.figure("unemployment_average_benefit", UI_YEAR)
    beneficiaries = total["unemployment_beneficiaries"]
    rows.append(("unemployment.benefit_share_of_minimum_wage", average, paid.sum() / beneficiaries,
                 _national(parameters, "unemployment.benefit_share_of_minimum_wage")
                 * (average * beneficiaries - paid[own].sum()) / paid[~own].sum()))
    # revenue: contributions = the bulletin's revenue less the model's investment income
    revenue = bulletin.figure("unemployment_revenue", UI_YEAR)
    contributions = revenue - total["unemployment_investment_income"]
    rows.append(("unemployment.collection_rate", revenue, total["unemployment_revenue"],
                 _national(parameters, "unemployment.collection_rate") * contributions
                 / total["unemployment_contributions"]))
    benefit_paid = 72.9e9   # the note of unemployment_recipients_during_year 2023 (729亿元 paid)
    other = bulletin.figure("unemployment_expenditure", UI_YEAR) - benefit_paid
    rows.append(("unemployment.other_spending_share", other, total["unemployment_other_spending"],
                 other / contributions))

    # work injury, 2021: contributions by the model's rule in 2021 (whether or not its accounts hold 2021)
    year = injury.BULLETIN_YEAR
    coverage = ds["injury_coverage"].values
    insured = coverage * ds["employee_pension_contributors"].sel(year=year).sum(("sex", "age")).values
    wages = data.average_wage().loc[list(provinces), year].to_numpy()
    rate = injury.contribution_rate(parameters, [year], list(provinces))[:, 0]
    collection = np.array([parameters.get("injury.collection_rate").at(f"{year}-07-01", p) for p in provinces])
    modelled = insured * 12 * wages * rate * collection
    target = bulletin.figure("injury_expenditure", year) / injury.spending_ratio(parameters)
    own = _with_own_value(parameters, "injury.average_rate", provinces)
    rows.append(("injury.average_rate", target, modelled.sum(),
                 _national(parameters, "injury.average_rate") * (target - modelled[own].sum()) / modelled[~own].sum()))
    # incidence: beneficiaries per insured in the first account year
    first = int(ds["year"].values[np.isfinite(ds["injury_balance"].sum("province", skipna=False).values)][0])
    at = ds.sel(year=first)
    share = bulletin.figure("injury_beneficiaries", year) / bulletin.figure("injury_insured", year)
    people = at["injury_beneficiaries"].values
    own = _with_own_value(parameters, "injury.incidence_rate", provinces)
    wanted = share * float(at["injury_contributors"].sum())
    rows.append(("injury.incidence_rate", wanted, people.sum(),
                 _national(parameters, "injury.incidence_rate") * (wanted - people[own].sum()) / people[~own].sum()))
    return rows


def main() -> None:
    for name, figure, model, value in derive():
        print(f"{name:45s} bulletin {figure:>12.6g}  model {model:>12.6g}  ({model / figure - 1:+.4%})  -> {value:.6g}")


if __name__ == "__main__":
    main()
