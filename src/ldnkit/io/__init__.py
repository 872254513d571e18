"""Input and output: the only part of ldnkit (with the pipeline) that touches the disk.

:mod:`ldnkit.io.raster` opens GeoTIFF / any GDAL raster, NetCDF and Zarr sources lazily as xarray,
aligns layers to a common :class:`~ldnkit.io.raster.Grid`, writes Cloud-Optimised GeoTIFFs with
their legend, and provides the atomic run folder. :mod:`ldnkit.io.vector` reads areas of interest
and region polygons and rasterizes them lazily.
"""
