"""alliancesim: an agent-based model of therapeutic relationships between therapists and clients.

Quick use::

    from alliancesim import simulate, summary_metrics
    model = simulate("default", seed=1, years=2)
    print(summary_metrics(model)["dropout_share"])
"""

__version__ = "0.1.0"

from .metrics import METRICS, summary_metrics  # noqa: E402
from .model import AllianceModel  # noqa: E402
from .params import REGISTRY, ParameterError, Params, validate  # noqa: E402
from .runner import run_metrics, simulate  # noqa: E402

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
