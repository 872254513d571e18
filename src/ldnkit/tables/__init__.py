"""The UNCCD PRAIS 4 SO1 tables (pandas DataFrames; xlsx and JSON writers).

Also re-exports the cross-tabulation engine (home: :mod:`ldnkit.crosstab`) and ``AOI_SCOPE``
(home: :mod:`ldnkit.codes`) for existing callers.
"""

from ldnkit.codes import AOI_SCOPE
from ldnkit.crosstab import CrosstabRequest, compute_crosstabs, crosstab
from ldnkit.tables.export import tables_to_json, write_xlsx
from ldnkit.tables.prais import (
    TABLE_TITLES,
    PeriodLayers,
    TableInputs,
    compute_tables,
)

__all__ = [
    "AOI_SCOPE",
    "TABLE_TITLES",
    "CrosstabRequest",
    "PeriodLayers",
    "TableInputs",
    "compute_crosstabs",
    "compute_tables",
    "crosstab",
    "tables_to_json",
    "write_xlsx",
]
