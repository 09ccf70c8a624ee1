"""Charts drawn in a second process while the command line writes everything else.

A run's charts take most of its writing time (Agg's text drawing above all), and the rest of
the writing (the NetCDF, the CSV tables, the workbook, the other assumption sets'
projections) needs none of them. :class:`ChartProcess` starts one worker process when the
command begins, before any projection: the worker imports matplotlib while this process
projects, then draws a run's charts (:func:`~.outputs.chart_plan`, PNG bytes) from the first
while this process writes the rest. When this process has written everything else and the
worker is not done, this process draws the charts left from the last, until the two meet
(each chart is claimed once, from either end, in shared memory): on two cores the charts
finish about when the rest does, whatever the load. :func:`~.outputs.write_outputs` puts the
bytes into the results folder and the page. The worker writes nothing itself, so a results
folder only ever holds what this process wrote (the atomic swap of :mod:`socsec_proj.outputs`
is unchanged).

How it starts: forked, so it begins with this process's imports, as long as numba's thread
pool has not been started (a fork copies none of its threads, and the worker never calls a
kernel, but the OpenMP runtime does not promise that a process forked while its threads run
survives); else from a ``forkserver`` process. The worker ignores Ctrl-C (this process reports
it, once) and dies with this process (``PR_SET_PDEATHSIG`` on Linux, and
:meth:`ChartProcess.close` kills it on any way out of the ``with``).

It is started only when a core is free for it (:func:`core_free`): on a machine whose cores are
all busy with other work it would add CPU and save no time.

Whatever goes wrong in the worker (it cannot start, it dies, a chart raises there), the
charts it did not deliver are drawn here, by the same function: the files are the same either
way, and a real error surfaces here, with its traceback, like any other.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import pickle
import shutil
import signal
import sys
import tempfile
from multiprocessing.connection import wait
from pathlib import Path

from .._accelerate import die_with_parent, received

__all__ = ["ChartProcess", "core_free"]

#: Seconds :meth:`ChartProcess.close` waits for the worker to end before killing it.
CLOSE_WAIT = 2.0
#: Jobs in flight at once (each has two counters in shared memory: charts claimed from the
#: first and from the last).
SLOTS = 64
#: The command imports matplotlib to draw charts beside the worker only when at least this many
#: are unclaimed when it has written everything else: the import (0.45 s on 2 cores) costs about
#: five of the worker's charts in both languages (0.08-0.11 s each, drawn on), and the command's
#: own first charts take twice as long (0.22-0.24 s). With 3, a baseline run's command imported
#: matplotlib for the last 2 charts and ended 0.26 s after the worker had drawn the rest.
HELP_FROM = 6
#: Where a job's help flag is in the shared array (after its two counters, ``HELP * SLOTS + slot``),
#: and its states: asked for by the command, given by the worker (a helper forked).
HELP, HELP_WANTED, HELP_GIVEN = 2, 1, 2
#: The index of the worker's message that gives a job's number of charts.
COUNT = "count"
#: Where a job's arguments and the worker's PNG files go between the two processes: memory,
#: where Linux has it (a folder of its own, removed by :meth:`ChartProcess.close`).
_MEMORY = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None


_PREFIX = "socsec-proj-charts-"


def _remove_stale() -> None:
    """Remove the folders of command lines that were killed (SIGKILL leaves no time to clean up)."""
    for folder in Path(_MEMORY or tempfile.gettempdir()).glob(f"{_PREFIX}*-*"):
        pid = folder.name[len(_PREFIX):].split("-", 1)[0]
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            shutil.rmtree(folder, ignore_errors=True)
        except OSError:  # someone else's process: alive
            continue


#: A core counts as free while tasks waited for a CPU less than this share [%] of the last 10 s.
BUSY_PERCENT = 50.0


def _cpu_pressure() -> float | None:
    """Linux's CPU pressure: the share [%] of the last 10 s in which a runnable task waited for a
    CPU (``/proc/pressure/cpu``, "some avg10"); None where the kernel does not report it."""
    try:
        with open("/proc/pressure/cpu", encoding="ascii") as file:
            fields = dict(item.split("=") for item in file.readline().split()[1:])
        return float(fields["avg10"])
    except (OSError, ValueError, KeyError):
        return None


def core_free() -> bool:
    """Whether a second process would have a core to itself (at least 2 cores, and the CPUs not
    contended: :func:`_cpu_pressure` below :data:`BUSY_PERCENT`; without it, the cores exceed
    the 1-minute load average by one). On a machine whose cores are all busy with other work the
    worker only adds CPU (its own matplotlib import, the projection handed over) and takes little
    off the wall clock, so the command draws its charts itself. The load average alone is not
    used where the pressure is known: Linux counts tasks waiting for the disk in it (at load 2-3
    of mostly disk waits, the worker took a third off the run). ``SOCSEC_PROJ_CHART_PROCESS``
    (``1`` or ``0``) decides instead."""
    setting = os.environ.get("SOCSEC_PROJ_CHART_PROCESS", "").strip()
    if setting in ("0", "1"):
        return setting == "1"
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    if cores < 2:
        return False
    pressure = _cpu_pressure()
    if pressure is not None:
        return pressure < BUSY_PERCENT
    try:
        load = os.getloadavg()[0]
    except (AttributeError, OSError):
        return True
    return cores - load >= 1.0


def _claim(claims, slot: int, count: int, from_first: bool) -> int | None:
    """The index of the next chart of a job nobody has claimed, from its first or its last; None when none is left."""
    with claims.get_lock():
        first, last = claims[2 * slot], claims[2 * slot + 1]
        if first + last >= count:
            return None
        if from_first:
            claims[2 * slot] = first + 1
            return first
        claims[2 * slot + 1] = last + 1
        return count - 1 - last


def _serve(connection, claims, helper_connection=None) -> None:
    """The worker: warm up (matplotlib, the CJK font), then draw what is asked until told to stop
    (with a helper forked on ``helper_connection`` when the command asks, :func:`_fork_helper`)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)   # the command line reports a Ctrl-C, once
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # not the command line's handler: just end
    die_with_parent()
    try:
        from matplotlib.figure import Figure

        from . import outputs
        from .fonts import cjk_font
        from .plots import reused_figures

        cjk_font()
        Figure().savefig(_Discard(), format="png")  # Agg and the font files loaded before the first chart
    except BaseException:  # noqa: BLE001 (whatever it is, the caller draws the charts itself)
        return
    gc.freeze()  # matplotlib's modules and fonts live as long as we do: out of the collector's way
    with reused_figures():  # one figure per kind for the worker's life: rehearsed, then drawn on
        try:  # while the command projects: the first charts' set-up done before they are asked for
            outputs.rehearse(stop=connection.poll)
            rehearsed = True
        except (OSError, ValueError):  # the caller is gone
            return
        except Exception:  # noqa: BLE001 (a rehearsal only: the real charts are drawn as ever)
            rehearsed = False
        if rehearsed:
            _draw_jobs(connection, claims, helper_connection)
            return
    with reused_figures():  # not on the figures a failed rehearsal left
        _draw_jobs(connection, claims, helper_connection)


