"""Change in annual ecosystem-service value from land-cover transitions and productivity decline.

Benefit transfer (ELD Initiative; Nkonya et al. 2016 ch. 6): each land-cover class carries a value in
US$/ha/yr from a coefficient table (:mod:`ldnkit.indicators.economics.coefficients`); a pixel that
changed class gains ``(value_after - value_before) x ha`` per year. Land whose class did not change
but whose productivity declined (LPD classes 1-2) loses a documented share of its class value.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from ldnkit import codes
from ldnkit.crosstab import crosstab
from ldnkit.indicators.economics.blocks import HA_PER_KM2, check_same_grid, elementwise, pixel_area, take
from ldnkit.indicators.economics.coefficients import ValueTable, lookup

#: Share of the class value lost per year on unchanged land by LPD class (an ldnkit assumption, not
#: a published coefficient: replace it with local evidence; docs/economics.md).
DEFAULT_LPD_LOSS_SHARE: dict[int, float] = {codes.DECLINING: 0.10, codes.MODERATE_DECLINE: 0.05}


@dataclass
class ValueChange:
    """Result of :func:`ecosystem_value_change`.

    ``maps``: one variable ``value_change_<scenario>`` per scenario (US$/yr per pixel, lazy when the
    inputs are dask-backed). ``by_transition``: one row per (zone,) before, after(, lpd) with ``area``
    (km²), ``area_ha`` and per scenario ``value_before_*``, ``value_after_*`` and ``value_change_*``
    (US$/yr; NaN where a class is not valued). ``attrs``: the table's source and the parameters.
    """

    maps: xr.Dataset
    by_transition: pd.DataFrame
    scenarios: tuple[str, ...]
    attrs: dict[str, Any] = field(default_factory=dict)

    def totals(self) -> pd.DataFrame:
        """Per scope (:data:`codes.AOI_SCOPE` first, then each zone) and scenario: ``loss``, ``gain``,
        ``net`` (US$/yr) and the area valued / not valued (ha)."""
        table = self.by_transition
        scopes: list[tuple[Any, pd.DataFrame]] = [(codes.AOI_SCOPE, table)]
        if "zone" in table:
            scopes += list(table.groupby("zone", sort=True))
        rows = []
        for scope, part in scopes:
            for s in self.scenarios:
                change = part[f"value_change_{s}"]
                valued = change.notna()
                rows.append(
                    {
                        "scope": scope,
                        "scenario": s,
                        "loss": float(change[change < 0].sum()),
                        "gain": float(change[change > 0].sum()),
                        "net": float(change[valued].sum()),
                        "area_valued_ha": float(part.loc[valued, "area_ha"].sum()),
                        "area_not_valued_ha": float(part.loc[~valued, "area_ha"].sum()),
                    }
                )
        return pd.DataFrame(rows)


def _value_change_block(before, after, area_km2, *lpd, value_lut, share_lut):
    """US$/yr per pixel: (v_after - v_before) x ha, or -share(lpd) x v on unchanged declining land."""
    v_before, v_after = take(value_lut, before), take(value_lut, after)
    delta = v_after - v_before
    if lpd:
        unchanged = before == after
        share = np.nan_to_num(take(share_lut, lpd[0]), nan=0.0)
        delta = np.where(unchanged, -share * v_before, delta)
    return delta * np.asarray(area_km2, dtype=np.float64) * HA_PER_KM2


def _as_table(values: ValueTable | Mapping[int, float]) -> ValueTable:
    """A plain ``{code: US$/ha/yr}`` becomes a one-statistic table marked as user-given."""
    if isinstance(values, ValueTable):
        return values
    biomes = {f"class {c}": float(v) for c, v in values.items()}
    return ValueTable(
        name="user mapping",
        version="",
        source="values passed by the caller",
        units="US$/ha/yr",
        dollar_year=0,
        currency="US$",
        caveat="",
        central="mean",
        values={"mean": biomes},
        land_cover={int(c): f"class {c}" for c in values},
    )


def _transition_values(
    table: pd.DataFrame, luts: Mapping[str, np.ndarray], share_lut: np.ndarray | None
) -> pd.DataFrame:
    """Add ``area_ha`` and per scenario value columns (US$/yr) to the cross-tabulation."""
    out = table.copy()
    out["area_ha"] = out["area"] * HA_PER_KM2
    before, after = out["before"].to_numpy(), out["after"].to_numpy()
    for s, lut in luts.items():
        v_before, v_after = take(lut, before), take(lut, after)
        change = v_after - v_before
        if share_lut is not None:
            share = np.nan_to_num(take(share_lut, out["lpd"].to_numpy()), nan=0.0)
            change = np.where(before == after, -share * v_before, change)
        out[f"value_before_{s}"] = v_before * out["area_ha"]
        out[f"value_after_{s}"] = (v_before + change) * out["area_ha"]
        out[f"value_change_{s}"] = change * out["area_ha"]
    return out


def ecosystem_value_change(
    lc_before: xr.DataArray,
    lc_after: xr.DataArray,
    values: ValueTable | Mapping[int, float],
    area: xr.DataArray | None = None,
    *,
    lpd: xr.DataArray | None = None,
    lpd_loss_share: Mapping[int, float] | None = None,
    zones: xr.DataArray | None = None,
    statistic: str | None = None,
) -> ValueChange:
    """Change in annual ecosystem-service value (US$/yr) from land-cover change and LPD decline.

    Parameters
    ----------
    lc_before, lc_after : land-cover codes ``(y, x)`` (int16, NODATA -32768) of the baseline and
        target years, in the legend of the table's ``land_cover`` mapping (UNCCD 1-7 for the shipped
        tables).
    values : a :class:`ValueTable` from :func:`load_value_table`, or ``{code: US$/ha/yr}``.
    area : km² per pixel (default :func:`ldnkit.cell_area` of ``lc_before``).
    lpd : optional LPD classes 1-5: unchanged land in a class of ``lpd_loss_share`` loses that share of
        its class value per year (default :data:`DEFAULT_LPD_LOSS_SHARE`: declining 10 %, moderate
        decline 5 %).
    zones : optional int16 region ids; ``by_transition`` and ``totals()`` then give each region.
    statistic : ``"mean"`` or ``"median"`` for the central scenario (default: the table's).

    Returns
    -------
    :class:`ValueChange`: per-pixel maps (US$/yr, lazy for dask inputs), the table by transition and
    ``totals()``; low/high scenarios where the table has ranges. Classes the table does not value
    give NaN (counted as ``area_not_valued_ha``). Works block by block on dask arrays.

    Example
    -------
    1,000 ha of tropical forest turned to grassland at Costanza 2014 values:
    (4,166 - 5,382) x 1,000 = -1,216,000 US$/yr.
    """
    check_same_grid(lc_before=lc_before, lc_after=lc_after, lpd=lpd, zones=zones, area=area)
    area = pixel_area(lc_before, area)
    table = _as_table(values)
    scenarios = dict(table.scenarios)
    if statistic is not None:
        scenarios["central"] = statistic
    luts = {s: lookup(table.class_values(stat)) for s, stat in scenarios.items()}
    shares = dict(DEFAULT_LPD_LOSS_SHARE if lpd_loss_share is None else lpd_loss_share)
    share_lut = lookup(shares, max(codes.LPD.codes)) if lpd is not None else None
    extra = (lpd,) if lpd is not None else ()
    maps = xr.Dataset(
        {
            f"value_change_{s}": elementwise(
                _value_change_block, lc_before, lc_after, area, *extra, value_lut=lut, share_lut=share_lut
            ).assign_attrs(units="US$/yr per pixel", scenario=s, statistic=scenarios[s])
            for s, lut in luts.items()
        }
    )
    keys = {"before": lc_before, "after": lc_after} | ({"lpd": lpd} if lpd is not None else {})
    by_transition = _transition_values(crosstab(keys, area, zones=zones), luts, share_lut)
    attrs = table.provenance() | {
        "method": "benefit transfer: (value_after - value_before) x area; "
        "unchanged land with declining productivity loses a share of its class value",
        "scenarios": {s: scenarios[s] for s in luts},
        "lpd_loss_share": shares if lpd is not None else None,
    }
    maps.attrs = {k: v for k, v in attrs.items() if isinstance(v, str | int | float)}
    return ValueChange(maps, by_transition, tuple(luts), attrs)
