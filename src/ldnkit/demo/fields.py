"""The smooth random fields the demo landscape is drawn from, in their fixed order of draws."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ldnkit.demo.grid import smooth_field


class StaticFields(NamedTuple):
    """Standardised smooth random fields (y, x) that shape the landscape; the order of the fields
    is the order they are drawn in, part of the determinism."""

    elevation: np.ndarray  # noise on the mountain's bump
    tree: np.ndarray  # where forest grows
    crop: np.ndarray  # cropland against grassland
    rock: np.ndarray  # bare rock in the lowlands
    wet: np.ndarray  # wetland by the lake and river
    sub: np.ndarray  # which ESA CCI sub-class of a UNCCD class
    ndvi: np.ndarray  # static spatial NDVI pattern
    soc: np.ndarray  # static spatial SOC pattern
    front: np.ndarray  # raggedness of the deforestation front


#: Width of each field, as a share of the grid's side, in the order of StaticFields.
_SCALES = (0.03, 0.05, 0.04, 0.03, 0.02, 0.03, 0.04, 0.05, 0.02)


def draw_static_fields(rng: np.random.Generator, n: int) -> StaticFields:
    """The landscape's static fields on an ``n`` x ``n`` grid, drawn from ``rng`` in a fixed order."""
    return StaticFields(*(smooth_field(rng, n, scale) for scale in _SCALES))
