"""Vector I/O: areas of interest and region polygons, and their lazy rasterization on a grid."""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

import dask
import dask.array as dsa
import geopandas as gpd
import numpy as np
import rasterio.errors
import rasterio.features
import shapely
import xarray as xr
from rasterio.windows import Window

from ldnkit.errors import GridError, InputError
from ldnkit.io.grid import Grid, is_virtual, spatial_chunks, transform_bounds

# rasterio's rasterize, called from dask's worker threads, warns that its in-memory scratch dataset has
# no geotransform although the block's transform is passed; the burnt pixels are right (tests compare
# them with independent burns). A process-wide filter for exactly that message: warnings.catch_warnings
# is not thread-safe.
warnings.filterwarnings(
    "ignore", message="Dataset has no geotransform", category=rasterio.errors.NotGeoreferencedWarning
)

__all__ = ["read_vector", "rasterize", "check_aoi_inside"]


def read_vector(
    path: str | os.PathLike,
    *,
    key: str = "inputs.area_of_interest",
    layer: str | int | None = None,
) -> gpd.GeoDataFrame:
    """Read a vector file (GeoPackage, Shapefile, GeoJSON ... via pyogrio) as a GeoDataFrame.

    Rows without geometry are dropped; invalid geometries are repaired with ``make_valid`` (keeping
    their polygonal parts when the input was polygonal); ``gdf.attrs["repaired"]`` counts them.

    Raises :class:`InputError` when the file is missing or unreadable, has no CRS or no features.

    Example
    -------
    >>> aoi = read_vector("kenya.gpkg")
    """
    p = Path(path)
    where = f"{key} ({p})"
    if not is_virtual(p) and not p.exists():
        raise InputError(where, "file not found", "check the path in the config")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pyogrio warns on odd but readable files
            gdf = gpd.read_file(p, engine="pyogrio", layer=layer)
    except Exception as exc:  # pyogrio raises DataSourceError / DataLayerError / OSError ...
        raise InputError(
            where,
            f"cannot be read as a vector file ({' '.join(str(exc).split())})",
            "give a GeoPackage, Shapefile (with .shx/.dbf) or GeoJSON",
        ) from None
    if not isinstance(gdf, gpd.GeoDataFrame) or gdf.geometry is None:
        raise InputError(where, "has no geometry column", "give a file with polygons")
    if gdf.crs is None:
        raise InputError(
            where,
            "has no coordinate reference system",
            f"assign one, e.g. ogr2ogr -a_srs EPSG:4326 fixed.gpkg {p} (or add the .prj file)",
        )
    gdf = gdf[~(gdf.geometry.isna() | gdf.geometry.is_empty)]
    if len(gdf) == 0:
        raise InputError(where, "contains no features with a geometry", "check the layer")
    invalid = ~gdf.geometry.is_valid
    n_invalid = int(invalid.sum())
    if n_invalid:
        gdf = gdf.copy()
        fixed = gdf.geometry[invalid].make_valid()
        polygonal = gdf.geometry[invalid].geom_type.isin(["Polygon", "MultiPolygon"])
        fixed = fixed.where(~polygonal, fixed.apply(_polygonal_part))
        gdf.loc[invalid, gdf.geometry.name] = fixed
        gdf = gdf[~(gdf.geometry.isna() | gdf.geometry.is_empty)]
    gdf.attrs["repaired"] = n_invalid
    gdf.attrs["source"] = str(p)
    return gdf


def _polygonal_part(geom: Any) -> Any:
    """Polygons of a repaired geometry (make_valid may add stray lines/points at self-touches)."""
    if geom is None or geom.geom_type in ("Polygon", "MultiPolygon"):
        return geom
    parts = [g for g in shapely.get_parts(geom) if g.geom_type in ("Polygon", "MultiPolygon")]
    if not parts:
        return None
    return shapely.unary_union(parts)


def _values_of(gdf: gpd.GeoDataFrame, values: Any) -> np.ndarray:
    if values is None:
        return np.ones(len(gdf))
    if isinstance(values, str):
        if values not in gdf.columns:
            raise InputError(
                str(gdf.attrs.get("source", "vector")),
                f"has no column {values!r} (it has {', '.join(map(str, gdf.columns))})",
                "choose one of these columns",
            )
        return np.asarray(gdf[values])
    arr = np.asarray(values)
    if arr.ndim == 0:
        return np.full(len(gdf), arr)
    if len(arr) != len(gdf):
        raise ValueError(f"{len(arr)} values for {len(gdf)} features")
    return arr


