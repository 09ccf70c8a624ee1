"""``socsec-proj``: run scenarios from a shell.

Commands::

    socsec-proj run SCENARIO [SCENARIO ...] --out DIR [--provinces CN-GD,CN-HE] [--start Y] [--end Y] [--progress]
    socsec-proj compare A B --out DIR [--provinces CN-GD,CN-HE] [--end Y] [--progress]
    socsec-proj list
    socsec-proj validate FILE
    socsec-proj params [PATH] [--search WORD]
    socsec-proj provinces
    socsec-proj init NAME
    socsec-proj --version
    socsec-proj sensitivity SCENARIO --out DIR [--parameters P,Q] [--shift X | P=X,Q=Y] [--progress]
    socsec-proj validate-history [SCENARIO] --out DIR

``run`` writes, for each scenario, ``DIR/<name>/``: ``projection.nc`` (the whole Dataset),
one tidy CSV per scheme (``employee_pension.csv``, ...), ``population.csv``, the PNG charts
(money in 2024 prices, to 2060 or ``--chart-end``), ``report.html`` (bilingual, self-contained),
``results.xlsx`` and ``summary.md``; a baseline run's summary and report add the depletion
year under the ``low_cost`` and ``high_cost`` sets. ``compare`` writes ``DIR/<a>_vs_<b>/``:
``differences.csv`` (B - A by province and year), one ``compare_<variable>.png`` per headline
variable, ``report.html`` and ``comparison.md``.

Exit codes: 0 ok, 2 bad input (one line naming the file, the line and the key, or the
command-line option), 1 a disk error (naming the path) or an internal error, 130 Ctrl-C.
Every input, option and the destination are checked before anything is computed. Each result
folder is written beside its final place and swapped in whole when complete
(:mod:`socsec_proj.outputs`): nothing else in ``DIR`` is touched, and a failed or interrupted
run leaves the earlier result as it was.

This module parses and dispatches; what is written is planned in :mod:`socsec_proj.report`.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import gc
import os
import re
import signal
import sys
import threading
import time
from pathlib import Path

EXIT_OK, EXIT_INTERNAL, EXIT_BAD_INPUT, EXIT_INTERRUPTED = 0, 1, 2, 130

#: Where an error in a command-line option is said to be (there is no file to name).
COMMAND_LINE = "command line"

#: Steps of one scenario's ``run``, for the progress bar: project, data files, charts, summary.
_RUN_STEPS = 4

#: Bounds of ``--seed``: numpy's SeedSequence takes any non-negative integer, but a seed is
#: written into the results as a 64-bit attribute.
SEED_LIMIT = 2**64

#: Longest argument accepted [characters]; a path's single names are limited by the file system.
ARGUMENT_LIMIT = 4096


class _Parser(argparse.ArgumentParser):
    """argparse, with its errors on one line (and exit 2) like every other refusal."""

    def error(self, message):
        raise SystemExit(_refuse(f"{message} (see `{self.prog} --help`)"))


def _refuse(message: str) -> int:
    print(f"socsec-proj: error: {message}", file=sys.stderr)
    return EXIT_BAD_INPUT


def _output_options(command) -> None:
    """``--chart-end`` and ``--lang``, the options of what ``run`` and ``compare`` draw."""
    command.add_argument("--chart-end", type=int, metavar="YEAR",
                         help="last year of the charts and report tables (default 2060; money in 2024 prices)")
    command.add_argument("--lang", choices=("both", "zh", "en"),
                         help="chart labels: Chinese and English (the default where a CJK font is installed, "
                              "else English), Chinese only or English only")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="socsec-proj", description="Actuarial projection of China's "
                     "provincial social-insurance funds.")
    from . import __version__

    parser.add_argument("--version", action="version", version=f"socsec-proj {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    run = commands.add_parser("run", help="project one or more scenarios and write their results",
                              description="Project each scenario and write DIR/<name>/: projection.nc, "
                              "one CSV per scheme, population.csv, PNG charts, report.html, results.xlsx "
                              "and summary.md.")
    run.add_argument("scenarios", nargs="+", help="shipped scenario names or paths to scenario YAML files")
    run.add_argument("--out", required=True, help="folder for the results (created); each scenario's "
                     "results go to DIR/<name>/, replacing only that folder")
    run.add_argument("--provinces", help="comma-separated ISO codes, e.g. CN-GD,CN-HE (default: all 31); "
                     "selects what is reported: all 31 are projected and pooled")
    run.add_argument("--start", type=int, help="first year written (default: the base year)")
    run.add_argument("--end", type=int, help="last year projected (default: the scenario's horizon)")
    run.add_argument("--progress", action="store_true", help="show a progress bar even when stderr is not a terminal")
    _output_options(run)
    run.add_argument("--draws", type=int, help="also run this many stochastic draws (fan charts, depletion years)")
    run.add_argument("--summary-only", action="store_true",
                     help="with --draws: keep only quantiles, means and depletion years over the draws, reduced as "
                     "they are computed (memory grows as the square root of N): draws_summary.nc and CSV, no draws.nc")
    run.add_argument("--seed", type=int, default=0, help="seed of the stochastic draws, 0 <= seed < 2**64 (default 0)")
    run.add_argument("--scheduler", help="address of a dask.distributed scheduler to run the draws on "
                                         "(e.g. tcp://10.0.0.5:8786); default: this machine")

    compare = commands.add_parser("compare", help="project two scenarios and write what B changes against A",
                                  description="Project scenarios A and B and write DIR/<a>_vs_<b>/: "
                                  "differences.csv (B - A), comparison charts, report.html and comparison.md.")
    compare.add_argument("a", help="the reference scenario (name or file)")
    compare.add_argument("b", help="the scenario compared with it (name or file)")
    compare.add_argument("--out", required=True, help="folder for the comparison (created); it goes to "
                         "DIR/<a>_vs_<b>/, replacing only that folder")
    compare.add_argument("--provinces", help="comma-separated ISO codes, e.g. CN-GD,CN-HE (default: all 31)")
    compare.add_argument("--end", type=int, help="last year projected (default: the scenarios' horizon)")
    compare.add_argument("--progress", action="store_true",
                         help="show a progress bar even when stderr is not a terminal")
    _output_options(compare)

    sensitivity = commands.add_parser(
        "sensitivity", help="move each main assumption down and up, one at a time",
        description="Project SCENARIO with each assumption shifted down and up, one at a time, and write "
        "DIR/sensitivity_<name>/: sensitivity.csv (national depletion year, 2050 balance, 2060 cost rate of "
        "the employee pension) and tornado.png.")
    sensitivity.add_argument("scenario", help="a shipped scenario name or a path to a scenario YAML file")
    sensitivity.add_argument("--out", required=True, help="folder for the results (created)")
    sensitivity.add_argument("--parameters", help="comma-separated parameter paths (default: the main assumptions)")
    sensitivity.add_argument("--shift", help="AMOUNT for every parameter, or PATH=AMOUNT,... (default: each "
                             "assumption's stated shift), in the parameter's unit")
    sensitivity.add_argument("--progress", action="store_true",
                             help="show a progress bar even when stderr is not a terminal")

    history = commands.add_parser(
        "validate-history", help="hold the projection against every published figure of past years",
        description="Project SCENARIO (default: baseline) and write DIR/validate-history/: history.csv (every "
        "published figure of params/history/ beside the model's value, with the difference and the source) and "
        "history.png (model against published).")
    history.add_argument("scenario", nargs="?", default="baseline",
                         help="a shipped scenario name or a path to a scenario YAML file (default: baseline)")
    history.add_argument("--out", required=True, help="folder for the results (created); they go to "
                         "DIR/validate-history/, replacing only that folder")

    commands.add_parser("list", help="shipped scenarios with their descriptions")
    validate = commands.add_parser("validate", help="check a scenario file without running it")
    validate.add_argument("file")
    params = commands.add_parser("params", help="list the parameters (unit, range, label), or show one in full",
                                 description="Without PATH, every parameter with its unit, range and label; "
                                 "with a group (employee_pension), all of the group's; with a parameter path, "
                                 "its values, unit, range, reference and province values.")
    params.add_argument("path", nargs="?", help="a parameter path such as demography.total_fertility_rate, "
                        "or a group such as employee_pension")
    params.add_argument("--search", metavar="WORD", help="only the parameters whose path, label, unit, "
                        "description or reference holds WORD (any case)")
    commands.add_parser("provinces", help="the 31 province codes with Chinese and English names")
    init = commands.add_parser("init", help="write NAME.yaml, a commented scenario template",
                               description="Write NAME.yaml (or the .yaml path given), a scenario template "
                               "with every key explained, that `validate` accepts; an existing file is refused.")
    init.add_argument("name", help="the scenario's name, or a path ending in .yaml")
    return parser


# --------------------------------------------------------------------------------------------
# Progress
# --------------------------------------------------------------------------------------------


def progress_bar(total: int, *, enabled: bool, stream=None, delay: float = 1.0):
    """A ``tqdm`` bar on stderr for runs that take more than ``delay`` seconds [s].

    Nothing is drawn during the first ``delay`` seconds, so quick runs stay quiet; disabled
    unless stderr is a terminal or ``--progress`` asks for it. ``bar.set_description_str(label)``
    names the step, ``bar.update()`` counts it. tqdm (rather than a bar of our own) gets the
    terminal width, redrawing and Jupyter right.
    """
    return _bar_class()(total=max(int(total), 1), disable=not enabled, delay=delay, file=stream or sys.stderr,
                        bar_format="[{bar:30}] {percentage:3.0f}%  {desc}  ({elapsed})", leave=True, mininterval=0.2)


@functools.lru_cache(maxsize=1)
def _bar_class():
    """``tqdm`` without its monitor thread (``monitor_interval = 0``; the bar is redrawn at each
    step anyway). A thread of its own running made every later fork unsafe
    (``_accelerate.fork_is_safe``): a summary-only run computed its chunks on threads, not in
    worker processes (6-11 % slower, twice the memory)."""
    from tqdm import tqdm

    class Bar(tqdm):
        monitor_interval = 0

    return Bar


def _progress(args, total: int):
    enabled = bool(getattr(args, "progress", False)) or sys.stderr.isatty()
    return progress_bar(total, enabled=enabled)


def _step(bar, label: str) -> None:
    _not_interrupted()
    bar.set_description_str(label, refresh=False)
    bar.update(1)


# --------------------------------------------------------------------------------------------
# Inputs: every check before anything runs
# --------------------------------------------------------------------------------------------


def _shown(text: str, limit: int = 60) -> str:
    """An argument as it may be printed: escaped (no control byte reaches the terminal), cut short."""
    shown = ascii(text[:limit])
    return shown + ("..." if len(text) > limit else "")


#: The longest path [bytes] an argument may give: PATH_MAX (4,096 with its NUL) less room for
#: the ``/<name>/<file>`` a result adds.
PATH_LIMIT = 3800


def check_argument(value: str, key: str, *, path: bool = False) -> str:
    """A command-line argument that is text a file name or code can hold, else InputError.

    Refused by name: control characters (NUL, escape, newline...), bytes that are not UTF-8
    (Python hands them over as lone surrogates), arguments over :data:`ARGUMENT_LIMIT`
    characters and, for a path, any single name longer than the file system allows
    (ENAMETOOLONG otherwise, after the work). A path's ``~`` is expanded as a shell would.
    """
    from .errors import InputError

    if len(value) > ARGUMENT_LIMIT:
        raise InputError(f"an argument of {len(value):,} characters", source=COMMAND_LINE, key=key,
                         expected=f"at most {ARGUMENT_LIMIT:,}")
    for position, character in enumerate(value):
        code = ord(character)
        if 0xDC80 <= code <= 0xDCFF:
            raw = os.fsencode(value).decode("ascii", "backslashreplace")
            raise InputError(f"'{raw[:60]}' is not valid UTF-8 (byte 0x{code - 0xDC00:02x} at position {position})",
                             source=COMMAND_LINE, key=key, expected="UTF-8 text")
        if 0xD800 <= code <= 0xDFFF:
            raise InputError(f"{_shown(value)} holds a lone surrogate U+{code:04X} at position {position}",
                             source=COMMAND_LINE, key=key, expected="UTF-8 text")
        if code < 0x20 or 0x7F <= code < 0xA0:
            raise InputError(f"{_shown(value)} holds the control character U+{code:04X} at position {position}",
                             source=COMMAND_LINE, key=key, expected="printable text")
    if not path:
        return value
    value = os.path.expanduser(value)
    for name in Path(value).parts:
        size = len(os.fsencode(name))
        if size > 255:
            raise InputError(f"the name {_shown(name, 40)} is {size} bytes long", source=COMMAND_LINE, key=key,
                             expected="names of at most 255 bytes (the file system's limit)")
    if not value:
        raise InputError("an empty path", source=COMMAND_LINE, key=key, expected="a file or folder name")
    # the whole path, absolute, as the kernel will see it (results add "/<scenario>/<file>" to it)
    size = len(os.fsencode(os.path.abspath(value)))
    if size > PATH_LIMIT:
        raise InputError(f"a path of {size:,} bytes", source=COMMAND_LINE, key=key,
                         expected=f"at most {PATH_LIMIT:,} bytes (the file system allows 4,095 in all)")
    return value


def _scenario_argument(value: str, key: str = "SCENARIO") -> str:
    text = check_argument(value, key, path=True)
    if "/" not in text and not text.endswith((".yaml", ".yml")) and len(os.fsencode(text)) > 250:
        return check_argument(text + ".yaml", key, path=True)  # a shipped name: scenarios/NAME.yaml
    return text


@contextlib.contextmanager
def _reading(what: str):
    """Input that cannot even be parsed stops with one line (exit 2), not a traceback: too
    deeply nested (RecursionError), too large (MemoryError), not text (UnicodeError), a file
    that cannot be read (OSError)."""
    from .errors import InputError

    try:
        yield
    except InputError:
        raise
    except RecursionError:
        raise InputError("nested too deeply to be read", source=what, expected="a flat scenario file") from None
    except MemoryError:
        raise InputError("too large to be read", source=what, expected="a scenario file of ordinary size") from None
    except UnicodeError as error:
        raise InputError(f"not valid UTF-8 text ({error.reason})", source=what, expected="UTF-8 text") from None
    except OSError as error:
        raise InputError(f"cannot be read: {error.strerror or error}", source=error.filename or what) from None


def _load(name, provinces=None, end=None):
    """A scenario with the command line's overrides, checked as far as it can be without running it."""
    from .inputs.scenario import load_scenario
    from .projection import check_stages, with_overrides

    name = _scenario_argument(name)
    with _reading(name):
        scenario = load_scenario(name)
    if provinces:
        check_argument(provinces, "--provinces")
        provinces = [p.strip() for p in provinces.split(",")]
    scenario = with_overrides(scenario, provinces=provinces or None, end=end, source=COMMAND_LINE,
                              keys=("--provinces", "--end"))
    # The stages' own checks (a retirement age below the original one, ...) run here too, so
    # that the second scenario of a run cannot fail after the first was computed.
    check_stages(scenario)
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


