"""The provinces' demography against the census: fertility and life expectancy by province.

:func:`provincial_checks` reads a projection's Dataset and the census figures embedded in
``params/demography/provincial_census_checks.csv`` (see ``params/SOURCES.md#provincial-checks``)
and returns one table, the one notebook 02 (calibration) shows.
"""

from __future__ import annotations

import pandas as pd
import xarray as xr

from ..inputs import data


def provincial_checks(ds: xr.Dataset, year: int = 2020) -> pd.DataFrame:
    """Each province's projected fertility and life expectancy beside the census figures.

    Parameters
    ----------
    ds : xarray.Dataset
        A projection with ``total_fertility_rate`` (province, year) and ``life_expectancy``
        (province, sex, year), e.g. ``ssp.run("baseline")``.
    year : int, default 2020
        The projection year compared.

    Returns
    -------
    pandas.DataFrame
        Indexed by province (ISO code, the Dataset's provinces): ``tfr`` [children/woman] and
        ``tfr_census_2020`` (the indirect census TFR); ``e0_male``, ``e0_female`` [years] and the
        official ``e0_1990_*``, ``e0_2000_*``; ``rank_e0_male``, ``rank_e0_female`` (1 = longest
        lived of the provinces shown) and ``rank_e0_2000_male``, ``rank_e0_2000_female``.
    """
    provinces = list(ds["province"].values)
    census = data.provincial_census_checks().loc[provinces]
    e0 = ds["life_expectancy"].sel(year=year)
    frame = pd.DataFrame(index=pd.Index(provinces, name="province"))
    frame["tfr"] = ds["total_fertility_rate"].sel(year=year, province=provinces).values
    frame["tfr_census_2020"] = census["tfr_census_2020"]
    for sex in ("male", "female"):
        frame[f"e0_{sex}"] = e0.sel(sex=sex, province=provinces).values
        frame[f"e0_1990_{sex}"] = census[f"e0_1990_{sex}"]
        frame[f"e0_2000_{sex}"] = census[f"e0_2000_{sex}"]
    for sex in ("male", "female"):
        frame[f"rank_e0_{sex}"] = frame[f"e0_{sex}"].rank(ascending=False).astype(int)
        frame[f"rank_e0_2000_{sex}"] = frame[f"e0_2000_{sex}"].rank(ascending=False, method="min").astype(int)
    return frame
