"""Present values and action versus inaction (ELD Initiative; Nkonya et al. 2016 ch. 6).

Conventions (docs/economics.md): a cash flow of year ``t`` is discounted by ``(1 + r) ** -t``; year 0 is
today (establishment costs, not discounted); annual flows start in year 1, so a constant flow ``A``
over ``T`` years is worth ``A x annuity_factor(r, T)``. Money is in the dollars of the value table.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

#: Discount rates of the default sensitivity table (per year).
DEFAULT_SENSITIVITY_RATES: tuple[float, ...] = (0.0, 0.03, 0.05, 0.08, 0.10, 0.12)


def _check_rate(rate: float) -> float:
    if not np.isfinite(rate) or rate <= -1:
        raise ValueError(f"discount rate {rate!r} must be a number above -1 (0.10 = 10 %)")
    return float(rate)


def discount_factors(rate: float, years: int) -> np.ndarray:
    """``(1 + rate) ** -t`` for ``t = 0 .. years``."""
    return (1.0 + _check_rate(rate)) ** -np.arange(int(years) + 1, dtype=np.float64)


def annuity_factor(rate: float, years: int) -> float:
    """Present value of 1 per year paid at the end of years 1..``years``: ``(1 - (1+r)^-T) / r``
    (``T`` when ``r = 0``).

    >>> round(annuity_factor(0.10, 30), 4)
    9.4269
    """
    r = _check_rate(rate)
    if r == 0:
        return float(years)
    return float((1.0 - (1.0 + r) ** -int(years)) / r)


def present_value(
    flows: float | Sequence[float], rate: float, years: int | None = None, *, first_year: int = 1
) -> float:
    """Present value of cash flows (same money unit as the flows).

    Parameters
    ----------
    flows : a constant annual amount (then ``years`` is required: years 1..``years``), or one amount
        per year starting at ``first_year`` (default 1; 0 = the first amount is not discounted).
    rate : discount rate per year (0.10 = 10 %).

    >>> round(present_value(-1_216_000, 0.10, 30) / 1e6, 3)
    -11.463
    """
    if np.ndim(flows) == 0:
        if years is None:
            raise ValueError("a constant annual flow needs years=")
        return float(flows) * annuity_factor(rate, years)
    values = np.asarray(flows, dtype=np.float64)
    t = np.arange(values.size) + int(first_year)
    return float(np.sum(values * (1.0 + _check_rate(rate)) ** -t.astype(np.float64)))


def net_present_value(benefits: Sequence[float], costs: Sequence[float], rate: float) -> float:
    """``sum_t (B_t - C_t) / (1 + r)^t`` over years ``t = 0, 1, ...`` (the lists start in year 0)."""
    b, c = _aligned(benefits, costs)
    return present_value(b - c, rate, first_year=0)


def benefit_cost_ratio(benefits: Sequence[float], costs: Sequence[float], rate: float) -> float:
    """PV of benefits / PV of costs, both lists starting in year 0 (inf when costs are 0)."""
    b, c = _aligned(benefits, costs)
    pv_costs = present_value(c, rate, first_year=0)
    pv_benefits = present_value(b, rate, first_year=0)
    return float(np.inf) if pv_costs == 0 else pv_benefits / pv_costs


def break_even_year(benefits: Sequence[float], costs: Sequence[float], rate: float) -> int | None:
    """First year (0 = today) at which the cumulative discounted net benefit is >= 0 and stays so
    to the end of the lists; ``None`` if it never does."""
    b, c = _aligned(benefits, costs)
    cumulative = np.cumsum((b - c) * discount_factors(rate, b.size - 1))
    negative = np.flatnonzero(cumulative < 0)
    if negative.size == 0:
        return 0
    year = int(negative[-1]) + 1
    return year if year < b.size else None


def _aligned(benefits: Sequence[float], costs: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    b, c = np.asarray(benefits, dtype=np.float64), np.asarray(costs, dtype=np.float64)
    if b.shape != c.shape or b.ndim != 1:
        raise ValueError(f"benefits and costs must be two lists of one length (got {b.shape}, {c.shape})")
    return b, c


@dataclass(frozen=True)
class ActionCosts:
    """Costs of acting on one hectare (money of the value table).

    establishment : US$/ha, paid in year 0 (WOCAT QCAT 4.4).
    maintenance : US$/ha/yr, years 1..horizon (WOCAT QCAT 4.6).
    opportunity_cost : US$/ha/yr forgone while the land recovers (years 1..recovery_years), e.g. the
        income of the current use given up during restoration.
    recovery_years : years until the restored use gives its full value; the benefit rises linearly
        from 1/recovery_years of it in year 1 (0 = full value from year 1).
    """

    establishment: float
    maintenance: float = 0.0
    opportunity_cost: float = 0.0
    recovery_years: int = 0


def action_cash_flows(value_lost: float, area_ha: float, costs: ActionCosts, horizon: int) -> pd.DataFrame:
    """Yearly flows (year 0..horizon) of acting on ``area_ha`` that would otherwise lose ``value_lost``
    US$/yr: ``loss_inaction``, ``benefit`` (loss avoided, ramping up over the recovery), ``cost``
    (establishment, maintenance, opportunity cost) and ``net``."""
    years = np.arange(int(horizon) + 1)
    ramp = np.ones(years.size) if costs.recovery_years <= 0 else np.minimum(years / costs.recovery_years, 1.0)
    loss = np.where(years >= 1, float(value_lost), 0.0)
    cost = np.where(years >= 1, costs.maintenance, 0.0)
    cost = cost + np.where((years >= 1) & (years <= costs.recovery_years), costs.opportunity_cost, 0.0)
    cost[0] += costs.establishment
    flows = pd.DataFrame(
        {"year": years, "loss_inaction": loss, "benefit": loss * ramp, "cost": cost * float(area_ha)}
    )
    flows["net"] = flows["benefit"] - flows["cost"]
    return flows


def action_vs_inaction(
    value_lost: float, area_ha: float, costs: ActionCosts, rate: float, horizon: int
) -> dict[str, float | int | None]:
    """Cost of inaction against the cost of action over ``horizon`` years at ``rate`` per year.

    Parameters
    ----------
    value_lost : US$/yr of ecosystem-service value lost without action (a positive number, e.g. minus
        the net of :meth:`ValueChange.totals`).
    area_ha : hectares acted on (the degraded area, or the planned interventions').
    costs : per-hectare costs and recovery time (:class:`ActionCosts`).

    Returns
    -------
    ``pv_inaction`` (PV of the value lost), ``pv_action_costs`` (establishment + maintenance +
    opportunity cost), ``pv_benefits`` (loss avoided), ``pv_residual_loss`` (loss still borne while
    the land recovers), ``pv_action`` (= costs + residual loss: the ELD cost of action), ``npv``
    (= pv_inaction - pv_action), ``bcr`` and ``break_even_year`` (None: not within the horizon), with
    the rate and horizon.
    """
    flows = action_cash_flows(value_lost, area_ha, costs, horizon)
    pv_inaction = present_value(flows["loss_inaction"], rate, first_year=0)
    pv_costs = present_value(flows["cost"], rate, first_year=0)
    pv_benefits = present_value(flows["benefit"], rate, first_year=0)
    residual = pv_inaction - pv_benefits
    return {
        "rate": float(rate),
        "horizon": int(horizon),
        "pv_inaction": pv_inaction,
        "pv_action_costs": pv_costs,
        "pv_benefits": pv_benefits,
        "pv_residual_loss": residual,
        "pv_action": pv_costs + residual,
        "npv": pv_benefits - pv_costs,
        "bcr": float(np.inf) if pv_costs == 0 else pv_benefits / pv_costs,
        "break_even_year": break_even_year(flows["benefit"], flows["cost"], rate),
    }


def discount_sensitivity(
    value_lost: float,
    area_ha: float,
    costs: ActionCosts,
    horizon: int,
    rates: Sequence[float] = DEFAULT_SENSITIVITY_RATES,
) -> pd.DataFrame:
    """:func:`action_vs_inaction` at each discount rate: one row per rate, with the costs recorded."""
    rows = [action_vs_inaction(value_lost, area_ha, costs, r, horizon) for r in rates]
    out = pd.DataFrame(rows)
    out.attrs = {"area_ha": float(area_ha), "value_lost": float(value_lost)} | asdict(costs)
    return out