def _check_draws(args, scenarios) -> None:
    """``--seed`` and ``--draws`` (against the memory the draws would need), before anything runs."""
    from .errors import InputError
    from .projection import BASE_YEAR
    from .resources import check_draws

    if not 0 <= args.seed < SEED_LIMIT:
        raise InputError(f"--seed {args.seed}", source=COMMAND_LINE, key="--seed",
                         expected="a whole number from 0 to 2**64 - 1")
    if args.scheduler is not None:
        check_argument(args.scheduler, "--scheduler")
    if args.draws is None:
        if args.summary_only:
            raise InputError("--summary-only without --draws", source=COMMAND_LINE, key="--summary-only",
                             expected="--draws N --summary-only")
        return
    from .stochastic import SUMMARY_VARIABLES

    years = max((s.horizon or 2100) - BASE_YEAR + 1 for s in scenarios)
    check_draws(args.draws, n_years=years, source=COMMAND_LINE, key="--draws",
                summary_variables=SUMMARY_VARIABLES if args.summary_only else None, quantiles=SUMMARY_QUANTILES)


def _out(args, names) -> Path:
    """``--out``, checked: text a path can hold (``~`` expanded), a folder or nothing yet, and no
    file or foreign folder where a result would go."""
    from .outputs import check_destination

    out = Path(check_argument(args.out, "--out", path=True))
    check_destination(out, names)
    return out


