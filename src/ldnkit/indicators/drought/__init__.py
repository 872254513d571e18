"""Drought hazard, exposure and vulnerability (UNCCD SO 3-1, 3-2, 3-3; methodology §3.3).

* Hazard (SO 3-1): :func:`drought_class` turns annual SPI into the five intensity classes of
  :data:`ldnkit.codes.DROUGHT`; :func:`drought_period_max` keeps the minimum SPI (= the highest
  intensity) of each 4-year period (2000-03, 2004-07, ...).
* Exposure (SO 3-2): :func:`exposure` puts the hazard on the population grid by nearest
  neighbour and turns population rasters (counts or densities) into persons per pixel.
* Vulnerability (SO 3-3): :func:`dvi_from_table` computes the Drought Vulnerability Index from a
  national factor table (Tiers 1-2); :func:`dvi_grid` from gridded factors (Tier 3).

Everything takes and returns xarray objects, numpy- or dask-backed; dask inputs stay lazy and
are processed block by block. Categorical outputs are ``int16`` with
:data:`ldnkit.codes.NODATA` (-32768) as missing; continuous outputs are ``float32`` with NaN.

Modules: :mod:`.hazard` (classes, period maxima), :mod:`.population` (units, persons per pixel,
year matching), :mod:`.population_grid` (the hazard on the population grid by nearest
neighbour, one CRS), :mod:`.exposure`, :mod:`.vulnerability` (DVI from a table or grids). Inputs
come aligned: a hazard in another CRS than the population is warped by the caller
(the run's drought stage), since indicators read and warp nothing.
"""

from __future__ import annotations

from ldnkit.indicators.drought.exposure import exposure
from ldnkit.indicators.drought.hazard import BOUNDARIES, drought_class, drought_period_max
from ldnkit.indicators.drought.vulnerability import COMPONENTS, dvi_from_table, dvi_grid

__all__ = [
    "BOUNDARIES",
    "COMPONENTS",
    "drought_class",
    "drought_period_max",
    "exposure",
    "dvi_from_table",
    "dvi_grid",
]
