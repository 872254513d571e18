"""Figures for notebooks: the maps and charts of the HTML report as matplotlib Figures.

Every function returns a :class:`matplotlib.figure.Figure` (Agg backend; in Jupyter the Figure
displays itself, or call ``fig.savefig("x.png")``). Charts take the tables of a run — a run folder,
a loaded summary.json dict, or the ``{table id: {...}}`` tables of one scope — and a ``scope``
("Area of interest" or a region name).

Example
-------
>>> from ldnkit import plot
>>> fig = plot.map_layer("ldnkit-demo/run/layers/baseline/sdg.tif")          # doctest: +SKIP
>>> fig = plot.land_cover_areas("ldnkit-demo/run", scope="North")              # doctest: +SKIP
>>> fig.savefig("land_cover_north.png", dpi=150)                              # doctest: +SKIP
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

from matplotlib.figure import Figure  # noqa: E402

from ldnkit.codes import AOI_SCOPE, Legend  # noqa: E402
from ldnkit.report import charts  # noqa: E402
from ldnkit.report.maps import (  # noqa: E402
    Boundaries,
    from_dataarray,
    map_figure,
    read_boundaries,
    read_map,
)

__all__ = [
    "map_layer",
    "land_cover_areas",
    "land_cover_change_matrix",
    "lpd_by_land_cover",
    "degradation_by_subindicator",
    "drought_classes",
    "population_exposed",
    "balance_sheet",
]

Tables = str | os.PathLike | Mapping[str, Any]


def _scope_tables(tables: Tables, scope: str) -> Mapping[str, Any]:
    """The ``{table id: {...}}`` of ``scope`` from a run folder, summary dict or scope tables."""
    if isinstance(tables, str | os.PathLike):
        p = Path(tables)
        p = p / "summary.json" if p.is_dir() else p
        tables = json.loads(p.read_text(encoding="utf-8"))
    if "tables" in tables and isinstance(tables["tables"], Mapping):
        tables = tables["tables"]
    if scope in tables and isinstance(tables[scope], Mapping):
        return tables[scope]
    if all(isinstance(v, Mapping) and "records" in v for v in tables.values()):
        return tables  # already one scope's tables
    raise ValueError(f"no tables for scope {scope!r}; scopes: {', '.join(map(str, tables))}")


def _need(fig: Figure | None, what: str) -> Figure:
    if fig is None:
        raise ValueError(f"the run has no {what}")
    return fig


def map_layer(
    layer: str | os.PathLike | Any,
    *,
    title: str | None = None,
    boundaries: str | os.PathLike | Boundaries | None = None,
    legend: Legend | None = None,
    max_pixels: int = 600_000,
    width: float = 6.4,
) -> Figure:
    """Map of one layer: a GeoTIFF path or a 2-D ``(y, x)`` DataArray.

    Categorical layers use the colours of their legend (the GeoTIFF's ``LDNKIT_LEGEND`` tag or
    colour table; for a DataArray ``legend=``, else its ``attrs["codes"]``), continuous ones a colour
    bar (diverging around 0 for changes and slopes). The map has coordinate ticks, a scale bar (true
    at the centre latitude for geographic grids) and, with ``boundaries`` (a run folder holding
    boundaries.gpkg, or :class:`~ldnkit.report.maps.Boundaries`), the area-of-interest and region
    outlines. At most ``max_pixels`` pixels are read (decimated), so any raster size maps fast.

    Example
    -------
    >>> fig = map_layer("run/layers/2016-2023/sdg.tif", boundaries="run")  # doctest: +SKIP
    >>> fig = map_layer(result.layer("lpd", "baseline"), legend=ldnkit.codes.LPD)            # doctest: +SKIP
    """
    if isinstance(layer, str | os.PathLike):
        md = read_map(layer, max_pixels=max_pixels)
        if legend is not None:
            md.legend, md.categorical = legend, True
    else:
        md = from_dataarray(layer, max_pixels=max_pixels, legend=legend)
    if isinstance(boundaries, str | os.PathLike):
        boundaries = read_boundaries(boundaries)
    return map_figure(md, boundaries=boundaries, title=title or md.name, width=width)


def land_cover_areas(tables: Tables, scope: str = AOI_SCOPE) -> Figure:
    """Land-cover area by UNCCD class (km²) for every land-cover year (table SO1-1.T4).

    Example
    -------
    >>> land_cover_areas("ldnkit-demo/run").savefig("lc.png")                     # doctest: +SKIP
    """
    return _need(charts.land_cover_areas(_scope_tables(tables, scope)), "table SO1-1.T4")


def land_cover_change_matrix(tables: Tables, period: str = "baseline", scope: str = AOI_SCOPE) -> Figure:
    """Heat map of the land-cover change matrix of ``period`` (km², rows initial class, columns final
    class; SO1-1.T5 / SO1-1.T6). Degradation transitions are framed red, improvements green.

    Example
    -------
    >>> land_cover_change_matrix("ldnkit-demo/run", "2016-2023")                  # doctest: +SKIP
    """
    fig = charts.land_cover_change_matrix(_scope_tables(tables, scope), period)
    return _need(fig, f"land-cover change matrix for period {period!r}")


def lpd_by_land_cover(tables: Tables, period: str = "baseline", scope: str = AOI_SCOPE) -> Figure:
    """Land productivity dynamics classes (km²) in each land-cover class for ``period``
    (SO1-2.T1 / SO1-2.T2).

    Example
    -------
    >>> lpd_by_land_cover("ldnkit-demo/run", "2016-2019", scope="South")          # doctest: +SKIP
    """
    return _need(charts.lpd_by_land_cover(_scope_tables(tables, scope), period), f"LPD table for {period!r}")


def degradation_by_subindicator(tables: Tables, scope: str = AOI_SCOPE) -> Figure:
    """Degraded / stable / improved share (% of land) of each sub-indicator and of SDG 15.3.1 per
    period (SO1-1.T7, SO1-2.T3, SO1-3.T2, SO1-4.T1).

    Example
    -------
    >>> degradation_by_subindicator(summary_dict)                                 # doctest: +SKIP
    """
    return _need(charts.degradation_by_subindicator(_scope_tables(tables, scope)), "3-class tables")


def drought_classes(tables: Tables, scope: str = AOI_SCOPE) -> Figure:
    """% of land in each drought intensity class (mild .. extreme) per year (SO3-1.T1).

    Example
    -------
    >>> drought_classes("ldnkit-demo/run")                                        # doctest: +SKIP
    """
    return _need(charts.drought_classes(_scope_tables(tables, scope)), "drought table SO3-1.T1")


def population_exposed(tables: Tables, population: str = "total", scope: str = AOI_SCOPE) -> Figure:
    """People exposed to each drought intensity class: per period by its highest intensity
    (SO3-2.periods), else per year (SO3-2.T1..T3). ``population``: total, female or male.

    Example
    -------
    >>> population_exposed("ldnkit-demo/run", population="female")                # doctest: +SKIP
    """
    fig = charts.population_exposed(_scope_tables(tables, scope), population)
    return _need(fig, "population exposure table (SO3-2)")


def balance_sheet(tables: Tables, scope: str = AOI_SCOPE) -> Figure:
    """The LDN balance sheet (gains, losses, net) of table LDN-2 when the run has it.

    Example
    -------
    >>> balance_sheet("ldnkit-demo/run")                                          # doctest: +SKIP
    """
    return _need(charts.balance_sheet(_scope_tables(tables, scope)), "LDN balance sheet (table LDN-2)")