# --------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------


def _csv(table, path: Path) -> None:
    # 10 significant digits: whole persons for every count, and a relative precision of 1e-10
    # for money, far finer than any input (the pandas default would print 17 noisy digits).
    lines = _csv_lines(table)
    if lines is None:  # a value that needs quoting, or a column of another kind: pandas
        table.to_csv(path, index=False, float_format="%.10g")
        return
    with open(path, "w", encoding="utf-8", newline="") as file:
        file.writelines(lines)


#: Characters a CSV field must be quoted for.
_QUOTED = re.compile(r'[,"\r\n]')


def _csv_lines(table) -> list[str] | None:
    """The lines ``table.to_csv(index=False, float_format="%.10g")`` writes, the same bytes in a
    third of the time (the tables of a run are ~40,000 numbers each, formatted one by one in
    either case; pandas adds its per-value machinery); None where a field would need quoting
    or a column holds something other than numbers and text (pandas writes those)."""
    columns = []
    for name in table.columns:
        values = table[name].to_numpy()
        if values.dtype.kind == "f":
            columns.append(["" if value != value else f"{value:.10g}" for value in values.tolist()])
        elif values.dtype.kind in "iu":
            columns.append([str(value) for value in values.tolist()])
        elif values.dtype.kind in "OUT":
            if not all(isinstance(value, str) for value in values.tolist()):
                return None
            if any(_QUOTED.search(value) for value in values.tolist()):
                return None
            columns.append(values.tolist())
        else:
            return None
    header = [str(name) for name in table.columns]
    if any(_QUOTED.search(name) for name in header):
        return None
    end = os.linesep
    return [",".join(header) + end, *(",".join(row) + end for row in zip(*columns))] if columns else None


#: Quantiles the command line writes of a stochastic run's draws.
DRAW_QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)
#: ... and of a summary-only run, which is for many draws: the tails a reserve fund is sized on too.
SUMMARY_QUANTILES = (0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.995)


def _duration(seconds: float) -> str:
    """A time left as the progress bar says it: "40 s", "6 min", "1 h 20 min"."""
    if seconds < 120:
        return f"{max(seconds, 1):.0f} s"
    minutes = round(seconds / 60)
    return f"{minutes} min" if minutes < 60 else f"{minutes // 60} h {minutes % 60} min"