def _rasterize_block(
    geoms: np.ndarray,
    vals: np.ndarray,
    idx: np.ndarray,
    block: Grid,
    fill: float,
    all_touched: bool,
    dtype: str,
) -> np.ndarray:
    if len(idx) == 0:
        return np.full(block.shape, fill, dtype=dtype)
    # Clip to the block plus a 2-pixel margin first: rasterize walks every vertex of a geometry in
    # Python, and a country outline has thousands; inside the block the outline is unchanged.
    rx, ry = block.res
    left, bottom, right, top = block.bounds
    clipped = shapely.clip_by_rect(geoms[idx], left - 2 * rx, bottom - 2 * ry, right + 2 * rx, top + 2 * ry)
    keep = ~shapely.is_empty(clipped)
    if not keep.any():
        return np.full(block.shape, fill, dtype=dtype)
    return rasterio.features.rasterize(
        zip(clipped[keep], vals[idx][keep], strict=True),
        out_shape=block.shape,
        transform=block.transform,
        fill=fill,
        all_touched=all_touched,
        dtype=dtype,
    )


def rasterize(
    gdf: gpd.GeoDataFrame,
    grid: Grid,
    *,
    values: Any = None,
    fill: float = 0,
    all_touched: bool = False,
    chunks: int = 1024,
    dtype: str = "int16",
) -> xr.DataArray:
    """Burn polygons into a lazy (y, x) DataArray on ``grid``, block by block.

    Geometries are reprojected to the grid CRS; each block rasterizes only the features whose
    bounding box meets it (found with the spatial index when the graph is built), so a block
    costs the features it touches. Pixels whose centre is inside a polygon get its value
    (``all_touched`` burns every pixel touched). ``values``: None (1 inside), a column name, a
    scalar, or one value per feature; later features overwrite earlier ones. Outside: ``fill``.

    Example
    -------
    >>> mask = rasterize(aoi, grid)  # 1 inside the area of interest, 0 outside
    >>> regions = rasterize(regions_gdf, grid, values="region_id", fill=-32768)
    """
    vals = _values_of(gdf, values).astype(dtype)
    g = gdf.to_crs(grid.crs) if gdf.crs is not None else gdf
    geoms = np.asarray(g.geometry.values, dtype=object)
    keep = np.array([x is not None and not x.is_empty for x in geoms], dtype=bool)
    geoms, vals = geoms[keep], vals[keep]
    tree = shapely.STRtree(geoms)
    # one graph key for all geometries: blocks refer to it instead of embedding copies
    geoms_key, vals_key = dask.delayed(geoms, pure=True), dask.delayed(vals, pure=True)
    cy, cx = spatial_chunks(chunks)
    ychunks = dsa.core.normalize_chunks(cy, (grid.height,))[0]
    xchunks = dsa.core.normalize_chunks(cx, (grid.width,))[0]
    rows = []
    y0 = 0
    for h in ychunks:
        row = []
        x0 = 0
        for w in xchunks:
            block = grid.window_grid(Window(x0, y0, w, h))
            # feature order decides overlaps: keep it
            idx = np.sort(tree.query(shapely.box(*block.bounds)))
            if len(idx) == 0:
                row.append(dsa.full((h, w), fill, dtype=dtype))
            else:
                task = dask.delayed(_rasterize_block, pure=True)(
                    geoms_key, vals_key, idx, block, fill, all_touched, dtype
                )
                row.append(dsa.from_delayed(task, (h, w), dtype=dtype))
            x0 += w
        rows.append(row)
        y0 += h
    attrs = {
        "method": "rasterize",
        "all_touched": bool(all_touched),
        "fill": fill.item() if isinstance(fill, np.generic) else fill,
        "values": values if isinstance(values, str) or values is None else "per feature",
    }
    if "source" in gdf.attrs:
        attrs["source"] = gdf.attrs["source"]
    out = grid.wrap(dsa.block(rows), name="rasterized", attrs=attrs)
    if np.dtype(dtype).kind in "iu":
        out.attrs["nodata"] = None
    return out


def check_aoi_inside(gdf: gpd.GeoDataFrame, grid: Grid, where: str) -> float:
    """Raise :class:`GridError` when the area of interest does not intersect the grid's extent.

    Returns the fraction (0..1] of the area of interest that lies inside the grid, so callers can
    warn about partial coverage."""
    g = gdf.to_crs(grid.crs) if gdf.crs is not None else gdf
    geoms = g.geometry.values
    finite = np.array([x is not None and not x.is_empty and np.isfinite(x.bounds).all() for x in geoms])
    box = shapely.box(*grid.bounds)
    inside_area = 0.0
    total_area = 0.0
    if finite.any():
        aoi = shapely.unary_union(geoms[finite])
        total_area = float(aoi.area)
        inside_area = float(aoi.intersection(box).area) if aoi.intersects(box) else 0.0
    if inside_area <= 0:
        b = gdf.total_bounds
        tb = transform_bounds(gdf.crs, grid.crs, b) if gdf.crs is not None else None
        shown = tb if tb is not None else tuple(b)
        raise GridError(
            where,
            "the area of interest lies outside the data "
            f"(AOI bounds {tuple(round(v, 6) for v in shown)}, data bounds "
            f"{tuple(round(v, 6) for v in grid.bounds)}, in the grid CRS)",
            "check the AOI file and its CRS, or use inputs that cover it",
        )
    return inside_area / total_area if total_area > 0 else 1.0
