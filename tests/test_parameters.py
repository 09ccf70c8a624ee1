"""Parameter files: loading, step-function arithmetic, scenario changes and every load error.

Each test writes its own small parameter tree under ``tmp_path``; only the last test reads
the real ``params/parameters/`` tree, and only if it is there.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import textwrap

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from socsec_proj.errors import InputError
from socsec_proj.inputs import paths
from socsec_proj.inputs.parameters import Parameter, ParameterSet, load_parameters, read_yaml

RATE = """\
description: Employer contribution rate to the pooled fund of the urban-employee pension
metadata:
  unit: /1
  label: Employer pension contribution rate
  reference: "policy/README.md, 国办发〔2019〕13号"
  range: [0, 1]
  breakdown: province
values:
  2019-05-01: 0.16
  2016-01-01: 0.20
provinces:
  CN-GD:
    2020-01-01: 0.14
"""

DEMOGRAPHY = """\
description: Demographic assumptions
tfr:
  description: Total fertility rate
  metadata: {unit: children/woman, label: Total fertility rate, reference: [WPP 2024, census 2020]}
  values:
    "2020-01-01": 1.3
    2025-01-01: 1e-0
fertility:
  delay_applies:
    metadata: {unit: bool, label: Delay applies, reference: policy}
    values: {2020-01-01: false, 2019-07-02: false, 2025-07-01: true}
"""

METHOD = """\
metadata:
  unit: method
  label: Benefit indexation method
  reference: policy
  allowed: [fixed, wage_share, cpi_plus]
values:
  2016-01-01: fixed
  2024-07-02: cpi_plus