def draw_progress(bar, name: str, clock=time.time):
    """``progress(done, total)`` for a stochastic run (``ssp.run(..., progress=)``): the bar's
    label says how many draws are in and about how long the rest takes, from the rate so far
    ("baseline: draws 12,352 of 100,000, about 6 min left"; ``clock`` [s] times the rate).
    The rate is that since the first chunk came in once there is one: the first carries the
    workers' start (each loads the kernels, ~0.6 s), which made 2,000 draws' first estimate
    49 s for 11 s. Redrawn at most every ``bar.mininterval`` and, as the bar's own steps, not
    within its first ``bar.delay`` seconds (both on the bar's clock, ``time.time``)."""
    began = clock()
    first = []  # (time, draws) of the first chunk in
    shown = [float("-inf")]

    def update(done: int, total: int) -> None:
        label = f"{name}: draws {done:,} of {total:,}"
        now = clock()
        since, counted = first[0] if first and first[0][1] < done else (began, 0)
        if 0 < done < total and now > since:
            label += f", about {_duration((now - since) * (total - done) / (done - counted))} left"
        if not first:
            first.append((now, done))
        bar.set_description_str(label, refresh=False)
        on_bar = time.time()
        if not bar.disable and on_bar >= bar.start_t + bar.delay and on_bar - shown[0] >= bar.mininterval:
            shown[0] = on_bar
            bar.refresh()

    return update


def _stochastic(scenario, draws: int, seed: int, scheduler=None, summary_only=False, progress=None):
    from .projection import run

    client = None
    if scheduler:
        from distributed import Client
        client = Client(scheduler)
    try:
        if summary_only:
            return run(scenario, draws=draws, seed=seed, client=client, summary=SUMMARY_QUANTILES, progress=progress)
        # kept in float32, as draws.nc holds them: no float64 copy of every draw is made (on
        # this VM a first-written page costs ~5-10 ms per MB: 1,000 draws are 0.58 GB in float64)
        return run(scenario, draws=draws, seed=seed, client=client, draw_dtype="float32", progress=progress)
    finally:
        if client is not None:
            client.close()


def _compact(ds) -> dict:
    """NetCDF encoding of a stochastic run's draws: float32 (7 significant digits, far finer than
    the spread between draws), half the file and half the writing of float64."""
    return {name: {"dtype": "float32"} for name in ds.data_vars if ds[name].dtype == "float64"}


def _write_draw_summary(summary, folder: Path) -> None:
    """A summary-only run's tables: per scheme, its quantiles by province and year and its
    probability of depletion by year (``draws_summary.nc`` is written with the other NetCDF files)."""
    from .report.summary import SCHEMES

    for scheme in SCHEMES:
        names = [n for n in summary.data_vars if n.startswith(scheme + "_") and "quantile" in summary[n].dims]
        if names:  # the same table as of the draws kept whole
            _csv(summary[names].to_dataframe().reset_index(), folder / f"{scheme}_draws_quantiles.csv")
        probability = f"{scheme}_national_depletion_probability"
        if probability in summary.data_vars:
            _csv(summary[probability].to_dataframe().reset_index(), folder / f"{scheme}_depletion_probability.csv")


def _write_netcdf(ds, folder: Path, draws=None) -> None:
    """``projection.nc``, and ``draws.nc`` (float32, without the variables worked out from
    others: ``ssp.open_draws`` adds them back) or a summary-only run's ``draws_summary.nc``."""
    from .outputs import WrittenThrough
    from .stochastic import without_derived

    def write(dataset, name, **options):
        # through to the disk as it goes (outputs.WrittenThrough: on this VM the page cache's
        # new pages were most of draws.nc's writing); the same bytes as to_netcdf(path)
        with WrittenThrough(folder / name) as file:
            dataset.to_netcdf(file, engine="scipy", **options)

    write(ds, "projection.nc")
    if draws is not None and "quantile" in draws.dims:
        write(draws, "draws_summary.nc")
    elif draws is not None:
        draws = without_derived(draws)
        write(draws, "draws.nc", encoding=_compact(draws))


def _import_writers(charts_here: bool = True) -> None:
    """Import every module the writing of a run needs, before its results folder is staged
    (matplotlib's only when this process draws charts: ``charts_here``, no chart process).

    A Ctrl-C that lands while Python imports can leave that module's import lock held (CPython),
    and the NetCDF thread of :func:`_write_scenario`, importing it too, then waits for ever: seen
    in 1 run of 6 with ``scipy.io``, which xarray imports inside ``to_netcdf``. Done before
    staging, the imports are also outside the window in which a Ctrl-C must leave the results as
    they were: a Ctrl-C inside an import's clean-up is swallowed (1 run of 30 then finished with
    exit 0). With the imports here, 30 of 30 Ctrl-C runs ended with exit 130 and one line.
    """
    import scipy.io  # noqa: F401  (xarray's netCDF writer imports it on first use)

    from . import stochastic  # noqa: F401
    from .report import html, outputs, summary, workbook  # noqa: F401

    if charts_here:
        from .report import plots  # noqa: F401


def _write_scenario(ds, scenario, folder: Path, progress, draws=None, *, chart_end=None, lang=None,
                    sets=None, charts=None, draw_charts=None) -> None:
    """Everything ``run`` writes for one scenario into ``folder``: the NetCDF, the CSV tables,
    the charts (PNG, money in 2024 prices, to ``chart_end``), ``report.html``, ``results.xlsx``
    and ``summary.md`` (and, with ``draws``, the stochastic run's draws, quantiles per scheme,
    fan charts and depletion-year histograms; with a summary-only run's Dataset, its summary files).
    ``charts`` and ``draw_charts``: the charts being drawn in the second process (:func:`_draw_charts`).

    The NetCDF files are written on a thread of their own meanwhile: that writing is mostly the
    kernel's (the page cache of files of up to 300 MB faulted in, without the GIL), the tables and
    pages beside it mostly Python's. The thread ends before this function returns, on every way
    out, so that nothing writes into ``folder`` once it is swapped in or removed.
    """
    from concurrent.futures import ThreadPoolExecutor

    from .provenance import stamp

    _import_writers(charts_here=not any(getattr(pending, "running", False) for pending in (charts, draw_charts)))
    stamp(ds)  # one date for every file of the run
    if draws is not None:
        draws.attrs.setdefault("created", ds.attrs["created"])
    with ThreadPoolExecutor(1, thread_name_prefix="socsec-proj netcdf") as writer:
        netcdf = writer.submit(_write_netcdf, ds, folder, draws)
        _write_tables(ds, scenario, folder, progress, draws, chart_end=chart_end, lang=lang, sets=sets,
                      charts=charts, draw_charts=draw_charts)
        netcdf.result()  # its error, if any, raised here
    _step(progress, f"{scenario.name}: summary written")


