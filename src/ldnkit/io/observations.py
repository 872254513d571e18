"""Field observations at points (LandPKS-like site data) used to check land types (methodology §4.3).

:func:`read_observations` reads a CSV (coordinates in columns) or any GDAL vector file of points and
normalises the LandPKS-like fields: ``slope`` (percent, or a slope class such as "10-15%"),
``texture_<top>_<bottom>`` (soil texture by depth, cm) giving ``soil_depth_cm`` and
``topsoil_texture``, and ``land_capability_class`` (1..8 or roman numerals I..VIII).
"""

from __future__ import annotations

import math
import os
import re
import warnings
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from ldnkit.errors import InputError
from ldnkit.labels import is_empty, parse_class

__all__ = ["read_observations", "capability_class", "slope_percent"]

#: LandPKS slope classes (LandInfo): name -> (min %, max %); the open top class has max None.
LANDPKS_SLOPE_CLASSES: dict[str, tuple[float, float | None]] = {
    "flat": (0, 2),
    "gentle": (2, 5),
    "moderate": (5, 10),
    "rolling": (10, 15),
    "hilly": (15, 30),
    "steep": (30, 60),
    "very steep": (60, None),
}

_COORD_PAIRS = (("lon", "lat"), ("longitude", "latitude"), ("long", "lat"), ("x", "y"))
_LCC_ALIASES = ("land_capability_class", "lcc", "capability_class", "land_capability")
_SLOPE_ALIASES = ("slope", "slope_percent", "slope_class")
_TEXTURE = re.compile(r"^texture[_-](\d+(?:\.\d+)?)[_-](\d+(?:\.\d+)?)$", re.IGNORECASE)


def capability_class(value: Any, where: str, column: str, row: int | None = None) -> int | None:
    """Land capability class 1..8 from an integer or roman numeral I..VIII (None if empty).

    >>> capability_class("VII", "f.csv", "lcc"), capability_class(3, "f.csv", "lcc")
    (7, 3)
    """
    return parse_class(value, where, column, max_class=8, row=row)


def slope_percent(value: Any, where: str, column: str = "slope", row: int | None = None) -> float:
    """Slope in percent from a number or a LandPKS slope class.

    Ranges "a-b%" give their midpoint; the open class ">60%" (or "60+") gives its lower bound 60
    (so it falls in a rule class starting at 60); "<2%" gives 1; LandPKS names ("flat", "gentle",
    "moderate", "rolling", "hilly", "steep", "very steep") their class. Empty -> NaN.

    >>> slope_percent("10-15%", "f.csv"), slope_percent(">60%", "f.csv"), slope_percent("hilly", "f.csv")
    (12.5, 60.0, 22.5)
    """
    if is_empty(value):
        return math.nan
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        v = float(value)
    else:
        text = " ".join(str(value).strip().lower().replace("–", "-").replace("%", " ").split())
        v = math.nan
        name = text.split("(")[0].strip()
        if name in LANDPKS_SLOPE_CLASSES:
            lo, hi = LANDPKS_SLOPE_CLASSES[name]
            v = float(lo) if hi is None else (lo + hi) / 2.0
        else:
            text = text.replace(" ", "")
            m = re.fullmatch(r"(\d+(?:\.\d+)?)(?:-|to)(\d+(?:\.\d+)?)", text)
            if m:
                v = (float(m.group(1)) + float(m.group(2))) / 2.0
            elif m := re.fullmatch(r">=?(\d+(?:\.\d+)?)|(\d+(?:\.\d+)?)\+", text):
                v = float(m.group(1) or m.group(2))
            elif m := re.fullmatch(r"<=?(\d+(?:\.\d+)?)", text):
                v = float(m.group(1)) / 2.0
            else:
                try:
                    v = float(text)
                except ValueError:
                    v = math.nan
        if math.isnan(v):
            at = f"column {column!r}" + (f", row {row}" if row is not None else "")
            raise InputError(
                where,
                f"{at}: unknown slope class {value!r}",
                "give the slope in percent or a LandPKS class such as '10-15%', '>60%' or 'hilly'",
            )
    if not math.isfinite(v) or v < 0:
        at = f"column {column!r}" + (f", row {row}" if row is not None else "")
        raise InputError(where, f"{at}: slope {value!r} is not a percentage >= 0")
    return v


