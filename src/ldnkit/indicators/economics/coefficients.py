"""Coefficient tables of the cost-of-degradation indicators: explicit, versioned, replaceable inputs.

Two kinds of table, each a YAML file with its source, version, units and caveat (docs/economics.md):

* ``ecosystem_value``: US$/ha/yr per biome (``mean``, ``median``, ``low``, ``high`` where the source
  gives them) and a mapping from land-cover codes to biomes;
* ``biomass_carbon``: IPCC Tier 1 above-ground biomass (t d.m./ha) and root-to-shoot ratios (by
  biomass class) per climate zone and land-cover class, and the carbon fraction.

Shipped tables are named (``"costanza2014"``, ``"degroot2012"``, ``"ipcc2006_biomass"``); a user table
is given by its path. :func:`load_value_table` is the only function of the indicators that reads a file.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from ldnkit import codes
from ldnkit.errors import InputError

#: Names of the tables shipped with ldnkit (``src/ldnkit/data/economics/<name>.yaml``).
SHIPPED_TABLES: tuple[str, ...] = ("costanza2014", "degroot2012", "ipcc2006_biomass")
#: Value statistics a biome row may give (US$/ha/yr).
VALUE_STATISTICS: tuple[str, ...] = ("mean", "median", "low", "high")
VALUE_KIND, BIOMASS_KIND = "ecosystem_value", "biomass_carbon"
_REQUIRED_META = ("kind", "name", "version", "source", "units", "caveat")
#: ``climate_zone`` of a biomass row that applies to every zone.
ALL_ZONES = "all"


@dataclass(frozen=True)
class ValueTable:
    """Ecosystem-service values per biome and the land-cover -> biome mapping.

    ``values[statistic][biome]`` is in ``units`` (US$/ha/yr of ``dollar_year``); NaN = not valued.
    ``land_cover`` maps a land-cover code to a biome, or ``None`` (class not valued).
    """

    name: str
    version: str
    source: str
    units: str
    dollar_year: int
    currency: str
    caveat: str
    central: str
    values: Mapping[str, Mapping[str, float]]
    land_cover: Mapping[int, str | None]
    path: str = ""

    def class_values(self, statistic: str) -> dict[int, float]:
        """US$/ha/yr per land-cover code for one statistic (``mean``, ``median``, ``low``, ``high``);
        ``low``/``high`` fall back to the central statistic where a biome has no range."""
        col = self.values.get(statistic, {})
        central = self.values[self.central]
        out = {}
        for code, biome in self.land_cover.items():
            if biome is None:
                out[code] = math.nan
            elif statistic in ("low", "high"):
                out[code] = col.get(biome, central[biome])
            elif biome in col:
                out[code] = col[biome]
            else:
                raise InputError(
                    f"{self.path or self.name} biome {biome!r}",
                    f"has no {statistic!r} value",
                    f"add one or use the statistic {self.central!r}",
                )
        return out

    @property
    def scenarios(self) -> dict[str, str]:
        """Scenario name -> statistic: ``central`` always, ``low``/``high`` where the table has ranges."""
        out = {"central": self.central}
        for s in ("low", "high"):
            if self.values.get(s):
                out[s] = s
        return out

    def provenance(self) -> dict[str, Any]:
        """What the outputs record about the table (attrs, summary.json)."""
        return {
            "table": self.name,
            "table_version": self.version,
            "table_source": self.source,
            "table_path": self.path,
            "units": self.units,
            "dollar_year": self.dollar_year,
            "currency": self.currency,
            "caveat": self.caveat,
        }


@dataclass(frozen=True)
class BiomassTable:
    """IPCC Tier 1 biomass per (climate zone, land-cover class).

    ``agb[(zone, cls)]`` in t d.m./ha (NaN = not estimated); ``root_shoot[(zone, cls)]`` a tuple of
    ``(upper AGB bound or inf, ratio)`` biomass classes, in increasing bound order.
    """

    name: str
    version: str
    source: str
    units: str
    caveat: str
    carbon_fraction: float
    agb: Mapping[tuple[int, int], float]
    root_shoot: Mapping[tuple[int, int], tuple[tuple[float, float], ...]] = field(default_factory=dict)
    path: str = ""

    def provenance(self) -> dict[str, Any]:
        """What the outputs record about the table (attrs, summary.json)."""
        return {
            "table": self.name,
            "table_version": self.version,
            "table_source": self.source,
            "table_path": self.path,
            "carbon_fraction": self.carbon_fraction,
            "caveat": self.caveat,
        }


# --- reading ---------------------------------------------------------------------------------------


def _read_yaml(path_or_name: str | Path) -> tuple[dict, str]:
    """The table's mapping and the name to quote in errors (the path, or ``ldnkit:<name>``)."""
    if str(path_or_name) in SHIPPED_TABLES:
        res = resources.files("ldnkit").joinpath("data", "economics", f"{path_or_name}.yaml")
        text, where = res.read_text(encoding="utf-8"), f"ldnkit:{path_or_name}"
    else:
        path = Path(path_or_name)
        if not path.is_file():
            raise InputError(
                str(path),
                "no such coefficient table",
                f"give a YAML file or one of {', '.join(SHIPPED_TABLES)}",
            )
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(str(path), f"cannot read the coefficient table ({exc})") from exc
        where = str(path)
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InputError(where, f"not valid YAML ({' '.join(str(exc).split())})") from exc
    if not isinstance(data, dict):
        raise InputError(where, "a coefficient table is a YAML mapping", "see docs/economics.md")
    for key in _REQUIRED_META:
        if data.get(key) in (None, ""):
            raise InputError(where, f"field {key!r} is missing", "every table states it (docs/economics.md)")
    return data, where