def _write_tables(ds, scenario, folder: Path, progress, draws, *, chart_end, lang, sets, charts, draw_charts):
    """What :func:`_write_scenario` writes besides the NetCDF files."""
    from .report.outputs import write_outputs
    from .report.summary import SCHEMES, summary_markdown, tidy_tables
    from .stochastic import summarize

    tables = tidy_tables(ds)
    for name, table in tables.items():
        _csv(table, folder / f"{name}.csv")
    if draws is not None and "quantile" in draws.dims:  # --summary-only: no draw is kept; the report from the summary
        _write_draw_summary(draws, folder)
    elif draws is not None:
        quantiles = summarize(draws, quantiles=DRAW_QUANTILES)
        for scheme in SCHEMES:
            names = [n for n in quantiles.data_vars if n.startswith(scheme + "_")]
            if f"{scheme}_balance" in draws and names:
                _csv(quantiles[names].to_dataframe().reset_index(), folder / f"{scheme}_draws_quantiles.csv")
    _step(progress, f"{scenario.name}: tables written")
    charts = write_outputs(ds, scenario, folder, chart_end=chart_end, draws=draws, lang=lang, sets=sets, tables=tables,
                           charts=charts, draw_charts=draw_charts)
    _step(progress, f"{scenario.name}: charts, report.html and results.xlsx written")
    (folder / "summary.md").write_text(summary_markdown(ds, scenario, charts, draws=draws, sets=sets),
                                       encoding="utf-8")


def _compile_notice() -> None:
    """One line on stderr when the numba kernels are not in the cache yet: the first run after an
    install (or a change of the kernels) compiles them (about 20 s of CPU on one thread), silently otherwise."""
    from . import _accelerate
    from .resources import COMPILING, uncompiled_kernels

    if uncompiled_kernels():
        print(COMPILING.format(cache=_accelerate.CACHE_DIR), file=sys.stderr, flush=True)


def _assumption_sets(scenario, ds):
    """For a baseline run, ``{set: projection}`` of the three assumption sets (issue #14), the
    other two with the same provinces and horizon; None for any other scenario."""
    from .inputs.scenario import load_scenario
    from .projection import run
    from .report.summary import ASSUMPTION_SETS

    if scenario.name != "baseline":
        return None
    sets = {}
    for name in ASSUMPTION_SETS:
        other = load_scenario(name).model_copy(update={"provinces": scenario.provinces, "horizon": scenario.horizon})
        sets[name] = ds if name == scenario.name else run(other)
    return sets


def _chart_end(args, scenarios) -> int:
    """``--chart-end``, checked against the years every scenario projects (exit 2 outside)."""
    from .inputs import data
    from .projection import BASE_YEAR
    from .report.outputs import check_chart_end

    last = int(data.mortality_rates()[1][-1])
    first = BASE_YEAR if getattr(args, "start", None) is None else args.start
    return check_chart_end(args.chart_end, first, min(s.horizon or last for s in scenarios))


def _draw_charts(worker, ds, scenario, chart_end, lang, draws=None):
    """The charts of ``ds`` (or, with ``draws``, of a stochastic run's draws) asked of the
    chart process: drawn there while this process writes the rest (:mod:`.report.background`)."""
    from .report.outputs import chart_draws, last_chart_year
    from .report.prices import price_index

    end = last_chart_year(ds, chart_end)
    if draws is None:
        return worker.submit("charts", ds, price_index(scenario, ds["year"].values), end, lang)
    return worker.submit("draw_charts", chart_draws(draws), price_index(scenario, draws["year"].values), end, lang)


def _settled() -> None:
    """Take every object alive now out of the cyclic garbage collector's sight (``gc.freeze``).

    A command builds a few hundred thousand objects that live until it ends (the modules it
    imports, numba's loaded kernels, the parameters, the projections), and CPython's collector
    goes through all of them each time the objects it tracks have grown by a quarter: 4 such
    passes in a baseline run, 0.25-0.5 s of its CPU, and as many in the chart process, whose pages
    each pass copied after the fork. Frozen, they are passed over; what is made afterwards is
    collected as before (the collector is on from here, if :func:`_run` turned it off while it
    imported). :func:`main` unfreezes them when the command is over. A Python caller's own
    collector settings are left alone: nothing is frozen where the caller froze objects itself,
    and a collector the caller turned off stays off.
    """
    if _COLLECTOR["ours"]:
        gc.freeze()
    if _COLLECTOR["enabled"]:
        gc.enable()


#: The collector as :func:`main` found it: on or off, and whether nothing was frozen (then the
#: freezing is the command's, undone when it ends).
_COLLECTOR = {"enabled": True, "ours": True}


def _run(args) -> int:
    gc.disable()  # until _settled: the imports and checks make objects that last as long as the command
    from . import outputs
    from ._accelerate import _keep_freed_memory
    from .projection import run
    from .report.background import ChartProcess, core_free

    # the process ends with the command: memory it frees is reused, not faulted in again, and
    # new arrays come in small pages (_accelerate.small_pages: huge ones cost most of --draws' system time)
    _keep_freed_memory()

    scenarios = [_load(name, args.provinces, args.end) for name in args.scenarios]  # every check first
    _check_names(scenarios)
    _check_start(args.start, scenarios)
    _check_draws(args, scenarios)
    chart_end = _chart_end(args, scenarios)
    out = _out(args, [scenario.name for scenario in scenarios])
    _settled()  # the modules and parameters: also shared with the chart process, not copied into it
    # started before anything else (it imports matplotlib while this process projects), and
    # before the progress bar's thread and the lock of the results folder; only with a core free
    worker = ChartProcess(enabled=core_free())
    _compile_notice()
    progress = _progress(args, _RUN_STEPS * len(scenarios))
    with worker, progress, outputs.destination(out):
        for scenario in scenarios:
            began = time.perf_counter()
            projected = run(scenario)
            ds = projected if args.start is None else projected.sel(year=slice(args.start, None))
            charts = _draw_charts(worker, ds, scenario, chart_end, args.lang)
            draws = _stochastic(scenario, args.draws, args.seed, args.scheduler, args.summary_only,
                                progress=draw_progress(progress, scenario.name)) if args.draws else None
            draw_charts = _draw_charts(worker, ds, scenario, chart_end, args.lang, draws) if draws is not None else None
            sets = _assumption_sets(scenario, projected)
            _step(progress, f"{scenario.name}: projected")
            _import_writers(charts_here=not worker.running)  # matplotlib is the chart process's
            _settled()  # numba's loaded kernels, the projections and the writers' modules
            with outputs.staged(out, scenario.name, note=f"run {scenario.name}") as folder:
                _write_scenario(ds, scenario, folder, progress, draws, chart_end=chart_end, lang=args.lang, sets=sets,
                                charts=charts, draw_charts=draw_charts)
                _not_interrupted()  # before the results are put in place
            total = ds["population"].sum(("province", "sex", "age"))
            first, last = int(ds["year"][0]), int(ds["year"][-1])
            n = len(ds["province"])
            progress.write(f"{scenario.name}: {n} province{'s' if n != 1 else ''}, {first}-{last}; "
                           f"population {float(total.sel(year=first)) / 1e6:,.1f} M -> "
                           f"{float(total.sel(year=last)) / 1e6:,.1f} M ({time.perf_counter() - began:.2f} s)",
                           file=sys.stdout)
    print(f"results written to {out}/")
    return EXIT_OK