def _find(columns: list[str], names: tuple[str, ...]) -> str | None:
    lower = {c.strip().lower(): c for c in columns}
    for n in names:
        if n in lower:
            return lower[n]
    return None


def _read_csv(p: Path, where: str, x: str | None, y: str | None, crs: Any) -> gpd.GeoDataFrame:
    try:
        df = pd.read_csv(p, skipinitialspace=True)
    except Exception as exc:  # ParserError, UnicodeDecodeError, EmptyDataError ...
        raise InputError(
            where,
            f"cannot be read as CSV ({' '.join(str(exc).split())})",
            "give a comma-separated file with a header row",
        ) from None
    cols = [str(c) for c in df.columns]
    df.columns = cols
    if x is not None or y is not None:
        pair = (_find(cols, ((x or "").lower(),)), _find(cols, ((y or "").lower(),)))
        wanted = f"{x!r} and {y!r}"
    else:
        pair = (None, None)
        for cx, cy in _COORD_PAIRS:
            fx, fy = _find(cols, (cx,)), _find(cols, (cy,))
            if fx and fy:
                pair = (fx, fy)
                break
        wanted = "lon/lat (or longitude/latitude, x/y)"
    if pair[0] is None or pair[1] is None:
        if x is None and y is None:  # name the side that is missing (lat present, no lon ...)
            pair = (
                _find(cols, tuple(a for a, _ in _COORD_PAIRS)),
                _find(cols, tuple(b for _, b in _COORD_PAIRS)),
            )
        missing = [n for n, f in zip((x or "lon", y or "lat"), pair, strict=True) if f is None] or [
            "lon",
            "lat",
        ]
        raise InputError(
            where,
            f"has no coordinate column {', '.join(map(repr, missing))} (columns: {', '.join(cols)})",
            f"add columns {wanted} or name them with x/y in the config",
        )
    xy = []
    for c in pair:
        v = pd.to_numeric(df[c], errors="coerce")
        bad = v.isna() | ~np.isfinite(v.to_numpy(np.float64, na_value=np.nan))
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise InputError(
                where,
                f"column {c!r}, row {i + 1}: coordinate {df[c].iloc[i]!r} is not a number",
                "give decimal coordinates in every row",
            )
        xy.append(v.to_numpy(np.float64))
    crs = crs or "EPSG:4326"
    gdf = gpd.GeoDataFrame(df, geometry=gpd.points_from_xy(xy[0], xy[1]), crs=crs)
    if gdf.crs is not None and gdf.crs.is_geographic and (np.abs(xy[1]) > 90).any():
        i = int(np.flatnonzero(np.abs(xy[1]) > 90)[0])
        raise InputError(
            where,
            f"column {pair[1]!r}, row {i + 1}: latitude {xy[1][i]} is beyond ±90",
            "check the column order (lon, lat) or give crs for projected x/y",
        )
    return gdf


def _read_vector(p: Path, where: str, crs: Any) -> gpd.GeoDataFrame:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            gdf = gpd.read_file(p, engine="pyogrio")
    except Exception as exc:
        raise InputError(
            where,
            f"cannot be read as a vector file ({' '.join(str(exc).split())})",
            "give a CSV, GeoPackage or GeoJSON of points",
        ) from None
    if not isinstance(gdf, gpd.GeoDataFrame) or gdf.geometry is None:
        raise InputError(where, "has no geometry column", "give a file of points")
    gdf = gdf[~(gdf.geometry.isna() | gdf.geometry.is_empty)]
    if len(gdf) == 0:
        raise InputError(where, "contains no points", "check the file")
    kinds = set(gdf.geometry.geom_type)
    if kinds != {"Point"}:
        raise InputError(
            where, f"holds {', '.join(sorted(kinds))} geometries, not points", "give one point per field site"
        )
    if gdf.crs is None:
        if crs is None:
            raise InputError(where, "has no coordinate reference system", "give crs in the config")
        gdf = gdf.set_crs(crs)
    return gdf


