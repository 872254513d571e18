"""Standardized indices (SPI, SPEI) per cell: accumulation, per-calendar-month fit, CDF, z-score.

Numpy in, numpy out, serial (dask gives the parallelism). A block is ``(n_cell, n_time)`` monthly
values; every cell is processed on its own:

1. accumulation over ``scale`` months (the first ``scale - 1`` months, and any window holding a
   missing month, are NaN; a window of zeros is exactly 0 so it lands in the zero mass);
2. per calendar month, a fit over the reference-period values of that month:

   * ``GAMMA`` — two-parameter gamma with a probability of zero (mixed distribution), shape by
     Thom's (1958) approximation, the estimator of McKee et al., NCL, climate-indices and xclim
     ``method="APP"``; ``GAMMA_MLE`` — the exact maximum-likelihood shape (Newton on
     ``ln a - digamma(a) = ln(mean) - mean(ln x)`` started from Thom's value);
   * ``PEARSON3`` — Pearson type III by L-moments (Hosking 1990) of the non-zero values, with the
     same probability of zero;
   * ``LOGLOGISTIC`` — generalized logistic by L-moments (Hosking's PELGLO, the "log-logistic"
     of the R package SPEI), all values, no zero mass (for SPEI: precipitation minus PET);

3. probability ``p0 + (1 - p0) F(x)``, z-score by the inverse normal (Wichura's AS241),
   clipped to ``±clip``.

Special functions are implemented here because scipy's are not callable from numba:
regularized incomplete gamma (series and Lentz continued fraction, double precision, with a
Stirling-corrected prefactor for large shapes), AS241, digamma and trigamma.

Modules, each importing only those above it: :mod:`.lanes` (vectorized exp and log),
:mod:`.normal` (AS241 and the normal CDF), :mod:`.gamma` (incomplete gamma, digamma, trigamma),
:mod:`.fit` (distribution codes, estimators, per-month fits, the scalar CDF) and
:mod:`.standardize` (accumulation, the per-cell kernel and the block kernels).

Speed: the ~n_time/12 values of one calendar month of a cell share their distribution, so they
are processed together as SIMD lanes (:func:`gamma_p_lanes`, :func:`ndtri_lanes`,
:func:`exp_lanes`, :func:`log_lanes`); the scalar functions (:func:`gammainc_pq`,
:func:`ndtri`, :func:`cdf`) are the reference path, used for the rare lanes the vectorized
code does not cover. Blocks may be strided views (e.g. the transpose of a time-major block),
which avoids a transposing copy. The per-cell code (``standardize._cell``, with the lane functions
inlined into it) runs without numba's reference counting: its atomic increments and decrements
on every array slice and call took about a third of the time.
"""

from ldnkit.kernels.spi.fit import (
    GAMMA,
    GAMMA_MLE,
    LOGLOGISTIC,
    MIN_NONZERO,
    N_PAR,
    PEARSON3,
    cdf,
    fit_gamma,
    fit_sample,
    glo_from_lmoments,
    lmoments3,
    mle_shape,
    pearson3_from_lmoments,
    thom_shape,
)
from ldnkit.kernels.spi.gamma import digamma, gamma_p_lanes, gammainc, gammainc_pq, gammaincc, trigamma
from ldnkit.kernels.spi.lanes import exp_lanes, log_lanes
from ldnkit.kernels.spi.normal import ndtr, ndtri, ndtri_lanes
from ldnkit.kernels.spi.standardize import accumulate, fit_parameters, standardize, standardize_into

__all__ = [
    "GAMMA",
    "GAMMA_MLE",
    "LOGLOGISTIC",
    "MIN_NONZERO",
    "N_PAR",
    "PEARSON3",
    "accumulate",
    "cdf",
    "digamma",
    "exp_lanes",
    "fit_gamma",
    "fit_parameters",
    "fit_sample",
    "gamma_p_lanes",
    "gammainc",
    "gammainc_pq",
    "gammaincc",
    "glo_from_lmoments",
    "lmoments3",
    "log_lanes",
    "mle_shape",
    "ndtr",
    "ndtri",
    "ndtri_lanes",
    "pearson3_from_lmoments",
    "standardize",
    "standardize_into",
    "thom_shape",
    "trigamma",
]