def _number(value: Any, where: str, *, allow_null: bool = True, minimum: float = 0.0) -> float:
    """A finite number >= ``minimum`` (``None`` -> NaN when allowed), else a one-line InputError."""
    if value is None and allow_null:
        return math.nan
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InputError(where, f"{value!r} is not a number")
    if value < minimum:
        raise InputError(where, f"{value!r} is below {minimum:g}")
    return float(value)


def _rows(data: dict, key: str, where: str) -> list[dict]:
    rows = data.get(key)
    if not isinstance(rows, list) or not rows:
        raise InputError(where, f"field {key!r} must be a non-empty list of rows")
    for i, row in enumerate(rows, start=1):
        if not isinstance(row, dict):
            raise InputError(f"{where} {key} row {i}", "a row is a mapping of fields")
    return rows


def _value_table(data: dict, where: str) -> ValueTable:
    values: dict[str, dict[str, float]] = {s: {} for s in VALUE_STATISTICS}
    for i, row in enumerate(_rows(data, "biomes", where), start=1):
        at = f"{where} biomes row {i}"
        biome = row.get("biome")
        if not isinstance(biome, str) or not biome:
            raise InputError(f"{at} field 'biome'", "the biome name is missing")
        if biome in values["mean"] or biome in values["median"]:
            raise InputError(f"{at} field 'biome'", f"biome {biome!r} appears twice")
        for s in VALUE_STATISTICS:
            if s in row:
                values[s][biome] = _number(row[s], f"{at} ({biome}) field {s!r}")
    central = str(data.get("central", "mean"))
    if central not in ("mean", "median"):
        raise InputError(f"{where} field 'central'", f"{central!r} is not 'mean' or 'median'")
    mapping = data.get("land_cover")
    if not isinstance(mapping, dict) or not mapping:
        raise InputError(f"{where} field 'land_cover'", "the land-cover -> biome mapping is missing")
    land_cover: dict[int, str | None] = {}
    for code, biome in mapping.items():
        at = f"{where} land_cover row {code!r}"
        if isinstance(code, bool) or not isinstance(code, int):
            raise InputError(at, f"land-cover code {code!r} is not an integer")
        if biome is not None and biome not in values[central]:
            raise InputError(at, f"biome {biome!r} has no {central!r} value in 'biomes'")
        land_cover[code] = biome
    dollar_year = data.get("dollar_year")
    if isinstance(dollar_year, bool) or not isinstance(dollar_year, int):
        raise InputError(f"{where} field 'dollar_year'", f"{dollar_year!r} is not a year")
    return ValueTable(
        name=str(data["name"]),
        version=str(data["version"]),
        source=" ".join(str(data["source"]).split()),
        units=str(data["units"]),
        dollar_year=dollar_year,
        currency=str(data.get("currency", "US$")),
        caveat=" ".join(str(data["caveat"]).split()),
        central=central,
        values={s: v for s, v in values.items() if v},
        land_cover=land_cover,
        path=where,
    )


