"""National pooling of the urban-employee pension (全国统筹; the central adjustment fund before 2022).

Each province remits a share of a notional contribution base, its average wage x 90 % x its
insured workers (国发〔2018〕18号), and receives the same amount per retiree as every other
province: the national remittances divided by the national retirees. The net transfers sum
to zero nationally every year, by construction. ``employee_pension.national_pooling`` switches
it off; ``employee_pension.pooling_remittance_share`` sets the share.
"""

from __future__ import annotations

import numpy as np

#: The notional base is 90 % of the provincial average wage (国发〔2018〕18号).
BASE_SHARE_OF_WAGE = 0.9


def transfers(parameters, years, workers, retirees, wages):
    """Net pooling transfer received by each province [CNY/year], ``[province, year]``.

    Parameters
    ----------
    parameters : ParameterSet
    years : array_like of int
    workers, retirees : numpy.ndarray, shape (..., P, Y)
        Insured workers and pensioners [persons]; any leading axes (draws) pool separately.
    wages : numpy.ndarray, shape (..., P, Y)
        Provincial average wage [CNY/month].

    Returns
    -------
    numpy.ndarray, shape (..., P, Y)
        Allocation less remittance in whole yuan; every column sums to exactly zero.
    """
    share = np.asarray(parameters.get("employee_pension.pooling_remittance_share").annual(years), dtype=float)
    active = np.asarray(parameters.get("employee_pension.national_pooling").annual(years), dtype=bool)
    remitted = share * active * wages * 12.0 * BASE_SHARE_OF_WAGE * workers
    total_retirees = retirees.sum(axis=-2, keepdims=True)
    per_retiree = np.divide(remitted.sum(axis=-2, keepdims=True), total_retirees,
                            out=np.zeros(total_retirees.shape), where=total_retirees > 0)
    allocated = per_retiree * retirees
    # Money in whole yuan: integers of this size are exact in floating point, so after the
    # largest recipient takes the rounding residue the transfers sum to exactly zero.
    net = np.round(allocated - remitted)
    largest = np.argmax(retirees, axis=-2)[..., None, :]
    residue = np.take_along_axis(net, largest, axis=-2) - net.sum(axis=-2, keepdims=True)
    np.put_along_axis(net, largest, residue, axis=-2)
    return net
