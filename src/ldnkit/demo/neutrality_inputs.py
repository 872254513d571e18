"""LDN neutrality inputs of the demo (docs/neutrality.md): soil groups, slope and soil depth for
land types, LandPKS-like field sites, planning polygons (a mining permit, a restoration plan) and
the correction polygon over the planted false positive."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import rasterio.features
from affine import Affine
from scipy.ndimage import binary_dilation
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry
from shapely.ops import unary_union

from ldnkit.codes import WATER
from ldnkit.demo.grid import ORIGIN, PIXEL_SIZE, relative_box
from ldnkit.demo.landscape import Landscape
from ldnkit.demo.soil import SOIL_NODATA
from ldnkit.demo.writers import write_gpkg, write_tif

#: Land capability rules: slope (%) and soil depth (cm) -> classes (first match wins).
CAPABILITY_RULES = [
    {"code": 1, "label": "I-II good", "when": {"slope": [None, 8], "soil_depth": [50, None]}},
    {"code": 2, "label": "III-IV moderate", "when": {"slope": [None, 20]}},
    {"code": 3, "label": "V-VIII poor", "when": {"slope": [0, None]}},
]
#: Field sites: how many, and how many whose recorded capability class was planted to disagree
#: with the class the rules give from the mapped slope and soil depth at the site.
N_SITES, N_SITES_DISAGREE = 30, 4
MINING_PERMIT = (0.36, 0.08, 0.44, 0.15)  # u0, v0, u1, v1 (relative)
#: Restoration plan: (level, effect, place, u0, v0, u1, v1).
RESTORATION_PLAN = (
    ("reverse", 0.8, "Grassland rehabilitation", 0.50, 0.72, 0.60, 0.93),
    ("avoid", 0.9, "Forest reserve", 0.11, 0.38, 0.29, 0.56),
)
LAND_TYPES_MIN_AREA_KM2 = 25.0

# What a field site records: capability classes in roman numerals by rule code, LandPKS slope
# classes (upper bound %, name), texture layers (top, bottom cm) and textures by soil group.
_ROMAN = {1: ("I", "II"), 2: ("III", "IV"), 3: ("V", "VI", "VII")}
_SLOPE_CLASSES = ((2, "0-2%"), (5, "2-5%"), (10, "5-10%"), (15, "10-15%"), (30, "15-30%"), (60, "30-60%"))
_TEXTURE_LAYERS = ((0, 10), (10, 20), (20, 50), (50, 70), (70, 100), (100, 120))
_TEXTURES = {
    1: ("clay", "clay", "silty clay"),
    2: ("sandy clay loam", "clay loam", "sandy loam"),
    3: ("loam",) * 3,
}


def capability(slope: np.ndarray, depth: np.ndarray) -> np.ndarray:
    """The capability rules (first match wins) applied by hand; 0 where none matches."""
    out = np.zeros(slope.shape, np.int16)
    values = {"slope": slope, "soil_depth": depth}
    for rule in reversed(CAPABILITY_RULES):  # reversed: the first matching rule is written last
        ok = np.ones(slope.shape, bool)
        for var, (lo, hi) in rule["when"].items():
            x = values[var]
            if lo is not None:
                ok &= x >= lo
            if hi is not None:
                ok &= x < hi
        out[ok] = rule["code"]
    return out


def field_sites(land: Landscape, n: int, seed: int) -> pd.DataFrame:
    """LandPKS-like field observations at N_SITES land pixels well inside the area of interest.

    Columns: id, lon, lat (pixel centres), slope (a LandPKS slope class such as "5-10%"),
    texture_<top>_<bottom> (soil texture by depth, cm; empty below the soil), land_capability_class
    (roman numerals). The recorded class agrees with the capability rules applied to the mapped
    slope and soil depth at the site, except at N_SITES_DISAGREE sites (a class of another group).
    """
    rng = np.random.default_rng([seed, 6])
    core = binary_dilation(~land.aoi_mask, iterations=3)
    ok = ~core & (land.unccd[0] != WATER) & (land.unccd[-1] != WATER)
    rows, cols = np.nonzero(ok)
    pick = np.sort(rng.choice(len(rows), size=N_SITES, replace=False))
    rows, cols = rows[pick], cols[pick]
    mapped = capability(land.slope[rows, cols], land.soil_depth[rows, cols])
    wrong = set(rng.choice(N_SITES, size=N_SITES_DISAGREE, replace=False).tolist())
    records = []
    for i, (r, c) in enumerate(zip(rows, cols, strict=True)):
        cls = int(mapped[i])
        if i in wrong:
            cls = int(rng.choice([k for k in _ROMAN if k != cls]))
        lcc = _ROMAN[cls][int(rng.integers(len(_ROMAN[cls])))]
        slope = float(land.slope[r, c])
        slope_class = next((name for top, name in _SLOPE_CLASSES if slope < top), ">60%")
        depth = float(land.soil_depth[r, c])
        soil = int(land.soils[r, c])
        rec = {
            "id": f"S{i + 1:02d}",
            "lon": round(ORIGIN[0] + (c + 0.5) * PIXEL_SIZE, 7),
            "lat": round(ORIGIN[1] - (r + 0.5) * PIXEL_SIZE, 7),
            "slope": slope_class,
        }
        for k, (top, bottom) in enumerate(_TEXTURE_LAYERS):
            texture = _TEXTURES[soil][min(k, 2)] if top < depth else ""
            rec[f"texture_{top}_{bottom}"] = texture
        rec["land_capability_class"] = lcc
        records.append(rec)
    return pd.DataFrame(records)


def mask_polygon(mask: np.ndarray, transform: Affine) -> BaseGeometry:
    """The union of a mask's pixel squares as one (multi)polygon."""
    parts = [
        shape(g)
        for g, val in rasterio.features.shapes(mask.astype(np.uint8), mask=mask, transform=transform)
        if val
    ]
    return unary_union(parts)