def _root_shoot(value: Any, at: str) -> tuple[tuple[float, float], ...]:
    """``0.37`` or ``[[125, 0.20], [null, 0.24]]`` -> ``((125, 0.2), (inf, 0.24))``; None -> NaN ratio."""
    if value is None or isinstance(value, int | float) and not isinstance(value, bool):
        return ((math.inf, _number(value, at)),)
    if not isinstance(value, list) or not value:
        raise InputError(at, f"{value!r} is neither a ratio nor a list of [AGB bound, ratio] classes")
    classes = []
    for j, pair in enumerate(value, start=1):
        if not isinstance(pair, list) or len(pair) != 2:
            raise InputError(f"{at} class {j}", f"{pair!r} is not [upper AGB bound, ratio]")
        bound = math.inf if pair[0] is None else _number(pair[0], f"{at} class {j} bound", allow_null=False)
        classes.append((bound, _number(pair[1], f"{at} class {j} ratio", allow_null=False)))
    bounds = [b for b, _ in classes]
    if bounds != sorted(bounds) or bounds[-1] != math.inf:
        raise InputError(at, "AGB bounds must increase and the last one be null (no upper bound)")
    return tuple(classes)


def _biomass_table(data: dict, where: str) -> BiomassTable:
    zones = codes.CLIMATE_ZONE.codes
    agb: dict[tuple[int, int], float] = {}
    ratios: dict[tuple[int, int], tuple[tuple[float, float], ...]] = {}
    for i, row in enumerate(_rows(data, "rows", where), start=1):
        at = f"{where} rows row {i}"
        zone, cls = row.get("climate_zone"), row.get("land_cover")
        if zone != ALL_ZONES and zone not in zones:
            raise InputError(f"{at} field 'climate_zone'", f"{zone!r} is not a climate zone 1-12 or 'all'")
        if isinstance(cls, bool) or not isinstance(cls, int):
            raise InputError(f"{at} field 'land_cover'", f"{cls!r} is not a land-cover code")
        if "agb" not in row:
            raise InputError(
                f"{at} field 'agb'", "the above-ground biomass is missing (null = not estimated)"
            )
        value = _number(row["agb"], f"{at} field 'agb'")
        classes = _root_shoot(row.get("root_shoot", 0), f"{at} field 'root_shoot'")
        for z in zones if zone == ALL_ZONES else (zone,):
            if (z, cls) in agb:
                raise InputError(at, f"climate zone {z}, land cover {cls} is given twice")
            agb[(z, cls)], ratios[(z, cls)] = value, classes
    cf = _number(data.get("carbon_fraction"), f"{where} field 'carbon_fraction'", allow_null=False)
    if not 0 < cf <= 1:
        raise InputError(f"{where} field 'carbon_fraction'", f"{cf!r} is not a fraction in (0, 1]")
    return BiomassTable(
        name=str(data["name"]),
        version=str(data["version"]),
        source=" ".join(str(data["source"]).split()),
        units=str(data["units"]),
        caveat=" ".join(str(data["caveat"]).split()),
        carbon_fraction=cf,
        agb=agb,
        root_shoot=ratios,
        path=where,
    )


def load_value_table(path_or_name: str | Path) -> ValueTable | BiomassTable:
    """Read and validate a coefficient table: a shipped name or the path of a user YAML file.

    Parameters
    ----------
    path_or_name : ``"costanza2014"``, ``"degroot2012"``, ``"ipcc2006_biomass"`` or a path.

    Returns
    -------
    :class:`ValueTable` (``kind: ecosystem_value``, US$/ha/yr per biome) or :class:`BiomassTable`
    (``kind: biomass_carbon``, t d.m./ha and root-to-shoot ratios); ``.provenance()`` gives the
    source, version and caveat the outputs record.

    Raises
    ------
    InputError : one line naming the file, the row and the field at fault.

    Example
    -------
    >>> load_value_table("costanza2014").class_values("mean")[1]
    5382.0
    """
    data, where = _read_yaml(path_or_name)
    kind = data["kind"]
    if kind == VALUE_KIND:
        return _value_table(data, where)
    if kind == BIOMASS_KIND:
        return _biomass_table(data, where)
    raise InputError(f"{where} field 'kind'", f"{kind!r} is not {VALUE_KIND!r} or {BIOMASS_KIND!r}")


def lookup(mapping: Mapping[int, float], max_code: int | None = None) -> np.ndarray:
    """Dense float64 look-up array ``lut[code]`` from ``code -> value`` (absent codes NaN)."""
    size = max(max(mapping, default=0), max_code or 0) + 1
    lut = np.full(size, np.nan)
    for code, value in mapping.items():
        if code >= 0:
            lut[code] = value
    return lut
