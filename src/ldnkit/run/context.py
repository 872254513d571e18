"""What the stages of a run share: :class:`RunContext`, and the layer helpers every stage uses."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from ldnkit import codes
from ldnkit.config import RunConfig
from ldnkit.io.grid import Grid
from ldnkit.io.read import open_layer
from ldnkit.io.write import write_layers
from ldnkit.jsonable import jsonable, tag_text
from ldnkit.layer_meta import LAYER_TAG, LayerMeta
from ldnkit.periods import PeriodPlan
from ldnkit.progress import Feedback
from ldnkit.run.inputs import InputLoader
from ldnkit.run.outputs import StageOutputs


def mask_outside(layer: xr.DataArray, inside: xr.DataArray) -> xr.DataArray:
    """Categorical NODATA (int16) / float NaN outside the area of interest; attrs kept."""
    if np.issubdtype(layer.dtype, np.floating):
        out = layer.where(inside)
    else:
        out = layer.where(inside, codes.NODATA).astype(codes.CATEGORICAL_DTYPE)
    out.attrs = dict(layer.attrs)
    return out


def as_int16(layer: xr.DataArray) -> xr.DataArray:
    """Categorical codes from a reader (ints, or floats with NaN) as int16 with NODATA."""
    if np.issubdtype(layer.dtype, np.floating):
        return layer.fillna(codes.NODATA).astype(codes.CATEGORICAL_DTYPE)
    return layer.astype(codes.CATEGORICAL_DTYPE)


@dataclass
class LayerToWrite:
    """One layer for :meth:`RunContext.write_layers`: its key (``"<folder>/<name>"``, written to
    ``layers/<folder>/<name>.tif``), the lazy array and its metadata. ``tags`` (GeoTIFF tags
    besides the metadata) and ``attrs`` (summary.json) default to the array's attrs."""

    key: str
    layer: xr.DataArray
    meta: LayerMeta
    tags: dict[str, str] | None = None
    attrs: dict[str, Any] | None = None


@dataclass
class RunContext:
    """What the stages of one run share.

    Set when the context is built: ``config``; ``folder`` (the run folder being built, a temporary
    sibling of the output) and its ``scratch`` folder; ``feedback`` (progress); ``distributed``
    (a dask.distributed scheduler runs the work); ``inputs`` (the one input loader). Set from the
    ``inputs:`` section (None for a drought-only run): the target ``grid``, a ``template`` layer
    on it, ``inside`` (bool, the area of interest), ``aoi_polygons`` (its GeoDataFrame or None),
    ``regions`` (int16 ids, NODATA outside) and ``region_names`` (id -> name), ``area`` (km² per
    pixel), ``plans`` (the periods, baseline first), the annual ``vegetation_index`` on the grid
    and the ``land_cover_maps`` (UNCCD classes by map year) with their ``nesting``.
    Filled as stages run: ``layers``, ``meta``, ``attrs`` (what was written so far) and
    ``tables`` (``{scope: {table id: DataFrame}}`` so far).
    """

    config: RunConfig
    folder: Path
    scratch: Path
    feedback: Feedback
    inputs: InputLoader
    distributed: bool = False
    grid: Grid | None = None
    template: xr.DataArray | None = None
    inside: xr.DataArray | None = None
    aoi_polygons: Any = None
    regions: xr.DataArray | None = None
    region_names: dict[int, str] = field(default_factory=dict)
    area: xr.DataArray | None = None
    plans: list[PeriodPlan] = field(default_factory=list)
    vegetation_index: xr.DataArray | None = None
    land_cover_maps: dict[int, xr.DataArray] = field(default_factory=dict)
    nesting: dict[int, list[int]] = field(default_factory=dict)
    layers: dict[str, Path] = field(default_factory=dict)
    meta: dict[str, LayerMeta] = field(default_factory=dict)
    attrs: dict[str, dict[str, Any]] = field(default_factory=dict)
    tables: dict[str, dict[str, pd.DataFrame]] = field(default_factory=dict)

    @property
    def chunks(self) -> int:
        """Block size (pixels a side) of every lazy layer."""
        return self.config.compute.chunk_size

    @property
    def pixels(self) -> int:
        """Pixels of the run grid (for progress bars)."""
        return self.grid.width * self.grid.height

    def layer_path(self, key: str) -> Path:
        """Where the layer ``"<folder>/<name>"`` is written in the run folder."""
        folder, name = key.split("/")
        return self.folder / "layers" / folder / f"{name}.tif"

    def write_layers(
        self,
        layers: list[LayerToWrite],
        outputs: StageOutputs,
        title: str | None = None,
        pixels: int | None = None,
    ) -> None:
        """Write lazily-built layers in ONE dask computation (shared upstream work done once),
        each with its metadata in the GeoTIFF tag :data:`~ldnkit.layer_meta.LAYER_TAG`, and record
        them (path, metadata, attrs) in ``outputs`` and in this context. ``title`` shows a
        progress bar over ``pixels`` (default: the run grid's)."""
        items = []
        for item in layers:
            path = self.layer_path(item.key)
            path.parent.mkdir(parents=True, exist_ok=True)
            attrs = item.layer.attrs
            tags = item.tags if item.tags is not None else {k: tag_text(v) for k, v in attrs.items()}
            tags = tags | {LAYER_TAG: item.meta.tag()}
            opts = {"legend": item.meta.legend, "description": item.meta.description, "tags": tags}
            items.append((item.layer, path, opts))
            for record in (outputs, self):
                record.layers[item.key] = path
                record.meta[item.key] = item.meta
                record.attrs[item.key] = jsonable(dict(attrs) if item.attrs is None else item.attrs)
        if title is None:
            write_layers(items)
            return
        if pixels is None and self.grid is not None:
            pixels = self.pixels
        with self.feedback.stage(title, pixels=pixels, distributed=self.distributed):
            write_layers(items)

    def reopen(self, key: str) -> xr.DataArray:
        """A written layer, lazily, on the template's coordinates."""
        layer = open_layer(self.layers[key], chunks=self.chunks).squeeze(drop=True)
        return self.align(layer)

    def align(self, layer: xr.DataArray) -> xr.DataArray:
        """``layer`` with the template's x/y coordinates (bit-identical pixel centres)."""
        return layer.assign_coords(x=self.template.x, y=self.template.y)


__all__ = ["LayerToWrite", "RunContext", "as_int16", "mask_outside"]
