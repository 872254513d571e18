"""Combined Drought Indicator state machine (Cammalleri et al. 2021), per pixel, numpy in/out.

Each step codes its four inputs as one of 18 combinations (precipitation deficit yes/no x three
soil-moisture anomaly classes x three fAPAR anomaly classes) and looks up the next class in a
``(n_classes, 18)`` transition table indexed by the previous class. The table comes from a
versioned rule set (``ldnkit/data/early_warning/cdi_rules_*.yaml``); the kernel knows no rule.

Missing inputs are forward-filled, each input on its own, for up to ``max_fill`` consecutive
steps (the last valid value is carried); a step with an input missing longer than that is
:data:`ldnkit.codes.EW_NODATA` and leaves the previous class unchanged. All of this lives in the
state arrays (previous class, gap counters, last valid inputs), which the kernel updates in place,
so running month by month from a saved state gives the same classes as one run over all months.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from ldnkit import codes

EW_NODATA = codes.EW_NODATA
#: Number of input combinations (2 precipitation x 3 soil-moisture x 3 fAPAR classes).
N_COMBINATIONS = 18
#: Order of the inputs in the state arrays.
INPUTS = ("spi1", "spi3", "soil_moisture_z", "fapar_z")


def combination_code(index: int) -> int:
    """Three-digit code (e.g. 131) of combination ``index`` (0..17)."""
    p, rest = divmod(index, 9)
    s, f = divmod(rest, 3)
    return 100 * (p + 1) + 10 * (s + 1) + (f + 1)


def combination_index(code: int) -> int:
    """Index 0..17 of a three-digit combination code (inverse of :func:`combination_code`)."""
    p, s, f = code // 100, (code // 10) % 10, code % 10
    if not (p in (1, 2) and s in (1, 2, 3) and f in (1, 2, 3)):
        raise ValueError(f"{code} is not a CDI input combination (1-2, 1-3, 1-3)")
    return (p - 1) * 9 + (s - 1) * 3 + (f - 1)


@numba.njit(cache=True, nogil=True)
def _z_class(z: float, z_low: float, z_high: float) -> int:
    # 0 = anomaly (z < z_low), 1 = below normal, 2 = normal or above
    if z < z_low:
        return 0
    if z < z_high:
        return 1
    return 2


@numba.njit(cache=True, nogil=True)
def cdi_steps(
    inputs: np.ndarray,
    transition: np.ndarray,
    thresholds: np.ndarray,
    max_fill: int,
    prev_class: np.ndarray,
    gap_count: np.ndarray,
    last_valid: np.ndarray,
) -> np.ndarray:
    """Run the state machine over ``inputs`` ``(4, n_time, n_pixel)`` float32 (SPI-1, SPI-3,
    soil-moisture z, fAPAR z; NaN missing).

    ``transition`` int8 ``(n_classes, 18)``; ``thresholds`` float64 ``(spi1, spi3, z_low,
    z_high)``. State arrays (updated in place): ``prev_class`` int8 ``(n_pixel,)``,
    ``gap_count`` int16 ``(4, n_pixel)`` (consecutive missing steps of each input),
    ``last_valid`` float32 ``(4, n_pixel)`` (NaN = none yet). Returns int8 ``(n_time, n_pixel)``.
    """
    n_time, n_pixel = inputs.shape[1], inputs.shape[2]
    out = np.empty((n_time, n_pixel), dtype=np.int8)
    values = np.empty(4, dtype=np.float64)
    for t in range(n_time):  # time outer, pixels inner: each step reads contiguous rows
        for i in range(n_pixel):
            usable = True
            for k in range(4):
                v = inputs[k, t, i]
                if math.isnan(v):
                    if gap_count[k, i] < 32767:
                        gap_count[k, i] += 1
                    v = last_valid[k, i]
                    if gap_count[k, i] > max_fill or math.isnan(v):
                        usable = False
                else:
                    gap_count[k, i] = 0
                    last_valid[k, i] = v
                values[k] = v
            if not usable:
                out[t, i] = EW_NODATA
                continue
            deficit = values[0] < thresholds[0] or values[1] < thresholds[1]
            p = 0 if deficit else 1
            s = _z_class(values[2], thresholds[2], thresholds[3])
            f = _z_class(values[3], thresholds[2], thresholds[3])
            cls = transition[prev_class[i], p * 9 + s * 3 + f]
            out[t, i] = cls
            prev_class[i] = cls
    return out
