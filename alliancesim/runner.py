"""Running the model: one call from parameters to a finished model or its metrics.

>>> from alliancesim.runner import simulate, run_metrics
>>> model = simulate("default", seed=1, years=1)          # a finished AllianceModel
>>> metrics = run_metrics({"self_awareness_mean": 0.8}, seed=1, years=1)

``run_metrics`` is what a sweep calls for each run: it takes plain values (so
it pickles cleanly to worker processes) and returns ``{metric: float}`` (see
:data:`alliancesim.metrics.METRICS`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from . import presets
from .fingerprint import FINGERPRINT_FILES, code_fingerprint  # noqa: F401  (public here too)
from .metrics import summary_metrics
from .model import AllianceModel
from .params import ParameterError, Params, validate

SeedLike = int | np.integer | np.random.SeedSequence | np.random.Generator | None

def resolve_params(preset: str | Params | Mapping[str, Any] | None = None, **overrides: Any) -> Params:
    """Parameters from a preset name/path, a Params, or a mapping, plus overrides (all validated)."""
    if preset is None:
        return validate(overrides)
    if isinstance(preset, Params):
        return validate(overrides, base=preset.as_dict())
    if isinstance(preset, Mapping):
        return validate({**preset, **overrides})
    return presets.load(preset).validated(overrides)


def preset_params(params: Params | Mapping[str, Any] | None, preset: str) -> Params:
    """What ``AllianceModel(params, preset=...)`` starts from: the preset (by name or file) with a
    mapping ``params`` on top.

    Raises
    ------
    ParameterError
        With a :class:`Params` (which already holds every value), or for an unknown preset (the
        message lists the shipped presets).
    """
    if isinstance(params, Params):
        raise ParameterError(f"preset={preset!r} and a Params given together: a Params already holds "
                             "every value; pass a mapping of the values to change instead")
    return presets.load(preset).validated(dict(params or {}))


def make_rng(seed: SeedLike):
    """What to pass as Mesa's ``rng``: ints pass through, a SeedSequence becomes a Generator."""
    if isinstance(seed, np.random.SeedSequence):
        return np.random.default_rng(seed)
    return seed


def simulate(preset: str | Params | Mapping[str, Any] | None = None, *, seed: SeedLike = None,
             years: float | None = None, record_sessions: bool = True,
             progress: Callable[[int], None] | None = None, **overrides: Any) -> AllianceModel:
    """Build and run a model to the end of its ``years``; returns the finished model."""
    if progress is not None and not callable(progress):
        raise ParameterError(f"progress={progress!r} is not callable: give a function of the week, or None")
    if years is not None:
        overrides["years"] = years
    params = resolve_params(preset, **overrides)
    model = AllianceModel(params, rng=make_rng(seed), record_sessions=record_sessions)
    return model.run(progress=progress)


def run_metrics(params: Mapping[str, Any] | Params | str | None = None, seed: SeedLike = None, *,
                years: float | None = None) -> dict[str, float]:
    """Run one simulation and return its summary metrics."""
    model = simulate(params, seed=seed, years=years)
    return summary_metrics(model)
