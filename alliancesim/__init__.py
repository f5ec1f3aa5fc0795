"""alliancesim: an agent-based model of therapeutic relationships between therapists and clients.

Quick use::

    from alliancesim import simulate, summary_metrics
    model = simulate("default", seed=1, years=2)
    print(summary_metrics(model)["dropout_share"])

The names below are imported on first use, so ``alliancesim --help`` and
``alliancesim params`` start quickly and the engine (``ALLIANCESIM_ENGINE``,
see :mod:`alliancesim.engine`) can still be chosen by the command line.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_LAZY = {
    "METRICS": "metrics",
    "summary_metrics": "metrics",
    "AllianceModel": "model",
    "REGISTRY": "params",
    "ParameterError": "params",
    "Params": "params",
    "validate": "params",
    "run_metrics": "runner",
    "simulate": "runner",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'alliancesim' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])
