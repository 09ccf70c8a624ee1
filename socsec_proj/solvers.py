"""Root finding in one unknown, for the calibrations that solve one equation.

:func:`brentq` is Brent's method as SciPy writes it (``scipy/optimize/Zeros/brentq.c``, the
code behind ``scipy.optimize.brentq``), operation for operation, so it returns the same root to
the bit (``tests/test_solvers.py`` holds it equal). It is here rather than imported because
``scipy.optimize`` costs 0.12-0.16 s to import (on top of the parts of SciPy numba and the
stages import anyway), paid by every ``socsec-proj`` command for one root per projection.
"""

from __future__ import annotations

import math

#: SciPy's default relative tolerance of ``brentq``: 4 x the machine epsilon of float64.
RTOL = 4 * 2.220446049250313e-16


def brentq(f, a: float, b: float, xtol: float = 2e-12, rtol: float = RTOL, maxiter: int = 100) -> float:
    """A root of ``f`` in ``[a, b]`` by Brent's method (inverse quadratic interpolation,
    secant and bisection steps), as ``scipy.optimize.brentq``.

    Parameters
    ----------
    f : callable
        ``f(x) -> float``, continuous, with ``f(a)`` and ``f(b)`` of opposite signs.
    a, b : float
        The bracket.
    xtol, rtol : float
        The root is within ``xtol + rtol * |x|`` of the returned ``x``.
    maxiter : int
        Iterations at most.

    Raises
    ------
    ValueError
        If ``f(a)`` and ``f(b)`` have the same sign, or the method has not converged in
        ``maxiter`` iterations.
    """
    xpre, xcur = float(a), float(b)
    xblk = fblk = spre = scur = 0.0
    fpre, fcur = float(f(xpre)), float(f(xcur))
    if fpre == 0:
        return xpre
    if fcur == 0:
        return xcur
    if math.copysign(1.0, fpre) == math.copysign(1.0, fcur):
        raise ValueError("f(a) and f(b) must have different signs")
    for _ in range(maxiter):
        if fpre != 0 and fcur != 0 and math.copysign(1.0, fpre) != math.copysign(1.0, fcur):
            xblk, fblk = xpre, fpre
            spre = scur = xcur - xpre
        if abs(fblk) < abs(fcur):
            xpre, xcur, xblk = xcur, xblk, xcur
            fpre, fcur, fblk = fcur, fblk, fcur
        delta = (xtol + rtol * abs(xcur)) / 2
        sbis = (xblk - xcur) / 2
        if fcur == 0 or abs(sbis) < delta:
            return xcur
        if abs(spre) > delta and abs(fcur) < abs(fpre):
            if xpre == xblk:  # interpolate
                stry = -fcur * (xcur - xpre) / (fcur - fpre)
            else:  # extrapolate
                dpre = (fpre - fcur) / (xpre - xcur)
                dblk = (fblk - fcur) / (xblk - xcur)
                stry = -fcur * (fblk * dblk - fpre * dpre) / (dblk * dpre * (fblk - fpre))
            if 2 * abs(stry) < min(abs(spre), 3 * abs(sbis) - delta):  # good short step
                spre, scur = scur, stry
            else:  # bisect
                spre = scur = sbis
        else:  # bisect
            spre = scur = sbis
        xpre, fpre = xcur, fcur
        if abs(scur) > delta:
            xcur += scur
        else:
            xcur += delta if sbis > 0 else -delta
        fcur = float(f(xcur))
    raise ValueError(f"Brent's method did not converge in {maxiter} iterations")
