"""Scenario files: extends chains, merged changes, targets and every error a file can hold.

Every test builds its own parameter tree and ``scenarios/`` folder under ``tmp_path``.
"""

from __future__ import annotations

import datetime as dt
import textwrap
from types import SimpleNamespace

import pydantic
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from socsec_proj.errors import InputError
from socsec_proj.inputs import paths
from socsec_proj.inputs.parameters import load_parameters
from socsec_proj.inputs.scenario import Scenario, Target, list_scenarios, load_scenario

PARAMETERS = {
    "pension/employer_rate.yaml": """\
        description: Employer contribution rate to the pooled fund
        metadata:
          unit: /1
          label: Employer pension contribution rate
          reference: 国办发〔2019〕13号
          range: [0, 1]
        values:
          2016-01-01: 0.20
          2019-05-01: 0.16
        """,
    "pension/provincial_top_up.yaml": """\
        metadata:
          unit: CNY/month
          label: Provincial top-up of the basic pension
          reference: provincial circulars
          range: [0, null]
          breakdown: province
        values:
          2016-01-01: 0
        """,
    "demography.yaml": """\
        tfr:
          metadata: {unit: children/woman, label: Total fertility rate, reference: WPP 2024, range: [0, 10]}
          values: {2020-01-01: 1.1}
        """,
}

BASELINE = """\
name: baseline
description: >
  Current law.
extends: null
horizon: 2100
changes: {}
"""

CUT = """\
name: contribution_rate_cut
description: >
  One paragraph saying what the scenario asks.
provinces: [CN-GD, CN-HE]
changes:
  pension.employer_rate:
    2027-01-01: 0.14
  demography.tfr:
    2030-01-01/2034-12-31: 1.5
  pension.provincial_top_up:
    provinces:
      CN-GD: {2026-01-01: 200}
targets:
  - {indicator: employee_pension_contributors, province: CN-GD, year: 2025, value: 48000000, source: "seed 003 table 1"}
"""


def write(folder, name, text):
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def marked_line(text: str, marker: str = "# <-") -> int:
    return next(i for i, line in enumerate(textwrap.dedent(text).splitlines(), 1) if marker in line)


@pytest.fixture
def world(tmp_path, monkeypatch):
    """A parameter tree, a shipped scenarios folder with baseline and one child, a user folder."""
    for name, text in PARAMETERS.items():
        path = tmp_path / "params" / "parameters" / name
        write(path.parent, path.name, text)
    monkeypatch.setenv("SOCSEC_PROJ_PARAMS", str(tmp_path / "params"))
    shipped = tmp_path / "scenarios"
    monkeypatch.setattr(paths, "scenarios_dir", lambda: shipped)
    write(shipped, "baseline.yaml", BASELINE)
    write(shipped, "contribution_rate_cut.yaml", CUT)
    return SimpleNamespace(shipped=shipped, user=tmp_path / "user", parameters=load_parameters())


def test_the_baseline_has_no_parent_and_no_change(world):
    baseline = load_scenario("baseline")
    assert baseline.name == "baseline" and baseline.description == "Current law."
    assert baseline.extends is None and baseline.horizon == 2100 and baseline.provinces is None
    assert dict(baseline.changes) == {} and baseline.targets == ()
    assert baseline.source == world.shipped / "baseline.yaml"
    assert baseline.parameters.get("pension.employer_rate") is world.parameters.get("pension.employer_rate")


def test_a_shipped_scenario_extends_the_baseline_and_applies_its_changes(world):
    cut = load_scenario("contribution_rate_cut")
    assert cut.extends == "baseline"
    assert cut.files == (world.shipped / "baseline.yaml", world.shipped / "contribution_rate_cut.yaml")
    assert cut.horizon == 2100  # inherited
    assert cut.provinces == ("CN-HE", "CN-GD")  # national order
    assert cut.targets == (Target("employee_pension_contributors", "CN-GD", 2025, 48000000, "seed 003 table 1"),)
    assert {path: dict(change) for path, change in cut.changes.items() if path != "pension.provincial_top_up"} == {
        "pension.employer_rate": {"2027-01-01": 0.14}, "demography.tfr": {"2030-01-01/2034-12-31": 1.5}}
    assert dict(cut.changes["pension.provincial_top_up"]["provinces"]["CN-GD"]) == {"2026-01-01": 200}

    rate = cut.parameters.get("pension.employer_rate")
    assert rate.annual([2026, 2027]).tolist() == [0.16, 0.14]
    tfr = cut.parameters.get("demography.tfr")
    assert tfr.annual([2029, 2030, 2034, 2035]).tolist() == [1.1, 1.5, 1.5, 1.1]
    top_up = cut.parameters.get("pension.provincial_top_up")
    assert top_up.by_province([2025, 2026], ["CN-GD", "CN-HE"]).tolist() == [[0, 200], [0, 0]]
    # the parameters loaded before are untouched
    assert world.parameters.get("pension.employer_rate").at("2030-01-01") == 0.16


