"""The model used the Mesa way: batch_run returns the headline metrics, presets by name, agent sets."""

from __future__ import annotations

import math
import multiprocessing

import mesa
import pandas as pd
import pytest

from alliancesim import AllianceModel, ParameterError, presets, summary_metrics
from alliancesim.metrics import METRICS, RUN_PREFIX
from alliancesim.tables import weekly_table

SMALL = {"years": 1, "n_therapists": 4, "population": 800}


@pytest.fixture
def keep_start_method():
    """mesa.batch_run forces the "spawn" start method on the whole process; put it back."""
    before = multiprocessing.get_start_method(allow_none=True)
    yield
    multiprocessing.set_start_method(before, force=True)


def test_batch_run_returns_every_headline_metric_of_each_run(keep_start_method):
    rows = mesa.batch_run(AllianceModel, parameters=SMALL, rng=[1, 2], max_steps=10_000,
                          number_processes=1, display_progress=False)
    assert len(rows) == 2  # one row per run: the last week
    for row in rows:
        assert row["Step"] == 52
        for name in METRICS:
            assert RUN_PREFIX + name in row
        # the same numbers the CLI, summary.json and sweeps report for that run
        again = summary_metrics(AllianceModel(SMALL, rng=row["rng"]).run())
        for name in METRICS:
            a, b = row[RUN_PREFIX + name], again[name]
            assert (math.isnan(a) and math.isnan(b)) or a == b, name
    assert rows[0]["run_dropout_share"] != rows[1]["run_dropout_share"] or rows[0]["run_sessions"] != rows[1]["run_sessions"]


def test_weekly_names_stay_weekly_and_run_names_hold_the_run():
    model = AllianceModel(SMALL, rng=3).run()
    assert model.headline == summary_metrics(model)
    frame = model.datacollector.get_model_vars_dataframe()
    assert frame["run_sessions"].iloc[:-1].isna().all()
    assert frame["run_sessions"].iloc[-1] == frame["sessions"].sum()  # run total vs this week's count
    weekly = weekly_table(model)  # the weekly table (and weekly.parquet) has no run_ columns
    assert not [c for c in weekly.columns if c.startswith(RUN_PREFIX)]
    assert isinstance(weekly, pd.DataFrame) and len(weekly) == 52


def test_a_preset_by_keyword_with_values_on_top():
    keyword = AllianceModel(preset="slow_to_trust", rng=1, years=2)
    expected = presets.load("slow_to_trust").validated({})
    assert keyword.params == presets.load("slow_to_trust").validated({"years": 2})
    both = AllianceModel({"n_therapists": 5}, preset="slow_to_trust")
    assert both.params.n_therapists == 5 and both.params.prior_negative_mean == expected.prior_negative_mean


def test_batch_run_can_vary_the_preset(keep_start_method):
    rows = mesa.batch_run(AllianceModel, parameters={"preset": ["default", "slow_to_trust"], **SMALL}, rng=[4],
                          max_steps=10_000, number_processes=1, display_progress=False)
    assert [row["preset"] for row in rows] == ["default", "slow_to_trust"]
    assert all("run_sessions_to_trust" in row for row in rows)


@pytest.mark.parametrize("call, message", [
    (lambda: AllianceModel("slow_to_trust"), r"use AllianceModel\(preset='slow_to_trust'\)"),
    (lambda: AllianceModel(preset="slow_to_trsut"), "slow_to_trsut"),
    (lambda: AllianceModel(presets.load("default").validated({}), preset="slow_to_trust"), "a Params already"),
])
def test_preset_mistakes_are_one_line_errors(call, message):
    with pytest.raises(ParameterError, match=message) as error:
        call()
    assert "\n" not in str(error.value)


def test_agents_have_no_step_of_their_own_and_say_so():
    model = AllianceModel(SMALL, rng=1)
    model.step()
    with pytest.raises(TypeError, match=r"Therapist.step\(\) is not how alliancesim runs.*model.step\(\)"):
        model.agents_by_type[type(model.therapists_all[0])].shuffle_do("step")
    with pytest.raises(TypeError, match=r"Client.step\(\) is not how alliancesim runs"):
        model.clients_all[0].step()
    # agent sets work for reading and selecting
    therapists = model.agents.select(lambda a: type(a).__name__ == "Therapist")
    assert len(therapists) == SMALL["n_therapists"]
