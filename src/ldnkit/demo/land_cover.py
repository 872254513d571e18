"""Land cover of the demo landscape: the map of 2000, ordinary background change, the planted
land-cover histories and the ESA CCI codes the files carry (several per UNCCD class)."""

from __future__ import annotations

import math

import numpy as np
from scipy.ndimage import binary_dilation

from ldnkit.codes import ARTIFICIAL, CROPLAND, GRASSLAND, OTHER_LAND, TREE, WATER, WETLAND
from ldnkit.demo.fields import StaticFields
from ldnkit.demo.geography import MONTANE, RIVER_HALF_WIDTH, TOWN, VILLAGES
from ldnkit.demo.grid import YEARS, blob
from ldnkit.demo.processes import PATCHES

LC_NODATA = 0  # ESA CCI no data
#: Ordinary land-use change away from the patches: (from, to) UNCCD classes.
BACKGROUND_RULES = (
    (GRASSLAND, CROPLAND),
    (TREE, CROPLAND),
    (CROPLAND, TREE),
    (GRASSLAND, TREE),
    (CROPLAND, GRASSLAND),
    (TREE, GRASSLAND),
)
BACKGROUND_CHANGES = 14


def initial_land_cover(
    u: np.ndarray,
    v: np.ndarray,
    elev: np.ndarray,
    lake_d: np.ndarray,
    river_d: np.ndarray,
    fields: StaticFields,
    rng: np.random.Generator,
) -> np.ndarray:
    """UNCCD classes (int8, y x) before any change: cropland and grassland, forest on the mountain
    and around the deforestation and reference patches, rock, wetland by the lake and river, the
    town and villages (their shapes drawn from ``rng``), the lake and river as water."""
    n = u.shape[0]
    bias = np.zeros((n, n))  # forest blocks around the deforestation front and the reference patch
    for key in ("deforestation", "stable"):
        cu, cv, r = PATCHES[key]
        bias += 2.0 * np.exp(-((np.hypot(u - cu, v - cv) / (1.8 * r)) ** 4))
    lc = np.where(fields.crop > -0.1, CROPLAND, GRASSLAND).astype(np.int8)
    lc[fields.tree + 1.6 * elev + bias > 0.75] = TREE
    lc[((fields.rock > 2.0) & (elev < 0.3)) | (elev > 0.92)] = OTHER_LAND
    lc[((lake_d < 1.6) & (fields.wet > -0.4)) | ((river_d < 0.015) & (fields.wet > 0.6))] = WETLAND
    lc[blob(u, v, *TOWN, rng)] = ARTIFICIAL
    for village in VILLAGES:
        lc[blob(u, v, *village, rng)] = ARTIFICIAL
    lc[(lake_d <= 1.0) | (river_d * n <= max(1.0, RIVER_HALF_WIDTH * n))] = WATER
    return lc


def add_background_changes(
    unccd: np.ndarray,
    lc: np.ndarray,
    masks: dict[str, np.ndarray],
    u: np.ndarray,
    v: np.ndarray,
    rng: np.random.Generator,
) -> None:
    """Plant, in place, a few small blobs of ordinary land-use change (BACKGROUND_RULES, from a
    random year on) well away from the planted patches, drawn from ``rng``."""
    yi = {y: i for i, y in enumerate(YEARS)}
    planted = np.zeros(lc.shape, bool)
    for key in PATCHES:
        planted |= masks[key]
    placed = attempts = 0
    keep_off = binary_dilation(planted, iterations=3)  # no change touching a patch
    while placed < BACKGROUND_CHANGES and attempts < 1000:
        attempts += 1
        cu, cv = rng.uniform(0.1, 0.9, 2)
        r = rng.uniform(0.02, 0.035)
        src, dst = BACKGROUND_RULES[int(rng.integers(len(BACKGROUND_RULES)))]
        year = int(rng.integers(2002, 2023))
        shape = blob(u, v, cu, cv, r, rng)
        far = all(
            math.hypot(cu - pu, cv - pv) > pr * 1.25 + r * 1.25 + 0.02 for pu, pv, pr in PATCHES.values()
        )
        if not far or (shape & keep_off).any():
            continue
        hit = shape & (lc == src)
        unccd[yi[year] :, hit] = dst
        placed += 1