def _compare(args) -> int:
    from . import outputs
    from ._accelerate import _keep_freed_memory
    from .errors import InputError
    from .projection import run
    from .provenance import stamp
    from .report.outputs import comparison_variables, write_comparison
    from .report.summary import comparison_markdown, differences

    _keep_freed_memory()  # as in run: freed memory reused, new arrays in small pages, until the command ends
    a, b = (_load(name, args.provinces, args.end) for name in (args.a, args.b))
    if a.name == b.name:
        raise InputError(f"both scenarios are named {a.name!r}", source=COMMAND_LINE, key="A B",
                         expected="two different scenarios")
    chart_end = _chart_end(args, (a, b))
    name = f"{a.name}_vs_{b.name}"
    out = _out(args, [name])
    progress = _progress(args, 4)
    with progress, outputs.destination(out):
        datasets = {}
        for scenario in (a, b):
            datasets[scenario.name] = run(scenario)
            _step(progress, f"{scenario.name}: projected")
        ds_a, ds_b = (stamp(datasets[a.name]), stamp(datasets[b.name]))
        with outputs.staged(out, name, note=f"compare {a.name} {b.name}") as folder:
            _csv(differences(ds_a, ds_b), folder / "differences.csv")
            charts = write_comparison(ds_a, ds_b, a, b, folder, chart_end=chart_end, lang=args.lang)
            _step(progress, f"{len(comparison_variables(ds_a, ds_b))} charts and report.html written")
            (folder / "comparison.md").write_text(comparison_markdown(ds_a, ds_b, a, b, charts), encoding="utf-8")
            _step(progress, "comparison written")
    print(f"{b.name} against {a.name}: {len(charts)} chart(s), differences by province and year")
    print(f"comparison written to {out / name}/")
    return EXIT_OK


def _sensitivity(args) -> int:
    """``sensitivity``: the one-at-a-time table (CSV) and its tornado chart (PNG)."""
    from . import outputs
    from ._accelerate import _keep_freed_memory
    from .errors import InputError
    from .report.outputs import png
    from .sensitivity import MAIN_ASSUMPTIONS, sensitivity, tornado_chart

    _keep_freed_memory()  # as in run: 23 projections' memory reused, new arrays in small pages
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
    name = f"sensitivity_{scenario.name}"
    out = _out(args, [name])
    with _progress(args, runs) as bar, outputs.destination(out):
        def advance(label):
            _step(bar, label)

        table = sensitivity(scenario, parameters, shift, progress=advance)
        with outputs.staged(out, name, note=f"sensitivity {scenario.name}") as folder:
            _csv(table, folder / "sensitivity.csv")
            chart = tornado_chart(table, title=f"{scenario.name}: one assumption at a time")
            (folder / "tornado.png").write_bytes(png(chart))  # as every chart of a run: one PNG rule
    print(f"{scenario.name}: {len(table) // 2} assumption(s) moved down and up, {runs} projections")
    print(f"sensitivity written to {out / name}/")
    return EXIT_OK


def _validate_history(args) -> int:
    """``validate-history``: :func:`socsec_proj.validation.write_history` into ``OUT/validate-history/``."""
    from . import outputs
    from .projection import run
    from .validation import write_history

    scenario = _load(args.scenario)
    name = "validate-history"
    out = _out(args, [name])
    with outputs.destination(out):
        ds = run(scenario)
        with outputs.staged(out, name, note=f"validate-history {scenario.name}") as folder:
            paths = write_history(ds, folder)
    import pandas as pd

    table = pd.read_csv(out / name / paths["csv"].name, keep_default_na=False, na_values=[""])
    print(f"{scenario.name}: {len(table)} published figures, {int(table['model'].notna().sum())} with a model value")
    print(f"validation written to {out / name}/")
    return EXIT_OK


def _list(args) -> int:
    from .inputs.scenario import list_scenarios

    for name, description in list_scenarios():
        print(f"{name}\n    {' '.join(description.split())}\n")
    return EXIT_OK


def _validate(args) -> int:
    from .inputs.scenario import validate_scenario

    file = check_argument(args.file, "FILE", path=True)
    with _reading(file):
        scenario = validate_scenario(file)
    print(f"{file}: scenario {scenario.name!r} is valid ({len(scenario.changes)} change(s))")
    return EXIT_OK


def parameter_range(metadata) -> str:
    """A parameter's accepted values as one short text: ``0 .. 0.3``, ``one of a, b``, ``-``."""
    if metadata.allowed:
        return "one of " + ", ".join(metadata.allowed)
    if metadata.range:
        low, high = ("" if bound is None else f"{bound:g}" for bound in metadata.range)
        return f"{low} .. {high}".strip()
    return "-"


def _parameter_line(parameter, width: int) -> str:
    meta = parameter.metadata
    province = " [by province]" if meta.breakdown == "province" else ""
    return f"{parameter.path:<{width}}  [{meta.unit}]  {parameter_range(meta)}  {meta.label}{province}"


def _listing(parameters, paths, heading: str) -> int:
    width = max(len(path) for path in paths)
    print(heading)
    group = None
    for path in paths:
        if path.split(".", 1)[0] != group:
            group = path.split(".", 1)[0]
            print(f"\n{group}/")
        print("  " + _parameter_line(parameters.get(path), width))
    print("\n`socsec-proj params PATH` shows a parameter's values, source and province values.")
    return EXIT_OK


