"""Early warning from the latest months (mission M9): anomalies, the Combined Drought Indicator,
a land-degradation alert and sand and dust storm source susceptibility.

* :mod:`.anomalies`: :func:`baseline_stats` per calendar period, :func:`anomaly` (z-score, VCI,
  TCI, percent of median), :func:`vegetation_health` (VHI), :func:`agricultural_stress_index`.
* :mod:`.cdi`: :func:`combined_drought_indicator` (a versioned rule set, :func:`cdi_rules`;
  incremental through :class:`CdiState`).
* :mod:`.degradation_alert`: :func:`degradation_alert` (persistent below-normal productivity,
  raised where the SO1 trend declines).
* :mod:`.dust`: :func:`dust_source_susceptibility` (ldnkit's surface-condition formula).

xarray in, xarray out; no files, no config. See docs/early_warning.md.
"""

from __future__ import annotations

from ldnkit.indicators.early_warning.anomalies import (
    agricultural_stress_index,
    anomaly,
    baseline_stats,
    calendar_period,
    vegetation_health,
)
from ldnkit.indicators.early_warning.cdi import (
    MAX_FILL,
    RULE_SETS,
    CdiRules,
    CdiState,
    cdi_rules,
    combined_drought_indicator,
)
from ldnkit.indicators.early_warning.degradation_alert import degradation_alert
from ldnkit.indicators.early_warning.dust import dust_source_susceptibility

__all__ = [
    "MAX_FILL",
    "RULE_SETS",
    "CdiRules",
    "CdiState",
    "agricultural_stress_index",
    "anomaly",
    "baseline_stats",
    "calendar_period",
    "cdi_rules",
    "combined_drought_indicator",
    "degradation_alert",
    "dust_source_susceptibility",
    "vegetation_health",
]
