"""``socsec-proj``: run scenarios from a shell.

Commands::

    socsec-proj run SCENARIO [SCENARIO ...] --out DIR [--provinces CN-GD,CN-HE] [--start Y] [--end Y]
    socsec-proj list
    socsec-proj validate FILE
    socsec-proj params PATH

Exit codes: 0 ok, 2 bad input (the message names the file, the line and the key), 1 internal
error. Results are written to a temporary folder beside ``--out`` and renamed into place only
when complete, so a failed run leaves nothing behind.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

EXIT_OK, EXIT_INTERNAL, EXIT_BAD_INPUT = 0, 1, 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="socsec-proj", description="Actuarial projection of China's "
                                     "provincial social-insurance funds.")
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="project one or more scenarios and write their results")
    run.add_argument("scenarios", nargs="+", help="shipped scenario names or paths to scenario YAML files")
    run.add_argument("--out", required=True, type=Path, help="folder for the results (created)")
    run.add_argument("--provinces", help="comma-separated ISO codes, e.g. CN-GD,CN-HE (default: all 31)")
    run.add_argument("--start", type=int, help="first year written (default: the base year)")
    run.add_argument("--end", type=int, help="last year projected (default: the scenario's horizon)")

    commands.add_parser("list", help="shipped scenarios with their descriptions")
    validate = commands.add_parser("validate", help="check a scenario file without running it")
    validate.add_argument("file", type=Path)
    params = commands.add_parser("params", help="print a parameter's values, unit and reference")
    params.add_argument("path", help="a parameter path such as demography.total_fertility_rate")
    return parser


def _load(name, provinces=None, end=None):
    from .inputs.provinces import validate_codes
    from .inputs.scenario import load_scenario

    scenario = load_scenario(name)
    updates = {}
    if provinces:
        updates["provinces"] = validate_codes([p.strip() for p in provinces.split(",")], key="--provinces")
    if end:
        updates["horizon"] = end
    return scenario.model_copy(update=updates) if updates else scenario


def _write_results(ds, folder: Path, start=None) -> None:
    """NetCDF of the whole Dataset and a tidy CSV of the per-(province, sex, year) totals."""
    if start is not None:
        ds = ds.sel(year=slice(start, None))
    folder.mkdir(parents=True, exist_ok=True)
    ds.to_netcdf(folder / "projection.nc")
    tidy = ds[["population_total", "births", "deaths", "net_migration_total"]].to_dataframe()
    tidy.reset_index().to_csv(folder / "population.csv", index=False, float_format="%.6g")


def _run(args) -> int:
    from .projection import run

    scenarios = [_load(name, args.provinces, args.end) for name in args.scenarios]  # every check first
    out = args.out
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        for scenario in scenarios:
            began = time.perf_counter()
            ds = run(scenario)
            _write_results(ds, staging / scenario.name, args.start)
            total = ds["population_total"].sum(("province", "sex"))
            last = int(ds["year"][-1])
            print(f"{scenario.name}: {len(ds['province'])} provinces, {int(ds['year'][0])}-{last}; "
                  f"population {float(total.sel(year=int(ds['year'][0]))) / 1e6:,.1f} M -> "
                  f"{float(total.sel(year=last)) / 1e6:,.1f} M ({time.perf_counter() - began:.2f} s)")
        if out.exists():
            backup = Path(tempfile.mkdtemp(prefix=f".{out.name}.old.", dir=out.parent))
            os.replace(out, backup / out.name)
            os.replace(staging, out)
            shutil.rmtree(backup)
        else:
            os.replace(staging, out)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    print(f"results written to {out}/")
    return EXIT_OK


def _list(args) -> int:
    from .inputs.scenario import list_scenarios

    for name, description in list_scenarios():
        print(f"{name}\n    {' '.join(description.split())}\n")
    return EXIT_OK


def _validate(args) -> int:
    from .inputs.scenario import validate_scenario

    scenario = validate_scenario(args.file)
    print(f"{args.file}: scenario {scenario.name!r} is valid ({len(scenario.changes)} change(s))")
    return EXIT_OK


def _params(args) -> int:
    from .inputs.parameters import load_parameters

    parameter = load_parameters().get(args.path)
    meta = parameter.metadata
    print(f"{parameter.path}: {meta.label} [{meta.unit}]")
    print(f"  reference: {meta.reference}")
    print(f"  file: {parameter.source}")
    for date, value in parameter.values:
        print(f"  {date}: {value}")
    for province, values in (parameter.provinces or {}).items():
        for date, value in values:
            print(f"  {province} {date}: {value}")
    return EXIT_OK


def main(argv=None) -> int:
    """Entry point of ``socsec-proj``; returns the exit code."""
    from .errors import InputError

    args = _parser().parse_args(argv)
    command = {"run": _run, "list": _list, "validate": _validate, "params": _params}[args.command]
    try:
        return command(args)
    except BrokenPipeError:  # output piped into `head` and the like
        return EXIT_OK
    except InputError as error:
        print(f"socsec-proj: error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except Exception as error:  # an internal error: say so plainly, keep the traceback for a report
        import traceback

        traceback.print_exc()
        print(f"socsec-proj: internal error: {error!r}", file=sys.stderr)
        return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