def test_changes_merge_parent_first_child_overriding(world):
    write(world.user, "parent.yaml", """\
        name: parent
        horizon: 2060
        provinces: [CN-GD]
        changes:
          pension.employer_rate: {2027-01-01: 0.14, 2040-01-01/2044-12-31: 0.10}
        targets:
          - {indicator: contributors, year: 2030, value: 1, source: plan}
          - {indicator: pensioners, year: 2030, value: 2, source: plan}
        """)
    child = write(world.user, "child.yaml", """\
        name: child
        extends: ./parent.yaml
        provinces: null
        changes:
          pension.employer_rate: {"2027-01-01": 0.12, 2050-01-01: 0.11}
        targets:
          - {indicator: contributors, year: 2030, value: 3, source: revised plan}
        """)
    scenario = load_scenario(child)
    assert scenario.extends == "./parent.yaml"
    assert scenario.files == (world.shipped / "baseline.yaml", world.user / "parent.yaml", child)
    assert scenario.horizon == 2060 and scenario.provinces is None
    assert dict(scenario.changes["pension.employer_rate"]) == {
        "2027-01-01": 0.12, "2040-01-01/2044-12-31": 0.10, "2050-01-01": 0.11}
    assert [(t.indicator, t.value, t.source) for t in scenario.targets] == [
        ("contributors", 3, "revised plan"), ("pensioners", 2, "plan")]
    rate = scenario.parameters.get("pension.employer_rate")
    assert [rate.at(f"{year}-06-01") for year in (2026, 2027, 2040, 2045, 2050)] == [0.16, 0.12, 0.10, 0.12, 0.11]


def test_extends_a_file_beside_without_dot_slash_and_null_means_no_parent(world):
    write(world.user, "parent.yaml", "name: parent\nextends: null\nchanges: {demography.tfr: {2030-01-01: 2}}\n")
    child = write(world.user, "child.yaml", "name: child\nextends: parent.yaml\n")
    scenario = load_scenario(str(child))
    assert scenario.files == (world.user / "parent.yaml", child)
    assert scenario.parameters.get("demography.tfr").at("2031-01-01") == 2


def test_without_a_shipped_baseline_nothing_is_implied(world):
    (world.shipped / "baseline.yaml").unlink()
    scenario = load_scenario(write(world.user, "alone.yaml", "name: alone\n"))
    assert scenario.extends is None and scenario.files == (world.user / "alone.yaml",)


def test_scenarios_are_frozen(world):
    cut = load_scenario("contribution_rate_cut")
    with pytest.raises(pydantic.ValidationError):
        cut.horizon = 2050
    with pytest.raises(TypeError):
        cut.changes["demography.tfr"] = {}
    with pytest.raises(TypeError):
        cut.changes["demography.tfr"]["2040-01-01"] = 2
    shorter = cut.model_copy(update={"horizon": 2050})
    assert shorter.horizon == 2050 and cut.horizon == 2100
    assert isinstance(load_scenario(world.shipped / "contribution_rate_cut.yaml"), Scenario)


def test_list_scenarios(world):
    assert list_scenarios() == [("baseline", "Current law."),
                                ("contribution_rate_cut", "One paragraph saying what the scenario asks.")]


def test_an_unknown_shipped_name_suggests_the_nearest(world):
    with pytest.raises(InputError, match="unknown scenario 'contribution_cut'; did you mean 'contribution_rate_cut'"):
        load_scenario("contribution_cut")
    with pytest.raises(InputError, match="scenario file not found"):
        load_scenario(world.user / "missing.yaml")


