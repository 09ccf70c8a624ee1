"""Brent's method of ``solvers`` against SciPy's, to the bit."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import brentq as scipy_brentq

from socsec_proj.solvers import brentq


def test_a_hand_case():
    assert brentq(lambda x: x * x - 2.0, 0.0, 2.0, xtol=1e-14) == pytest.approx(math.sqrt(2.0), abs=1e-14)


@settings(deadline=None, max_examples=300)
@given(root=st.floats(-5, 5), slope=st.floats(0.01, 100), curve=st.floats(-2, 2), cubic=st.floats(0, 1),
       width=st.floats(0.1, 20), offset=st.floats(0.05, 0.95), xtol=st.sampled_from([1e-10, 2e-12, 1e-6]))
def test_the_same_root_as_scipy_to_the_bit(root, slope, curve, cubic, width, offset, xtol):
    # monotone on the bracket: slope + 2 curve u + 3 cubic u^2 > 0 for |u| <= width is not guaranteed,
    # so only brackets where the signs differ are compared (the others must raise in both)
    def f(x):
        u = x - root
        return slope * u + curve * u * u + cubic * u ** 3

    a, b = root - offset * width, root + (1 - offset) * width
    try:
        expected = scipy_brentq(f, a, b, xtol=xtol)
    except ValueError:
        with pytest.raises(ValueError):
            brentq(f, a, b, xtol=xtol)
        return
    assert brentq(f, a, b, xtol=xtol) == expected


def test_same_signs_are_refused():
    with pytest.raises(ValueError, match="different signs"):
        brentq(lambda x: x * x + 1.0, -1.0, 1.0)
