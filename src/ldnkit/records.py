"""Record types shared by io (which reads them from files) and indicators (which apply them).

A base module: it imports only :mod:`ldnkit.codes`.
"""

from __future__ import annotations

from dataclasses import dataclass

from ldnkit import codes

__all__ = ["Correction"]


@dataclass
class Correction:
    """One false positive / negative polygon's record (PRAIS SO1-4.T3 fields).

    id : 1..32767, the value burnt in the correction raster.
    type : :data:`ldnkit.codes.FALSE_POSITIVE` or :data:`ldnkit.codes.FALSE_NEGATIVE`.
    periods : period names it applies to, or ``("all",)``.
    place_name, process, basis : location, the process, the basis for judgement (free text).
    start : when the process started (free text, e.g. "2017").
    recode_to : false negatives only: 0 (stable, the default when None) or 1 (improved).
    """

    id: int
    type: str
    periods: tuple[str, ...]
    place_name: str
    process: str
    basis: str
    start: str | None = None
    recode_to: int | None = None

    def __post_init__(self) -> None:
        if self.type not in codes.CORRECTION_TYPES:
            raise ValueError(
                f"correction {self.id}: type {self.type!r} is not one of {codes.CORRECTION_TYPES}"
            )
        if self.recode_to is not None and self.recode_to not in (codes.STABLE, codes.IMPROVED):
            raise ValueError(f"correction {self.id}: recode_to {self.recode_to!r} is not 0 or 1")
        if self.recode_to is not None and self.type == codes.FALSE_POSITIVE:
            raise ValueError(f"correction {self.id}: recode_to applies to false negatives only")
        if not 1 <= int(self.id) <= 32767:
            raise ValueError(f"correction id {self.id!r} is not in 1..32767")
        self.periods = tuple(self.periods)

    @property
    def target(self) -> int:
        """The value its pixels are recoded to: -1 (false positive) or recode_to / 0 (false negative)."""
        if self.type == codes.FALSE_POSITIVE:
            return codes.DEGRADED
        return codes.STABLE if self.recode_to is None else int(self.recode_to)
