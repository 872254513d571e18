"""Vectorized exp and log over the lanes of a calendar month (SIMD-friendly loops, no libm calls)."""

from __future__ import annotations

import math

import numba
import numpy as np

# Written as branch-free loops over contiguous arrays so LLVM emits SIMD code (error_model="numpy"
# drops the division-by-zero checks that block vectorization; "contract" allows FMAs). exp and log
# are evaluated here rather than by libm, whose calls do not vectorize.

#: numba options of the lane functions.
LANES = {"cache": True, "nogil": True, "error_model": "numpy", "fastmath": {"contract"}}
# Inlined at numba IR level into the kernel: a call with array arguments costs an atomic
# reference-count increment and decrement per array (NRT), which cannot be removed across calls;
# with ~10 such calls per calendar month they took ~40 % of the kernel's time.
INLINE = {**LANES, "inline": "always"}
_LN2_HI = 6.93147180369123816490e-01  # ln 2 split so that k * _LN2_HI is exact (fdlibm)
_LN2_LO = 1.90821492927058770002e-10
_LOG2E = 1.4426950408889634
_SQRT2 = 1.4142135623730951


@numba.njit(**LANES)
def exp_lanes(x: np.ndarray, k: int, out: np.ndarray, ibuf: np.ndarray) -> None:
    """exp(x[:k]) into out[:k] (within 2 ulp; 0 below -708). ``ibuf`` is an int64 work array."""
    exp_into(x, k, out, ibuf, ibuf.view(np.float64))


# The kernel calls the *_into functions, which take the bit views of their work arrays from the
# caller: ``ndarray.view`` costs about 30 ns per call in numba, more than a 40-lane log itself.


@numba.njit(**INLINE)
def exp_into(x: np.ndarray, k: int, out: np.ndarray, ibuf: np.ndarray, two_k: np.ndarray) -> None:
    """:func:`exp_lanes` with ``two_k`` = ``ibuf.view(np.float64)``."""
    for i in range(k):
        xi = min(max(x[i], -708.0), 709.0)
        kf = math.floor(xi * _LOG2E + 0.5)
        r = (xi - kf * _LN2_HI) - kf * _LN2_LO  # |r| <= 0.347: Taylor to r**13 is exact to 4e-18
        out[i] = 1.0 + r * (
            1.0
            + r
            * (
                1.0 / 2
                + r
                * (
                    1.0 / 6
                    + r
                    * (
                        1.0 / 24
                        + r
                        * (
                            1.0 / 120
                            + r
                            * (
                                1.0 / 720
                                + r
                                * (
                                    1.0 / 5040
                                    + r
                                    * (
                                        1.0 / 40320
                                        + r
                                        * (
                                            1.0 / 362880
                                            + r
                                            * (
                                                1.0 / 3628800
                                                + r
                                                * (
                                                    1.0 / 39916800
                                                    + r * (1.0 / 479001600 + r * (1.0 / 6227020800))
                                                )
                                            )
                                        )
                                    )
                                )
                            )
                        )
                    )
                )
            )
        )
        ibuf[i] = (np.int64(kf) + 1023) << 52  # the bits of 2**k
    for i in range(k):
        v = out[i] * two_k[i]
        out[i] = v if x[i] >= -708.0 else 0.0


@numba.njit(**LANES)
def log_lanes(x: np.ndarray, k: int, out: np.ndarray, ibuf: np.ndarray) -> None:
    """ln(x[:k]) into out[:k] for positive normal x (within 2 ulp); other lanes get garbage.

    ``x = 2**e * m`` with ``m`` in [sqrt(1/2), sqrt(2)) read from the bits;
    ``ln m = 2 atanh(f)``, ``f = (m - 1) / (m + 1)``, by its series to f**23.
    """
    log_into(x.view(np.int64), k, out, ibuf, ibuf.view(np.float64))


@numba.njit(**INLINE)
def log_into(bits: np.ndarray, k: int, out: np.ndarray, ibuf: np.ndarray, mant: np.ndarray) -> None:
    """:func:`log_lanes` of the values whose bits are ``bits`` (an int64 view); ``mant`` =
    ``ibuf.view(np.float64)``."""
    for i in range(k):
        ibuf[i] = (bits[i] & 0x000FFFFFFFFFFFFF) | 0x3FF0000000000000
    for i in range(k):
        e = np.float64((bits[i] >> 52) - 1023)
        m = mant[i]
        big = m > _SQRT2
        m = m * 0.5 if big else m
        e = e + 1.0 if big else e
        f = (m - 1.0) / (m + 1.0)
        f2 = f * f
        t = f2 * (
            1.0 / 3
            + f2
            * (
                1.0 / 5
                + f2
                * (
                    1.0 / 7
                    + f2
                    * (
                        1.0 / 9
                        + f2
                        * (
                            1.0 / 11
                            + f2
                            * (
                                1.0 / 13
                                + f2
                                * (
                                    1.0 / 15
                                    + f2 * (1.0 / 17 + f2 * (1.0 / 19 + f2 * (1.0 / 21 + f2 * (1.0 / 23))))
                                )
                            )
                        )
                    )
                )
            )
        )
        out[i] = e * _LN2_HI + (2.0 * f + (2.0 * f * t + e * _LN2_LO))