def _help_wanted(claims, slot: int, count: int) -> bool:
    """Whether the command asked for help with the job in ``slot`` (:meth:`ChartProcess._help`)
    and a chart of its ``count`` is left to claim; if so, marked as given (a helper is forked at once)."""
    with claims.get_lock():
        if claims[HELP * SLOTS + slot] != HELP_WANTED or claims[2 * slot] + claims[2 * slot + 1] >= count:
            return False
        claims[HELP * SLOTS + slot] = HELP_GIVEN
        return True


def _fork_helper(connection, claims, helper_connection, number: int, plan: list, path: str, dpi: int) -> int | None:
    """Fork a helper: a copy of this worker, as warm as it is now, that draws the job's charts from
    the last, sends them on ``helper_connection`` and ends; its process id (None: no fork).

    Asked for when the command has written everything else. It would otherwise draw them itself,
    after importing matplotlib (0.4-0.5 s) and drawing its first charts cold (0.22-0.24 s against
    0.08-0.14 here): in a baseline run the worker drew 13 of the 14 charts and the command one,
    0.7 s after it had written the rest. Forked then, not when the worker starts, it has the
    glyph layouts of the job's charts the worker has drawn so far (forked after the rehearsal,
    its first two charts took 0.2 s each, the third 0.07 s).
    """
    try:
        pid = os.fork()
    except OSError:  # out of processes: the command draws from the last itself
        return None
    if pid != 0:
        return pid
    drawn = False
    try:  # the helper
        connection.close()  # the worker's pipe is the worker's
        die_with_parent()   # it ends with the worker (which ends with the command)
        _draw_plan(helper_connection, claims, number, plan, path, dpi, from_first=False)
        drawn = True
    finally:  # what it claimed and did not send, the command draws (and a chart's error surfaces there)
        os._exit(0 if drawn else 1)


