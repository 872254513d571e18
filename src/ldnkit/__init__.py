"""ldnkit — Land Degradation Neutrality monitoring and reporting (SDG 15.3.1), offline and fast.

The public API: xarray in, xarray out. Categorical layers are int16 with -32768 as missing.
"""

from ldnkit.version import __version__  # first: modules imported below read it

# isort: split
from ldnkit.area import cell_area  # noqa: E402
from ldnkit.errors import ConfigError, InputError, LdnError  # noqa: E402
from ldnkit.indicators.corrections import recode as recode_corrections  # noqa: E402
from ldnkit.indicators.drought import drought_class  # noqa: E402
from ldnkit.indicators.early_warning import (  # noqa: E402
    CdiState,
    agricultural_stress_index,
    anomaly,
    baseline_stats,
    cdi_rules,
    combined_drought_indicator,
    degradation_alert,
    dust_source_susceptibility,
    vegetation_health,
)
from ldnkit.indicators.hotspots import find_hotspots  # noqa: E402
from ldnkit.indicators.land_cover import land_cover_degradation  # noqa: E402
from ldnkit.indicators.land_types import classify_by_rules, land_types  # noqa: E402
from ldnkit.indicators.neutrality import (  # noqa: E402
    gains_losses,
    neutrality,
    projected_balance,
    response_hierarchy,
)
from ldnkit.indicators.productivity import lpd, trend  # noqa: E402
from ldnkit.indicators.sdg import one_out_all_out, status  # noqa: E402
from ldnkit.indicators.soc import soc_degradation  # noqa: E402
from ldnkit.indicators.spi import annual_spi, spei, spi  # noqa: E402

# Imported, not wrapped lazily: importing the ``ldnkit.run`` package binds ``ldnkit.run`` to it,
# so the function must be bound after it (see ldnkit.run.runner.run).
from ldnkit.run import run  # noqa: E402

__all__ = [
    "__version__",
    "annual_spi",
    "drought_class",
    "CdiState",
    "agricultural_stress_index",
    "anomaly",
    "baseline_stats",
    "cdi_rules",
    "combined_drought_indicator",
    "degradation_alert",
    "dust_source_susceptibility",
    "vegetation_health",
    "spei",
    "spi",
    "cell_area",
    "classify_by_rules",
    "find_hotspots",
    "gains_losses",
    "land_types",
    "neutrality",
    "projected_balance",
    "recode_corrections",
    "response_hierarchy",
    "ConfigError",
    "InputError",
    "LdnError",
    "land_cover_degradation",
    "lpd",
    "one_out_all_out",
    "run",
    "soc_degradation",
    "status",
    "trend",
]