"""


def write_tree(root, files: dict) -> object:
    """Write ``{relative path: YAML text}`` under ``root/parameters``; return that folder."""
    folder = root / "parameters"
    for name, text in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    return folder


def marked_line(text: str, marker: str = "# <-") -> int:
    """1-based line of the first line of ``text`` carrying ``marker``."""
    return next(i for i, line in enumerate(textwrap.dedent(text).splitlines(), 1) if marker in line)


@pytest.fixture
def params(tmp_path) -> ParameterSet:
    root = write_tree(tmp_path, {"pension/employer_rate.yaml": RATE, "demography.yaml": DEMOGRAPHY,
                                 "pension/method.yaml": METHOD, "README.md": "not a parameter"})
    return load_parameters(root)


def test_paths_from_folders_files_and_nested_keys(params):
    assert params.paths() == ("demography.fertility.delay_applies", "demography.tfr", "pension.employer_rate",
                              "pension.method")
    assert "pension.employer_rate" in params and "pension" not in params
    rate = params.get("pension.employer_rate")
    assert rate.path == "pension.employer_rate"
    assert rate.source.name == "employer_rate.yaml"
    assert rate.description.startswith("Employer contribution rate")
    assert rate.metadata.unit == "/1"
    assert rate.metadata.label == "Employer pension contribution rate"
    assert tuple(rate.metadata.reference) == ("policy/README.md, 国办发〔2019〕13号",)
    assert rate.metadata.range == (0, 1)
    assert rate.metadata.breakdown == "province"
    tfr = params.get("demography.tfr")
    assert tuple(tfr.metadata.reference) == ("WPP 2024", "census 2020")
    assert str(tfr.metadata.reference) == "WPP 2024; census 2020"


def test_values_are_sorted_and_step(params):
    rate = params.get("pension.employer_rate")
    assert rate.values == ((dt.date(2016, 1, 1), 0.20), (dt.date(2019, 5, 1), 0.16))
    assert rate.at(dt.date(2010, 6, 1)) == 0.20  # before the first date: the first value
    assert rate.at("2019-04-30") == 0.20
    assert rate.at(dt.date(2019, 5, 1)) == 0.16
    assert rate.at(np.datetime64("2040-01-01")) == 0.16


def test_string_dates_and_exponent_floats(params):
    tfr = params.get("demography.tfr")
    assert tfr.values == ((dt.date(2020, 1, 1), 1.3), (dt.date(2025, 1, 1), 1.0))


def test_annual_is_day_weighted(params):
    rate = params.get("pension.employer_rate")
    got = rate.annual([2015, 2018, 2019, 2020])
    # 1 Jan - 30 Apr 2019 is 31 + 28 + 31 + 30 = 120 days at 0.20, the other 245 at 0.16.
    assert got[2] == pytest.approx((120 * 0.20 + 245 * 0.16) / 365, rel=1e-14)
    assert got[2] == pytest.approx(0.17315068493150685)
    assert got[0] == 0.20 and got[1] == 0.20 and got[3] == 0.16
    assert got.dtype == float and got.shape == (4,)


def test_annual_remembers_but_hands_out_copies(params):
    rate = params.get("pension.employer_rate")
    first = rate.annual([2018, 2019])
    first[:] = -1.0  # a caller writing into its result changes nothing for the next caller
    again = rate.annual([2018, 2019])
    assert again.tolist() == [0.20, pytest.approx(0.17315068493150685)]
    assert rate.annual(np.array([[2019], [2040]])).tolist() == [[pytest.approx(0.17315068493150685)], [0.16]]
    assert rate.annual([2019, 2018])[1] == 0.20  # other years, other answer


def test_annual_counts_leap_days(tmp_path):
    text = RATE.replace("2019-05-01: 0.16", "2020-03-01: 0.10").replace("2016-01-01: 0.20", "2016-01-01: 0.40")
    rate = load_parameters(write_tree(tmp_path, {"rate.yaml": text})).get("rate")
    # 2020 is a leap year: 31 + 29 = 60 days at 0.40, 306 at 0.10.
    assert rate.annual([2020])[0] == pytest.approx((60 * 0.40 + 306 * 0.10) / 366, rel=1e-14)


def test_booleans_and_strings_take_the_value_of_1_july(params):
    delay = params.get("demography.fertility.delay_applies")
    assert delay.annual([2019, 2024, 2025]).tolist() == [False, False, True]
    method = params.get("pension.method")
    # changes on 2 July 2024: 2024 still counts as "fixed"
    assert method.annual([2023, 2024, 2025]).tolist() == ["fixed", "fixed", "cpi_plus"]
    assert method.at("2024-07-02") == "cpi_plus"


def test_province_values_replace_national_from_their_first_date(params):
    rate = params.get("pension.employer_rate")
    assert rate.at("2019-12-31", province="CN-GD") == 0.16  # national before GD's first date
    assert rate.at("2020-01-01", province="CN-GD") == 0.14
    assert rate.at("2020-01-01", province="CN-HE") == 0.16  # no values of its own
    assert dict(rate.provinces)["CN-GD"][-1] == (dt.date(2020, 1, 1), 0.14)
    table = rate.by_province([2019, 2020], ["CN-HE", "CN-GD"])
    assert table.shape == (2, 2)
    expected_2019 = (120 * 0.20 + 245 * 0.16) / 365
    np.testing.assert_allclose(table, [[expected_2019, 0.16], [expected_2019, 0.14]], rtol=1e-14)
    assert rate.by_province([2020]).shape == (31, 1)
    with pytest.raises(InputError, match="unknown province 'CN-XX'"):
        rate.at("2020-01-01", province="CN-XX")


def test_cached_and_read_only(params, tmp_path):
    assert load_parameters(tmp_path / "parameters") is params
    assert load_parameters(str(tmp_path / "parameters")) is params
    with pytest.raises(AttributeError):
        params.extra = 1
    with pytest.raises(TypeError):
        params._parameters["pension.employer_rate"] = None
    rate = params.get("pension.employer_rate")
    with pytest.raises(dataclasses.FrozenInstanceError):
        rate.path = "other"
    with pytest.raises(TypeError):
        rate.provinces["CN-HE"] = ()
    rate.annual([2019])[0] = 99.0  # a fresh array each call
    assert rate.annual([2019])[0] < 1


def test_default_root_is_params_dir(tmp_path, monkeypatch):
    write_tree(tmp_path, {"rate.yaml": RATE})
    monkeypatch.setenv("SOCSEC_PROJ_PARAMS", str(tmp_path))
    assert paths.params_dir() == tmp_path
    assert load_parameters().paths() == ("rate",)


def test_unknown_path_suggests_the_nearest(params):
    suggestion = r"pension\.employer_rat: unknown parameter; did you mean 'pension\.employer_rate'"
    with pytest.raises(InputError, match=suggestion):
        params.get("pension.employer_rat")
    with pytest.raises(InputError, match="did you mean 'pension.employer_rate'"):
        params.get("employer_rate")
    with pytest.raises(InputError, match="is a group of parameters"):
        params.get("pension")


# --------------------------------------------------------------------------------------------
# Errors while loading: every one names the file, the line and the parameter path
# --------------------------------------------------------------------------------------------

VALID_TAIL = """\
metadata:
  unit: /1
  label: Rate
  reference: policy
