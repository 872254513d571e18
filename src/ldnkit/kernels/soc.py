"""Tier 1 SOC stock bookkeeping kernels (methodology §1.6). numpy in, numpy out.

Land-cover classes are the 7 UNCCD classes (1 tree-covered, 2 grassland, 3 cropland, 4 wetland,
5 artificial, 6 other land, 7 water).
"""

from __future__ import annotations

import numba
import numpy as np

# Markers in the conversion table for the climate-dependent cells (Trends.Earth uses 99 / -99).
_F = -1.0  # f, the long-term-cultivated F_LU of the pixel's climate
_INV_F = -2.0  # 1 / f

#: Land-use conversion coefficients after 20 years, rows initial, columns final (methodology §1.6,
#: Trends.Earth ``soc_change_factor_for_land_use``).
_FLU_TEMPLATE = np.array(
    [
        # Tree  Grass  Crop       Wetland    Artif Other Water
        [1.0, 1.0, _F, 1.0, 0.1, 0.1, 1.0],  # Tree-covered
        [1.0, 1.0, _F, 1.0, 0.1, 0.1, 1.0],  # Grassland
        [_INV_F, _INV_F, 1.0, 1.0 / 0.71, 0.1, 0.1, 1.0],  # Cropland
        [1.0, 1.0, 0.71, 1.0, 0.1, 0.1, 1.0],  # Wetland
        [2.0, 2.0, 2.0, 2.0, 1.0, 1.0, 1.0],  # Artificial
        [2.0, 2.0, 2.0, 2.0, 1.0, 1.0, 1.0],  # Other land
        [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0],  # Water
    ],
    dtype=np.float64,
)


@numba.njit(cache=True)
def flu_factor(initial: int, final: int, f: float) -> float:
    """F_LU for a transition between UNCCD classes 1..7 under climate factor ``f``."""
    v = _FLU_TEMPLATE[initial - 1, final - 1]
    if v == _F:
        return f
    if v == _INV_F:
        return 1.0 / f
    return v


def soc_conversion_matrix(f: float) -> np.ndarray:
    """7x7 land-use conversion coefficients F_LU (rows initial, columns final class).

    ``f`` is the long-term-cultivated factor of the climate (0.80 temperate/boreal dry, 0.69
    temperate/boreal moist, 0.58 tropical dry, 0.48 tropical moist, 0.64 tropical montane):
    entering cropland from forest/grassland multiplies the stock by f over 20 years, leaving it
    for forest/grassland by 1/f.

    >>> float(soc_conversion_matrix(0.48)[0, 2])  # tree-covered -> cropland
    0.48
    """
    f = float(f)
    if not np.isfinite(f) or f <= 0:
        raise ValueError(f"climate factor f must be a positive number, got {f}")
    out = _FLU_TEMPLATE.copy()
    out[out == _F] = f
    out[out == _INV_F] = 1.0 / f
    return out


@numba.njit(cache=True, nogil=True)  # release the GIL so dask threads run blocks in parallel
def soc_bookkeeping(
    lc: np.ndarray,
    reference: np.ndarray,
    f: np.ndarray,
    fmg: np.ndarray,
    fi: np.ndarray,
    years_to_equilibrium: int,
) -> np.ndarray:
    """Annual SOC stocks from a reference stock and annual land cover.

    Parameters
    ----------
    lc : int16 (year, y, x) UNCCD classes; anything outside 1..7 is missing.
    reference : float64 (y, x) SOC stock (t/ha) in the first year; NaN or < 0 is missing.
    f : float64 (y, x) climate factor of each pixel; NaN or <= 0 is missing.
    fmg, fi : float64 (7, 7) management and input factors per transition.
    years_to_equilibrium : years over which a transition's change is spread (20).

    Returns
    -------
    float32 (year, y, x) stocks. A transition at year t (class differs from t-1) sets the annual
    change d = (S[t-1] - S[t-1]·F_LU·F_MG·F_I) / years_to_equilibrium from the stock at that
    moment and restarts the count; d is removed in each of the next ``years_to_equilibrium``
    years (starting at t), after which the stock stays constant (Trends.Earth ``soc()``). A
    missing reference or climate gives NaN for every year; a missing class gives NaN from that
    year on (the transition history is unknown after it).
    """
    n = lc.shape[0]
    return soc_bookkeeping_layers(
        lc, np.arange(n), np.arange(n), n, reference, f, fmg, fi, years_to_equilibrium
    )


@numba.njit(cache=True, nogil=True)
def soc_bookkeeping_layers(
    layers: np.ndarray,
    layer_of_year: np.ndarray,
    out_slot: np.ndarray,
    n_out: int,
    reference: np.ndarray,
    f: np.ndarray,
    fmg: np.ndarray,
    fi: np.ndarray,
    years_to_equilibrium: int,
) -> np.ndarray:
    """:func:`soc_bookkeeping` on land cover given as a few maps, returning only some years.

    ``layers`` (n_layers, y, x) holds each distinct land-cover map once; the class of year ``t``
    (0-based from the reference year) is ``layers[layer_of_year[t]]`` — maps carried forward over
    many years are not repeated. The stock of year ``t`` goes to ``out[out_slot[t]]`` when
    ``out_slot[t] >= 0``; the result is float32 (n_out, y, x), NaN where not written.
    """
    n_years = layer_of_year.shape[0]
    _, ny, nx = layers.shape
    out = np.full((n_out, ny, nx), np.nan, dtype=np.float32)
    for r in range(ny):
        for c in range(nx):
            stock = reference[r, c]
            fp = f[r, c]
            prev = layers[layer_of_year[0], r, c]
            if not (stock >= 0.0) or not (fp > 0.0) or prev < 1 or prev > 7:
                continue  # comparisons with NaN are False, so NaN lands here
            if out_slot[0] >= 0:
                out[out_slot[0], r, c] = stock
            delta = 0.0
            left = 0
            for t in range(1, n_years):
                cur = layers[layer_of_year[t], r, c]
                if cur < 1 or cur > 7:
                    break
                if cur != prev:
                    k = flu_factor(prev, cur, fp) * fmg[prev - 1, cur - 1] * fi[prev - 1, cur - 1]
                    delta = (stock - stock * k) / years_to_equilibrium
                    left = years_to_equilibrium
                if left > 0:
                    stock -= delta
                    left -= 1
                if out_slot[t] >= 0:
                    out[out_slot[t], r, c] = stock
                prev = cur
    return out
