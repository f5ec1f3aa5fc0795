"""alliancesim: an agent-based model of therapeutic relationships between therapists and clients.

Quick use::

    from alliancesim import simulate, summary_metrics
    model = simulate("default", seed=1, years=2)
    print(summary_metrics(model)["dropout_share"])
"""

__version__ = "0.1.0"

from .metrics import METRICS, summary_metrics
from .model import AllianceModel
from .params import REGISTRY, ParameterError, Params, validate
from .runner import run_metrics, simulate

__all__ = [
    "METRICS",
    "REGISTRY",
    "AllianceModel",
    "ParameterError",
    "Params",
    "run_metrics",
    "simulate",
    "summary_metrics",
    "validate",
]