# --------------------------------------------------------------------------------------------
# Errors: each names the file, the line and the key
# --------------------------------------------------------------------------------------------

SCENARIO_ERRORS = {
    "unknown parameter": ("changes:\n  pension.employer_rat:  # <-\n    2027-01-01: 0.1\n",
                          "pension.employer_rat", "unknown parameter; did you mean 'pension.employer_rate'?"),
    "a group, not a parameter": ("changes:\n  pension: {2027-01-01: 0.1}  # <-\n", "pension",
                                 "is a group of parameters"),
    "value out of range": ("changes:\n  pension.employer_rate:\n    2027-01-01: 1.4  # <-\n",
                           "pension.employer_rate",
                           "2027-01-01: 1.4 is outside the range (expected a value in [0, 1])"),
    "bool for a number": ("changes:\n  demography.tfr:\n    2027-01-01: yes  # <-\n", "demography.tfr",
                          "True is a boolean where a number is expected"),
    "date does not parse": ("changes:\n  pension.employer_rate:\n    2027-02-30: 0.1  # <-\n",
                            "pension.employer_rate", "'2027-02-30' is not a date or a date range"),
    "range does not parse": ("changes:\n  demography.tfr:\n    2030-01-01/2034: 1.5  # <-\n", "demography.tfr",
                             "'2030-01-01/2034' is not a date or a date range"),
    "range backwards": ("changes:\n  demography.tfr:\n    2034-01-01/2030-12-31: 1.5  # <-\n", "demography.tfr",
                        "ends before it starts"),
    "same date twice": ('changes:\n  demography.tfr:\n    2030-01-01: 1.5\n    "2030-01-01": 1.6  # <-\n',
                        "demography.tfr", "2030-01-01 is given twice (first at line 4)"),
    "unknown province in provinces": ("provinces: [CN-GD, CN-XX]  # <-\n", "provinces", "unknown province 'CN-XX'"),
    "unknown province in changes": ("changes:\n  pension.provincial_top_up:\n    provinces:\n"
                                    "      CN-GG: {2026-01-01: 200}  # <-\n", "pension.provincial_top_up",
                                    "unknown province 'CN-GG'"),
    "provinces of a national parameter": ("changes:\n  demography.tfr:\n    provinces:  # <-\n"
                                          "      CN-GD: {2026-01-01: 2}\n", "demography.tfr",
                                          "has no province breakdown"),
    "unknown province in a target": ("targets:\n  - {indicator: x, province: GD, year: 2025, value: 1, source: s}"
                                     "  # <-\n", "targets[0].province", "unknown province 'GD'"),
    "unknown target field": ("targets:\n  - indicator: x\n    yeer: 2025  # <-\n", "targets[0]",
                             "unknown field 'yeer'; did you mean 'year'?"),
    "target without source": ("targets:\n  - {indicator: x, year: 2025, value: 1}  # <-\n", "targets[0]",
                              "missing 'source'"),
    "horizon not a year": ("horizon: soon  # <-\n", "horizon", "'soon' is not a year"),
    "unknown top-level key": ("chagnes: {}  # <-\n", "chagnes", "unknown key 'chagnes'; did you mean 'changes'?"),
    "duplicate top-level key": ("horizon: 2050\nhorizon: 2060  # <-\n", "horizon", "duplicate key (first at line 2)"),
    "duplicate key in changes": ("changes:\n  demography.tfr: {2030-01-01: 1.5}\n"
                                 "  demography.tfr: {2031-01-01: 1.5}  # <-\n", "changes.demography.tfr",
                                 "duplicate key (first at line 3)"),
    "extends an absolute path": ("extends: /etc/passwd.yaml  # <-\n", "extends", "absolute path"),
    "extends above": ("extends: ../baseline.yaml  # <-\n", "extends", "'..' not allowed"),
    "extends a sub-folder": ("extends: sub/other.yaml  # <-\n", "extends", "is not beside this file"),
    "extends a missing file": ("extends: ./other.yaml  # <-\n", "extends", "file 'other.yaml' not found"),
    "extends an unknown name": ("extends: basline  # <-\n", "extends", "unknown scenario 'basline'; did you mean"),
    "extends itself": ("extends: scn.yaml  # <-\n", "extends", "extends cycle: scn.yaml -> scn.yaml"),
}


