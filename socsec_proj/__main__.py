"""The ``socsec-proj`` command's entry point (and ``python -m socsec_proj``): Ctrl-C first.

The command line imports numba, xarray and scipy (about 1.5 s) before it computes anything;
a Ctrl-C then must end with one line and exit 130, not a traceback from inside an import.
This module installs that handling before :mod:`socsec_proj.cli` is even imported, so the only
moment left uncovered is Python's own start-up (a few tens of milliseconds);
:func:`socsec_proj.cli.main` hands SIGINT back to Python's ``KeyboardInterrupt`` once it is
inside the ``try`` that reports it (and removes a half-written result).
"""

from __future__ import annotations

import gc
import os
import signal
import sys

#: The line a Ctrl-C prints (the same as :func:`socsec_proj.cli.main`'s).
INTERRUPTED = "socsec-proj: interrupted (Ctrl-C); no result was left half-written\n"


def _interrupted_at_start(signum, frame):
    os.write(2, INTERRUPTED.encode())
    os._exit(130)  # nothing was written yet: nothing to clean up


_interrupted_at_start.at_start = True


def main() -> int:
    """Install the start-up Ctrl-C handler, then run :func:`socsec_proj.cli.main`."""
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:  # not if the user ignores SIGINT
        signal.signal(signal.SIGINT, _interrupted_at_start)
    from .cli import main as cli_main

    try:
        code = cli_main()
    except KeyboardInterrupt:  # a Ctrl-C in the instant between the command's last step and its end
        os.write(2, INTERRUPTED.encode())
        code = 130
    _exit_without_collecting()
    return code


def _exit_without_collecting() -> None:
    """Let the interpreter end without one last pass of the cyclic garbage collector.

    When Python exits it collects every object it tracks (numba's, pandas', xarray's and
    matplotlib's modules, the loaded kernels, the projections) and then frees them one by one:
    measured after ``socsec-proj run baseline`` on 2 cores, 0.73-0.82 s between the command's
    end and the process's, a fifth of the whole run. Frozen (``gc.freeze``) and with the
    collector off, the same exit took 0.07-0.12 s. Only the command line's own process ends
    this way: everything it writes is closed by then (the result files are written and renamed
    inside the command; Python still flushes ``sys.stdout`` and ``sys.stderr`` on the way out),
    and :func:`socsec_proj.cli.main` called from Python leaves the caller's collector as it was.
    """
    gc.disable()
    gc.freeze()


if __name__ == "__main__":
    sys.exit(main())
