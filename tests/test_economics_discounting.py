"""Present values, benefit-cost ratio, break-even year and action vs inaction from hand calculations."""

from __future__ import annotations

import numpy as np
import pytest

from ldnkit.indicators.economics import (
    ActionCosts,
    action_cash_flows,
    action_vs_inaction,
    annuity_factor,
    benefit_cost_ratio,
    break_even_year,
    discount_sensitivity,
    net_present_value,
    present_value,
)


def test_annuity_factor():
    assert annuity_factor(0.10, 30) == pytest.approx(9.4269, abs=5e-5)
    assert annuity_factor(0.0, 30) == 30
    assert annuity_factor(0.05, 1) == pytest.approx(1 / 1.05)
    with pytest.raises(ValueError, match="discount rate"):
        annuity_factor(float("nan"), 3)


def test_present_value_of_a_list_and_a_constant():
    assert present_value([110, 121], 0.10) == pytest.approx(200)  # years 1 and 2
    assert present_value([100, 110], 0.10, first_year=0) == pytest.approx(200)
    assert present_value(100, 0.10, 3) == pytest.approx(100 / 1.1 + 100 / 1.21 + 100 / 1.331)
    with pytest.raises(ValueError, match="years="):
        present_value(100, 0.10)


# A hand-made project: 100 up front, 10 a year upkeep, 50 a year benefit from year 1, r = 10 %.
_COSTS = [100, 10, 10, 10, 10]
_BENEFITS = [0, 50, 50, 50, 50]


def test_benefit_cost_ratio_npv_and_break_even_by_hand():
    af4 = 1 / 1.1 + 1 / 1.1**2 + 1 / 1.1**3 + 1 / 1.1**4  # 3.16987
    assert benefit_cost_ratio(_BENEFITS, _COSTS, 0.10) == pytest.approx(50 * af4 / (100 + 10 * af4))
    assert benefit_cost_ratio(_BENEFITS, _COSTS, 0.10) == pytest.approx(1.20345, abs=5e-6)
    assert net_present_value(_BENEFITS, _COSTS, 0.10) == pytest.approx(40 * af4 - 100)
    # cumulative discounted net: -100, -63.64, -30.58, -0.53, +26.79 -> year 4
    assert break_even_year(_BENEFITS, _COSTS, 0.10) == 4
    assert break_even_year(_BENEFITS[:4], _COSTS[:4], 0.10) is None  # not within 3 years
    assert break_even_year([5, 0], [0, 0], 0.10) == 0
    with pytest.raises(ValueError, match="one length"):
        benefit_cost_ratio([1, 2], [1], 0.1)


def test_action_vs_inaction_by_hand():
    # 1,000 US$/yr lost on 10 ha; action: 200/ha up front, 5/ha/yr upkeep, 20/ha/yr forgone for the
    # 2 years of recovery (benefit half in year 1, full from year 2); 5 years, no discounting.
    costs = ActionCosts(establishment=200, maintenance=5, opportunity_cost=20, recovery_years=2)
    flows = action_cash_flows(1000, 10, costs, 5)
    np.testing.assert_allclose(flows["benefit"], [0, 500, 1000, 1000, 1000, 1000])
    np.testing.assert_allclose(flows["cost"], [2000, 250, 250, 50, 50, 50])
    out = action_vs_inaction(1000, 10, costs, 0.0, 5)
    assert out["pv_inaction"] == 5000 and out["pv_benefits"] == 4500 and out["pv_action_costs"] == 2650
    assert out["pv_residual_loss"] == 500 and out["pv_action"] == 3150
    assert out["npv"] == pytest.approx(out["pv_inaction"] - out["pv_action"]) == 1850
    assert out["bcr"] == pytest.approx(4500 / 2650)
    assert out["break_even_year"] == 4  # cumulative net: -2000, -1750, -1000, -50, +900


def test_inaction_over_30_years_at_10_percent():
    out = action_vs_inaction(1_216_000, 1000, ActionCosts(establishment=0), 0.10, 30)
    assert out["pv_inaction"] / 1e6 == pytest.approx(11.463, abs=5e-4)
    assert out["bcr"] == np.inf and out["break_even_year"] == 0


def test_sensitivity_over_discount_rates():
    costs = ActionCosts(establishment=200, maintenance=5, opportunity_cost=20, recovery_years=2)
    table = discount_sensitivity(1000, 10, costs, 20, rates=(0.0, 0.05, 0.10))
    assert list(table["rate"]) == [0.0, 0.05, 0.10]
    assert table["pv_inaction"].is_monotonic_decreasing
    assert table.loc[2, "pv_inaction"] == pytest.approx(1000 * annuity_factor(0.10, 20))
    assert table.attrs["establishment"] == 200 and table.attrs["area_ha"] == 10