@pytest.mark.parametrize("case", sorted(SCENARIO_ERRORS))
def test_scenario_errors_name_file_line_and_key(world, case):
    body, key, message = SCENARIO_ERRORS[case]
    text = "name: scn\n" + body
    path = write(world.user, "scn.yaml", text)
    with pytest.raises(InputError) as raised:
        load_scenario(path)
    error = str(raised.value)
    assert f"scn.yaml:{marked_line(text)}: {key}: " in error, error
    assert message in error, error


NOT_SCENARIOS = {
    "no name": ("description: a scenario without a name  # <-\n", "name", "not a scenario: no 'name'"),
    "a list": ("- name: x  # <-\n", None, "not a scenario: expected a mapping"),
    "a bad name": ("name: a b  # <-\n", "name", "'a b' is not a scenario name"),
}


@pytest.mark.parametrize("case", sorted(NOT_SCENARIOS))
def test_files_that_are_not_scenarios(world, case):
    text, key, message = NOT_SCENARIOS[case]
    path = write(world.user, "scn.yaml", text)
    with pytest.raises(InputError) as raised:
        load_scenario(path)
    error = str(raised.value)
    assert f"scn.yaml:{marked_line(text)}: " + (f"{key}: " if key else "") in error, error
    assert message in error, error


def test_yaml_syntax_error_names_file_and_line(world):
    text = "name: scn\nchanges:\n  demography.tfr: {2030-01-01: 1.5\nhorizon: 2050  # <-\n"
    path = write(world.user, "scn.yaml", text)
    with pytest.raises(InputError, match=rf"scn\.yaml:{marked_line(text)}: YAML syntax error"):
        load_scenario(path)


def test_an_extends_cycle_lists_the_cycle(world):
    write(world.user, "a.yaml", "name: a\nextends: b.yaml\n")
    b_text = "name: b\nextends: ./a.yaml  # <-\n"
    write(world.user, "b.yaml", b_text)
    with pytest.raises(InputError) as raised:
        load_scenario(world.user / "a.yaml")
    assert f"b.yaml:{marked_line(b_text)}: extends: extends cycle: a.yaml -> b.yaml -> a.yaml" in str(raised.value)


def test_an_error_in_a_parent_names_the_parent_file(world):
    parent_text = "name: parent\nchanges:\n  demography.tfr:\n    2030-01-01: -1  # <-\n"
    write(world.user, "parent.yaml", parent_text)
    write(world.user, "child.yaml", "name: child\nextends: parent.yaml\nchanges:\n  demography.tfr: {2040-01-01: 1}\n")
    with pytest.raises(InputError) as raised:
        load_scenario(world.user / "child.yaml")
    assert f"parent.yaml:{marked_line(parent_text)}: demography.tfr: 2030-01-01: -1 is outside" in str(raised.value)


def test_a_shipped_scenario_must_be_named_after_its_file(world):
    write(world.shipped, "other.yaml", "name: something_else  # <-\n")
    with pytest.raises(InputError, match=r"other\.yaml:1: name: a shipped scenario's name must be its file name"):
        load_scenario("other")


# The fixture is built once for all examples, which is right here: every example only reads
# it and rewrites the same scenario file.
@settings(deadline=None, max_examples=50, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(start=st.dates(min_value=dt.date(2021, 1, 1), max_value=dt.date(2090, 1, 1)),
       days=st.integers(min_value=0, max_value=3000), value=st.floats(min_value=0, max_value=10))
def test_a_scenario_range_leaves_the_years_outside_untouched(world, start, days, value):
    end = start + dt.timedelta(days=days)
    path = write(world.user, "range.yaml", f"name: range\nchanges:\n  demography.tfr: {{{start}/{end}: {value!r}}}\n")
    tfr = load_scenario(path).parameters.get("demography.tfr")
    years = [year for year in range(2000, 2101) if year < start.year or year > end.year]
    assert tfr.annual(years).tolist() == [1.1] * len(years)
    assert tfr.at(start) == value and tfr.at(end) == value
