"""Input and output: the only part of ldnkit (with the pipeline) that touches the disk.

One idea a module: :mod:`~ldnkit.io.grid` (the pixel grid of layers and files, overlap checks),
:mod:`~ldnkit.io.read` (open one GDAL raster lazily), :mod:`~ldnkit.io.readers` (the table of
input formats and annual stacks from GeoTIFF, folders, NetCDF and Zarr), :mod:`~ldnkit.io.cf`
(CF decoding), :mod:`~ldnkit.io.warp` (align a layer to a grid), :mod:`~ldnkit.io.write` (COGs),
:mod:`~ldnkit.io.legend` (the metadata contract of written layers), :mod:`~ldnkit.io.nodata` (the
missing-value convention), :mod:`~ldnkit.io.run_folder` (the atomic run folder);
:mod:`ldnkit.io.vector` reads areas of interest and region polygons and rasterizes them lazily.
"""
