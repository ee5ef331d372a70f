"""A simulated province for ``deadzone demo``: a collector of honest, synthetic readings.

It produces canonical readings (dicts that validate as ``collectors.reading.Reading``) like any
other collector, and keeps the ground truth they were drawn from, so that deadzone's accuracy
can be measured. Start at ``generate_scenario``; the tables are described on ``Scenario``.
It imports nothing from ``service``.
"""

from simulation.network import SITE_COLUMNS
from simulation.scenario import DEFAULT_NOW, SIZES, Scenario, SiteBuilt, generate_scenario
from simulation.uploads import GATE_KINDS, SCHEMA_KINDS, UploadBatch

__all__ = [
    "DEFAULT_NOW",
    "GATE_KINDS",
    "SCHEMA_KINDS",
    "SITE_COLUMNS",
    "SIZES",
    "Scenario",
    "SiteBuilt",
    "UploadBatch",
    "generate_scenario",
]
