"""The planted processes: where they are, what they do, and the truth a correct run recovers.

Each process is a patch (a wobbly disc, see :func:`ldnkit.demo.grid.blob`) whose land-cover history
(land_cover.py) or NDVI (productivity.py) is planted; :func:`planted_processes` pairs each patch with
the classes a correct run gives its pixels. :class:`PlantedDrought` is the same truth for the
droughts planted in the precipitation (drought_inputs.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ldnkit.demo.grid import blob

BASELINE, REPORTING_1, REPORTING_2 = "baseline", "2016-2019", "2016-2023"
#: Planted patches: centre u, v and mean radius (radius wobbles by at most 23 %).
PATCHES: dict[str, tuple[float, float, float]] = {
    "deforestation": (0.21, 0.23, 0.075),
    "urban": (0.545, 0.575, 0.07),
    "abandonment": (0.80, 0.56, 0.07),
    "decline": (0.60, 0.82, 0.07),
    "restoration": (0.82, 0.80, 0.065),
    "wetland": (0.38, 0.82, 0.06),
    "stable": (0.20, 0.47, 0.07),
}
#: A false positive (neutrality/corrections): grassland invaded by woody weeds from 2010, so NDVI
#: rises (the indicator says improved) although the land is degrading. Drawn from its own random
#: stream so the landscape elsewhere is unchanged.
WOODY = (0.57, 0.33, 0.06)
WOODY_START, WOODY_SLOPE = 2010, 0.012
DECLINE_START, DECLINE_SLOPE = 2008, -0.012  # NDVI per year from 2008 on
RESTORE_START, RESTORE_OFFSET, RESTORE_SLOPE = 2008, -0.16, 0.0105


class Expectation(tuple):
    """What a correct run classes a planted process as: ``layer`` of ``period`` in ``codes``.

    A 3-tuple ``(period, layer, codes)``; the optional ``only_where`` = (period, layer, codes)
    restricts the check to the process's pixels where that other output layer has one of those
    codes (e.g. status_expanded is "recent degradation" only where the baseline was not degraded).
    """

    only_where: tuple[str, str, tuple[int, ...]] | None

    def __new__(
        cls,
        period: str,
        layer: str,
        codes: tuple[int, ...],
        only_where: tuple[str, str, tuple[int, ...]] | None = None,
    ) -> Expectation:
        self = super().__new__(cls, (period, layer, tuple(codes)))
        self.only_where = only_where
        return self

    def __getnewargs__(self) -> tuple:
        return (*self, self.only_where)

    def __repr__(self) -> str:
        extra = f", only_where={self.only_where!r}" if self.only_where else ""
        return f"Expectation({self[0]!r}, {self[1]!r}, {self[2]!r}{extra})"

    @property
    def period(self) -> str:
        return self[0]

    @property
    def layer(self) -> str:
        return self[1]

    @property
    def codes(self) -> tuple[int, ...]:
        return self[2]


@dataclass(frozen=True, eq=False)
class PlantedProcess:
    """A planted process: its pixels (``mask``, bool, rows x cols of the grid) and the truth."""

    name: str
    mask: np.ndarray
    expected: list[Expectation]
    description: str = ""


@dataclass(frozen=True, eq=False)
class PlantedDrought:
    """A planted drought (or a control without one) on the precipitation grid.

    ``mask`` (bool, rows x cols of the precipitation grid) holds the cells checked; a correct run
    gives them a drought class (:data:`ldnkit.codes.DROUGHT`) in ``expected`` in
    ``layers/drought/drought_class_<label>.tif``, where ``label`` is the year or, if given, the
    multi-year ``period`` ("2008-2011").
    """

    name: str
    year: int
    mask: np.ndarray
    expected: tuple[int, ...]
    description: str = ""
    period: str | None = None

    @property
    def label(self) -> str:
        return self.period or str(self.year)


def patch_masks(u: np.ndarray, v: np.ndarray, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """The planted patches (bool masks), drawn from ``rng`` in the fixed order of PATCHES."""
    return {key: blob(u, v, *PATCHES[key], rng) for key in PATCHES}


def woody_mask(u: np.ndarray, v: np.ndarray, seed: int) -> np.ndarray:
    """The woody encroachment patch, from its own random stream (seed, 4)."""
    return blob(u, v, *WOODY, np.random.default_rng([seed, 4]))


def planted_processes(masks: dict[str, np.ndarray]) -> list[PlantedProcess]:
    """Each planted patch of ``masks`` (keys of PATCHES and "woody") with its expected classes."""
    not_degraded = (BASELINE, "sdg", (0, 1))
    return [
        PlantedProcess(
            "Deforestation front",
            masks["deforestation"],
            [
                Expectation(BASELINE, "land_cover_degradation", (-1,)),
                Expectation(BASELINE, "soc_degradation", (-1,)),
                Expectation(BASELINE, "sdg", (-1,)),
            ],
            "tropical moist forest cleared for cropland 2004-2010, the front moving west",
        ),
        PlantedProcess(
            "Urban expansion",
            masks["urban"],
            [
                Expectation(REPORTING_1, "land_cover_degradation", (-1,)),
                Expectation(REPORTING_2, "land_cover_degradation", (-1,)),
                Expectation(REPORTING_1, "status", (-1,)),
                Expectation(REPORTING_2, "status", (-1,)),
                Expectation(REPORTING_1, "status_expanded", (2,), not_degraded),
                Expectation(REPORTING_2, "status_expanded", (2,), not_degraded),
            ],
            "cropland and grassland next to the town built over in 2017-2018",
        ),
        PlantedProcess(
            "Cropland abandonment",
            masks["abandonment"],
            [
                Expectation(REPORTING_1, "land_cover_degradation", (-1,)),
                Expectation(REPORTING_2, "land_cover_degradation", (-1,)),
            ],
            "cropland left to grassland in 2017 (withdrawal of agriculture)",
        ),
        PlantedProcess(
            "Productivity decline",
            masks["decline"],
            [
                Expectation(REPORTING_2, "lpd", (1, 2)),
                Expectation(REPORTING_2, "productivity_degradation", (-1,)),
                Expectation(REPORTING_2, "land_cover_degradation", (0,)),
                Expectation(REPORTING_2, "sdg", (-1,)),
            ],
            f"grassland, NDVI falling {DECLINE_SLOPE:+.3f}/yr from {DECLINE_START}, no cover change",
        ),
        PlantedProcess(
            "Restoration",
            masks["restoration"],
            [
                Expectation(REPORTING_2, "lpd", (5,)),
                Expectation(REPORTING_2, "productivity_degradation", (1,)),
                Expectation(REPORTING_2, "sdg", (1,)),
            ],
            f"degraded grassland, NDVI rising {RESTORE_SLOPE:+.4f}/yr from {RESTORE_START}",
        ),
        PlantedProcess(
            "Drained wetland",
            masks["wetland"],
            [Expectation(BASELINE, "land_cover_degradation", (-1,)), Expectation(BASELINE, "sdg", (-1,))],
            "wetland by the lake drained for cropland in 2003",
        ),
        PlantedProcess(
            "Woody encroachment",
            masks["woody"],
            [
                Expectation(REPORTING_2, "sdg_uncorrected", (1,)),
                Expectation(REPORTING_2, "sdg", (-1,)),
                Expectation(REPORTING_2, "status", (-1,)),
            ],
            f"grassland invaded by woody weeds, NDVI rising {WOODY_SLOPE:+.3f}/yr from {WOODY_START}: "
            "a false positive recoded to degraded",
        ),
        PlantedProcess(
            "Stable reference",
            masks["stable"],
            [
                Expectation(BASELINE, "land_cover_degradation", (0,)),
                Expectation(REPORTING_2, "land_cover_degradation", (0,)),
                Expectation(REPORTING_2, "sdg", (0, 1)),
            ],
            "undisturbed lowland forest: any degradation here is a false alarm",
        ),
    ]
