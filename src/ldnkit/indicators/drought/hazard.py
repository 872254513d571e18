"""Drought hazard (SO 3-1): SPI intensity classes and the highest intensity of each multi-year period."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import xarray as xr

from ldnkit import codes
from ldnkit.codes import NODATA
from ldnkit.errors import ConfigError, InputError, PeriodError

#: Lower bounds of the mild, moderate, severe and extreme classes (SPI), as in the UNCCD table.
_THRESHOLDS = (0.0, -1.0, -1.5, -2.0)

#: The two readings of the SPI class table, as exact inequalities (class: condition).
BOUNDARIES: dict[str, dict[int, str]] = {
    # UNCCD GPG for SO3 / PRAIS 4: "> 0 non-drought; 0 to -0.99 mild; -1.0 to -1.49 moderate;
    # -1.5 to -1.99 severe; <= -2.0 extreme". Each listed value belongs to its row, so 0 is mild,
    # -1.0 moderate, -1.5 severe, -2.0 extreme; values between two rows (e.g. -0.995) belong to
    # the milder row, i.e. the table is read as intervals closed at their upper end.
    "unccd": {
        0: "SPI > 0",
        1: "-1.0 < SPI <= 0",
        2: "-1.5 < SPI <= -1.0",
        3: "-2.0 < SPI <= -1.5",
        4: "SPI <= -2.0",
    },
    # Trends.Earth (te_algorithms drought_class on SPI x 1000): every boundary value goes to the
    # milder class, so 0 is non-drought, -1.0 mild, -1.5 moderate and -2.0 severe.
    "trends_earth": {
        0: "SPI >= 0",
        1: "-1.0 <= SPI < 0",
        2: "-1.5 <= SPI < -1.0",
        3: "-2.0 <= SPI < -1.5",
        4: "SPI < -2.0",
    },
}

#: The three DVI components.


def _class_block(spi: np.ndarray, inclusive: bool) -> np.ndarray:
    """SPI block -> drought class 0..4 (int16), NODATA where SPI is NaN."""
    spi = np.asarray(spi)
    out = np.zeros(spi.shape, dtype=np.int16)
    with np.errstate(invalid="ignore"):
        for t in _THRESHOLDS:
            # one step more severe for every threshold the value reaches
            out += (spi <= t) if inclusive else (spi < t)
    out[np.isnan(spi)] = NODATA
    return out


def _check_float(spi: xr.DataArray, where: str) -> None:
    if not isinstance(spi, xr.DataArray):
        raise TypeError(f"{where}: expected an xarray.DataArray, got {type(spi).__name__}")
    if spi.dtype.kind != "f":
        raise InputError(
            where,
            f"SPI has integer dtype {spi.dtype} (codes or scaled values?)",
            "give SPI as floats with NaN for missing; divide a scaled SPI first, "
            "e.g. spi_x1000.where(spi_x1000 != -32768) / 1000",
        )


def drought_class(spi: xr.DataArray, boundaries: str = "unccd") -> xr.DataArray:
    """Drought intensity class of every SPI value (SO 3-1; public API contract).

    Parameters
    ----------
    spi : SPI (or SPEI), float, NaN = missing; any dims, e.g. ``(year, y, x)`` from
        ``annual_spi`` or ``(period, y, x)`` from :func:`drought_period_max`.
    boundaries : ``"unccd"`` (default) or ``"trends_earth"``. The classes and their exact
        inequalities (see :data:`BOUNDARIES`):

        ====  ===================  =====================  =====================
        code  class                ``"unccd"``            ``"trends_earth"``
        ====  ===================  =====================  =====================
        0     non-drought          SPI > 0                SPI >= 0
        1     mild drought         -1.0 < SPI <= 0        -1.0 <= SPI < 0
        2     moderate drought     -1.5 < SPI <= -1.0     -1.5 <= SPI < -1.0
        3     severe drought       -2.0 < SPI <= -1.5     -2.0 <= SPI < -1.5
        4     extreme drought      SPI <= -2.0            SPI < -2.0
        ====  ===================  =====================  =====================

        The UNCCD table ("> 0; 0 to -0.99; -1.0 to -1.49; -1.5 to -1.99; <= -2.0") puts each
        value it lists in its own row, so 0 is mild and -1.0, -1.5, -2.0 are moderate, severe,
        extreme; values between two listed ones (-0.995, -1.495) are not rounded and fall in the
        milder row. Trends.Earth puts every boundary value in the milder class. The two readings
        differ only at exactly 0, -1.0, -1.5 and -2.0.

    Returns
    -------
    int16 DataArray of codes 0..4 (:data:`ldnkit.codes.DROUGHT`), NODATA (-32768) where SPI is
    NaN; same dims, coords and chunks as ``spi``; attrs record the boundaries and inequalities.

    Raises
    ------
    ConfigError for unknown ``boundaries``; InputError for integer SPI (scaled or coded values).

    Example
    -------
    >>> cls = drought_class(annual_spi(spi(precip)), boundaries="unccd")
    >>> float((cls >= 1).where(cls != -32768).mean())   # share of pixels under drought
    """
    if boundaries not in BOUNDARIES:
        raise ConfigError(
            "drought.boundaries",
            f"unknown SPI class boundaries {boundaries!r}",
            "use 'unccd' (UNCCD manual: exactly -1.0 is moderate) or 'trends_earth' (-1.0 is mild)",
        )
    _check_float(spi, str(spi.name or "spi"))
    out = xr.apply_ufunc(
        _class_block,
        spi,
        kwargs={"inclusive": boundaries == "unccd"},
        dask="parallelized",
        output_dtypes=[np.int16],
        keep_attrs="drop_conflicts",  # keeps the CRS attrs of spatial_ref
    )
    out.name = "drought_class"
    out.attrs = {
        "method": "spi_drought_class",
        "boundaries": boundaries,
        "classes": {str(k): v for k, v in BOUNDARIES[boundaries].items()},
        "legend": codes.DROUGHT.name,
        "input": str(spi.attrs.get("method", spi.name or "spi")),
        "_FillValue": NODATA,
    }
    return out


def _period_blocks(
    years: Sequence[int],
    length: int,
    start: int,
    blocks: Sequence[tuple[int, int]] | None,
    partial: bool,
) -> list[tuple[int, int, list[int]]]:
    """(first, last, data years inside) of every period to evaluate."""
    where = "drought.periods"
    have = sorted(int(y) for y in years)
    explicit = blocks is not None
    if blocks is None:
        if int(length) != length or length < 1:
            raise ConfigError(where, f"period length {length!r} is not a positive integer")
        length = int(length)
        k0 = (have[0] - start) // length
        k1 = (have[-1] - start) // length
        blocks = [(start + k * length, start + k * length + length - 1) for k in range(k0, k1 + 1)]
    out = []
    for b in blocks:
        a, z = (int(v) for v in b)
        if z < a:
            raise ConfigError(where, f"period {a}-{z} ends before it starts", "give (first, last) years")
        inside = [y for y in have if a <= y <= z]
        if not inside:
            if explicit:
                raise PeriodError(where, f"period {a}-{z} has no SPI year (SPI years {have[0]}-{have[-1]})")
            continue  # a gap in the SPI years
        if len(inside) < z - a + 1 and not partial:
            continue
        out.append((a, z, inside))
    if not out:
        raise PeriodError(
            where,
            f"no complete period in the SPI years {have[0]}-{have[-1]}",
            "check the period length/start or the blocks, or allow partial periods",
        )
    return out


def _period_min_block(a: np.ndarray, groups: tuple[tuple[int, ...], ...]) -> np.ndarray:
    """(..., year) -> (..., period): NaN-ignoring minimum over each group of year indices."""
    out = np.empty(a.shape[:-1] + (len(groups),), dtype=np.float32)
    for k, g in enumerate(groups):
        # fmin ignores NaN unless every value is NaN, and does not warn
        out[..., k] = np.fmin.reduce(a[..., list(g)], axis=-1)
    return out


def _period_argmin_block(a: np.ndarray, groups: tuple[tuple[int, ...], ...], years: tuple[int, ...]):
    """(..., year) -> (..., period): year of the minimum (earliest on ties), NODATA if all NaN."""
    yrs = np.asarray(years, dtype=np.int16)
    out = np.empty(a.shape[:-1] + (len(groups),), dtype=np.int16)
    for k, g in enumerate(groups):
        sub = a[..., list(g)].astype(np.float64)
        nan = np.isnan(sub)
        i = np.argmin(np.where(nan, np.inf, sub), axis=-1)
        out[..., k] = np.where(nan.all(axis=-1), NODATA, yrs[list(g)][i])
    return out


def drought_period_max(
    spi: xr.DataArray,
    length: int = 4,
    start: int = 2000,
    *,
    blocks: Sequence[tuple[int, int]] | None = None,
    partial: bool = True,
    return_year: bool = False,
) -> xr.DataArray | xr.Dataset:
    """Highest drought intensity of each multi-year period = minimum annual SPI (SO 3-1 maps).

    Parameters
    ----------
    spi : annual SPI ``(year, y, x)`` (float, NaN missing; integer ``year`` coordinate).
    length, start : periods of ``length`` years aligned to ``start``: with the defaults
        2000-2003, 2004-2007, ..., 2020-2023 (the UNCCD reporting periods); periods are laid on
        the same lattice before ``start`` too (1996-1999 ...).
    blocks : explicit ``[(first, last), ...]`` years instead of ``length``/``start``.
    partial : keep periods the SPI covers only in part (default True; their ``n_years``
        coordinate says how many years they hold); False keeps complete periods only.
    return_year : also return the year in which each pixel's minimum occurred.

    Returns
    -------
    float32 DataArray ``(period, y, x)`` of the minimum SPI of every year of each period (NaN
    years ignored; NaN if all are NaN), with coordinates ``period`` (label ``"2000-2003"``),
    ``period_start``, ``period_end`` and ``n_years`` (years with SPI in the input). Every year of
    the period is used (Trends.Earth uses only the first 3 of each 4). Since both class tables
    are monotone, ``drought_class(drought_period_max(spi))`` is the highest class of the period.
    With ``return_year``: a Dataset with ``spi`` (as above) and ``year`` (int16, earliest year
    of the minimum, NODATA where all years are NaN) — give it to :func:`exposure` as
    ``hazard_year`` to count the population of that year.

    Example
    -------
    >>> pmax = drought_period_max(annual)                 # 2000-2003, ..., 2020-2023
    >>> maps = drought_class(pmax)                        # highest class per period
    """
    _check_float(spi, str(spi.name or "spi"))
    if "year" not in spi.dims:
        raise InputError(
            str(spi.name or "spi"), f"has dims {spi.dims} without 'year'", "use annual_spi first"
        )
    years = [int(y) for y in spi["year"].values]
    per = _period_blocks(years, length, start, blocks, partial)
    index = {y: i for i, y in enumerate(years)}
    groups = tuple(tuple(index[y] for y in inside) for _, _, inside in per)
    labels = [f"{a}-{z}" for a, z, _ in per]
    arr = spi.chunk({"year": -1}) if spi.chunks is not None else spi
    common = dict(
        input_core_dims=[["year"]],
        output_core_dims=[["period"]],
        dask="parallelized",
        dask_gufunc_kwargs={"output_sizes": {"period": len(per)}},
        keep_attrs="drop_conflicts",  # keeps the CRS attrs of spatial_ref
    )
    spi_min = xr.apply_ufunc(
        _period_min_block, arr, kwargs={"groups": groups}, output_dtypes=[np.float32], **common
    )
    coords = {
        "period": labels,
        "period_start": ("period", [a for a, _, _ in per]),
        "period_end": ("period", [z for _, z, _ in per]),
        "n_years": ("period", [len(g) for g in groups]),
    }
    attrs = {
        "method": "period_minimum_spi",
        "period_length": None if blocks is not None else int(length),
        "period_start_year": None if blocks is not None else int(start),
        "blocks": [[a, z] for a, z, _ in per],
        "years_used": {f"{a}-{z}": list(inside) for a, z, inside in per},
        "partial_periods": bool(partial),
        "input": str(spi.attrs.get("method", spi.name or "spi")),
    }
    dims = ("period", *[d for d in spi.dims if d != "year"])
    spi_min = spi_min.transpose(*dims).assign_coords(coords)
    spi_min.name = "spi_period_min"
    spi_min.attrs = dict(attrs, units="1")
    if not return_year:
        return spi_min
    yr = xr.apply_ufunc(
        _period_argmin_block,
        arr,
        kwargs={"groups": groups, "years": tuple(years)},
        output_dtypes=[np.int16],
        **common,
    )
    yr = yr.transpose(*dims).assign_coords(coords)
    yr.attrs = dict(attrs, method="year_of_period_minimum_spi", _FillValue=NODATA)
    return xr.Dataset({"spi": spi_min, "year": yr}, attrs=attrs)
