"""Standard normal CDF and quantile: Wichura (1988), Algorithm AS 241 (PPND16), accurate to about 1e-16;
scalar and vectorized over lanes."""

from __future__ import annotations

import math

import numba
import numpy as np

from ldnkit.kernels.spi.lanes import INLINE, LANES, log_into

_SQRT1_2 = math.sqrt(0.5)

AS241_A = (
    3.3871328727963666080e0,
    1.3314166789178437745e2,
    1.9715909503065514427e3,
    1.3731693765509461125e4,
    4.5921953931549871457e4,
    6.7265770927008700853e4,
    3.3430575583588128105e4,
    2.5090809287301226727e3,
)
AS241_B = (
    1.0,
    4.2313330701600911252e1,
    6.8718700749205790830e2,
    5.3941960214247511077e3,
    2.1213794301586595867e4,
    3.9307895800092710610e4,
    2.8729085735721942674e4,
    5.2264952788528545610e3,
)
AS241_C = (
    1.42343711074968357734e0,
    4.63033784615654529590e0,
    5.76949722146069140550e0,
    3.64784832476320460504e0,
    1.27045825245236838258e0,
    2.41780725177450611770e-1,
    2.27238449892691845833e-2,
    7.74545014278341407640e-4,
)
AS241_D = (
    1.0,
    2.05319162663775882187e0,
    1.67638483018380384940e0,
    6.89767334985100004550e-1,
    1.48103976427480074590e-1,
    1.51986665636164571966e-2,
    5.47593808499534494600e-4,
    1.05075007164441684324e-9,
)
AS241_E = (
    6.65790464350110377720e0,
    5.46378491116411436990e0,
    1.78482653991729133580e0,
    2.96560571828504891230e-1,
    2.65321895265761230930e-2,
    1.24266094738807843860e-3,
    2.71155556874348757815e-5,
    2.01033439929228813265e-7,
)
AS241_F = (
    1.0,
    5.99832206555887937690e-1,
    1.36929880922735805310e-1,
    1.48753612908506148525e-2,
    7.86869131145613259100e-4,
    1.84631831751005468180e-5,
    1.42151175831644588870e-7,
    2.04426310338993978564e-15,
)


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _poly7(c: tuple, r: float) -> float:
    return ((((((c[7] * r + c[6]) * r + c[5]) * r + c[4]) * r + c[3]) * r + c[2]) * r + c[1]) * r + c[0]


@numba.njit(cache=True, nogil=True, error_model="numpy")
def ndtri(p: float) -> float:
    """Standard normal quantile (inverse CDF) of ``p``; -inf at 0, +inf at 1, NaN outside [0, 1]."""
    if not (0.0 <= p <= 1.0):
        return np.nan
    q = p - 0.5
    if abs(q) <= 0.425:
        r = 0.180625 - q * q
        return q * _poly7(AS241_A, r) / _poly7(AS241_B, r)
    r = p if q < 0.0 else 1.0 - p
    if r <= 0.0:
        return -np.inf if q < 0.0 else np.inf
    r = math.sqrt(-math.log(r))
    if r <= 5.0:
        r -= 1.6
        z = _poly7(AS241_C, r) / _poly7(AS241_D, r)
    else:
        r -= 5.0
        z = _poly7(AS241_E, r) / _poly7(AS241_F, r)
    return -z if q < 0.0 else z


@numba.njit(cache=True, nogil=True, error_model="numpy")
def ndtr(z: float) -> float:
    """Standard normal CDF."""
    return 0.5 * math.erfc(-z * _SQRT1_2)


_C = AS241_C
_D = AS241_D


@numba.njit(**LANES)
def ndtri_lanes(p: np.ndarray, k: int, z: np.ndarray, work: np.ndarray, ibuf: np.ndarray) -> None:
    """:func:`ndtri` of ``p[:k]`` into ``z[:k]``: both AS241 branches for every lane
    (vectorized, with the vectorized log), the rare far tails (p < 1.4e-11) and invalid p by
    the scalar function. ``work`` is a (2, >= k) work array."""
    ndtri_into(p, k, z, work, work.view(np.int64), ibuf, ibuf.view(np.float64))


@numba.njit(**INLINE)
def ndtri_into(
    p: np.ndarray,
    k: int,
    z: np.ndarray,
    work: np.ndarray,
    work_bits: np.ndarray,
    ibuf: np.ndarray,
    fbuf: np.ndarray,
) -> None:
    """:func:`ndtri_lanes` with the bit views ``work_bits`` of ``work`` and ``fbuf`` of ``ibuf``."""
    w = work[0]
    lw = work[1]
    for i in range(k):
        pi = p[i]
        w[i] = max(min(pi, 1.0 - pi), 1e-300)
    log_into(work_bits[0], k, lw, ibuf, fbuf)
    for i in range(k):
        q = p[i] - 0.5
        rc = 0.180625 - q * q
        rt = math.sqrt(-lw[i]) - 1.6
        central = abs(q) <= 0.425
        # both rational functions, one division
        num = q * _poly7(AS241_A, rc) if central else _poly7(_C, rt)
        den = _poly7(AS241_B, rc) if central else _poly7(_D, rt)
        zi = num / den
        z[i] = zi if central or q >= 0.0 else -zi
    for i in range(k):
        pi = p[i]
        if not (1.4e-11 < pi < 1.0 - 1.4e-11):
            z[i] = ndtri(pi)