def _draw_plan(connection, claims, number: int, plan: list, path: str, dpi: int, from_first: bool,
               helper=None) -> None:
    """Claim the job's charts from the first (the last), draw them and send them as files;
    ``helper``: ``(worker's connection, helper's connection, [their process ids])``, to fork one
    when the command asks."""
    from . import outputs

    slot = number % SLOTS
    while True:
        if helper is not None and _help_wanted(claims, slot, len(plan)):
            pid = _fork_helper(helper[0], claims, helper[1], number, plan, path, dpi)
            if pid is not None:
                helper[2].append(pid)
        index = _claim(claims, slot, len(plan), from_first=from_first)
        if index is None:
            return
        key, file, title, draw = plan[index]
        # the bytes go through a file, the pipe carries its name: a chart (~200 kB) would
        # fill the pipe, and this process would wait until the other one reads, at its end
        image = Path(path).with_name(f"{number}-{index}.png")
        image.write_bytes(outputs.chart_png(draw, dpi))
        connection.send((number, index, (key, file, title, str(image))))


def _draw_jobs(connection, claims, helper_connection=None) -> None:
    """The worker's loop: each job's charts claimed from the first, drawn, sent as files."""
    from . import outputs

    for number, name, path, dpi in received(connection):
        try:
            with open(path, "rb") as file:
                args = pickle.load(file)
            os.unlink(path)
            plan = outputs.PLANS[name](*args)
            # what the command weighs its help by, and builds its page for before the charts come
            connection.send((number, COUNT, [(key, file, title) for key, file, title, _draw in plan]))
            forked = []
            try:
                _draw_plan(connection, claims, number, plan, path, dpi, from_first=True,
                           helper=None if helper_connection is None else (connection, helper_connection, forked))
            finally:  # the helper's charts are sent before this job's end is (the command reads both pipes)
                for helper in forked:
                    os.waitpid(helper, 0)
            connection.send((number, None, True))
        except (OSError, ValueError):  # the caller is gone
            return
        except BaseException:  # noqa: BLE001 (the caller draws what is missing and raises there)
            try:
                connection.send((number, None, False))
            except (OSError, ValueError):
                return


class _Discard:
    def write(self, data):
        return len(data)


class _Pending:
    """A job given to the worker; :meth:`result` draws charts from the last until it meets the worker."""

    def __init__(self, owner: ChartProcess, number: int | None, name: str, args, dpi: int):
        self._owner, self._number, self._name, self._args, self._dpi = owner, number, name, args, dpi
        self._helped = False

    @property
    def running(self) -> bool:
        """Whether the worker draws these charts (False: they are all drawn here)."""
        return self._number is not None and self._owner.running

    def help(self) -> bool:
        """Have a helper draw the job's charts from the last from now on (this process has written
        everything else, and would otherwise draw them itself); whether one was asked for."""
        owner, number = self._owner, self._number
        if number is not None and not self._helped and not owner._finished(number, block=False):
            self._helped = owner._help(number)
        return self._helped

    def entries(self) -> list[tuple[str, str, str]] | None:
        """``(key, file name, title)`` of each of the job's charts, once the worker has its plan
        (None before, and when the charts are all drawn here); does not wait."""
        if self._number is None:
            return None
        self._owner._finished(self._number, block=False)  # read what the worker sent so far
        return self._owner._entries.get(self._number)

    def result(self) -> list[tuple[str, str, str, bytes]]:
        """``[(key, file name, title, PNG bytes), ...]`` of the job's plan, in its order."""
        owner, number = self._owner, self._number
        if self.help():  # a helper forked from the worker, as warm as it is, draws from the last meanwhile
            owner._finished(number, block=True)
        elif number is not None and "matplotlib.figure" not in sys.modules and owner._unclaimed(number) < HELP_FROM:
            # matplotlib not imported here (0.4-0.5 s, the time of two to four charts) and only a few
            # charts left: the worker, set up and drawing, is left to finish them, and only what it
            # does not deliver is drawn here
            owner._finished(number, block=True)
        if number is not None and owner._finished(number, block=False) and owner._ended.get(number) \
                and owner._delivered(number):
            drawn = owner._take(number)  # the worker (and its helper) drew every chart: no matplotlib needed here
            return [drawn[index] for index in sorted(drawn)]
        from . import outputs
        from .plots import reused_figures

        plan = outputs.PLANS[self._name](*self._args)
        drawn = {}
        with reused_figures():
            if number is not None:
                while (index := _claim(owner._claims, number % SLOTS, len(plan), from_first=False)) is not None:
                    key, file, title, draw = plan[index]
                    drawn[index] = (key, file, title, outputs.chart_png(draw, self._dpi))
                owner._finished(number, block=True)
                drawn.update(owner._take(number))
            # what the worker claimed but did not deliver (it died, or a chart raised there) is drawn here
            return [drawn[index] if index in drawn else (key, file, title, outputs.chart_png(draw, self._dpi))
                    for index, (key, file, title, draw) in enumerate(plan)]


