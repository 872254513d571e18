"""What degradation costs (M8): ecosystem-service value, action versus inaction, carbon, people.

Pure functions, xarray/pandas in and out; the coefficient tables are explicit inputs read by
:func:`load_value_table` (docs/economics.md).
"""

from ldnkit.indicators.economics.carbon import CO2_PER_C, CarbonChange, biomass_carbon_change
from ldnkit.indicators.economics.coefficients import (
    SHIPPED_TABLES,
    BiomassTable,
    ValueTable,
    load_value_table,
)
from ldnkit.indicators.economics.discounting import (
    DEFAULT_SENSITIVITY_RATES,
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
from ldnkit.indicators.economics.people import population_by_status
from ldnkit.indicators.economics.values import DEFAULT_LPD_LOSS_SHARE, ValueChange, ecosystem_value_change

__all__ = [
    "CO2_PER_C",
    "DEFAULT_LPD_LOSS_SHARE",
    "DEFAULT_SENSITIVITY_RATES",
    "SHIPPED_TABLES",
    "ActionCosts",
    "BiomassTable",
    "CarbonChange",
    "ValueChange",
    "ValueTable",
    "action_cash_flows",
    "action_vs_inaction",
    "annuity_factor",
    "benefit_cost_ratio",
    "biomass_carbon_change",
    "break_even_year",
    "discount_sensitivity",
    "ecosystem_value_change",
    "load_value_table",
    "net_present_value",
    "population_by_status",
    "present_value",
]
