"""Bad input files: each class of refusal, in bounded time and memory, with file:line:key.

YAML safety (alias bombs, nesting, control characters, surrogates, size), ``extends`` through
symbolic links, parameters read on one day only (``metadata.read_at``), targets that cannot
exist, and a Scenario changed in Python checked by ``validate_scenario`` and ``ssp.run``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import time
import tracemalloc

import pytest

import socsec_proj as ssp
from socsec_proj.errors import InputError, shown
from socsec_proj.inputs import yaml_source
from socsec_proj.inputs.dated import StepFunction
from socsec_proj.inputs.parameters import ParameterSet, load_parameters
from socsec_proj.inputs.scenario import load_scenario, validate_scenario
from socsec_proj.inputs.yaml_source import read_yaml

# Nine levels of nine aliases: 9^9 (387 million) strings once expanded, in 534 bytes.
ALIAS_BOMB = "\n".join(
    ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    + [f"{chr(98 + i)}: &{chr(98 + i)} [" + ",".join([f"*{chr(97 + i)}"] * 9) + "]" for i in range(8)]
) + "\n"


def test_an_alias_bomb_in_a_value_is_refused_in_milliseconds_with_little_memory(tmp_path):
    path = tmp_path / "bomb.yaml"
    path.write_text("name: bomb\n" + ALIAS_BOMB + "description: *i\n", encoding="utf-8")
    assert len(path.read_bytes()) < 600
    tracemalloc.start()
    start = time.perf_counter()
    message = r"bomb\.yaml:\d+: aliases expand the value starting here beyond 200,000 nodes"
    with pytest.raises(InputError, match=message) as raised:
        read_yaml(path)
    elapsed = time.perf_counter() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert elapsed < 0.5, elapsed           # measured: about 2 ms
    assert peak < 5_000_000, peak           # bytes; measured: about 0.2 MB
    assert len(str(raised.value)) < 300


def test_the_graph_check_refuses_the_bomb_composed_by_pure_python_pyyaml_too():
    import yaml

    node = yaml.compose("name: bomb\n" + ALIAS_BOMB + "description: *i\n", Loader=yaml.SafeLoader)
    with pytest.raises(InputError, match=r"bomb\.yaml:\d+: aliases expand"):
        yaml_source._check_graph(node, "bomb.yaml")
    yaml_source._check_graph(yaml.compose("a: &x [1, 2]\nb: *x\n", Loader=yaml.SafeLoader), "ok.yaml")


def test_merge_keys_within_the_limit_still_work(tmp_path):
    path = tmp_path / "merge.yaml"
    path.write_text("base: &b {unit: /1, label: x}\nchild:\n  <<: *b\n  label: y\n", encoding="utf-8")
    assert read_yaml(path)["child"] == {"unit": "/1", "label": "y"}


@pytest.mark.parametrize("levels", [40, 5000])
def test_deep_nesting_is_refused_by_depth_not_by_recursion_error(tmp_path, levels):
    path = tmp_path / "deep.yaml"
    path.write_text("a:\n  b: " + "[" * levels + "]" * levels + "\n", encoding="utf-8")
    # libyaml stops at its own limit (1,000 levels) while parsing; below it, ours stops the walk.
    with pytest.raises(InputError, match=rf"deep\.yaml:2: (nested deeper than {yaml_source.MAX_DEPTH} levels"
                                         r"|YAML syntax error: exceeded maximum nesting depth)"):
        read_yaml(path)


@pytest.mark.parametrize(("text", "line", "name"), [
    ("a: 1\nb: x\x00y\n", 2, "control character U+0000 (NUL) at column 5"),
    ("a: 1\n\nc: \x1b[31m\n", 3, "control character U+001B (ESC)"),
    ('a: "\\0"\n', 1, "control character U+0000 (NUL) in a value"),
    ('a: 1\nb: "\\ud800"\n', 2, "lone surrogate U+D800 in a value"),
    ("a: 1\nb: x\x7fy\n", 2, "control character U+007F (DEL)"),
])
def test_control_characters_and_lone_surrogates_are_named_with_their_line(tmp_path, text, line, name):
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    # libyaml refuses a surrogate escape itself ("invalid Unicode character escape code")
    alternative = "|invalid Unicode character escape" if "surrogate" in name else ""
    with pytest.raises(InputError, match=rf"bad\.yaml:{line}: .*({re.escape(name)}{alternative})"):
        read_yaml(path)


def test_bytes_that_are_not_utf8_name_their_line(tmp_path):
    path = tmp_path / "latin.yaml"
    path.write_bytes(b"a: 1\nb: caf\xe9\n")
    with pytest.raises(InputError, match=r"latin\.yaml:2: not UTF-8 text"):
        read_yaml(path)


def test_a_file_too_large_is_refused_before_it_is_parsed(tmp_path, monkeypatch):
    monkeypatch.setattr(yaml_source, "MAX_BYTES", 1000)
    path = tmp_path / "big.yaml"
    path.write_text("a: " + "x" * 2000 + "\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"big\.yaml: file larger than 1,000 bytes"):
        read_yaml(path)


def test_shown_cuts_long_values():
    assert shown("x" * 10_000) == repr("x" * 57)[:-1] + "...'"
    assert len(shown(list(range(10_000)))) < 60
    assert shown(1.5) == "1.5"


# --------------------------------------------------------------------------------------------
# extends through symbolic links


def test_extends_refuses_a_link_that_leads_outside_and_never_quotes_its_target(tmp_path):
    secret = tmp_path / "elsewhere" / "secret.yaml"
    secret.parent.mkdir()
    secret.write_text("name: secret\ndescription: THE-SECRET-TEXT\n", encoding="utf-8")
    user = tmp_path / "user"
    user.mkdir()
    (user / "other.yaml").symlink_to(secret)
    (user / "passwd.yaml").symlink_to("/etc/passwd")
    for link in ("other.yaml", "passwd.yaml"):
        scenario = user / "scn.yaml"
        scenario.write_text(f"name: scn\nextends: {link}\n", encoding="utf-8")
        with pytest.raises(InputError, match=rf"scn\.yaml:2: extends: '{link}' is a link to a file outside") as raised:
            load_scenario(scenario)
        assert "THE-SECRET-TEXT" not in str(raised.value) and "root:" not in str(raised.value)


def test_extends_follows_a_link_to_a_file_in_the_same_folder(tmp_path):
    user = tmp_path / "user"
    user.mkdir()
    (user / "parent.yaml").write_text("name: parent\nextends: baseline\nhorizon: 2050\n", encoding="utf-8")
    (user / "alias.yaml").symlink_to(user / "parent.yaml")
    (user / "scn.yaml").write_text("name: scn\nextends: alias.yaml\n", encoding="utf-8")
    assert load_scenario(user / "scn.yaml").horizon == 2050


# --------------------------------------------------------------------------------------------
# Parameters read on one day only


@pytest.mark.parametrize(("path", "key", "value"), [
    ("retirement.male.target_age_months", "2030-01-01", 780),
    ("retirement.female_worker.birth_months_per_step", "2030-01-01/2034-12-31", 1),
    ("labour.flexible_months", "2026-01-01", 24),
    ("labour.minimum_working_age", "2030-07-01", 18),
])
def test_a_change_a_parameter_read_once_would_ignore_is_refused(tmp_path, path, key, value):
    scenario = tmp_path / "late.yaml"
    scenario.write_text(f"name: late\nchanges:\n  {path}:\n    {key}: {value}\n", encoding="utf-8")
    with pytest.raises(InputError, match=rf"late\.yaml:4: {path}: {key}: the projection reads this parameter on "
                                         r"\d{4}-\d\d-\d\d only \(metadata.read_at\)"):
        load_scenario(scenario)


def test_a_change_on_the_day_read_is_accepted_and_used(tmp_path):
    scenario = tmp_path / "early.yaml"
    scenario.write_text("name: early\nchanges:\n  retirement.male.target_age_months:\n    2025-01-01: 780\n",
                        encoding="utf-8")
    loaded = load_scenario(scenario)
    assert loaded.parameters.get("retirement.male.target_age_months").at("2060-01-01") == 780


def test_a_parameter_no_stage_reads_refuses_every_change(tmp_path):
    # no shipped parameter is unread any more (retirement.minimum_contribution_years is read in every
    # year since the labour stage applies it): a parameter tree of one declares it
    folder = tmp_path / "parameters"
    folder.mkdir()
    (folder / "rule.yaml").write_text(
        "metadata: {unit: years, label: Rule, reference: law, range: [0, 50], read_at: never}\n"
        "values:\n  2025-01-01: 15\n", encoding="utf-8")
    scenario = tmp_path / "unread.yaml"
    scenario.write_text("name: unread\nchanges:\n  rule:\n    2025-01-01: 16\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"unread\.yaml:4: .*no stage reads this parameter yet"):
        load_scenario(scenario, load_parameters(folder))


def test_a_parameter_file_with_values_after_read_at_is_refused(tmp_path):
    folder = tmp_path / "parameters"
    folder.mkdir()
    (folder / "age.yaml").write_text(
        "metadata: {unit: months, label: Age, reference: law, range: [0, 1000], read_at: 2025-01-01}\n"
        "values:\n  2025-01-01: 720\n  2030-01-01: 780\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"age\.yaml:4: age: values: 2030-01-01: the projection reads"):
        load_parameters(folder)


# --------------------------------------------------------------------------------------------
# Scenarios: what run refuses, validate refuses too


def _write(tmp_path, body, name="scn"):
    path = tmp_path / f"{name}.yaml"
    path.write_text(f"name: {name}\n" + body, encoding="utf-8")
    return path


@pytest.mark.parametrize(("body", "line", "message"), [
    ("horizon: 1990\n", 2, "horizon: horizon 1990 is outside the embedded data (expected a year in 2021..2100)"),
    ("horizon: 2200\n", 2, "horizon: horizon 2200 is outside the embedded data"),
    ("changes:\n  injury.industry_class:\n    2030-01-01: 9\n", None, "industry class 9 does not exist"),
    ("changes:\n  retirement.male.target_age_months:\n    2025-01-01: 700\n", None, "retirement.male."),
    ("targets:\n  - {indicator: employee_pension_contributers, year: 2025, value: 1, source: s}\n", 3,
     "unknown indicator 'employee_pension_contributers'; did you mean 'employee_pension_contributors'?"),
    ("targets:\n  - {indicator: employee_pension_contributors, year: 2150, value: 1, source: s}\n", 3,
     "year 2150 is not projected (expected a year in 2020..2100)"),
    ("targets:\n  - {indicator: employee_pension_coverage, province: CN-GD, year: 2025, value: 1, source: s}\n", 3,
     "employee_pension_coverage has no year dimension"),
    ("horizon: 2050\ntargets:\n  - {indicator: employee_pension_contributors, year: 2060, value: 1, source: s}\n",
     4, "year 2060 is not projected (expected a year in 2020..2050)"),
])
def test_validate_refuses_what_run_refuses(tmp_path, body, line, message):
    path = _write(tmp_path, body)
    load_scenario(path)  # the file itself reads
    with pytest.raises(InputError) as raised:
        validate_scenario(path)
    error = str(raised.value)
    assert message in error, error
    if line is not None:
        assert f"scn.yaml:{line}: " in error, error


def test_a_scenario_changed_in_python_is_checked_by_validate_and_run():
    baseline = load_scenario("baseline")
    rate = baseline.parameters.get("employee_pension.employer_rate")
    nan_rate = dataclasses.replace(rate, national=StepFunction((dt.date(2019, 1, 1),), (float("nan"),)))
    broken = baseline.model_copy(update={"parameters": ParameterSet(
        {**{path: baseline.parameters.get(path) for path in baseline.parameters},
         "employee_pension.employer_rate": nan_rate}, root=baseline.parameters.root)})
    message = r"employer_rate\.yaml:\d+: employee_pension\.employer_rate: values: 2019-01-01: nan is not a finite"
    with pytest.raises(InputError, match=message):
        validate_scenario(broken)
    with pytest.raises(InputError, match=message):
        ssp.run(broken)  # refused before computing: no all-NaN balances
    with pytest.raises(InputError, match="horizon 1990 is outside the embedded data"):
        ssp.run(baseline.model_copy(update={"horizon": 1990}))


def test_run_refuses_a_target_that_cannot_exist_before_computing(tmp_path, monkeypatch):
    from socsec_proj import projection

    path = _write(tmp_path, "targets:\n  - {indicator: employee_pension_contributers, year: 2025, value: 1,"
                            " source: s}\n")

    def no_computing(*args, **kwargs):
        raise AssertionError("a stage ran")

    monkeypatch.setattr(projection, "empty_dataset", no_computing)
    with pytest.raises(InputError, match=r"scn\.yaml:3: targets\[0\]: unknown indicator"):
        ssp.run(path)


def test_fields_changed_in_python_are_checked_with_the_line_they_came_from(tmp_path):
    path = _write(tmp_path, "provinces: [CN-GD]\n")
    scenario = load_scenario(path)
    with pytest.raises(InputError, match=r"scn\.yaml:2: provinces: unknown province 'CN-XX'; did you mean"):
        scenario.model_copy(update={"provinces": ("CN-XX",)}).check()
    with pytest.raises(InputError, match=r"name: .*'a b'"):
        scenario.model_copy(update={"name": "a b"}).check()


def test_every_shipped_scenario_passes_every_check():
    from socsec_proj.inputs.scenario import list_scenarios

    names = [name for name, _ in list_scenarios()]
    assert len(names) >= 12
    for name in names:
        assert validate_scenario(name).name == name


def test_a_name_too_long_for_the_file_system_is_refused_as_such(tmp_path):
    with pytest.raises(InputError, match="cannot read the file: File name too long") as raised:
        load_scenario(tmp_path / ("x" * 300 + ".yaml"))
    assert len(str(raised.value)) < 300
    with pytest.raises(InputError, match="unknown scenario"):
        load_scenario("y" * 90)


def test_a_provincial_target_of_a_national_variable_is_refused(tmp_path, monkeypatch):
    from socsec_proj import variables

    national = variables.Variable("national_thing", ("year",), "persons", "a national total")
    monkeypatch.setitem(variables.VARIABLES, "national_thing", national)
    path = _write(tmp_path, "targets:\n  - {indicator: national_thing, province: CN-GD, year: 2025, value: 1,"
                            " source: s}\n")
    with pytest.raises(InputError, match=r"scn\.yaml:3: targets\[0\]: national_thing has no province dimension"):
        validate_scenario(path)
