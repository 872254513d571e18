"""ldnkit — Land Degradation Neutrality monitoring and reporting (SDG 15.3.1), offline and fast.

The public API: xarray in, xarray out. Categorical layers are int16 with -32768 as missing.
"""

from .area import cell_area  # noqa: E402
from .errors import ConfigError, InputError, LdnError  # noqa: E402
from .indicators.corrections import recode as recode_corrections  # noqa: E402
from .indicators.drought import drought_class  # noqa: E402
from .indicators.hotspots import find_hotspots  # noqa: E402
from .indicators.land_cover import land_cover_degradation  # noqa: E402
from .indicators.land_types import classify_by_rules, land_types  # noqa: E402
from .indicators.neutrality import (  # noqa: E402
    gains_losses,
    neutrality,
    projected_balance,
    response_hierarchy,
)
from .indicators.productivity import lpd, trend  # noqa: E402
from .indicators.sdg import one_out_all_out, status  # noqa: E402
from .indicators.soc import soc_degradation  # noqa: E402
from .indicators.spi import annual_spi, spei, spi  # noqa: E402
from .version import __version__  # noqa: E402


def run(config, **kwargs):
    """Run the whole SDG 15.3.1 pipeline for a config (see :func:`ldnkit.pipeline.run`)."""
    from .pipeline import run as _run

    return _run(config, **kwargs)


__all__ = [
    "__version__",
    "annual_spi",
    "drought_class",
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
