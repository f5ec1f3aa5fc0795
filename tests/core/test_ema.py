"""alliancesim in EMA Workbench: the wrapper function and the model builder, with the real library."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from alliancesim import METRICS, ParameterError, presets, run_metrics
from alliancesim.ema import ema_model, run_outcomes

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from ema_workbench import SequentialEvaluator, perform_experiments

TINY = {"n_therapists": 4, "population": 800, "initial_clients": 30}


def same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b


def test_run_outcomes_is_a_seeded_run():
    first = run_outcomes(seed=3, preset="retiring_file", years=4, **TINY)
    again = run_outcomes(seed=3, preset="retiring_file", years=4, **TINY)
    direct = run_metrics(presets.load("retiring_file").validated({**TINY, "years": 4}), seed=3)
    assert set(first) == set(METRICS)
    assert all(same(first[k], again[k]) and same(first[k], direct[k]) for k in METRICS)
    assert run_outcomes(seed=4, years=1, **TINY)["sessions"] != run_outcomes(seed=3, years=1, **TINY)["sessions"]


@pytest.mark.filterwarnings("ignore")
def test_perform_experiments_runs_each_experiment_for_each_seed():
    model = ema_model({"self_awareness_mean": (0.1, 0.9), "handover_policy": ["none", "file"]},
                      outcomes=["dropout_share", "mean_alliance"], years=1, seeds=[1, 2], fixed=TINY)
    with SequentialEvaluator(model) as evaluator:
        experiments, outcomes = perform_experiments(model, scenarios=2, evaluator=evaluator)
    assert len(experiments) == 2 and set(outcomes) == {"dropout_share", "mean_alliance"}
    for i, row in experiments.iterrows():
        assert 0.1 <= row["self_awareness_mean"] <= 0.9 and row["handover_policy"] in ("none", "file")
        per_seed = [run_outcomes(seed=s, years=1, self_awareness_mean=row["self_awareness_mean"],
                                 handover_policy=row["handover_policy"], **TINY) for s in (1, 2)]
        assert outcomes["mean_alliance"][i] == pytest.approx(np.mean([r["mean_alliance"] for r in per_seed]))


@pytest.mark.parametrize("call, message", [
    (lambda: ema_model({"self_awareness_mean": (0.1, 1.5)}), "self_awareness_mean=1.5 is out of range: allowed 0 to 1"),
    (lambda: ema_model({"self_awarenes_mean": (0.1, 0.5)}), "unknown parameter 'self_awarenes_mean'"),
    (lambda: ema_model({"handover_policy": ["none", "email"]}), "handover_policy"),
    (lambda: ema_model({"warmth_mean": (0.5, 0.4)}), "low=0.5 must be below high=0.4"),
    (lambda: ema_model({"warmth_mean": (0.3, 0.6)}, outcomes=["dropouts"]), "unknown metric 'dropouts'"),
    (lambda: ema_model({"warmth_mean": (0.3, 0.6)}, fixed={"warmth_mean": 0.5}), "both fixed and uncertain"),
])
def test_bad_setups_fail_before_anything_runs(call, message):
    with pytest.raises(ParameterError, match=message):
        call()
