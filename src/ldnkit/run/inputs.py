"""One input loader: one call per config input resolves its path, checks it, and opens it aligned
on the run grid.

Paths are relative to the config's folder; GDAL virtual paths (``/vsis3/...``) pass as they are
(GDAL reports a missing object). A missing file is a one-line :class:`~ldnkit.errors.InputError`.
Every input opened on the grid is recorded in :attr:`InputLoader.inputs_used` (summary.json's
``inputs``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import xarray as xr

from ldnkit.config import RunConfig
from ldnkit.errors import InputError
from ldnkit.io.grid import Grid, check_overlap, grid_of, is_virtual
from ldnkit.io.read import open_layer
from ldnkit.io.readers import open_annual_stack


class InputLoader:
    """Opens the inputs of a config, lazily; on the run grid once :attr:`grid` is set."""

    def __init__(self, config: RunConfig) -> None:
        self.config = config
        self.chunks = config.compute.chunk_size
        self.grid: Grid | None = None
        self.inputs_used: dict[str, str] = {}

    def resolve(self, path: Path | str, key: str) -> Path:
        """The path of a config input (relative to the config's folder), which must exist."""
        if is_virtual(path):
            return Path(path)
        resolved = self.config.resolve(path)
        if not resolved.exists():
            raise InputError(
                key,
                f"file not found: {resolved}",
                "check the path (relative paths start at the config's folder)",
            )
        return resolved

    def grid_of(self, path: Path | str, key: str) -> Grid:
        """The grid of a raster input, without reading its pixels."""
        return grid_of(self.resolve(path, key))

    def open(self, path: Path | str, key: str, kind: Literal["categorical", "continuous"]) -> xr.DataArray:
        """A raster input on the run grid: checked to overlap it (CRS-aware), warped lazily by
        window, nearest for ``categorical`` codes, average for ``continuous`` values (masked to
        NaN). Bands, if any, are kept."""
        resolved = self.resolve(path, key)
        check_overlap(self.grid, grid_of(resolved), key)
        self.inputs_used[key] = str(resolved)
        if kind == "categorical":
            return open_layer(resolved, grid=self.grid, resampling="nearest", chunks=self.chunks, key=key)
        return open_layer(
            resolved, grid=self.grid, resampling="average", chunks=self.chunks, key=key, masked=True
        )

    def vegetation_index(self) -> xr.DataArray | None:
        """The annual vegetation-index stack ``(year, y, x)`` on its own grid, or None."""
        productivity = self.config.inputs.productivity
        if productivity is None:
            return None
        path = self.resolve(productivity.path, "inputs.productivity.path")
        self.inputs_used["productivity"] = str(path)
        return open_annual_stack(
            path,
            years=productivity.years,
            variable=productivity.variable,
            aggregate=productivity.aggregate,
            scale=productivity.scale,
            offset=productivity.offset,
            nodata=productivity.nodata,
            chunks=self.chunks,
            key="inputs.productivity",
        )


__all__ = ["InputLoader"]