def read_observations(
    path: str | os.PathLike,
    *,
    x: str | None = None,
    y: str | None = None,
    crs: Any = None,
    key: str = "neutrality.land_types.observations",
) -> gpd.GeoDataFrame:
    """Read field observations (points) with LandPKS-like fields normalised.

    Parameters
    ----------
    path : a CSV with coordinate columns (``lon``/``lat``, ``longitude``/``latitude`` or ``x``/``y``,
        case-insensitive; or the columns ``x``/``y`` name) or any GDAL vector file of points
        (GeoPackage, GeoJSON ...).
    crs : CRS of CSV coordinates (default EPSG:4326), or of a vector file that has none.
    key : config key named in error messages.

    Returns
    -------
    GeoDataFrame with the file's columns plus, when their sources exist:

    * ``id`` (1..n when the file has none);
    * ``slope`` — percent (float); LandPKS slope classes ("10-15%" -> 12.5, ">60%" -> 60,
      "hilly" -> 22.5) are converted (columns ``slope``, ``slope_percent`` or ``slope_class``);
    * ``soil_depth_cm`` — bottom (cm) of the deepest ``texture_<top>_<bottom>`` layer with a texture
      and ``topsoil_texture`` — texture of the shallowest such layer (NaN / None without any);
    * ``land_capability_class`` — nullable Int16 1..8 from integers or roman numerals I..VIII
      (columns ``land_capability_class``, ``lcc``, ``capability_class``).

    Raises :class:`InputError` (one line naming the file and the column) for a missing file,
    missing or non-numeric coordinates, an unknown slope class or a bad capability class.

    Example
    -------
    >>> sites = read_observations("field_sites.csv")  # doctest: +SKIP
    >>> sites[["id", "slope", "soil_depth_cm", "land_capability_class"]]  # doctest: +SKIP
    """
    p = Path(path)
    where = f"{key} ({p})"
    if not p.exists():
        raise InputError(where, "file not found", "check the path in the config")
    if p.suffix.lower() in (".csv", ".txt"):
        gdf = _read_csv(p, where, x, y, crs)
    else:
        gdf = _read_vector(p, where, crs)
    gdf = gdf.reset_index(drop=True).copy()
    cols = [str(c) for c in gdf.columns if c != gdf.geometry.name]

    idc = _find(cols, ("id",))
    if idc is None:
        gdf["id"] = np.arange(1, len(gdf) + 1)
    elif idc != "id":
        gdf = gdf.rename(columns={idc: "id"})

    sc = _find(cols, _SLOPE_ALIASES)
    if sc is not None:
        vals = [slope_percent(v, where, sc, i + 1) for i, v in enumerate(gdf[sc])]
        gdf["slope"] = np.asarray(vals, dtype=np.float64)

    layers = []
    for c in cols:
        m = _TEXTURE.match(c.strip())
        if m:
            top, bottom = float(m.group(1)), float(m.group(2))
            if bottom <= top:
                raise InputError(
                    where,
                    f"column {c!r}: depth {top:g}-{bottom:g} cm is empty",
                    "name texture columns texture_<top>_<bottom> with top < bottom",
                )
            layers.append((top, bottom, c))
    if layers:
        layers.sort()
        depth = np.full(len(gdf), np.nan)
        topsoil: list[str | None] = [None] * len(gdf)
        for _top, bottom, c in layers:
            for i, v in enumerate(gdf[c]):
                if is_empty(v):
                    continue
                depth[i] = bottom if np.isnan(depth[i]) else max(depth[i], bottom)
                if topsoil[i] is None:
                    topsoil[i] = str(v).strip()
        gdf["soil_depth_cm"] = depth
        gdf["topsoil_texture"] = pd.Series(topsoil, dtype=object)
        gdf.attrs["texture_layers_cm"] = [[t, b] for t, b, _ in layers]

    lc = _find(cols, _LCC_ALIASES)
    if lc is not None:
        vals = [capability_class(v, where, lc, i + 1) for i, v in enumerate(gdf[lc])]
        gdf["land_capability_class"] = pd.array(vals, dtype="Int16")
    gdf.attrs["source"] = str(p)
    return gdf
