"""Speed of reading the inputs (pytest-benchmark): every parameter file and the baseline, cold.

"Cold" means the parameter cache is cleared before each round, so each round reads and
validates all of ``params/parameters/`` (84 parameters) and ``scenarios/baseline.yaml``; the
tables of ``params/`` are not part of it. Also the refusal of a 534-byte alias bomb, and the
checks ``ssp.run`` makes on a loaded Scenario before computing.
"""

from __future__ import annotations

import pytest

from socsec_proj.errors import InputError
from socsec_proj.inputs import parameters
from socsec_proj.inputs.scenario import load_scenario
from socsec_proj.inputs.yaml_source import read_yaml

# Nine levels of nine aliases (9^9 strings once expanded), padded to 534 bytes.
_BOMB = "\n".join(['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
                  + [f"{chr(98 + i)}: &{chr(98 + i)} [" + ",".join([f"*{chr(97 + i)}"] * 9) + "]" for i in range(8)])
_BOMB += "\nname: bomb\nchanges:\n  demography.total_fertility_rate:\n    2030-01-01: *i\n"


def test_load_every_parameter_and_the_baseline(benchmark):
    benchmark.group = "inputs"

    def cold():
        parameters.clear_cache()
        return load_scenario("baseline")

    assert benchmark(cold).name == "baseline"


def test_scenario_check_before_a_run(benchmark):
    benchmark.group = "inputs"
    scenario = load_scenario("guangdong_14th_plan")
    benchmark(scenario.check)


def test_alias_bomb_refusal(benchmark, tmp_path):
    benchmark.group = "inputs"
    path = tmp_path / "bomb.yaml"
    path.write_text(_BOMB + "#" + "x" * (534 - len(_BOMB.encode()) - 2) + "\n", encoding="utf-8")
    assert len(path.read_bytes()) == 534

    def refuse():
        with pytest.raises(InputError, match="aliases expand"):
            read_yaml(path)

    benchmark(refuse)
