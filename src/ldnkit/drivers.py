"""Drivers of land degradation: the controlled vocabulary of the UNCCD COP14 decision (IPBES LDRA 2018).

Transcribes ``drivers.md`` (the decision's annex): Table 1, the 11 direct (anthropogenic) drivers with
their sub-drivers and the degradation/restoration processes they cause; Table 2, the 5 indirect drivers
with their sub-drivers and related SDGs. The natural drivers of methodology §4.5 (drought, floods,
landslides, wildfire) are accepted as direct drivers of kind ``"natural"``. A driver reported for a place
and period carries one IPBES confidence term (:data:`ldnkit.codes.IPBES_CONFIDENCE`).

Names match case-insensitively (and ignoring repeated spaces); an unknown name raises
:class:`~ldnkit.errors.ConfigError` listing the closest valid names.

Example
-------
>>> validate_driver("extraction of MINERAL resources", "drivers[0].driver")
'Extraction of mineral resources'
>>> validate_confidence("Well established", "drivers[0].confidence")
'well established'
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field

import pandas as pd

from ldnkit import codes
from ldnkit.errors import ConfigError

__all__ = [
    "DriverInfo",
    "DriverRecord",
    "DIRECT_DRIVERS",
    "INDIRECT_DRIVERS",
    "NATURAL_DRIVERS",
    "ALL_DRIVERS",
    "validate_driver",
    "validate_sub_driver",
    "validate_confidence",
    "vocabulary_table",
]


@dataclass(frozen=True)
class DriverInfo:
    """One driver of the vocabulary.

    kind: ``"direct"`` (Table 1), ``"natural"`` (methodology §4.5) or ``"indirect"`` (Table 2);
    processes: associated land degradation or restoration processes (direct drivers);
    sdgs: related SDG numbers (indirect drivers).
    """

    name: str
    kind: str
    sub_drivers: tuple[str, ...] = ()
    processes: tuple[str, ...] = ()
    sdgs: tuple[int, ...] = ()


def _split(text: str) -> tuple[str, ...]:
    return () if text.strip() in ("", "—") else tuple(s.strip() for s in text.split(";"))


def _sdgs(text: str) -> tuple[int, ...]:
    return tuple(int(s) for s in text.split(","))


# Table 1 of drivers.md, verbatim: (driver, sub-drivers, processes), lists separated by "; ".
_TABLE_1 = (
    (
        "Deforestation and clearance of other native vegetation",
        "—",
        "fragmentation; soil erosion; changes in runoff and infiltration regimes; climate feedbacks",
    ),
    (
        "Rangeland management",
        "livestock type; stocking rate; rotation system; supplementary feeding; irrigation",
        "soil erosion; soil compaction; changes in soil nutrient content; changes in runoff and "
        "infiltration regimes; invasive species; changes in fire regime; secondary succession",
    ),
    (
        "Cropland and agroforestry",
        "crop type; soil management; harvest and fallow cycles; fertilizers, pesticides and herbicides; "
        "irrigation",
        "soil erosion; soil compaction; changes in soil nutrient content; eutrophication; salinization of "
        "water and soil; sedimentation; water pollution; species invasion; changes in fire regime "
        "(agroforestry)",
    ),
    (
        "Management of natural and plantation forests",
        "harvest intensity; rotation; silvicultural techniques; spatial zoning",
        "soil erosion; soil compaction; changes in soil nutrient content; changes in runoff and "
        "infiltration regimes; salinization of water and soil; changes in species composition and "
        "species invasion",
    ),
    (
        "Extraction of non-timber natural resources",
        "fuelwood collection; hunting; harvesting of wild food, fodder, medicine and other products",
        "changes in species composition",
    ),
    (
        "Changes in fire regime",
        "—",
        "changes in species composition; soil erosion; loss of above-ground biomass; species invasion; "
        "changes in runoff and infiltration regimes",
    ),
    ("Invasive alien species", "—", "changes in species composition"),
    (
        "Land abandonment",
        "—",
        "secondary succession; species invasion; changes in fire regime; changes in soil nutrient content",
    ),
    (
        "Extraction of mineral resources",
        "mine type; extraction and refining technology; pollutant emissions; spatial zoning",
        "soil pollution; water pollution",
    ),
    (
        "Infrastructure, industry and urbanization",
        "dams and hydropower; roads; pollutant emissions; irrigation",
        "soil pollution; water pollution; air pollutants",
    ),
    (
        "Climate change",
        "extreme weather events; long-term changes in temperature, precipitation and atmospheric composition",
        "—",
    ),
)

# Table 2 of drivers.md, verbatim: (driver, sub-drivers, related SDGs).
_TABLE_2 = (
    (
        "Demographic",
        "population growth; migration (including to urban centres); density; age structure",
        "1, 2, 3, 4, 5, 6, 8, 9, 10, 11, 13, 15, 16",
    ),
    (
        "Economic",
        "demand; poverty; commodification and trade; urbanization; industrialization; labour markets; "
        "prices; finance; consumption behaviour",
        "1, 5, 7, 8, 9, 10, 11, 12, 15",
    ),
    (
        "Science, knowledge and technology",
        "education; indigenous and local knowledge; investment in research and development; access to "
        "technology; innovation; communication and outreach",
        "3, 4, 5, 6, 7, 9, 10, 11, 12, 15, 16",
    ),
    (
        "National institutions and governance",
        "public policy (regulation and incentives); property rights; customary law; certification; "
        "international agreements and conventions (trade, environment, …); capacity of formal national "
        "institutions; informal institutions (social capital)",
        "1, 3, 4, 5, 6, 7, 8, 9, 10, 12, 13, 15, 16",
    ),
    (
        "Cultural",
        "worldviews; values; religion; consumption behaviour; dietary habits",
        "2, 3, 4, 5, 10, 12, 13, 15, 16",
    ),
)

#: Natural direct drivers named in methodology §4.5 (not in the COP14 tables).
_NATURAL = ("Drought", "Floods", "Landslides", "Wildfire")

#: Direct drivers: the 11 anthropogenic ones of Table 1, then the natural ones (kind "natural").
DIRECT_DRIVERS: dict[str, DriverInfo] = {
    **{n: DriverInfo(n, "direct", _split(s), _split(p)) for n, s, p in _TABLE_1},
    **{n: DriverInfo(n, "natural") for n in _NATURAL},
}
#: The natural drivers alone (also in :data:`DIRECT_DRIVERS`).
NATURAL_DRIVERS: dict[str, DriverInfo] = {n: d for n, d in DIRECT_DRIVERS.items() if d.kind == "natural"}
#: Indirect drivers of Table 2 with their sub-drivers and related SDGs.
INDIRECT_DRIVERS: dict[str, DriverInfo] = {
    n: DriverInfo(n, "indirect", _split(s), sdgs=_sdgs(g)) for n, s, g in _TABLE_2
}
#: Every valid driver name -> its description.
ALL_DRIVERS: dict[str, DriverInfo] = {**DIRECT_DRIVERS, **INDIRECT_DRIVERS}


def _norm(text: str) -> str:
    return " ".join(str(text).replace("_", " ").split()).casefold()


#: Common words for drivers (methodology §4.5) -> the vocabulary's name; used for hints only.
_HINTS: dict[str, str] = {
    "overgrazing": "Rangeland management",
    "grazing": "Rangeland management",
    "livestock": "Rangeland management",
    "mining": "Extraction of mineral resources",
    "quarrying": "Extraction of mineral resources",
    "urban expansion": "Infrastructure, industry and urbanization",
    "urbanisation": "Infrastructure, industry and urbanization",
    "roads": "Infrastructure, industry and urbanization",
    "deforestation": "Deforestation and clearance of other native vegetation",
    "clearing": "Deforestation and clearance of other native vegetation",
    "cropland expansion": "Deforestation and clearance of other native vegetation",
    "agriculture": "Cropland and agroforestry",
    "logging": "Management of natural and plantation forests",
    "fire": "Changes in fire regime",
    "fires": "Changes in fire regime",
    "bushfire": "Wildfire",
    "invasive species": "Invasive alien species",
    "population": "Demographic",
    "poverty": "Economic",
    "governance": "National institutions and governance",
    "flood": "Floods",
    "landslide": "Landslides",
}


def _closest(value: str, valid: list[str], n: int = 3) -> list[str]:
    by_norm = {_norm(v): v for v in valid}
    v = _norm(value)
    hits = [by_norm[_norm(_HINTS[v])]] if v in _HINTS and _norm(_HINTS[v]) in by_norm else []
    hits += [by_norm[h] for h in difflib.get_close_matches(v, list(by_norm), n=n, cutoff=0.6)]
    if not hits:  # a word in common with a name, sub-driver or process is a better hint than nothing
        words = {w for w in v.replace(",", " ").split() if len(w) > 3}
        for name, key in by_norm.items():
            info = ALL_DRIVERS.get(key)
            text = " ".join([name, *info.sub_drivers, *info.processes]) if info else name
            if words & set(_norm(text).replace(",", " ").replace(";", " ").split()):
                hits.append(key)
    return list(dict.fromkeys(hits))[:n]


def _lookup(
    value: object, valid: list[str], where: str, what: str, listing: str, list_always: bool = True
) -> str:
    if isinstance(value, str):
        for v in valid:
            if _norm(v) == _norm(value):
                return v
    close = _closest(str(value), valid)
    hint = "did you mean " + " or ".join(repr(c) for c in close) + "?" if close else ""
    if close and not list_always:
        listing = "(ldnkit.drivers.vocabulary_table() lists them all)"
    raise ConfigError(where, f"{value!r} is not a known {what}", f"{hint} {listing}".strip())


def validate_driver(name: str, where: str, kinds: tuple[str, ...] = ("direct", "natural", "indirect")) -> str:
    """The canonical name of driver ``name`` (case-insensitive match).

    Raises :class:`ConfigError` at ``where`` naming the closest valid names when it is unknown.
    ``kinds`` restricts the accepted drivers (e.g. ``("indirect",)``).

    >>> validate_driver("climate change", "x")
    'Climate change'
    """
    valid = [n for n, d in ALL_DRIVERS.items() if d.kind in kinds]
    return _lookup(name, valid, where, "driver", "valid drivers: " + "; ".join(valid), list_always=False)


def validate_sub_driver(driver: str, sub_driver: str, where: str) -> str:
    """The canonical name of ``sub_driver`` of ``driver`` (canonical driver name); ConfigError if unknown
    or if the driver has no sub-drivers."""
    info = ALL_DRIVERS[driver]
    if not info.sub_drivers:
        raise ConfigError(
            where, f"{driver!r} has no sub-drivers (got {sub_driver!r})", "leave sub_driver empty"
        )
    return _lookup(
        sub_driver,
        list(info.sub_drivers),
        where,
        f"sub-driver of {driver!r}",
        "its sub-drivers are: " + "; ".join(info.sub_drivers),
    )


def validate_confidence(value: str, where: str) -> str:
    """The IPBES confidence term (:data:`ldnkit.codes.IPBES_CONFIDENCE`) matching ``value``
    case-insensitively ("_" counts as a space); ConfigError otherwise."""
    return _lookup(
        value,
        list(codes.IPBES_CONFIDENCE),
        where,
        "IPBES confidence level",
        "use one of: " + ", ".join(codes.IPBES_CONFIDENCE),
    )


@dataclass
class DriverRecord:
    """A driver reported by the user for a place (a point or a hotspot id) and a period.

    Fields are validated and normalised on creation (canonical driver / sub-driver names, IPBES
    confidence term); errors are :class:`ConfigError` at ``where``.

    driver : a name of :data:`ALL_DRIVERS` (direct, natural or indirect).
    confidence : one of :data:`ldnkit.codes.IPBES_CONFIDENCE`.
    sub_driver : optional, one of the driver's sub-drivers.
    at : (x, y) of a point inside the hotspot, in the grid CRS (or in ``crs`` when given).
    hotspot_id : the "Id" of a hotspot/brightspot table row (alternative to ``at``).
    kind : "hotspot" or "brightspot" — restricts which table ``hotspot_id`` refers to (None: both).
    period : the reporting period name the record is about (free text, optional).
    remediation : remediation actions taken or planned (free text).
    crs : CRS of ``at`` (anything pyproj accepts); None = the grid CRS.

    Example
    -------
    >>> r = DriverRecord("extraction of mineral resources", "well established", at=(36.5, -0.7))
    >>> r.driver
    'Extraction of mineral resources'
    """

    driver: str
    confidence: str
    sub_driver: str | None = None
    at: tuple[float, float] | None = None
    hotspot_id: int | None = None
    kind: str | None = None
    period: str | None = None
    remediation: str | None = None
    crs: str | None = None
    where: str = field(default="drivers", repr=False, compare=False)

    def __post_init__(self) -> None:
        w = self.where
        self.driver = validate_driver(self.driver, f"{w}.driver")
        self.confidence = validate_confidence(self.confidence, f"{w}.confidence")
        if self.sub_driver is not None and str(self.sub_driver).strip():
            self.sub_driver = validate_sub_driver(self.driver, str(self.sub_driver), f"{w}.sub_driver")
        else:
            self.sub_driver = None
        if self.at is None and self.hotspot_id is None:
            raise ConfigError(w, "a driver record needs a place", "give at: [x, y] or hotspot_id: N")
        if self.at is not None:
            try:
                x, y = (float(v) for v in self.at)
            except (TypeError, ValueError):
                raise ConfigError(f"{w}.at", f"{self.at!r} is not a point", "write at: [x, y]") from None
            self.at = (x, y)
        if self.hotspot_id is not None:
            try:
                self.hotspot_id = int(self.hotspot_id)
            except (TypeError, ValueError):
                raise ConfigError(
                    f"{w}.hotspot_id", f"{self.hotspot_id!r} is not an integer", "give the table's Id"
                ) from None
        if self.kind is not None:
            k = _norm(self.kind)
            if k not in ("hotspot", "brightspot"):
                raise ConfigError(f"{w}.kind", f"{self.kind!r} is not a kind", "use hotspot or brightspot")
            self.kind = k

    @property
    def label(self) -> str:
        """ "Driver — sub-driver" (or the driver alone)."""
        return f"{self.driver} — {self.sub_driver}" if self.sub_driver else self.driver


def vocabulary_table() -> pd.DataFrame:
    """The vocabulary as a table for reports: "Kind", "Driver", "Sub-drivers", "Processes",
    "Related SDGs" (lists joined with "; ")."""
    kind_names = {"direct": "Direct", "natural": "Direct (natural)", "indirect": "Indirect"}
    rows = [
        {
            "Kind": kind_names[d.kind],
            "Driver": d.name,
            "Sub-drivers": "; ".join(d.sub_drivers),
            "Processes": "; ".join(d.processes),
            "Related SDGs": ", ".join(map(str, d.sdgs)),
        }
        for d in ALL_DRIVERS.values()
    ]
    df = pd.DataFrame(rows, columns=["Kind", "Driver", "Sub-drivers", "Processes", "Related SDGs"])
    df.attrs["title"] = "Drivers of land degradation (UNCCD COP14 decision annex; IPBES 2018)"
    df.attrs["id"] = "drivers"
    df.attrs["confidence_levels"] = list(codes.IPBES_CONFIDENCE)
    return df
