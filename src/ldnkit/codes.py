"""Every class code, name and colour used by ldnkit — the one source of truth.

Categorical layers are ``int16`` with :data:`NODATA` (-32768) as missing, the convention
Trends.Earth uses, so files interoperate. Colours are ``#rrggbb`` strings.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Missing value of every categorical layer (int16).
#: The scope name of whole-area figures (the first scope of every table and summary).
AOI_SCOPE = "Area of interest"

NODATA: int = -32768
#: dtype of every categorical layer.
CATEGORICAL_DTYPE = np.int16


@dataclass(frozen=True)
class Legend:
    """Codes of one categorical layer with their names and colours."""

    name: str
    codes: tuple[int, ...]
    names: tuple[str, ...]
    colours: tuple[str, ...]

    def __post_init__(self) -> None:
        if not (len(self.codes) == len(self.names) == len(self.colours)):
            raise ValueError(f"legend {self.name}: codes, names and colours differ in length")

    def name_of(self, code: int) -> str:
        return dict(zip(self.codes, self.names, strict=True))[code]

    def as_dict(self) -> dict[int, str]:
        return dict(zip(self.codes, self.names, strict=True))

    def colour_of(self, code: int) -> str:
        return dict(zip(self.codes, self.colours, strict=True))[code]


# --- degradation (3 classes): every sub-indicator, the SDG indicator and its status -------------
DEGRADED, STABLE, IMPROVED = -1, 0, 1
DEGRADATION = Legend(
    "degradation",
    (DEGRADED, STABLE, IMPROVED),
    ("Degraded", "Stable", "Improved"),
    ("#ab2727", "#ffffe0", "#45a146"),
)

# --- UNCCD land cover (7 classes) ---------------------------------------------------------------
TREE, GRASSLAND, CROPLAND, WETLAND, ARTIFICIAL, OTHER_LAND, WATER = 1, 2, 3, 4, 5, 6, 7
LAND_COVER = Legend(
    "land_cover",
    (1, 2, 3, 4, 5, 6, 7),
    (
        "Tree-covered areas",
        "Grassland",
        "Cropland",
        "Wetland",
        "Artificial surfaces",
        "Other land",
        "Water bodies",
    ),
    ("#787f1b", "#ffac42", "#ffff64", "#00db84", "#ff0000", "#fff5d7", "#0046c8"),
)
LAND_COVER_CODES: tuple[int, ...] = LAND_COVER.codes

# --- land productivity dynamics (5 classes) ------------------------------------------------------
DECLINING, MODERATE_DECLINE, STABLE_STRESSED, STABLE_PRODUCTIVITY, INCREASING = 1, 2, 3, 4, 5
LPD = Legend(
    "lpd",
    (1, 2, 3, 4, 5),
    ("Declining", "Moderate decline", "Stable but stressed", "Stable", "Increasing"),
    ("#f23c46", "#ffa500", "#ffff96", "#bcd88c", "#3ba638"),
)
#: LPD class -> 3-class productivity degradation (methodology §1.5.1).
LPD_TO_DEGRADATION: dict[int, int] = {1: -1, 2: -1, 3: 0, 4: 0, 5: 1}

# --- LDN neutrality accounting (GPG Addendum; Cowie et al. 2018) ------------------------------
#: Gains/losses of the neutrality balance: expanded status 6, 7 -> gain; 1, 2 -> loss; 3, 4, 5 -> none.
LOSS, NO_NET_CHANGE, GAIN = -1, 0, 1
GAINS_LOSSES = Legend(
    "gains_losses",
    (LOSS, NO_NET_CHANGE, GAIN),
    ("Loss", "No change", "Gain"),
    ("#ab2727", "#f5f5dc", "#45a146"),
)
STATUS_EXPANDED_GAINS: tuple[int, ...] = (6, 7)
STATUS_EXPANDED_LOSSES: tuple[int, ...] = (1, 2)

#: Response hierarchy (avoid > reduce > reverse): where each response applies.
AVOID, REDUCE, REVERSE = 1, 2, 3
RESPONSE_HIERARCHY = Legend(
    "response_hierarchy",
    (AVOID, REDUCE, REVERSE),
    ("Avoid", "Reduce", "Reverse"),
    ("#2b83ba", "#fdae61", "#d7191c"),
)
RESPONSE_LEVELS: dict[str, int] = {"avoid": AVOID, "reduce": REDUCE, "reverse": REVERSE}

#: Hotspots (contiguous degradation) and brightspots (contiguous improvement).
HOTSPOT, BRIGHTSPOT = -1, 1
HOTSPOTS = Legend("hotspots", (HOTSPOT, BRIGHTSPOT), ("Hotspot", "Brightspot"), ("#d7191c", "#1a9641"))

#: False positive / negative corrections (GPG Addendum; PRAIS SO1-4.T3).
FALSE_POSITIVE, FALSE_NEGATIVE = "false positive", "false negative"
CORRECTION_TYPES: tuple[str, ...] = (FALSE_POSITIVE, FALSE_NEGATIVE)

#: IPBES confidence terms, one per driver reported for a place and period (drivers.md).
IPBES_CONFIDENCE: tuple[str, ...] = (
    "well established",
    "established but incomplete",
    "unresolved",
    "inconclusive",
)

#: Categorical colours for layers whose classes are made at run time (land types, ...).
QUALITATIVE_COLOURS: tuple[str, ...] = (
    "#8dd3c7",
    "#ffffb3",
    "#bebada",
    "#fb8072",
    "#80b1d3",
    "#fdb462",
    "#b3de69",
    "#fccde5",
    "#d9d9d9",
    "#bc80bd",
    "#ccebc5",
    "#ffed6f",
    "#1f78b4",
    "#33a02c",
    "#e31a1c",
    "#ff7f00",
    "#6a3d9a",
    "#b15928",
    "#a6cee3",
    "#b2df8a",
)


# --- expanded status (7 classes, GPG Addendum) ---------------------------------------------------
STATUS_EXPANDED = Legend(
    "status_expanded",
    (1, 2, 3, 4, 5, 6, 7),
    (
        "Persistent degradation",
        "Recent degradation",
        "Baseline degradation",
        "Stability",
        "Baseline improvement",
        "Recent improvement",
        "Persistent improvement",
    ),
    ("#9b2779", "#c0504d", "#f79646", "#ffffe0", "#8bc34a", "#45a146", "#006d2c"),
)
#: 7-class status -> 3 classes.
STATUS_EXPANDED_TO_DEGRADATION: dict[int, int] = {1: -1, 2: -1, 3: -1, 4: 0, 5: 1, 6: 1, 7: 1}

# --- SPI drought intensity (SO 3-1) --------------------------------------------------------------
DROUGHT = Legend(
    "drought",
    (0, 1, 2, 3, 4),
    ("Non-drought", "Mild drought", "Moderate drought", "Severe drought", "Extreme drought"),
    ("#ffffff", "#ffff00", "#ffaa00", "#e60000", "#730000"),
)

# --- IPCC climate zones (12-class JRC/IPCC legend, code 0 = no data) -----------------------------
CLIMATE_ZONE = Legend(
    "climate_zone",
    tuple(range(1, 13)),
    (
        "Warm temperate moist",
        "Warm temperate dry",
        "Cool temperate moist",
        "Cool temperate dry",
        "Polar moist",
        "Polar dry",
        "Boreal moist",
        "Boreal dry",
        "Tropical montane",
        "Tropical wet",
        "Tropical moist",
        "Tropical dry",
    ),
    (
        "#2b83ba",
        "#abdda4",
        "#1a9641",
        "#a6d96a",
        "#d7191c",
        "#fdae61",
        "#5e3c99",
        "#b2abd2",
        "#8c510a",
        "#01665e",
        "#35978f",
        "#dfc27d",
    ),
)
#: Climate-zone code (0..12) -> IPCC F_LU class used for the cropland factor (Trends.Earth mapping):
#: 1 temperate/boreal dry, 2 temperate/boreal moist, 3 tropical dry, 4 tropical moist, 5 montane.
CLIMATE_ZONE_TO_FLU_CLASS: tuple[int, ...] = (0, 2, 1, 2, 1, 2, 1, 2, 1, 5, 4, 4, 3)
#: IPCC long-term-cultivated F_LU by F_LU class (index 0 = no data).
FLU_BY_CLASS: tuple[float, ...] = (0.0, 0.80, 0.69, 0.58, 0.48, 0.64)
#: Names accepted for a single climate zone in the config -> F_LU class.
FLU_CLASS_NAMES: dict[str, int] = {
    "temperate_dry": 1,
    "temperate_moist": 2,
    "tropical_dry": 3,
    "tropical_moist": 4,
    "tropical_montane": 5,
}

#: Multiplier of the transition code ``initial * 10 + final`` (7 classes fit in one digit each).
TRANSITION_MULTIPLIER: int = 10


def transition_legend() -> Legend:
    """Legend of land-cover transition codes ``initial*10 + final``."""
    codes, names, colours = [], [], []
    for i in LAND_COVER.codes:
        for f in LAND_COVER.codes:
            codes.append(i * TRANSITION_MULTIPLIER + f)
            names.append(f"{LAND_COVER.name_of(i)} -> {LAND_COVER.name_of(f)}")
            colours.append(LAND_COVER.colour_of(f) if i != f else "#d9d9d9")
    return Legend("land_cover_transition", tuple(codes), tuple(names), tuple(colours))


LAND_COVER_TRANSITION = transition_legend()


# --- land-cover nestings to the 7 UNCCD classes --------------------------------------------------
#: ESA CCI-LC (and C3S) legend -> UNCCD class (methodology §1.4, Trends.Earth nesting; 150 -> grassland).
ESA_CCI_NESTING: dict[int, tuple[int, ...]] = {
    1: (50, 60, 61, 62, 70, 71, 72, 80, 81, 82, 90, 100),
    2: (110, 120, 121, 122, 130, 140, 150, 151, 152, 153),
    3: (10, 11, 12, 20, 30, 40),
    4: (160, 170, 180),
    5: (190,),
    6: (200, 201, 202, 220),
    7: (210,),
}
#: MODIS IGBP (MCD12Q1 type 1, 0..16) -> UNCCD class.
MODIS_IGBP_NESTING: dict[int, tuple[int, ...]] = {
    1: (1, 2, 3, 4, 5),
    2: (6, 7, 8, 9, 10),
    3: (12, 14),
    4: (11,),
    5: (13,),
    6: (15, 16),
    7: (0, 17),  # 0 in Collection 5.1, 17 in Collections 6 and 6.1
}
#: Identity nesting for maps already in UNCCD classes.
UNCCD_NESTING: dict[int, tuple[int, ...]] = {c: (c,) for c in LAND_COVER.codes}

BUILTIN_NESTINGS: dict[str, dict[int, tuple[int, ...]]] = {
    "esa_cci": ESA_CCI_NESTING,
    "modis_igbp": MODIS_IGBP_NESTING,
    "unccd": UNCCD_NESTING,
}

# --- default UNCCD land-cover degradation matrix (rows initial, columns final) -------------------
#: Methodology §1.4; identical in PRAIS 2026 Table 9, Trends.Earth and SEPAL.
DEFAULT_TRANSITION_MATRIX: tuple[tuple[int, ...], ...] = (
    # Tree Grass Crop Wetl Artif Other Water
    (0, -1, -1, -1, -1, -1, 0),  # Tree-covered
    (1, 0, 1, -1, -1, -1, 0),  # Grassland
    (1, -1, 0, -1, -1, -1, 0),  # Cropland
    (-1, -1, -1, 0, -1, -1, 0),  # Wetland
    (1, 1, 1, 1, 0, 1, 0),  # Artificial
    (1, 1, 1, 1, -1, 0, 0),  # Other land
    (0, 0, 0, 0, 0, 0, 0),  # Water
)
#: Names of the processes in the default matrix (for SO1-1.T1 and the report).
TRANSITION_PROCESS: dict[tuple[int, int], str] = {
    (1, 2): "Vegetation loss",
    (1, 3): "Deforestation",
    (1, 4): "Inundation",
    (1, 5): "Deforestation",
    (1, 6): "Vegetation loss",
    (2, 1): "Afforestation",
    (2, 3): "Agricultural expansion",
    (2, 4): "Inundation",
    (2, 5): "Urban expansion",
    (2, 6): "Vegetation loss",
    (3, 1): "Afforestation",
    (3, 2): "Withdrawal of agriculture",
    (3, 4): "Inundation",
    (3, 5): "Urban expansion",
    (3, 6): "Vegetation loss",
    (4, 1): "Woody encroachment",
    (4, 2): "Wetland drainage",
    (4, 3): "Wetland drainage",
    (4, 5): "Wetland drainage",
    (4, 6): "Wetland drainage",
    (5, 1): "Afforestation",
    (5, 2): "Vegetation establishment",
    (5, 3): "Agricultural expansion",
    (5, 4): "Wetland establishment",
    (5, 6): "Withdrawal of settlements",
    (6, 1): "Afforestation",
    (6, 2): "Vegetation establishment",
    (6, 3): "Agricultural expansion",
    (6, 4): "Wetland establishment",
    (6, 5): "Urban expansion",
}

# --- external LPD products: their codes -> ldnkit LPD 1..5 ---------------------------------------
#: Each maps product code -> LPD code; any other value is no data.
EXTERNAL_LPD_LEGENDS: dict[str, dict[int, int]] = {
    # JRC LPD (WAD3 / UNCCD 2022 default): 1..5, 0 = no data.
    "jrc": {1: 1, 2: 2, 3: 3, 4: 4, 5: 5},
    # FAO-WOCAT LPD as distributed in Trends.Earth: same class codes.
    "fao_wocat": {1: 1, 2: 2, 3: 3, 4: 4, 5: 5},
    # Trends.Earth productivity (prod5) layer: 1..5, -32768 / 0 / 6 = no data.
    "trends_earth": {1: 1, 2: 2, 3: 3, 4: 4, 5: 5},
}


def hex_to_rgba(colour: str) -> tuple[int, int, int, int]:
    c = colour.lstrip("#")
    return int(c[0:2], 16), int(c[2:4], 16), int(c[4:6], 16), 255


# --- Early warning (M9): Combined Drought Indicator and land-degradation alert --------------------
#: Missing value of the early-warning class layers (int8; the run casts them to int16 with NODATA).
EW_NODATA: int = -128
#: dtype of the early-warning class layers.
EW_DTYPE = np.int8
#: Combined Drought Indicator classes (Cammalleri et al. 2021, EDO CDI v2 numbering).
CDI_NONE, CDI_WATCH, CDI_WARNING, CDI_ALERT = 0, 1, 2, 3
CDI_RECOVERY, CDI_TEMPORARY_SOIL_MOISTURE_RECOVERY, CDI_TEMPORARY_FAPAR_RECOVERY = 4, 5, 6
CDI = Legend(
    "cdi",
    (0, 1, 2, 3, 4, 5, 6),
    (
        "No drought",
        "Watch",
        "Warning",
        "Alert",
        "Recovery",
        "Temporary soil-moisture recovery",
        "Temporary fAPAR recovery",
    ),
    ("#ffffff", "#ffff00", "#ffaa00", "#e60000", "#38a800", "#c2e699", "#a6bddb"),
)
#: Land-degradation alert (persistent below-normal productivity).
EW_ALERT_NONE, EW_ALERT_PERSISTENT, EW_ALERT_PERSISTENT_DECLINING = 0, 1, 2
DEGRADATION_ALERT = Legend(
    "degradation_alert",
    (0, 1, 2),
    (
        "No alert",
        "Persistent below-normal productivity",
        "Persistent below-normal productivity where the SO1 trend declines",
    ),
    ("#ffffff", "#fdae61", "#d7191c"),
)
