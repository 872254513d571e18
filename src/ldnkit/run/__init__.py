"""A run is an ordered list of stages: ``run(config)`` walks them (see :mod:`ldnkit.run.runner`).

Stages: :class:`~ldnkit.run.so1.So1Stage`, :class:`~ldnkit.run.corrections.CorrectionsStage`,
:class:`~ldnkit.run.so1_tables.So1TablesStage`, :class:`~ldnkit.run.neutrality.NeutralityStage`,
:class:`~ldnkit.run.drought.DroughtStage`; what they share is a
:class:`~ldnkit.run.context.RunContext`; each returns :class:`~ldnkit.run.stage.StageOutputs`.
"""

from ldnkit.run.context import LayerToWrite, RunContext, mask_outside
from ldnkit.run.corrections import CorrectionsStage
from ldnkit.run.drought import DroughtStage
from ldnkit.run.neutrality import NeutralityStage
from ldnkit.run.outputs import StageOutputs
from ldnkit.run.runner import Result, default_stages, run
from ldnkit.run.so1 import PERIOD_LAYERS, So1Stage
from ldnkit.run.so1_tables import So1TablesStage
from ldnkit.run.stage import Stage

__all__ = [
    "PERIOD_LAYERS",
    "CorrectionsStage",
    "DroughtStage",
    "LayerToWrite",
    "NeutralityStage",
    "Result",
    "RunContext",
    "So1Stage",
    "So1TablesStage",
    "Stage",
    "StageOutputs",
    "default_stages",
    "mask_outside",
    "run",
]
