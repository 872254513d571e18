"""The ``methods`` section: every SO1 method choice with its default."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from ldnkit.config.model import FactorMatrix, Matrix7, Strict


class TrajectoryMethod(Strict):
    """Productivity trend. ``mann_kendall`` (default): two-sided p <= alpha with the tie-corrected
    variance; ``trends_earth``: Trends.Earth's S critical-value table (no tie correction, 'level');
    ``z_score``: |z| > z_threshold (PRAIS 2022 style)."""

    method: Literal["mann_kendall", "trends_earth", "z_score"] = "mann_kendall"
    alpha: float = Field(0.05, gt=0, lt=1)
    z_threshold: float = Field(1.96, gt=0)
    level: Literal[90, 95, 99] = 95


class StateMethod(Strict):
    """Productivity state. ``percentile_class`` (default, Trends.Earth/PRAIS 2026) or ``z_score``
    (GPG v2/PRAIS 2022, denominator SD or SE)."""

    method: Literal["percentile_class", "z_score"] = "percentile_class"
    comparison_years: int = Field(3, ge=1)
    min_difference: float = Field(0.01, ge=0)
    z_threshold: float = Field(1.96, gt=0)
    z_denominator: Literal["sd", "se"] = "sd"


class PerformanceMethod(Strict):
    """Productivity performance: pixel mean / percentile of its ecological unit (over the whole input
    extent, not the area of interest); ratio <= threshold is degraded."""

    percentile: float = Field(90.0, gt=0, le=100)
    threshold: float = Field(0.5, gt=0, lt=1)
    units: Literal["land_cover_x_climate", "land_cover", "ecological_units"] = "land_cover_x_climate"


class LpdMethod(Strict):
    table: Literal["prais2026", "gpg_v1", "gpg_v2"] = "prais2026"


class RegionalMatrix(Strict):
    """A transition matrix for the pixels of one sub-national region (by its name in the regions layer)."""

    region: str
    matrix: Matrix7


class LandCoverMethod(Strict):
    """Land-cover degradation by a transition matrix (rows initial, columns final UNCCD class)."""

    matrix: Matrix7 | None = None
    regional_matrices: list[RegionalMatrix] = Field(default_factory=list, max_length=5)

    @field_validator("matrix")
    @classmethod
    def _check_matrix(cls, m: Matrix7 | None) -> Matrix7 | None:
        if m is not None:
            _check_7x7(m)
        return m

    @field_validator("regional_matrices")
    @classmethod
    def _check_regional(cls, ms: list[RegionalMatrix]) -> list[RegionalMatrix]:
        for r in ms:
            _check_7x7(r.matrix)
        return ms


def _check_7x7(m: Matrix7) -> None:
    if len(m) != 7 or any(len(row) != 7 for row in m):
        raise ValueError("a transition matrix must be 7 rows of 7 values (-1, 0 or 1)")
    if any(v not in (-1, 0, 1) for row in m for v in row):
        raise ValueError("transition matrix values must be -1, 0 or 1")


class SocMethod(Strict):
    """Tier 1 SOC bookkeeping and its degradation threshold."""

    threshold: float = Field(10.0, gt=0, lt=100)
    inclusive: bool = True
    management_factor: float | FactorMatrix = 1.0
    input_factor: float | FactorMatrix = 1.0
    years_to_equilibrium: int = Field(20, ge=1)

    @field_validator("management_factor", "input_factor")
    @classmethod
    def _check_factor(cls, v: float | FactorMatrix) -> float | FactorMatrix:
        if isinstance(v, list) and (len(v) != 7 or any(len(r) != 7 for r in v)):
            raise ValueError("a factor matrix must be 7 rows of 7 numbers")
        if isinstance(v, float | int) and v <= 0:
            raise ValueError("a factor must be positive")
        return v


class Methods(Strict):
    productivity_window: int = Field(16, ge=3)
    min_window_years: int = Field(10, ge=3)
    trajectory: TrajectoryMethod = Field(default_factory=TrajectoryMethod)
    state: StateMethod = Field(default_factory=StateMethod)
    performance: PerformanceMethod = Field(default_factory=PerformanceMethod)
    lpd: LpdMethod = Field(default_factory=LpdMethod)
    land_cover: LandCoverMethod = Field(default_factory=LandCoverMethod)
    soc: SocMethod = Field(default_factory=SocMethod)
