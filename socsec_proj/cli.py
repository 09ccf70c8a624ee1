"""``socsec-proj``: run scenarios from a shell.

Commands::

    socsec-proj run SCENARIO [SCENARIO ...] --out DIR [--provinces CN-GD,CN-HE] [--start Y] [--end Y] [--progress]
    socsec-proj compare A B --out DIR [--provinces CN-GD,CN-HE] [--end Y] [--progress]
    socsec-proj list
    socsec-proj validate FILE
    socsec-proj params PATH
    socsec-proj sensitivity SCENARIO --out DIR [--parameters P,Q] [--shift X | P=X,Q=Y] [--progress]

``run`` writes, for each scenario, ``DIR/<name>/``: ``projection.nc`` (the whole Dataset),
one tidy CSV per scheme (``employee_pension.csv``, ...), ``population.csv``, the PNG charts
and ``summary.md``. ``compare`` writes ``DIR/``: ``differences.csv`` (B - A by province and
year), one ``compare_<variable>.png`` per headline variable and ``comparison.md``.

Exit codes: 0 ok, 2 bad input (the message names the file, the line and the key), 1 internal
error. Every input is checked before anything is computed; results are written to a
temporary folder beside ``--out`` and renamed into place only when complete, so a failed run
leaves nothing behind.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

EXIT_OK, EXIT_INTERNAL, EXIT_BAD_INPUT = 0, 1, 2

#: Where an error in a command-line option is said to be (there is no file to name).
COMMAND_LINE = "command line"

#: Steps of one scenario's ``run``, for the progress bar: project, data files, charts, summary.
_RUN_STEPS = 4


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="socsec-proj", description="Actuarial projection of China's "
                                     "provincial social-insurance funds.")
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="project one or more scenarios and write their results",
                              description="Project each scenario and write DIR/<name>/: projection.nc, "
                              "one CSV per scheme, population.csv, PNG charts and summary.md.")
    run.add_argument("scenarios", nargs="+", help="shipped scenario names or paths to scenario YAML files")
    run.add_argument("--out", required=True, type=Path, help="folder for the results (created)")
    run.add_argument("--provinces", help="comma-separated ISO codes, e.g. CN-GD,CN-HE (default: all 31)")
    run.add_argument("--start", type=int, help="first year written (default: the base year)")
    run.add_argument("--end", type=int, help="last year projected (default: the scenario's horizon)")
    run.add_argument("--progress", action="store_true", help="show a progress bar even when stderr is not a terminal")
    run.add_argument("--draws", type=int, help="also run this many stochastic draws (fan charts, depletion years)")
    run.add_argument("--seed", type=int, default=0, help="seed of the stochastic draws (default 0)")
    run.add_argument("--scheduler", help="address of a dask.distributed scheduler to run the draws on "
                                         "(e.g. tcp://10.0.0.5:8786); default: this machine")

    compare = commands.add_parser("compare", help="project two scenarios and write what B changes against A",
                                  description="Project scenarios A and B and write DIR/: differences.csv "
                                  "(B - A), comparison charts and comparison.md.")
    compare.add_argument("a", help="the reference scenario (name or file)")
    compare.add_argument("b", help="the scenario compared with it (name or file)")
    compare.add_argument("--out", required=True, type=Path, help="folder for the comparison (created)")
    compare.add_argument("--provinces", help="comma-separated ISO codes, e.g. CN-GD,CN-HE (default: all 31)")
    compare.add_argument("--end", type=int, help="last year projected (default: the scenarios' horizon)")
    compare.add_argument("--progress", action="store_true",
                         help="show a progress bar even when stderr is not a terminal")

    sensitivity = commands.add_parser(
        "sensitivity", help="move each main assumption down and up, one at a time",
        description="Project SCENARIO with each assumption shifted down and up, one at a time, and write "
        "DIR/sensitivity_<name>/: sensitivity.csv (national depletion year, 2050 balance, 2060 cost rate of "
        "the employee pension) and tornado.png.")
    sensitivity.add_argument("scenario", help="a shipped scenario name or a path to a scenario YAML file")
    sensitivity.add_argument("--out", required=True, type=Path, help="folder for the results (created)")
    sensitivity.add_argument("--parameters", help="comma-separated parameter paths (default: the main assumptions)")
    sensitivity.add_argument("--shift", help="AMOUNT for every parameter, or PATH=AMOUNT,... (default: each "
                             "assumption's stated shift), in the parameter's unit")
    sensitivity.add_argument("--progress", action="store_true",
                             help="show a progress bar even when stderr is not a terminal")

    commands.add_parser("list", help="shipped scenarios with their descriptions")
    validate = commands.add_parser("validate", help="check a scenario file without running it")
    validate.add_argument("file", type=Path)
    params = commands.add_parser("params", help="print a parameter's values, unit and reference")
    params.add_argument("path", help="a parameter path such as demography.total_fertility_rate")
    return parser


# --------------------------------------------------------------------------------------------
# Progress
# --------------------------------------------------------------------------------------------


class Progress:
    """A plain-text progress bar on stderr, for runs that take more than ``delay`` seconds.

    Nothing is drawn during the first ``delay`` seconds, so quick runs stay quiet. On a
    terminal the bar is redrawn in place (``\\r``); on a file or pipe (``--progress``) each
    update is a line of its own, so a log stays readable.

    Parameters
    ----------
    total : int
        Steps of the whole run.
    enabled : bool
        Whether to draw at all (stderr is a terminal, or ``--progress``).
    stream : file, optional
        Where to draw; ``sys.stderr`` by default.
    delay : float, default 1.0
        Seconds [s] before the first drawing.
    clock : callable, default time.monotonic
        Seconds [s] now; tests pass a fake one.
    width : int, default 30
        Characters of the bar.
    """

    def __init__(self, total: int, *, enabled: bool, stream=None, delay: float = 1.0, clock=time.monotonic,
                 width: int = 30):
        self.total = max(int(total), 1)
        self.done = 0
        self.enabled = enabled
        self.stream = stream if stream is not None else sys.stderr
        self.delay = delay
        self.clock = clock
        self.width = width
        self.started = clock()
        self.shown = False
        self._line = 0
        self._tty = bool(getattr(self.stream, "isatty", lambda: False)())

    def advance(self, label: str = "", steps: int = 1) -> None:
        """Count ``steps`` more as done and redraw, once the delay has passed."""
        self.done = min(self.done + steps, self.total)
        self._draw(label)

    def _draw(self, label: str) -> None:
        elapsed = self.clock() - self.started
        if not self.enabled or elapsed < self.delay:
            return
        filled = round(self.width * self.done / self.total)
        text = (f"[{'#' * filled}{'-' * (self.width - filled)}] {100 * self.done / self.total:3.0f}%"
                f"  {label}  ({elapsed:.1f} s)")
        if self._tty:
            # Pad with spaces to wipe a longer previous line.
            self.stream.write("\r" + text.ljust(self._line))
            self._line = len(text)
        else:
            self.stream.write(text + "\n")
        self.stream.flush()
        self.shown = True

    def clear(self) -> None:
        """Wipe the bar from a terminal line before something else is printed."""
        if self.shown and self._tty:
            self.stream.write("\r" + " " * self._line + "\r")
            self.stream.flush()

    def close(self) -> None:
        """End the bar's line, if one was drawn."""
        if self.shown and self._tty:
            self.stream.write("\n")
            self.stream.flush()


