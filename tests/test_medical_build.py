"""The committed medical-insurance tables and parameters are exactly what build_medical.py makes."""

from __future__ import annotations

import importlib.util

import pandas as pd
import pytest

from .conftest import REPO, SHARED

pytestmark = pytest.mark.skipif(not SHARED.is_dir(), reason="../shared/data is not beside this checkout")


def test_rebuild_matches_committed_tables(tmp_path):
    spec = importlib.util.spec_from_file_location("build_medical", REPO / "params/build/build_medical.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    figures = module.build(SHARED, tmp_path)
    written = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file())
    assert written == [
        "history/medical_insurance.csv", "medical/national_bulletin.csv", "medical/spending_profile.csv",
        "parameters/employee_medical/employee_rate.yaml", "parameters/employee_medical/employer_rate.yaml",
        "parameters/employee_medical/excess_cost_growth.yaml",
        "parameters/employee_medical/retiree_contribution_rate.yaml",
        "parameters/resident_medical/advance_collection_share.yaml",
        "parameters/resident_medical/excess_cost_growth.yaml",
        "parameters/resident_medical/financing_rule.yaml", "parameters/resident_medical/fiscal_subsidy.yaml",
        "parameters/resident_medical/individual_premium.yaml"]
    for relative in written:
        committed = REPO / "params" / relative
        if relative.endswith(".csv"):
            pd.testing.assert_frame_equal(pd.read_csv(tmp_path / relative, comment="#"),
                                          pd.read_csv(committed, comment="#"), rtol=1e-9, check_exact=False)
            header = [line for line in committed.read_text().splitlines() if line.startswith("#")]
            assert header == [line for line in (tmp_path / relative).read_text().splitlines() if line.startswith("#")]
        else:
            assert (tmp_path / relative).read_text() == committed.read_text(), relative
    # the bulletin's 2024 retiree / in-service spending per head, reproduced on the census weights
    assert figures["ratio"] == pytest.approx(9809.56 / 2949.43, rel=1e-6)
    assert figures["census_ratio"] == pytest.approx(figures["ratio"], rel=1e-9)
    assert figures["gradient"] == pytest.approx(0.0445, abs=5e-4)
    # 2025: spending per head grew 5-7 points less than wages (employee -6.6, resident -4.7)
    growth = figures["excess_cost_growth"]
    assert (growth["employee"][2025], growth["resident"][2025]) == (pytest.approx(-0.066, abs=1e-3),
                                                                    pytest.approx(-0.0467, abs=1e-3))
    assert figures["rows"] == 108


def test_bulletin_identities():
    """The national table holds the bulletins' own identities: pooled + accounts = the employee fund,
    and each derived balance is the next year's less its net revenue."""
    table = pd.read_csv(REPO / "params/medical/national_bulletin.csv", comment="#")
    table = table.set_index(["series", "year"])["value"]
    for year in (2023, 2024, 2025):
        assert table[("employee_pooled_revenue", year)] + table[("employee_account_revenue", year)] == pytest.approx(
            table[("employee_revenue", year)], abs=2e6)
    net = table[("employee_account_revenue", 2024)] - table[("employee_account_expenditure", 2024)]
    assert table[("employee_account_balance", 2023)] == pytest.approx(table[("employee_account_balance", 2024)] - net)
    net = table[("resident_revenue", 2020)] - table[("resident_expenditure", 2020)]
    assert table[("resident_balance", 2019)] == pytest.approx(table[("resident_balance", 2020)] - net)