def write_neutrality_inputs(folder: Path, land: Landscape, n: int, seed: int, files: dict[str, Path]) -> None:
    """Soil groups, slope, soil depth, field sites, planning polygons and the false-positive polygon."""
    files["soil_groups"] = folder / "soil_groups.tif"
    write_tif(files["soil_groups"], land.soils, land.transform, SOIL_NODATA)
    files["slope"] = folder / "slope.tif"
    write_tif(files["slope"], land.slope, land.transform, float("nan"))
    files["soil_depth"] = folder / "soil_depth.tif"
    write_tif(files["soil_depth"], land.soil_depth, land.transform, float("nan"))
    files["field_sites"] = folder / "field_sites.csv"
    field_sites(land, n, seed).to_csv(files["field_sites"], index=False, lineterminator="\n")
    files["mining_permits"] = folder / "mining_permits.gpkg"
    write_gpkg(
        files["mining_permits"],
        ["Mining permit ML-2024-017"],
        [relative_box(n, *MINING_PERMIT)],
        "mining_permits",
        {"granted": ["2024-03-01"]},
    )
    files["restoration_plan"] = folder / "restoration_plan.gpkg"
    write_gpkg(
        files["restoration_plan"],
        [r[2] for r in RESTORATION_PLAN],
        [relative_box(n, *r[3:]) for r in RESTORATION_PLAN],
        "restoration_plan",
        {"level": [r[0] for r in RESTORATION_PLAN], "effect": [r[1] for r in RESTORATION_PLAN]},
    )
    woody = next(p for p in land.processes if p.name == "Woody encroachment").mask
    files["corrections"] = folder / "corrections.gpkg"
    write_gpkg(
        files["corrections"],
        ["Woody encroachment north-east of the town"],
        [mask_polygon(woody, land.transform)],
        "corrections",
        {
            "id": [1],
            "type": ["false positive"],
            "periods": ["all"],
            "place_name": ["Grassland north-east of the town"],
            "process": ["Woody encroachment (invasive shrubs) raising NDVI"],
            "basis": ["Field visits 2022 and very-high-resolution imagery"],
            "start": ["2010"],
        },
    )
