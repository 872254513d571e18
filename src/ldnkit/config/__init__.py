"""The run configuration: pydantic models of the YAML file given to ``ldnkit run``.

Every method choice has a default here and is recorded in ``summary.json``. Unknown keys and bad values
are errors that name the key's path (``methods.soc.threshold: ...``). One module per section; a new
section is a new module here plus one field of :class:`RunConfig` (docs/architecture.md).
"""

from ldnkit.config.activities import ActivitiesConfig
from ldnkit.config.drought import (
    DroughtConfig,
    PopulationInput,
    PrecipitationInput,
    SpiMethod,
    VulnerabilityGrid,
    VulnerabilityInput,
)
from ldnkit.config.footprint import (
    DegradedShares,
    FootprintConfig,
    MrioInputs,
    ProducerPolygons,
    TradeFlowInputs,
)
from ldnkit.config.inputs import (
    ClimateZonesInput,
    ExternalLpdInput,
    Inputs,
    LandCoverInput,
    Period,
    Periods,
    ProductivityInput,
    RegionsInput,
    SocInput,
)
from ldnkit.config.methods import (
    LandCoverMethod,
    LpdMethod,
    Methods,
    PerformanceMethod,
    RegionalMatrix,
    SocMethod,
    StateMethod,
    TrajectoryMethod,
)
from ldnkit.config.model import Bound, FactorMatrix, Matrix7, Strict, YearRange
from ldnkit.config.neutrality import (
    CorrectionsConfig,
    DriverConfig,
    HotspotsConfig,
    InterventionsConfig,
    LandTypesConfig,
    NeutralityConfig,
    ObservationsConfig,
    PlanningConfig,
    PolygonsInput,
    RiskConfig,
    RuleClassConfig,
    RuleConfig,
    TargetConfig,
    TargetKind,
)
from ldnkit.config.parse import load_config, parse_config
from ldnkit.config.run import Compute, GridConfig, ReportConfig, RunConfig

__all__ = [
    "ActivitiesConfig",
    "Bound",
    "ClimateZonesInput",
    "Compute",
    "DegradedShares",
    "CorrectionsConfig",
    "DriverConfig",
    "DroughtConfig",
    "ExternalLpdInput",
    "FactorMatrix",
    "FootprintConfig",
    "GridConfig",
    "HotspotsConfig",
    "Inputs",
    "InterventionsConfig",
    "LandCoverInput",
    "LandCoverMethod",
    "LandTypesConfig",
    "LpdMethod",
    "Matrix7",
    "Methods",
    "MrioInputs",
    "NeutralityConfig",
    "ObservationsConfig",
    "PerformanceMethod",
    "Period",
    "Periods",
    "PlanningConfig",
    "PolygonsInput",
    "PopulationInput",
    "ProducerPolygons",
    "PrecipitationInput",
    "ProductivityInput",
    "RegionalMatrix",
    "RegionsInput",
    "ReportConfig",
    "RiskConfig",
    "RuleClassConfig",
    "RuleConfig",
    "RunConfig",
    "SocInput",
    "SocMethod",
    "SpiMethod",
    "StateMethod",
    "Strict",
    "TargetConfig",
    "TargetKind",
    "TradeFlowInputs",
    "TrajectoryMethod",
    "VulnerabilityGrid",
    "VulnerabilityInput",
    "YearRange",
    "load_config",
    "parse_config",
]
