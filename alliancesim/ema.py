"""alliancesim in EMA Workbench (exploratory modelling and analysis).

Two functions:

* :func:`run_outcomes` is the model as EMA Workbench calls it: keyword arguments in (parameter
  values, a seed, a preset), a dict of headline metrics out.  Usable on its own from any tool
  that calls a function per experiment.
* :func:`ema_model` builds an ``ema_workbench.Model`` (or, with several ``seeds``, a
  ``ReplicatorModel`` that runs every experiment once per seed) whose uncertainties are checked
  against the parameter registry, so a bound outside a parameter's range is a one-line error
  before anything runs.

::

    from ema_workbench import SequentialEvaluator, perform_experiments
    from alliancesim.ema import ema_model

    model = ema_model({"self_awareness_mean": (0.1, 0.9), "handover_policy": ["none", "file"]},
                      outcomes=["dropout_share", "stayed_with_successor"], preset="retiring_file",
                      years=4, seeds=[1, 2, 3])
    with SequentialEvaluator(model) as evaluator:
        experiments, outcomes = perform_experiments(model, scenarios=20, evaluator=evaluator)

The same parameters and seed give the same outcomes, on any machine and with any evaluator.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .metrics import METRICS
from .params import REGISTRY, ParameterError, validate


def run_outcomes(seed: int = 1, preset: str = "default", years: float | None = None,
                 **params: Any) -> dict[str, float]:
    """Run one simulation and return every headline metric.

    Parameters
    ----------
    seed : int
        The run's seed (0 to 2**32 - 1): the same parameters and seed give the same metrics.
    preset : str
        Preset name or file the run starts from (see ``alliancesim scenarios``).
    years : float, optional
        Years to simulate (default: the preset's).
    **params
        Parameter values on top of the preset (see ``alliancesim params``); EMA Workbench passes
        its uncertainties, levers and constants here.

    Returns
    -------
    dict
        ``{metric: value}`` for every metric in :data:`alliancesim.metrics.METRICS` (NaN where
        a run gives no data).

    Raises
    ------
    ParameterError
        An unknown parameter or a value out of range (the message names both).
    """
    from .runner import resolve_params, run_metrics

    # EMA hands numpy scalars; the registry wants plain numbers
    plain = {k: (v.item() if hasattr(v, "item") else v) for k, v in params.items()}
    return run_metrics(resolve_params(preset, **plain), seed=int(seed), years=years)


def _parameter(name: str, spec: Any):
    """The EMA Workbench parameter for one registered parameter, its bounds checked."""
    with warnings.catch_warnings():  # EMA Workbench warns about optional parallel back ends on import
        warnings.simplefilter("ignore")
        import ema_workbench as ew
    if name not in REGISTRY:
        raise ParameterError(f"unknown parameter {name!r} (see 'alliancesim params')")
    param = REGISTRY[name]
    if param.choices is not None or param.type is bool:
        values = list(spec)
        for value in values:
            validate({name: value})
        return ew.CategoricalParameter(name, values)
    try:
        low, high = spec
    except (TypeError, ValueError):
        raise ParameterError(f"{name}: give (low, high), got {spec!r}") from None
    for value in (low, high):
        validate({name: value})  # names the parameter, the value and the allowed range
    if not low < high:
        raise ParameterError(f"{name}: low={low} must be below high={high}")
    if param.type is int:
        return ew.IntegerParameter(name, int(low), int(high))
    return ew.RealParameter(name, float(low), float(high))


def ema_model(uncertainties: Mapping[str, Any], outcomes: Sequence[str] = ("dropout_share",), *,
              preset: str = "default", years: float | None = None, seed: int = 1,
              seeds: Sequence[int] | None = None, fixed: Mapping[str, Any] | None = None,
              name: str = "alliancesim"):
    """An EMA Workbench model of the clinic.

    Parameters
    ----------
    uncertainties : mapping
        Parameter name -> ``(low, high)`` for numbers, or a list of values for a choice
        (``handover_policy``) or a flag; each bound must lie in the parameter's allowed range.
    outcomes : sequence of str
        Headline metrics to return (see ``alliancesim metrics``).
    preset : str
        Preset the runs start from; ``fixed`` values go on top, then the sampled ones.
    years : float, optional
        Years per run (default: the preset's).
    seed : int
        The seed of every experiment (a ``Model``); ignored when ``seeds`` is given.
    seeds : sequence of int, optional
        Run every experiment once per seed (a ``ReplicatorModel``); each outcome is then the
        mean over the seeds (NaN runs left out).  For every seed's value, call
        :func:`run_outcomes` per seed.
    fixed : mapping, optional
        Parameter values held constant in every experiment.
    name : str
        The model's name in EMA Workbench (a Python identifier).

    Returns
    -------
    ema_workbench.Model or ema_workbench.ReplicatorModel

    Raises
    ------
    ParameterError
        An unknown parameter or metric, or a bound outside its parameter's allowed range.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import ema_workbench as ew
    unknown = [m for m in outcomes if m not in METRICS]
    if unknown:
        raise ParameterError(f"unknown metric {unknown[0]!r} (see 'alliancesim metrics')")
    fixed = dict(fixed or {})
    validate({**fixed})
    clash = set(fixed) & set(uncertainties)
    if clash:
        raise ParameterError(f"{sorted(clash)[0]} is both fixed and uncertain; give it once")
    if seeds is not None:
        model = ew.ReplicatorModel(name, function=run_outcomes)
        model.replications = [{"seed": int(s)} for s in seeds]
    else:
        model = ew.Model(name, function=run_outcomes)
    model.uncertainties = [_parameter(n, spec) for n, spec in uncertainties.items()]
    # one value per experiment; replicated, the mean over the seeds (EMA Workbench allows one
    # outcome class per name in a process, so the class stays ScalarOutcome either way)
    mean = (lambda values: float(np.nanmean(values))) if seeds is not None else None
    model.outcomes = [ew.ScalarOutcome(m, function=mean) for m in outcomes]
    constants = {"preset": preset, **fixed}
    if years is not None:
        constants["years"] = years
    if seeds is None:
        constants["seed"] = int(seed)
    model.constants = [ew.Constant(k, v) for k, v in constants.items()]
    return model
