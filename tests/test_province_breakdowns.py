"""Province-specific changes (issue #17 item 5): every rate, base, benefit and coverage parameter
of the funds and the labour stage takes a province breakdown, or says in its metadata why it is national."""

from __future__ import annotations

import numpy as np
import pytest

import socsec_proj as ssp
from socsec_proj import cli
from socsec_proj.inputs.parameters import load_parameters

GROUPS = ("employee_pension", "resident_pension", "unemployment", "injury", "labour")


def test_every_fund_and_labour_parameter_is_by_province_or_says_why_it_is_national():
    parameters = load_parameters()
    paths = [p for p in parameters.paths() if p.split(".", 1)[0] in GROUPS]
    assert len(paths) > 40
    undecided = [p for p in paths if parameters.get(p).metadata.breakdown is None
                 and not (parameters.get(p).metadata.national or "").strip()]
    assert undecided == []
    for path in ("employee_pension.employer_rate", "employee_pension.contribution_base_floor",
                 "employee_pension.contribution_base_cap", "unemployment.contribution_rate",
                 "labour.employee_coverage_scale", "resident_pension.basic_pension"):
        assert parameters.get(path).metadata.breakdown == "province", path
    assert "国发〔2005〕38号" in parameters.get("employee_pension.employee_rate").metadata.national


def test_metadata_cannot_be_both_national_and_by_province():
    from socsec_proj.inputs.schema import Metadata

    with pytest.raises(ValueError, match="exclude each other"):
        Metadata(unit="/1", label="x", reference=["y"], breakdown="province", national="a law")


@pytest.fixture(scope="module")
def guangdong_18(tmp_path_factory):
    """The template ``socsec-proj init`` writes: Guangdong's employer rate 18 % from 2027."""
    folder = tmp_path_factory.mktemp("init")
    assert cli.main(["init", str(folder / "gd_employer_18.yaml")]) == 0
    assert cli.main(["validate", str(folder / "gd_employer_18.yaml")]) == 0
    return ssp.run(str(folder / "gd_employer_18.yaml"))


def test_guangdong_raising_its_employer_rate_changes_only_guangdongs_contributions(guangdong_18, baseline):
    contributions = guangdong_18["employee_pension_contributions"]
    before = baseline["employee_pension_contributions"]
    others = [p for p in baseline["province"].values if p != "CN-GD"]
    np.testing.assert_array_equal(contributions.sel(province=others).values, before.sel(province=others).values)
    gd = contributions.sel(province="CN-GD") / before.sel(province="CN-GD")
    np.testing.assert_allclose(gd.sel(year=slice(2024, 2026)).values, 1.0, rtol=1e-12)
    # contributions are (employer + employee rate) x base: (0.18 + 0.08) / (0.16 + 0.08) from 2027
    np.testing.assert_allclose(gd.sel(year=slice(2027, 2100)).values, 0.26 / 0.24, rtol=1e-12)
    gd_balance = (guangdong_18["employee_pension_balance"] - baseline["employee_pension_balance"]).sel(province="CN-GD")
    assert float(gd_balance.sel(year=2035)) > 0


def test_init_refuses_an_existing_file_and_a_bad_name(tmp_path, capsys):
    file = tmp_path / "mine.yaml"
    file.write_text("a user's file")
    assert cli.main(["init", str(file)]) == 2
    assert file.read_text() == "a user's file"
    assert "already exists" in capsys.readouterr().err
    assert cli.main(["init", str(tmp_path / "-bad")]) == 2
    assert "is not a scenario name" in capsys.readouterr().err


def test_a_provinces_own_transitional_coefficient_changes_only_its_pensions(tmp_path, baseline):
    # each province sets the coefficient of the transitional pension (过渡性养老金); Guangdong at the top
    # of the common range (1.4 % instead of the 1.2 % midpoint) for those retiring from 2027
    path = tmp_path / "gd_transitional.yaml"
    path.write_text("name: gd_transitional\ndescription: test\nhorizon: 2060\nchanges:\n"
                    "  employee_pension.transitional_pension_coefficient:\n"
                    "    provinces:\n      CN-GD: {2027-01-01: 0.014}\n", encoding="utf-8")
    changed = ssp.run(str(path))
    years = changed["year"]
    spending, before = changed["employee_pension_expenditure"], baseline["employee_pension_expenditure"].sel(year=years)
    others = [p for p in baseline["province"].values if p != "CN-GD"]
    np.testing.assert_array_equal(spending.sel(province=others).values, before.sel(province=others).values)
    gd = (spending / before).sel(province="CN-GD")
    np.testing.assert_allclose(gd.sel(year=slice(2020, 2026)).values, 1.0, rtol=1e-12)
    # new pensioners of 2027 on bring a larger transitional pension: spending rises, by less than the
    # coefficient's 1/6 (the basic pension and the account are unchanged)
    assert (gd.sel(year=slice(2027, 2060)) > 1.0).all()
    assert float(gd.sel(year=2040)) < 1.0 + (0.014 / 0.012 - 1)