def _params(args) -> int:
    """``params``: every parameter (or a group's, or those matching ``--search``), or one in full."""
    from .inputs.parameters import load_parameters

    parameters = load_parameters()
    path = check_argument(args.path, "PATH") if args.path else None
    if args.search is not None:
        word = check_argument(args.search, "--search").casefold()
        found = [p for p in parameters.paths() if (path is None or p.startswith(path + "."))
                 and any(word in text.casefold() for text in _searched(parameters.get(p)))]
        if not found:
            print(f"no parameter matches {args.search!r} (`socsec-proj params` lists them all)")
            return EXIT_OK
        return _listing(parameters, found, f"{len(found)} parameter(s) matching {args.search!r}:")
    if path is None:
        return _listing(parameters, parameters.paths(), f"{len(parameters)} parameters (path  [unit]  range  label):")
    below = [p for p in parameters.paths() if p.startswith(path.rstrip(".") + ".")]
    if below and path not in parameters:
        return _listing(parameters, below, f"{path}: {len(below)} parameters (path  [unit]  range  label):")
    parameter = parameters.get(path)
    meta = parameter.metadata
    print(f"{parameter.path}: {meta.label} [{meta.unit}]")
    print(f"  {' '.join(parameter.description.split())}")
    print(f"  range: {parameter_range(meta)}"
          + ("; may be set per province" if meta.breakdown == "province" else "; national only"))
    print(f"  reference: {meta.reference}")
    print(f"  file: {parameter.source}")
    for date, value in parameter.values:
        print(f"  {date}: {value}")
    for province, values in (parameter.provinces or {}).items():
        for date, value in values:
            print(f"  {province} {date}: {value}")
    return EXIT_OK


def _searched(parameter) -> tuple[str, ...]:
    """The texts ``params --search`` looks in: path, label, unit, description, references."""
    meta = parameter.metadata
    return (parameter.path, meta.label, meta.unit, parameter.description, *map(str, meta.reference))


def _provinces(args) -> int:
    """``provinces``: the 31 ISO codes with their Chinese and English names."""
    from .inputs.provinces import PROVINCES

    print("code   中文      English")
    for code, zh, en in PROVINCES:
        print(f"{code}  {zh}{'　' * (4 - len(zh))}  {en}")
    print("\n--provinces and ssp.run(provinces=...) take any of these: CN-GD, cn-gd, GD, Guangdong or 广东.")
    return EXIT_OK


#: What ``init NAME`` writes: a scenario that ``validate`` accepts, every key explained.
SCENARIO_TEMPLATE = """\
# A socsec_proj scenario: what it changes against the scenario it extends.
#   socsec-proj validate {file}             check it without running it
#   socsec-proj run {file} --out results    project it: results/{name}/summary.md, report.html, results.xlsx
#   socsec-proj params                        every parameter you can change (unit, range, label)
#   socsec-proj params --search WORD          those whose name or label holds WORD
#   socsec-proj provinces                     the province codes (CN-GD Guangdong, ...)
name: {name}
description: >
  What if Guangdong raised its employer pension contribution rate from 16 % to 18 % of the
  contribution base from 2027? (Say in a sentence or two what this scenario asks.)
extends: baseline        # the scenario this one changes: a shipped name or a file beside this one
# horizon: 2060          # last year projected (default 2100)
# provinces: [CN-GD]     # provinces reported (all 31 are projected and pooled); default all 31
changes:
  # parameter path: {{date: value}}; a value holds from its date until the next one.
  # Under `provinces`, a value for one province only (parameters listed "[by province]").
  employee_pension.employer_rate:
    provinces:
      CN-GD:
        2027-01-01: 0.18
  # A national change (all provinces), and a START/END range after which the earlier values return:
  # economy.wage_growth:
  #   2030-01-01: 0.04
  # demography.total_fertility_rate:
  #   2030-01-01/2039-12-31: 1.3
# targets:               # plan targets the summary sets against the projection
#   - indicator: employee_pension_contributors
#     province: CN-GD
#     year: 2030
#     value: 50000000
#     source: "where the target is written"
"""


def _init(args) -> int:
    """``init NAME``: write ``NAME.yaml``, a commented scenario template; never over an existing file."""
    from .errors import InputError
    from .inputs.schema import SCENARIO_NAME

    text = check_argument(args.name, "NAME", path=True)
    path = Path(text if text.endswith((".yaml", ".yml")) else text + ".yaml")
    name = path.stem
    if not SCENARIO_NAME.match(name):
        raise InputError(f"{_shown(name)} is not a scenario name", source=COMMAND_LINE, key="NAME",
                         expected="letters, digits, '_', '.' and '-', at most 100, not starting with '.' or '-'")
    if path.exists() or path.is_symlink():
        raise InputError(f"{path} already exists; it is left as it is", source=COMMAND_LINE, key="NAME",
                         expected="the name of a file that does not exist yet")
    if not path.parent.is_dir():
        raise InputError(f"the folder {path.parent} does not exist", source=COMMAND_LINE, key="NAME",
                         expected="a file in an existing folder")
    with open(path, "x", encoding="utf-8") as file:  # "x": never replaces a file made meanwhile
        file.write(SCENARIO_TEMPLATE.format(name=name, file=path))
    print(f"{path}: a scenario template; edit it, then `socsec-proj validate {path}`")
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


def _clipped(text: str, width: int = 160) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


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
        opened = getattr(error, "opened_line", None)  # set by the YAML reader: no second parse here
        if opened is not None and opened - 1 < index:
            shown.insert(0, opened - 1)
        keys = _key_path(lines, shown[0])
        if keys:
            message += f"\n  near key: {' > '.join(keys)}"
    # a quoted line is cut at 160 characters: a hostile file's line can be megabytes long
    return message + "".join(f"\n  {i + 1:>4} | {_clipped(lines[i])}" for i in shown)


#: The Ctrl-Cs this command has received (:func:`_interrupt`), for :func:`_not_interrupted`.
_INTERRUPTS: list[int] = []


def _interrupt(signum, frame):
    """SIGINT while a command runs: remembered, then raised as ``KeyboardInterrupt``."""
    _INTERRUPTS.append(signum)
    raise KeyboardInterrupt


