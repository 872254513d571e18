"""Resolve the years each sub-indicator of each period uses (methodology §1.3).

Defaults: productivity windows end at the period's end and span ``methods.productivity_window`` years
(16); the state compares the last ``methods.state.comparison_years`` (3) with the years before them;
land cover and SOC change run from the baseline's start (baseline) or the baseline's end (reporting
periods) to the period's end. A derived window that starts before the vegetation-index data is
clamped to the first year of data (as Trends.Earth does with MODIS, which starts in 2001) and the
clamp is recorded; an explicit window must lie inside the data.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

from ldnkit.config import Period, RunConfig
from ldnkit.errors import PeriodError


@dataclass
class PeriodPlan:
    """The resolved years of one period (all ranges inclusive)."""

    name: str
    kind: str  # "baseline" | "reporting"
    start: int
    end: int
    trend: tuple[int, int] | None
    state_historical: tuple[int, int] | None
    state_comparison: tuple[int, int] | None
    performance: tuple[int, int] | None
    land_cover: tuple[int, int]
    external_lpd: bool = False
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)


def _years_in(r: tuple[int, int], years: Sequence[int]) -> list[int]:
    return [y for y in years if r[0] <= y <= r[1]]


def plan_periods(
    cfg: RunConfig,
    vi_years: Sequence[int] | None,
    lc_years: Sequence[int],
    external_lpd_periods: Sequence[str] = (),
) -> list[PeriodPlan]:
    """Resolve every period's windows against the years the data have; raise PeriodError if short."""
    m = cfg.methods
    periods: list[tuple[str, Period]] = [("baseline", cfg.periods.baseline)] + [
        ("reporting", p) for p in cfg.periods.reporting
    ]
    base = cfg.periods.baseline
    plans = []
    for idx, (kind, p) in enumerate(periods):
        key = "periods.baseline" if kind == "baseline" else f"periods.reporting[{idx - 1}]"
        notes: list[str] = []
        lc = (
            tuple(p.land_cover)
            if p.land_cover
            else ((p.start, p.end) if kind == "baseline" else (base.end, p.end))
        )
        if lc[0] < min(lc_years):
            raise PeriodError(
                f"{key}.land_cover",
                f"needs land cover for {lc[0]} but the first map is for {min(lc_years)}",
                "add a land cover map for that year or earlier, or set the period's land_cover years",
            )
        if lc[1] > max(lc_years):
            notes.append(f"land cover for {lc[1]} is carried forward from the {max(lc_years)} map")
        external = p.name in external_lpd_periods
        if external or vi_years is None:
            plans.append(PeriodPlan(p.name, kind, p.start, p.end, None, None, None, None, lc, True, notes))
            continue
        first, last = min(vi_years), max(vi_years)
        W = m.productivity_window
        trend = _window(p.trend, (p.end - W + 1, p.end), f"{key}.trend", vi_years, notes, m)
        ncmp = m.state.comparison_years
        cmp_default = (trend[1] - ncmp + 1, trend[1])
        hist_default = (trend[0], trend[1] - ncmp)
        comparison = _window(
            p.state_comparison, cmp_default, f"{key}.state_comparison", vi_years, notes, m, minimum=1
        )
        historical = _window(
            p.state_historical, hist_default, f"{key}.state_historical", vi_years, notes, m, minimum=3
        )
        performance = _window(p.performance, trend, f"{key}.performance", vi_years, notes, m)
        del first, last
        plans.append(
            PeriodPlan(
                p.name, kind, p.start, p.end, trend, historical, comparison, performance, lc, False, notes
            )
        )
    return plans


def _window(explicit, default, key, years, notes, methods, minimum: int | None = None):
    first, last = min(years), max(years)
    minimum = methods.min_window_years if minimum is None else minimum
    if explicit is not None:
        r = (int(explicit[0]), int(explicit[1]))
        if r[0] < first or r[1] > last:
            raise PeriodError(
                key,
                f"asks for {r[0]}-{r[1]} but the vegetation index covers {first}-{last}",
                "choose years inside the data",
            )
    else:
        r = default
        if r[1] > last:
            raise PeriodError(
                key,
                f"needs vegetation-index data up to {r[1]} but it ends in {last}",
                "add the missing years or end the period earlier",
            )
        if r[0] < first:
            notes.append(f"{key.rsplit('.', 1)[-1]} window {r[0]}-{r[1]} clamped to start at {first}")
            r = (first, r[1])
    n = len(_years_in(r, years))
    if n < minimum:
        raise PeriodError(
            key,
            f"has only {n} year(s) of vegetation-index data in {r[0]}-{r[1]}, at least {minimum} needed",
            "add years, widen the window, or lower methods.min_window_years",
        )
    return r