class ChartProcess:
    """One worker process drawing charts with this one; a context manager.

    >>> with ChartProcess() as worker:                                     # doctest: +SKIP
    ...     pending = worker.submit("charts", ds, prices, 2060, "both")
    ...     ...                                                           # write the rest
    ...     charts = pending.result()          # [(key, file, title, PNG bytes), ...]

    ``enabled=False``: no worker, every chart is drawn by :meth:`_Pending.result`.
    """

    def __init__(self, enabled: bool = True):
        self._connection = self._process = self._claims = None
        self._next, self._folder = 0, None
        self._drawn, self._ended = {}, {}  # job -> {index: chart}; job -> whether the worker ended it well
        self._counts = {}  # job -> its number of charts, once the worker has its plan
        self._entries = {}  # job -> (key, file name, title) of each of its charts, likewise
        self._helper = None  # the pipe from the worker's helpers (:func:`_fork_helper`)
        if enabled:
            self._start()

    def _start(self) -> None:
        threads = sys.modules.get("numba.np.ufunc.parallel")  # looked at, never imported here
        started = bool(getattr(threads, "_is_initialized", False))
        try:
            context = multiprocessing.get_context("forkserver" if started else "fork")
            if started:  # the server imports these once; every worker forked from it has them
                context.set_forkserver_preload(["socsec_proj.report.outputs", "matplotlib.figure"])
            _remove_stale()
            self._folder = Path(tempfile.mkdtemp(prefix=f"{_PREFIX}{os.getpid()}-", dir=_MEMORY))
            self._claims = context.Array("l", (HELP + 1) * SLOTS)
            self._connection, theirs = context.Pipe()
            self._helper, helpers = context.Pipe()
            self._process = context.Process(target=_serve, args=(theirs, self._claims, helpers), daemon=True,
                                            name="socsec-proj charts")
            self._process.start()
            theirs.close()
            helpers.close()
        except (OSError, ValueError, RuntimeError):  # no fork here, out of processes: draw here
            self.close()

    def submit(self, name: str, *args, dpi: int = 150) -> _Pending:
        """Ask the worker for the charts of ``outputs.PLANS[name](*args)`` (``"charts"``:
        :func:`~.outputs.chart_plan`, ``"draw_charts"``: :func:`~.outputs.draw_chart_plan`)."""
        number = None
        if self._connection is not None:
            path = self._folder / f"{self._next}.pickle"
            try:
                # the arguments (a projection is tens of MB) go through a file in memory, in one
                # write: through the pipe, each 64 kB would wait for this busy process's GIL
                path.write_bytes(pickle.dumps(args, protocol=pickle.HIGHEST_PROTOCOL))
            except (OSError, TypeError, pickle.PicklingError):  # no room: this job is drawn here
                path.unlink(missing_ok=True)
                return _Pending(self, None, name, args, dpi)
            number, self._next = self._next, self._next + 1
            slot = number % SLOTS
            with self._claims.get_lock():
                self._claims[2 * slot] = self._claims[2 * slot + 1] = self._claims[HELP * SLOTS + slot] = 0
            try:
                self._connection.send((number, name, str(path), dpi))
            except (OSError, ValueError):  # the worker is gone: what it drew is read, the rest drawn here
                pass
        return _Pending(self, number, name, args, dpi)

    def _help(self, number: int) -> bool:
        """Ask the worker to fork a helper for job ``number`` (it does before its next chart);
        False when it cannot (no pipe for one)."""
        if self._helper is None or self._claims is None:
            return False
        with self._claims.get_lock():
            self._claims[HELP * SLOTS + number % SLOTS] = HELP_WANTED
        return True

    def _close_helper(self) -> None:
        if self._helper is not None:
            self._helper.close()
            self._helper = None

    def _record(self, got: int, index, value) -> None:
        """Note one message of the worker's (or a helper's): a job's end, its count, or a chart."""
        if index is None:
            self._ended[got] = value
        elif index == COUNT:
            self._counts[got], self._entries[got] = len(value), value
        else:
            key, file, title, image = value
            try:
                self._drawn.setdefault(got, {})[index] = (key, file, title, Path(image).read_bytes())
                Path(image).unlink()
            except OSError:  # gone: drawn here instead
                pass

    def _delivered(self, number: int) -> bool:
        """Whether every chart of job ``number`` has come back."""
        return number in self._counts and len(self._drawn.get(number, ())) == self._counts[number]

    def _finished(self, number: int, block: bool) -> bool:
        """Whether the worker is done with job ``number`` (its charts, and its helper's, in
        ``_drawn``), reading what the two sent; ``block``: wait for it (True also when the worker
        is gone)."""
        while number not in self._ended:
            if self._connection is None:
                return block
            pipes = [self._connection] if self._helper is None else [self._connection, self._helper]
            ready = wait(pipes) if block else [pipe for pipe in pipes if pipe.poll()]
            if not ready:
                return False
            if self._helper in ready:  # first: a helper's charts are sent before the worker's end of the job
                self._read_helper()
            if self._connection in ready:
                try:
                    got, index, value = self._connection.recv()
                except (EOFError, OSError):
                    self.close(kill=True)
                    return block
                if index is None:  # the job's helper ended before the worker said so: all it sent is here
                    self._read_helper()
                self._record(got, index, value)
        return True

    def _read_helper(self) -> None:
        """Read what the helpers have sent so far."""
        try:
            while self._helper is not None and self._helper.poll():
                self._record(*self._helper.recv())
        except (EOFError, OSError):  # the worker (which holds the other end) is gone, or never had it
            self._close_helper()

    def _unclaimed(self, number: int) -> int:
        """How many charts of job ``number`` nobody has claimed yet, as far as the worker has told
        (0 once it reported the job done; all of them, 1,000, before it has the job's plan)."""
        self._finished(number, block=False)  # read what the worker sent so far
        if number in self._ended or self._claims is None:
            return 0
        if number not in self._counts:
            return 1000
        with self._claims.get_lock():
            claimed = self._claims[2 * (number % SLOTS)] + self._claims[2 * (number % SLOTS) + 1]
        return max(self._counts[number] - claimed, 0)

    def _take(self, number: int) -> dict:
        self._ended.pop(number, None)
        self._counts.pop(number, None)
        self._entries.pop(number, None)
        return self._drawn.pop(number, {})

    def close(self, kill: bool = False) -> None:
        """Stop the worker and wait for it: killed at once with ``kill`` (an interrupted
        command), else when it does not end within :data:`CLOSE_WAIT`."""
        connection, process, self._connection, self._process = self._connection, self._process, None, None
        self._close_helper()  # the helper ends with the worker (killed by it, or with it)
        if process is not None and process.pid is not None and kill:
            process.kill()
        if connection is not None:
            if not kill:
                try:
                    connection.send(None)
                except (OSError, ValueError):
                    pass
            connection.close()
        if process is not None and process.pid is not None:
            process.join(None if kill else CLOSE_WAIT)
            if process.is_alive():
                process.kill()
                process.join()
        if self._folder is not None:  # what the worker did not get to, or wrote and we did not read
            shutil.rmtree(self._folder, ignore_errors=True)
            self._folder = None

    @property
    def running(self) -> bool:
        """Whether the worker was started and has not been stopped (the charts are drawn there)."""
        return self._connection is not None

    def __enter__(self) -> ChartProcess:
        return self

    def __exit__(self, kind, error, traceback) -> None:
        self.close(kill=kind is not None)
