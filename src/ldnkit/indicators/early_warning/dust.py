"""Sand and dust storm source susceptibility from surface conditions (ldnkit's own formula).

After the surface-condition approach of the UNCCD Sand and Dust Storms toolbox: a surface can
emit dust where it is bare or sparsely covered, its vegetation is low, its topsoil is dry and
its texture erodible. ldnkit turns each condition into a factor in 0..1 and combines the factors
it was given by their geometric mean (so a zero factor, e.g. forest, gives zero, and the result
stays comparable whether or not soil moisture and texture were given):

    cover    = COVER_FACTOR[land-cover class]       (UNCCD classes; 1 = bare/other land, 0 = forest)
    veg      = clip((ndvi_high - NDVI) / (ndvi_high - ndvi_low), 0, 1)
    moisture = clip((sm_wet - SM) / (sm_wet - sm_dry), 0, 1)            (volumetric, m3/m3)
    texture  = TEXTURE_FACTOR[USDA texture class]   (wind-erodibility groups, sand = 1)
    S = (cover * veg [* moisture] [* texture]) ** (1 / number of factors)

S is monotone: non-increasing in NDVI and soil moisture, non-decreasing in the cover and texture
factors. Wind speed is not a factor: S says where a surface could emit, not when it will.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from ldnkit.errors import InputError

#: Cover factor per UNCCD land-cover class (codes.LAND_COVER): ldnkit's values (2026.1).
COVER_FACTOR: dict[int, float] = {
    1: 0.0,  # tree-covered
    2: 0.5,  # grassland (sparse grass and shrubs are the most frequent dust sources after bare land)
    3: 0.6,  # cropland (bare between harvest and canopy closure)
    4: 0.0,  # wetland
    5: 0.1,  # artificial
    6: 1.0,  # other land: bare or sparsely vegetated
    7: 0.0,  # water
}
#: Texture factor per USDA texture class (OpenLandMap/SoilGrids numbering 1..12), ldnkit's values
#: (2026.1) from the wind erodibility index I of the NRCS wind-erodibility groups (WEG) divided by
#: the sands' 220 t/acre/yr: WEG1 sand 1.0, WEG2 loamy sand 0.61, WEG3 sandy loam 0.39, WEG4
#: clays 0.39, WEG5 sandy clay loam 0.25, WEG6 loams 0.22, WEG7 silts and silty clay loam 0.17.
TEXTURE_FACTOR: dict[int, float] = {
    1: 0.39,  # clay
    2: 0.39,  # silty clay
    3: 0.39,  # sandy clay
    4: 0.22,  # clay loam
    5: 0.17,  # silty clay loam
    6: 0.25,  # sandy clay loam
    7: 0.22,  # loam
    8: 0.22,  # silt loam
    9: 0.39,  # sandy loam
    10: 0.17,  # silt
    11: 0.61,  # loamy sand
    12: 1.0,  # sand
}
FACTORS_VERSION = "ldnkit 2026.1"


def _factor_of(values: np.ndarray, lut: np.ndarray) -> np.ndarray:
    if values.dtype.kind == "f":
        values = np.where(np.isfinite(values), values, -1)
    values = values.astype(np.int64)
    ok = (values >= 0) & (values < lut.size)
    return np.where(ok, lut[np.clip(values, 0, lut.size - 1)], np.nan)


def _lookup(classes: xr.DataArray, table: dict[int, float], where: str) -> xr.DataArray:
    lut = np.full(max(table) + 1, np.nan)
    for code, factor in table.items():
        if not 0.0 <= factor <= 1.0:
            raise InputError(where, f"factor {factor} of class {code} is outside 0..1")
        lut[code] = factor
    # element-wise, so dask inputs stay lazy block by block
    return xr.apply_ufunc(
        _factor_of, classes, kwargs={"lut": lut}, dask="parallelized", output_dtypes=[np.float64]
    )


def _ramp_down(x: xr.DataArray, low: float, high: float, where: str) -> xr.DataArray:
    if not high > low:
        raise InputError(where, f"upper bound {high} is not above the lower {low}")
    return ((high - x) / (high - low)).clip(0.0, 1.0)


def dust_source_susceptibility(
    land_cover: xr.DataArray,
    ndvi: xr.DataArray,
    soil_moisture: xr.DataArray | None = None,
    topsoil_texture: xr.DataArray | None = None,
    *,
    ndvi_low: float = 0.10,
    ndvi_high: float = 0.30,
    sm_dry: float = 0.05,
    sm_wet: float = 0.20,
    cover_factor: dict[int, float] | None = None,
    texture_factor: dict[int, float] | None = None,
) -> xr.DataArray:
    """Dust-source susceptibility 0..1 of each step of ``ndvi`` ``(time, y, x)`` (or ``(y, x)``).

    ``land_cover``: UNCCD classes 1..7 ``(y, x)`` or per step; ``soil_moisture``: volumetric
    (m3/m3) like ``ndvi``; ``topsoil_texture``: USDA classes 1..12 ``(y, x)``. Classes missing
    from the factor tables (no data) give NaN. float32, attrs list the inputs used.

    >>> s = dust_source_susceptibility(lc, ndvi_monthly, sm_monthly)  # doctest: +SKIP
    """
    factors = [
        _lookup(land_cover, cover_factor or COVER_FACTOR, "dust cover_factor"),
        _ramp_down(ndvi, ndvi_low, ndvi_high, "dust ndvi bounds"),
    ]
    used = ["land_cover", "ndvi"]
    if soil_moisture is not None:
        factors.append(_ramp_down(soil_moisture, sm_dry, sm_wet, "dust soil-moisture bounds"))
        used.append("soil_moisture")
    if topsoil_texture is not None:
        factors.append(_lookup(topsoil_texture, texture_factor or TEXTURE_FACTOR, "dust texture_factor"))
        used.append("topsoil_texture")
    product = factors[0]
    for f in factors[1:]:
        product = product * f
    out = (product ** (1.0 / len(factors))).astype(np.float32)
    out = out.transpose(*[d for d in ndvi.dims if d in out.dims], ...).rename("dust_susceptibility")
    out.attrs.update(
        units="1",
        long_name="sand and dust storm source susceptibility (surface conditions)",
        method="ldnkit geometric mean of cover, vegetation, soil-moisture and texture factors",
        factors_version=FACTORS_VERSION,
        inputs_used=",".join(used),
        ndvi_low=ndvi_low,
        ndvi_high=ndvi_high,
        sm_dry=sm_dry if soil_moisture is not None else "",
        sm_wet=sm_wet if soil_moisture is not None else "",
    )
    return out