def _progress(args, total: int) -> Progress:
    enabled = bool(getattr(args, "progress", False)) or sys.stderr.isatty()
    return Progress(total, enabled=enabled)


# --------------------------------------------------------------------------------------------
# Inputs: every check before anything runs
# --------------------------------------------------------------------------------------------


def _load(name, provinces=None, end=None):
    """A scenario with the command line's overrides, checked as far as it can be without running it."""
    from .errors import InputError
    from .inputs import data
    from .inputs.provinces import validate_codes
    from .inputs.scenario import load_scenario
    from .projection import BASE_YEAR, STAGES

    scenario = load_scenario(name)
    updates = {}
    if provinces:
        updates["provinces"] = validate_codes([p.strip() for p in provinces.split(",")], source=COMMAND_LINE,
                                              key="--provinces")
    if end is not None:
        last = int(data.mortality_rates()[1][-1])
        if not BASE_YEAR < end <= last:
            raise InputError(f"{end} is outside the embedded data", source=COMMAND_LINE, key="--end",
                             expected=f"a year in {BASE_YEAR + 1}..{last}")
        updates["horizon"] = end
    scenario = scenario.model_copy(update=updates) if updates else scenario
    # The stages' own checks (a retirement age below the original one, ...) run here too, so
    # that the second scenario of a run cannot fail after the first was computed.
    for stage in STAGES:
        check = getattr(stage, "check", None)
        if check is not None:
            check(scenario)
    return scenario