def deforestation_front(unccd: np.ndarray, mask: np.ndarray, u: np.ndarray, front: np.ndarray) -> None:
    """Tree cleared for cropland 2004-2010, the front moving from east to west (ragged by the
    smooth field ``front``)."""
    uu = u[mask]
    s = (uu.max() - uu) / (uu.max() - uu.min()) + 0.06 * front[mask]
    clear_year = 2004 + np.clip((s * 7).astype(int), 0, 6)
    for i, y in enumerate(YEARS):
        unccd[i, mask] = np.where(y < clear_year, TREE, CROPLAND)


def urban_expansion(
    unccd: np.ndarray, lc: np.ndarray, mask: np.ndarray, u: np.ndarray, v: np.ndarray
) -> None:
    """Cropland or grassland built over in 2017 (the half nearer the town) and 2018."""
    before = np.where(np.isin(lc[mask], (CROPLAND, GRASSLAND)), lc[mask], CROPLAND)
    d_town = np.hypot(u[mask] - TOWN[0], v[mask] - TOWN[1])
    built = np.where(d_town <= np.median(d_town), 2017, 2018)
    for i, y in enumerate(YEARS):
        unccd[i, mask] = np.where(y < built, before, ARTIFICIAL)


def changed_in(unccd: np.ndarray, mask: np.ndarray, year: int, before: int, after: int) -> None:
    """Class ``before`` until ``year``, ``after`` from ``year`` on."""
    for i, y in enumerate(YEARS):
        unccd[i, mask] = before if y < year else after


def plant_land_cover(
    unccd: np.ndarray,
    lc: np.ndarray,
    masks: dict[str, np.ndarray],
    u: np.ndarray,
    v: np.ndarray,
    front: np.ndarray,
) -> None:
    """Write, in place, the planted land-cover histories of ``masks`` into ``unccd`` (year, y, x),
    over the background changes (so none of them touches a patch)."""
    deforestation_front(unccd, masks["deforestation"], u, front)
    urban_expansion(unccd, lc, masks["urban"], u, v)
    changed_in(unccd, masks["abandonment"], 2017, CROPLAND, GRASSLAND)
    # Declining / recovering productivity and the woody false positive are grassland throughout,
    # the reference patch forest: their signal is in the NDVI.
    unccd[:, masks["decline"]] = GRASSLAND
    unccd[:, masks["restoration"]] = GRASSLAND
    unccd[:, masks["stable"]] = TREE
    unccd[:, masks["woody"]] = GRASSLAND
    changed_in(unccd, masks["wetland"], 2003, WETLAND, CROPLAND)  # drained for cropland


def esa_codes(unccd: np.ndarray, sub: np.ndarray, elev: np.ndarray, river_d: np.ndarray) -> np.ndarray:
    """UNCCD classes -> plausible ESA CCI codes (several per class, so the nesting is exercised)."""
    montane = elev > MONTANE
    tree = np.where(
        montane, np.where(sub > 0.6, 70, 50), np.where(sub < 0.2, 50, np.where(sub < 1.0, 60, 62))
    )
    grass = np.where(sub < -0.9, 120, np.where(sub > 1.1, 110, 130))
    crop = np.where(river_d < 0.02, 20, np.where(sub > 0.6, 11, np.where(sub < -0.8, 30, 10)))
    wetland = np.where(sub > 0.8, 160, 180)
    other = np.where(elev > 0.5, 201, 200)
    by_class = [
        np.zeros_like(tree),
        tree,
        grass,
        crop,
        wetland,
        np.full_like(tree, 190),
        other,
        np.full_like(tree, 210),
    ]
    table = np.stack(by_class).astype(np.uint8)  # (class, y, x)
    rows, cols = np.indices(unccd.shape[1:])
    return table[unccd, rows[None], cols[None]]
