"""Money in 2024 prices: the consumer-price index a scenario assumes, to deflate nominal yuan.

A balance of -1,800 trillion nominal yuan in 2100 says little to a reader who thinks in
today's money and flattens 2024-2060 into a line at zero. The charts and the HTML report
therefore show money in prices of :data:`PRICE_BASE_YEAR`, deflated by the scenario's own
CPI assumption (``economy.cpi_inflation``), so a scenario with higher inflation is deflated
by its higher prices.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

__all__ = ["CPI_PARAMETER", "PRICE_BASE_YEAR", "price_index", "to_base_prices"]

#: The year whose prices real figures are in.
PRICE_BASE_YEAR = 2024

#: The parameter holding the yearly CPI inflation [/1].
CPI_PARAMETER = "economy.cpi_inflation"


def price_index(scenario, years, base_year: int = PRICE_BASE_YEAR) -> xr.DataArray:
    """The consumer-price level of each year relative to ``base_year`` [1].

    ``P(base) = 1``, ``P(y) = P(y-1) x (1 + cpi(y))`` after it and ``P(y) = P(y+1) / (1 + cpi(y+1))``
    before it, with ``cpi(y)`` the annual (day-weighted) CPI inflation of calendar year ``y``
    from the scenario's parameters. Stocks at the end of a year (balances) and flows of a year
    are divided by the same index: the difference between a year's average and its end is
    half a year of inflation (about 1 %), well inside the projection's uncertainty.

    Parameters
    ----------
    scenario : Scenario
        A loaded scenario (its ``parameters`` hold ``economy.cpi_inflation``).
    years : array_like of int
        Consecutive calendar years.
    base_year : int, default 2024

    Returns
    -------
    xarray.DataArray
        Dimension ``year``; ``units = "1"``, ``base_year`` attribute.
    """
    years = np.asarray(years, dtype=int)
    span = np.arange(min(int(years.min()), base_year), max(int(years.max()), base_year) + 1)
    inflation = np.asarray(scenario.parameters.get(CPI_PARAMETER).annual(span), dtype=float)
    growth = np.cumprod(1.0 + inflation)  # growth[i] = prod_{k <= i} (1 + cpi(span[k]))
    level = growth / growth[span == base_year][0]
    index = xr.DataArray(level, coords={"year": span}, dims="year", name="price_index",
                         attrs={"units": "1", "long_name": f"consumer prices relative to {base_year}",
                                "base_year": base_year})
    return index.sel(year=years)


def to_base_prices(array: xr.DataArray, index: xr.DataArray | None) -> xr.DataArray:
    """``array`` [nominal yuan] divided by the price ``index`` over ``year``; as is when None."""
    if index is None:
        return array
    deflated = array / index.sel(year=array["year"])
    deflated.attrs = dict(array.attrs)
    deflated.name = array.name
    return deflated