def _check_start(start, scenarios) -> None:
    from .errors import InputError
    from .inputs import data
    from .projection import BASE_YEAR

    if start is None:
        return
    last = int(data.mortality_rates()[1][-1])
    for scenario in scenarios:
        horizon = scenario.horizon or last
        if not BASE_YEAR <= start <= horizon:
            raise InputError(f"{start} is outside the years projected for {scenario.name!r}", source=COMMAND_LINE,
                             key="--start", expected=f"a year in {BASE_YEAR}..{horizon}")


def _check_names(scenarios) -> None:
    """Two scenarios of one run must not share a name: they would share a results folder."""
    from .errors import InputError

    seen = {}
    for scenario in scenarios:
        if scenario.name in seen:
            raise InputError(f"two scenarios are named {scenario.name!r} ({seen[scenario.name]} and "
                             f"{scenario.source}); their results would share a folder", source=COMMAND_LINE,
                             key="SCENARIO", expected="scenarios with different names")
        seen[scenario.name] = scenario.source


# --------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------


@contextlib.contextmanager
def _staged(out: Path):
    """A temporary folder beside ``out``, renamed to ``out`` when the block completes.

    An existing ``out`` is replaced only then; on any error the temporary folder, and any
    parent folder this created, is removed, so a failed run leaves nothing behind.
    """
    out = Path(out)
    created = [parent for parent in reversed(out.parents) if not parent.exists()]
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        yield staging
        if out.exists():
            backup = Path(tempfile.mkdtemp(prefix=f".{out.name}.old.", dir=out.parent))
            os.replace(out, backup / out.name)
            os.replace(staging, out)
            shutil.rmtree(backup)
        else:
            os.replace(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        for parent in reversed(created):  # innermost first; only those left empty
            with contextlib.suppress(OSError):
                parent.rmdir()
        raise
    finally:
        if staging.exists():
            shutil.rmtree(staging)


def _csv(table, path: Path) -> None:
    # 10 significant digits: whole persons for every count, and a relative precision of 1e-10
    # for money, far finer than any input (the pandas default would print 17 noisy digits).
    table.to_csv(path, index=False, float_format="%.10g")


def _save(figure, path: Path) -> None:
    figure.savefig(path, dpi=150)
    figure.clear()  # free the drawing now: a run of many scenarios writes dozens


def _charts(ds, folder: Path) -> dict[str, str]:
    """Every chart the Dataset has variables for, saved in ``folder``; ``{title: file name}``."""
    from .report import plots
    from .report.summary import SCHEME_TITLES, SCHEMES

    years = [y for y in (2024, 2050) if y in ds["year"].values] or [int(ds["year"][0]), int(ds["year"][-1])]
    planned = [("population_pyramid.png", f"Population pyramid, {' and '.join(map(str, years))}",
                lambda: plots.population_pyramid(ds, years=years), ("population",))]
    planned.append(("contributors_vs_retirees.png", "Urban-employee pension: insured workers and pensioners",
                    lambda: plots.contributors_vs_retirees(ds),
                    ("employee_pension_contributors", "employee_pension_retirees")))
    for scheme in SCHEMES:
        title = SCHEME_TITLES[scheme]
        planned.append((f"{scheme}_balance.png", f"{title}: fund balance",
                        lambda scheme=scheme: plots.fund_balance(ds, scheme), (f"{scheme}_balance",)))
        planned.append((f"{scheme}_months_of_reserve.png", f"{title}: months of reserve",
                        lambda scheme=scheme: plots.months_of_reserve(ds, scheme), (f"{scheme}_months_of_reserve",)))
    written = {}
    for file, title, draw, needs in planned:
        if all(name in ds.data_vars for name in needs):  # skip what this projection lacks
            _save(draw(), folder / file)
            written[title] = file
    return written


def _write_scenario(ds, scenario, folder: Path, progress: Progress) -> None:
    """Everything ``run`` writes for one scenario into ``folder``."""
    from .report.summary import summary_markdown, tidy_tables

    folder.mkdir(parents=True, exist_ok=True)
    ds.to_netcdf(folder / "projection.nc")
    for name, table in tidy_tables(ds).items():
        _csv(table, folder / f"{name}.csv")
    progress.advance(f"{scenario.name}: tables written")
    charts = _charts(ds, folder)
    progress.advance(f"{scenario.name}: charts drawn")
    (folder / "summary.md").write_text(summary_markdown(ds, scenario, charts), encoding="utf-8")
    progress.advance(f"{scenario.name}: summary written")


def _write_draws(scenario, folder: Path, draws: int, seed: int, scheduler=None) -> None:
    """A stochastic run's outputs: the draws (NetCDF), quantiles per scheme (CSV), fan charts
    and depletion-year histograms (PNG)."""
    from .projection import run
    from .report import plots
    from .report.summary import SCHEMES
    from .stochastic import summarize

    client = None
    if scheduler:
        from distributed import Client
        client = Client(scheduler)
    try:
        ds = run(scenario, draws=draws, seed=seed, client=client)
    finally:
        if client is not None:
            client.close()
    ds.to_netcdf(folder / "draws.nc")
    quantiles = summarize(ds, quantiles=(0.05, 0.25, 0.5, 0.75, 0.95))
    for scheme in SCHEMES:
        if f"{scheme}_balance" not in ds:
            continue
        names = [n for n in quantiles.data_vars if n.startswith(scheme + "_")]
        _csv(quantiles[names].to_dataframe().reset_index(), folder / f"{scheme}_draws_quantiles.csv")
        _save(plots.fan_chart(ds, scheme), folder / f"{scheme}_fan.png")
        _save(plots.depletion_histogram(ds, scheme), folder / f"{scheme}_depletion_years.png")


def _run(args) -> int:
    from .projection import run

    if args.draws is not None and args.draws < 1:
        from .errors import InputError
        raise InputError(f"--draws {args.draws}", source="command line", key="--draws",
                         expected="a whole number of draws, at least 1")
    scenarios = [_load(name, args.provinces, args.end) for name in args.scenarios]  # every check first
    _check_names(scenarios)
    _check_start(args.start, scenarios)
    progress = _progress(args, _RUN_STEPS * len(scenarios))
    with _staged(args.out) as staging:
        for scenario in scenarios:
            began = time.perf_counter()
            ds = run(scenario)
            progress.advance(f"{scenario.name}: projected")
            if args.start is not None:
                ds = ds.sel(year=slice(args.start, None))
            _write_scenario(ds, scenario, staging / scenario.name, progress)
            if args.draws:
                _write_draws(scenario, staging / scenario.name, args.draws, args.seed, args.scheduler)
            total = ds["population"].sum(("province", "sex", "age"))
            first, last = int(ds["year"][0]), int(ds["year"][-1])
            progress.clear()
            n = len(ds["province"])
            print(f"{scenario.name}: {n} province{'s' if n != 1 else ''}, {first}-{last}; "
                  f"population {float(total.sel(year=first)) / 1e6:,.1f} M -> "
                  f"{float(total.sel(year=last)) / 1e6:,.1f} M ({time.perf_counter() - began:.2f} s)")
    progress.close()
    print(f"results written to {args.out}/")
    return EXIT_OK


def _compare(args) -> int:
    from .errors import InputError
    from .projection import run
    from .report import plots
    from .report.summary import SCHEMES, comparison_markdown, differences

    a, b = (_load(name, args.provinces, args.end) for name in (args.a, args.b))
    if a.name == b.name:
        raise InputError(f"both scenarios are named {a.name!r}", source=COMMAND_LINE, key="A B",
                         expected="two different scenarios")
    variables = ["employee_pension_contributors", "employee_pension_retirees", "system_dependency_ratio"]
    variables += [f"{scheme}_{quantity}" for scheme in SCHEMES for quantity in ("balance", "months_of_reserve")]
    progress = _progress(args, 3 + len(variables))
    with _staged(args.out) as staging:
        datasets = {}
        for scenario in (a, b):
            datasets[scenario.name] = run(scenario)
            progress.advance(f"{scenario.name}: projected")
        ds_a, ds_b = datasets[a.name], datasets[b.name]
        _csv(differences(ds_a, ds_b), staging / "differences.csv")
        charts = {}
        for variable in variables:
            if variable in ds_a.data_vars and variable in ds_b.data_vars:
                file = f"compare_{variable}.png"
                _save(plots.scenario_comparison(datasets, variable), staging / file)
                charts[plots.variable_title(variable)] = file
            progress.advance(f"chart of {variable}")
        (staging / "comparison.md").write_text(comparison_markdown(ds_a, ds_b, a, b, charts), encoding="utf-8")
        progress.advance("comparison written")
    progress.close()
    print(f"{b.name} against {a.name}: {len(charts)} chart(s), differences by province and year")
    print(f"comparison written to {args.out}/")
    return EXIT_OK


def _sensitivity(args) -> int:
    """``sensitivity``: the one-at-a-time table (CSV) and its tornado chart (PNG)."""
    from tqdm import tqdm

    from .errors import InputError
    from .sensitivity import MAIN_ASSUMPTIONS, sensitivity, tornado_chart

    scenario = _load(args.scenario)
    parameters = [p.strip() for p in args.parameters.split(",")] if args.parameters else None
    shift = None
    if args.shift:
        try:
            shift = float(args.shift) if "=" not in args.shift else {
                path.strip(): float(amount) for path, amount in (item.split("=") for item in args.shift.split(","))}
        except ValueError:
            raise InputError(f"--shift {args.shift!r}", source=COMMAND_LINE, key="--shift",
                             expected="a number, or PATH=AMOUNT pairs separated by commas") from None
    runs = 1 + 2 * (len(parameters) if parameters else len(MAIN_ASSUMPTIONS))
    enabled = bool(args.progress) or sys.stderr.isatty()
    with _staged(args.out / f"sensitivity_{scenario.name}") as staging, \
            tqdm(total=runs, unit="run", disable=not enabled, file=sys.stderr) as bar:
        def advance(label):
            bar.set_postfix_str(label, refresh=False)
            bar.update()

        table = sensitivity(scenario, parameters, shift, progress=advance)
        _csv(table, staging / "sensitivity.csv")
        _save(tornado_chart(table, title=f"{scenario.name}: one assumption at a time"), staging / "tornado.png")
    print(f"{scenario.name}: {len(table) // 2} assumption(s) moved down and up, {runs} projections")
    print(f"sensitivity written to {args.out / f'sensitivity_{scenario.name}'}/")
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


# --------------------------------------------------------------------------------------------
# Error messages
# --------------------------------------------------------------------------------------------

_YAML_KEY = re.compile(r"^(\s*)(?:-\s+)?(['\"]?)([^\s:#'\"][^:#]*?)\2\s*:(?:\s|$)")


def _key_path(lines: list[str], index: int) -> list[str]:
    """The YAML keys enclosing line ``index`` (0-based), outermost first, from indentation."""
    path, indent = [], None
    for text in reversed(lines[: index + 1]):
        match = _YAML_KEY.match(text)
        if not match or text.lstrip().startswith("#"):
            continue
        depth = len(match.group(1))
        if indent is None or depth < indent:
            path.append(match.group(3).strip())
            indent = depth
            if depth == 0:
                break
    return path[::-1]


def _opened_at(text: str, line: int) -> int | None:
    """Where the construct a YAML syntax error broke was opened (an unclosed ``[`` or quote).

    PyYAML reports the line where it gave up, often the next key; the typo is usually on the
    line where the bracket or quote was opened, which the error's context mark gives.
    """
    import yaml

    try:
        yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.context_mark
        if mark is not None and mark.line + 1 < line:
            return mark.line + 1
    except yaml.YAMLError:
        pass
    return None


def _message(error) -> str:
    """The error, plus the offending lines of the file quoted, like a compiler.

    A YAML syntax error has no key of its own (the file could not be read into keys), so the
    keys around the line are named from the indentation: a reader finds the place at once.
    """
    message = f"socsec-proj: error: {error}"
    source, line = getattr(error, "source", None), getattr(error, "line", None)
    if not source or not line or not Path(source).is_file():
        return message
    try:
        text = Path(source).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return message
    lines = text.splitlines()
    index = min(line, len(lines)) - 1
    while index > 0 and not lines[index].strip():  # an error at the end of the file: show the last line
        index -= 1
    if index < 0:
        return message
    shown = [index]
    if getattr(error, "key", None) is None:
        opened = _opened_at(text, line) if "YAML syntax error" in str(error) else None
        if opened is not None and opened - 1 < index:
            shown.insert(0, opened - 1)
        keys = _key_path(lines, shown[0])
        if keys:
            message += f"\n  near key: {' > '.join(keys)}"
    return message + "".join(f"\n  {i + 1:>4} | {lines[i]}" for i in shown)


def main(argv=None) -> int:
    """Entry point of ``socsec-proj``; returns the exit code."""
    from .errors import InputError

    args = _parser().parse_args(argv)
    command = {"run": _run, "compare": _compare, "list": _list, "validate": _validate,
               "params": _params, "sensitivity": _sensitivity}[args.command]
    try:
        return command(args)
    except BrokenPipeError:  # output piped into `head` and the like
        return EXIT_OK
    except InputError as error:
        print(_message(error), file=sys.stderr)
        return EXIT_BAD_INPUT
    except Exception as error:  # an internal error: say so plainly, keep the traceback for a report
        import traceback

        traceback.print_exc()
        print(f"socsec-proj: internal error: {error!r}", file=sys.stderr)
        return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
