"""The portal simulator: realistic, deterministic payment records with their ground truth.

Public API: :class:`SimConfig`, :func:`generate` (records), :class:`Simulation` (records and
truth), :class:`SimRecord`, :class:`Truth`, :data:`SCENARIOS`, :data:`MALFORMED_KINDS`.
"""

from streams.simulator.config import SimConfig
from streams.simulator.generator import Simulation, generate
from streams.simulator.malformed import MALFORMED_KINDS
from streams.simulator.records import SimRecord
from streams.simulator.scenarios import SCENARIOS
from streams.simulator.truth import FIELDS, Truth, load_truth

__all__ = [
    "FIELDS",
    "MALFORMED_KINDS",
    "SCENARIOS",
    "SimConfig",
    "SimRecord",
    "Simulation",
    "Truth",
    "generate",
    "load_truth",
]