"""

LOAD_ERRORS = {
    "duplicate metadata key": ("pension/employer_rate.yaml", RATE.replace(
        "  unit: /1\n", "  unit: /1\n  unit: /1  # <-\n"), "pension.employer_rate.metadata.unit", "duplicate key"),
    "duplicate child in a node": ("demography.yaml", DEMOGRAPHY + "tfr:  # <-\n  values: {2020-01-01: 1}\n",
                                  "demography.tfr", "duplicate key (first at line 2)"),
    "duplicate date key": ("pension/employer_rate.yaml", RATE.replace(
        "  2016-01-01: 0.20\n", "  2016-01-01: 0.20\n  2016-01-01: 0.21  # <-\n"),
        "pension.employer_rate.values.2016-01-01", "duplicate key (first at line 10)"),
    "unknown field": ("pension/employer_rate.yaml", RATE.replace("values:", "valeus:  # <-"),
                      "pension.employer_rate", "unknown field 'valeus'; did you mean 'values'?"),
    "unknown metadata field": ("pension/employer_rate.yaml", RATE.replace("  unit: /1", "  unti: /1  # <-"),
                               "pension.employer_rate", "unknown field 'unti'; did you mean 'unit'?"),
    "missing unit": ("pension/employer_rate.yaml", RATE.replace("  unit: /1\n", "").replace(
        "metadata:", "metadata:  # <-"), "pension.employer_rate", "missing 'unit'"),
    "missing label": ("pension/employer_rate.yaml", RATE.replace("  label: Employer pension contribution rate\n", "")
                      .replace("metadata:", "metadata:  # <-"), "pension.employer_rate", "missing 'label'"),
    "empty reference": ("pension/employer_rate.yaml", RATE.replace(
        '  reference: "policy/README.md, 国办发〔2019〕13号"', '  reference: ""  # <-'),
        "pension.employer_rate", "missing 'reference'"),
    "empty values": ("rate.yaml", VALID_TAIL + "values: {}  # <-\n", "rate", "values is empty"),
    "null values": ("rate.yaml", VALID_TAIL + "values:  # <-\n", "rate", "values is empty"),
    "impossible month": ("rate.yaml", VALID_TAIL + "values:\n  2019-13-01: 0.1  # <-\n", "rate",
                         "'2019-13-01' is not a date"),
    "impossible day": ("rate.yaml", VALID_TAIL + "values:\n  2019-01-01: 0.1\n  2019-02-30: 0.1  # <-\n", "rate",
                       "'2019-02-30' is not a date"),
    "text date": ("rate.yaml", VALID_TAIL + "values:\n  May 2019: 0.1  # <-\n", "rate", "'May 2019' is not a date"),
    "duplicated date": ("rate.yaml", VALID_TAIL + 'values:\n  2019-01-01: 0.1\n  "2019-01-01": 0.2  # <-\n', "rate",
                        "date 2019-01-01 is given twice (first at line 6)"),
    "out of range": ("pension/employer_rate.yaml", RATE.replace("2019-05-01: 0.16", "2019-05-01: 1.6  # <-"),
                     "pension.employer_rate",
                     "values: 2019-05-01: 1.6 is outside the range (expected a value in [0, 1])"),
    "province out of range": ("pension/employer_rate.yaml", RATE.replace("2020-01-01: 0.14", "2020-01-01: -1  # <-"),
                              "pension.employer_rate", "provinces: CN-GD: 2020-01-01: -1 is outside the range"),
    "NaN": ("rate.yaml", VALID_TAIL + "values:\n  2019-01-01: .nan  # <-\n", "rate", "not a finite number"),
    "infinity": ("rate.yaml", VALID_TAIL + "values:\n  2019-01-01: 1\n  2020-01-01: -.inf  # <-\n", "rate",
                 "not a finite number"),
    "string not allowed": ("pension/method.yaml", METHOD.replace("2024-07-02: cpi_plus", "2024-07-02: cpi-plus  # <-"),
                           "pension.method", "'cpi-plus' is not allowed; did you mean 'cpi_plus'?"),
    "string without allowed": ("rate.yaml", VALID_TAIL + "values:\n  2019-01-01: high  # <-\n", "rate",
                               "'high' is text where a number is expected"),
    "bool among numbers": ("rate.yaml", VALID_TAIL + "values:\n  2019-01-01: 1\n  2020-01-01: true  # <-\n", "rate",
                           "True is a boolean where a number is expected"),
    "bool with a range": ("pension/employer_rate.yaml", RATE.replace("2016-01-01: 0.20", "2016-01-01: yes  # <-"),
                          "pension.employer_rate", "True is a boolean where a number is expected"),
    "unknown province": ("pension/employer_rate.yaml", RATE.replace("  CN-GD:", "  CN-GDD:  # <-"),
                         "pension.employer_rate", "unknown province 'CN-GDD'; did you mean CN-GD?"),
    "provinces without breakdown": ("pension/employer_rate.yaml", RATE.replace("  breakdown: province\n", "")
                                    .replace("provinces:", "provinces:  # <-"), "pension.employer_rate",
                                    "metadata.breakdown is not 'province'"),
    "node child not a mapping": ("demography.yaml", DEMOGRAPHY + "sex_ratio: 1.05  # <-\n", "demography.sex_ratio",
                                 "expected a parameter"),
    "file not a mapping": ("rate.yaml", "- 1  # <-\n- 2\n", "rate", "must be a mapping"),
}


@pytest.mark.parametrize("case", sorted(LOAD_ERRORS))
def test_load_errors_name_file_line_and_path(tmp_path, case):
    name, text, key, message = LOAD_ERRORS[case]
    files = {"pension/employer_rate.yaml": RATE, "demography.yaml": DEMOGRAPHY, "pension/method.yaml": METHOD}
    files[name] = text
    root = write_tree(tmp_path, files)
    with pytest.raises(InputError) as raised:
        load_parameters(root)
    error = str(raised.value)
    line = marked_line(text)
    assert f"{name}:{line}: " in error, error
    assert f": {key}: " in error, error
    assert message in error, error
    assert raised.value.line == line


def test_yaml_syntax_error_names_file_and_line(tmp_path):
    text = RATE.replace("  label: Employer pension contribution rate", "  label: Rate: employer  # <-")
    root = write_tree(tmp_path, {"rate.yaml": text})
    with pytest.raises(InputError, match=rf"rate\.yaml:{marked_line(text)}: YAML syntax error: mapping values"):
        load_parameters(root)


def test_a_path_defined_twice_is_refused(tmp_path):
    node = "employer_rate:\n" + textwrap.indent(RATE, "  ")
    root = write_tree(tmp_path, {"pension.yaml": node, "pension/employer_rate.yaml": RATE})
    with pytest.raises(InputError, match=r"pension\.employer_rate: defined twice"):
        load_parameters(root)


def test_yml_files_are_not_silently_skipped(tmp_path):
    root = write_tree(tmp_path, {"rate.yml": RATE})
    with pytest.raises(InputError, match=r"rate\.yml: parameter files end in \.yaml"):
        load_parameters(root)


def test_read_yaml_keeps_lines(tmp_path):
    path = tmp_path / "x.yaml"
    path.write_text("a: 1\nb:\n  c: 2\n", encoding="utf-8")
    data = read_yaml(path)
    assert data == {"a": 1, "b": {"c": 2}}
    assert data.key_lines == {"a": 1, "b": 2} and data["b"].key_lines == {"c": 3}


# --------------------------------------------------------------------------------------------
# Changes
# --------------------------------------------------------------------------------------------


def test_a_date_change_replaces_from_that_date_on(params):
    changed = params.with_changes({"pension.employer_rate": {dt.date(2027, 1, 1): 0.14, "2030-01-01": 0.12}})
    rate = changed.get("pension.employer_rate")
    assert rate.values == ((dt.date(2016, 1, 1), 0.20), (dt.date(2019, 5, 1), 0.16), (dt.date(2027, 1, 1), 0.14),
                           (dt.date(2030, 1, 1), 0.12))
    assert rate.annual([2026, 2027, 2031]).tolist() == [0.16, 0.14, 0.12]
    # national policy: Guangdong, with values of its own, follows the national change too
    assert rate.at("2026-12-31", province="CN-GD") == 0.14 and rate.at("2031-01-01", province="CN-GD") == 0.12
    # the original set is untouched
    assert params.get("pension.employer_rate").at("2031-01-01") == 0.16
    assert changed.get("demography.tfr") is params.get("demography.tfr")


def test_a_range_change_restores_the_earlier_values(params):
    changed = params.with_changes({"demography.tfr": {"2030-01-01/2034-12-31": 1.5}})
    tfr = changed.get("demography.tfr")
    assert tfr.annual([2029, 2030, 2034, 2035]).tolist() == [1.0, 1.5, 1.5, 1.0]
    assert tfr.at("2034-12-31") == 1.5 and tfr.at("2035-01-01") == 1.0


def test_a_province_change_applies_to_that_province_only(params):
    changed = params.with_changes({"pension.employer_rate": {"provinces": {"CN-HE": {"2026-01-01": 0.15}}}})
    rate = changed.get("pension.employer_rate")
    assert rate.at("2026-01-01", province="CN-HE") == 0.15
    assert rate.at("2025-12-31", province="CN-HE") == 0.16
    assert rate.at("2026-01-01", province="CN-GD") == 0.14
    assert rate.at("2026-01-01") == 0.16


CHANGE_ERRORS = {
    "unknown path": ({"pension.employer_rat": {"2027-01-01": 0.1}}, "did you mean 'pension.employer_rate'"),
    "out of range": ({"pension.employer_rate": {"2027-01-01": 1.4}}, "2027-01-01: 1.4 is outside the range"),
    "bad date": ({"pension.employer_rate": {"2027-13-01": 0.1}}, "'2027-13-01' is not a date or a date range"),
    "range backwards": ({"demography.tfr": {"2030-01-01/2029-01-01": 1}}, "ends before it starts"),
    "unknown province": ({"pension.employer_rate": {"provinces": {"CN-XX": {"2027-01-01": 0.1}}}},
                         "unknown province 'CN-XX'"),
    "no breakdown": ({"demography.tfr": {"provinces": {"CN-GD": {"2027-01-01": 1}}}}, "has no province breakdown"),
    "wrong kind": ({"pension.method": {"2027-01-01": 3}}, "3 is not allowed"),
    "not a mapping": ({"demography.tfr": 1.5}, "a change must be a non-empty mapping"),
}


@pytest.mark.parametrize("case", sorted(CHANGE_ERRORS))
def test_change_errors_leave_the_set_untouched(params, case):
    bad, message = CHANGE_ERRORS[case]
    before = {path: params.get(path) for path in params}
    changes = {"demography.tfr": {"2040-01-01": 2.0}, **bad}  # a valid change first
    with pytest.raises(InputError, match="scenario.yaml: ") as raised:
        params.with_changes(changes, source="scenario.yaml")
    assert message in str(raised.value)
    assert {path: params.get(path) for path in params} == before
    assert params.get("demography.tfr").at("2041-01-01") == 1.0


# --------------------------------------------------------------------------------------------
# Properties
# --------------------------------------------------------------------------------------------

DAYS = st.dates(min_value=dt.date(1990, 1, 1), max_value=dt.date(2100, 12, 31))
VALUES = st.floats(min_value=0.0, max_value=1000.0, allow_nan=False)


def number_parameter(pairs) -> Parameter:
    return Parameter.from_dict("x", {"metadata": {"unit": "/1", "label": "x", "reference": "test"},
                                     "values": dict(pairs)})


@settings(deadline=None, max_examples=100)
@given(days=st.lists(DAYS, min_size=1, max_size=8, unique=True), value=VALUES)
def test_annual_of_a_constant_is_that_constant(days, value):
    parameter = number_parameter((day, value) for day in days)
    np.testing.assert_allclose(parameter.annual(np.arange(1980, 2111)), value, rtol=1e-12, atol=1e-12)


@settings(deadline=None, max_examples=100)
@given(pairs=st.dictionaries(DAYS, VALUES, min_size=1, max_size=8))
def test_annual_lies_between_the_values_in_force(pairs):
    years = np.arange(1985, 2106)
    annual = number_parameter(pairs).annual(years)
    assert np.all(annual >= min(pairs.values()) - 1e-9) and np.all(annual <= max(pairs.values()) + 1e-9)


@settings(deadline=None, max_examples=100)
@given(pairs=st.dictionaries(DAYS, VALUES, min_size=1, max_size=6), bounds=st.lists(DAYS, min_size=2, max_size=2),
       value=VALUES, probes=st.lists(DAYS, min_size=1, max_size=20))
def test_a_range_change_leaves_the_days_outside_untouched(pairs, bounds, value, probes):
    start, end = sorted(bounds)
    before = ParameterSet({"x": number_parameter(pairs)})
    after = before.with_changes({"x": {f"{start}/{end}": value}})
    old, new = before.get("x"), after.get("x")
    for day in probes + [start, end, start - dt.timedelta(days=1), end + dt.timedelta(days=1)]:
        expected = value if start <= day <= end else old.at(day)
        assert new.at(day) == expected, day
    outside = [year for year in range(1985, 2106) if year < start.year or year > end.year]
    np.testing.assert_allclose(new.annual(outside), old.annual(outside), rtol=1e-12)


@settings(deadline=None, max_examples=100)
@given(pairs=st.dictionaries(DAYS, VALUES, min_size=1, max_size=6), start=DAYS, value=VALUES,
       probes=st.lists(DAYS, min_size=1, max_size=20))
def test_a_date_change_keeps_the_earlier_days(pairs, start, value, probes):
    old = number_parameter(pairs)
    new = ParameterSet({"x": old}).with_changes({"x": {start: value}}).get("x")
    for day in probes + [start, start - dt.timedelta(days=1)]:
        assert new.at(day) == (value if day >= start else old.at(day)), day


# --------------------------------------------------------------------------------------------
# The real tree
# --------------------------------------------------------------------------------------------

REAL = paths.params_dir() / "parameters"


@pytest.mark.skipif(not REAL.is_dir() or not any(REAL.rglob("*.yaml")), reason="no parameter files yet")
def test_the_shipped_parameter_tree_loads():
    parameters = load_parameters(REAL)
    assert len(parameters) > 0
    for path in parameters:
        parameter = parameters.get(path)
        assert parameter.metadata.unit and parameter.metadata.label and parameter.metadata.reference
        assert parameter.annual([2020, 2050]).shape == (2,)