def _not_interrupted() -> None:
    """Raise ``KeyboardInterrupt`` if a Ctrl-C came and the command is still going.

    A ``KeyboardInterrupt`` raised where the code running catches everything and says nothing
    (C code that clears whatever error a Python call raised, as ``PyObject_HasAttr`` does) is
    lost, and the run went on to write its results (seen once in 20 Ctrl-Cs 0.25 s into a run);
    one raised inside an extension module's import comes out as another error (``ImportError:
    numba._devicearray failed to import``, once in 100), which :func:`main` reports as the
    Ctrl-C it was. Checked before each step and before results are put in place, so that a
    Ctrl-C, wherever it landed, ends the command with its one line, exit 130 and no result.
    """
    if _INTERRUPTS:
        raise KeyboardInterrupt


class _Terminated(BaseException):
    """SIGTERM, raised like Ctrl-C's KeyboardInterrupt so that staging folders are removed."""


def _terminate(signum, frame):
    _TERMINATIONS.append(signum)
    raise _Terminated()


#: The SIGTERMs this command has received (:func:`_terminate`).
_TERMINATIONS: list[int] = []


#: Seconds after an interrupt Python could only report (:func:`_unraisable`) that it is sent again.
RESEND_DELAY = 0.01


def _unraisable(report) -> None:
    """``sys.unraisablehook`` while a command runs: a Ctrl-C or SIGTERM that Python could not raise
    is sent again, not printed.

    Python runs some callbacks where an exception has nowhere to go: it prints the traceback and
    carries on (an at-fork handler of :mod:`logging` as the chart process forks, llvmlite's object
    cache callback while numba loads a kernel, a ``__del__``). A Ctrl-C that landed there was lost
    and printed as a traceback, and the run went on to write its results (seen in 2 of ~14 runs
    of the start-up Ctrl-C test under load). Sent again a moment later, it lands in ordinary code and stops the
    command with its one line, leaving nothing half-written.
    """
    signum = {KeyboardInterrupt: signal.SIGINT, _Terminated: signal.SIGTERM}.get(type(report.exc_value))
    if signum is None:
        if not (_INTERRUPTS or _TERMINATIONS):
            _PREVIOUS_UNRAISABLE[0](report)
        # else the interrupted work's own clean-up failing on what it left open: a ZipFile that
        # Ctrl-C stopped inside ``writestr`` (as results.xlsx was written) refuses to close in its
        # ``__del__`` and printed 8 lines of traceback after the command's one line (once, in CI)
        return
    resend = threading.Timer(RESEND_DELAY, os.kill, (os.getpid(), signum))
    resend.daemon = True
    resend.start()


#: The hook :func:`main` found (given back when the command ends).
_PREVIOUS_UNRAISABLE = [sys.unraisablehook]


def _disk_error(error: OSError) -> str:
    path = error.filename or "the results folder"
    return f"socsec-proj: error: {path}: {error.strerror or error} (a disk error; no result was left half-written)"


def main(argv=None) -> int:
    """Entry point of ``socsec-proj``; returns the exit code.

    0 done; 2 bad input, one line; 1 a disk error (the path and the reason) or an internal
    error (with the traceback, for a report); 130 Ctrl-C, 143 SIGTERM, one line, nothing left.
    """
    from .errors import InputError

    _COLLECTOR.update(enabled=gc.isenabled(), ours=gc.get_freeze_count() == 0)
    with contextlib.suppress(ValueError):  # not in the main thread (a test calling main): leave it
        signal.signal(signal.SIGTERM, _terminate)
    _PREVIOUS_UNRAISABLE[0], sys.unraisablehook = sys.unraisablehook, _unraisable
    _INTERRUPTS.clear()
    _TERMINATIONS.clear()
    try:
        if getattr(signal.getsignal(signal.SIGINT), "at_start", False):  # socsec_proj.__main__'s: from here on
            signal.signal(signal.SIGINT, _interrupt)                    # Ctrl-C is a KeyboardInterrupt below
        args = _parser().parse_args(argv)
        command = {"run": _run, "compare": _compare, "list": _list, "validate": _validate,
                   "params": _params, "provinces": _provinces, "sensitivity": _sensitivity,
                   "init": _init, "validate-history": _validate_history}[args.command]
        return command(args)
    except BrokenPipeError:  # output piped into `head` and the like
        return EXIT_OK
    except KeyboardInterrupt:
        print("socsec-proj: interrupted (Ctrl-C); no result was left half-written", file=sys.stderr)
        return EXIT_INTERRUPTED
    except _Terminated:
        print("socsec-proj: terminated (SIGTERM); no result was left half-written", file=sys.stderr)
        return 128 + signal.SIGTERM
    except SystemExit as exit:  # argparse: --help, or a refusal it already printed
        return exit.code if isinstance(exit.code, int) else EXIT_BAD_INPUT
    except Exception as error:
        if _INTERRUPTS:  # a Ctrl-C that landed where it became another error (an import's)
            print("socsec-proj: interrupted (Ctrl-C); no result was left half-written", file=sys.stderr)
            return EXIT_INTERRUPTED
        if isinstance(error, InputError):
            print(_message(error), file=sys.stderr)
            return EXIT_BAD_INPUT
        if isinstance(error, OSError):  # a disk full or read-only: not a bug of ours
            print(_disk_error(error), file=sys.stderr)
            return EXIT_INTERNAL
        if isinstance(error, MemoryError):
            print("socsec-proj: error: out of memory (fewer --draws or fewer scenarios at once)", file=sys.stderr)
            return EXIT_INTERNAL
        import traceback  # an internal error: say so plainly, keep the traceback for a report

        traceback.print_exc()
        print(f"socsec-proj: internal error: {error!r}", file=sys.stderr)
        return EXIT_INTERNAL
    finally:  # what a command froze (:func:`_settled`) is the collector's again, for a Python caller
        if signal.getsignal(signal.SIGINT) is _interrupt:
            # the command is over (its results in place, or removed): a Ctrl-C from here on, as the
            # process ends, would have had Python's default handler kill it without a word (exit
            # -2 after "results written", seen in 2 of 40 runs interrupted 1.2-2.4 s in)
            signal.signal(signal.SIGINT, signal.SIG_IGN)
        if _INTERRUPTS or _TERMINATIONS:
            gc.collect()  # what the stopped work left in reference cycles is finalised under our hook
        sys.unraisablehook = _PREVIOUS_UNRAISABLE[0]
        if _COLLECTOR["ours"]:
            gc.unfreeze()
        if _COLLECTOR["enabled"]:
            gc.enable()
        else:
            gc.disable()


if __name__ == "__main__":
    sys.exit(main())
