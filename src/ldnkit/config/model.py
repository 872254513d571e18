"""The base of every config section: unknown keys are errors; shared value shapes."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

Matrix7 = list[list[int]]
FactorMatrix = list[list[float]]
YearRange = Annotated[list[int], Field(min_length=2, max_length=2)]
Bound = Annotated[list[float | None], Field(min_length=2, max_length=2)]


class Strict(BaseModel):
    """A config section: unknown keys are errors (with a spelling suggestion)."""

    model_config = ConfigDict(extra="forbid", frozen=False)
