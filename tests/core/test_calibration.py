"""Calibration: targets measured from the tables, the table over seeds, the ABC fit, the generated docs."""

from __future__ import annotations

import importlib.util
import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from alliancesim import targets as T
from alliancesim.calibration import (COLUMNS, aggregate, calibrate, fill_blocks, fmt, markdown, read_table,
                                     run_seed, SeedTask)
from alliancesim.fit import FitSettings, FreeParameter, check_free_parameters, distance, fit
from alliancesim.params import REGISTRY, ParameterError

ROOT = Path(__file__).resolve().parents[2]
EXP = ROOT / "experiments" / "07_calibration"


# ------------------------------------------------------------------------------------------------
# hand-made tables: each definition measures what it says


def tables(courses: list[dict]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Session and relationship tables for hand-made courses.

    Each course: ``client``, ``start`` (distress), ``parts``: list of (therapist, [distress after each
    session]), ``end_reason`` of the last part, ``goals``, optional ``alliance`` (per course session).
    """
    srows, rrows, rid = [], [], 0
    for c in courses:
        week, k, before = 1, 0, c["start"]
        for j, (therapist, afters) in enumerate(c["parts"]):
            rid += 1
            last = j == len(c["parts"]) - 1
            rrows.append({"relationship_id": rid, "client": c["client"], "therapist": therapist,
                          "start_week": week, "end_reason": c["end_reason"] if last else "therapist_left",
                          "client_goals_met": c.get("goals", False)})
            for s, after in enumerate(afters, start=1):
                alliance = c.get("alliance", [0.5] * 100)[k]
                srows.append({"week": week, "relationship_id": rid, "session": s, "client": c["client"],
                              "therapist": therapist, "alliance": alliance, "distress_before": before,
                              "distress_after": after, "rupture": c.get("rupture", "")})
                before, week, k = after, week + 2, k + 1
    return pd.DataFrame(srows), pd.DataFrame(rrows)


def test_dropout_counts_only_courses_the_client_ended_and_not_those_who_met_their_goals():
    s, r = tables([
        {"client": "A", "start": 12, "parts": [("T1", [11])], "end_reason": "dropout"},
        {"client": "B", "start": 12, "parts": [("T1", [11, 10, 9])], "end_reason": "dropout"},
        {"client": "C", "start": 12, "parts": [("T1", [8] * 5)], "end_reason": "finished", "goals": True},
        {"client": "D", "start": 12, "parts": [("T1", [8] * 5)], "end_reason": "dropout", "goals": True},
        {"client": "E", "start": 12, "parts": [("T2", [12, 12])], "end_reason": "referred_out"},
        {"client": "F", "start": 12, "parts": [("T2", [12, 12])], "end_reason": "moved_away"},
        {"client": "G", "start": 12, "parts": [("T2", [12, 12])], "end_reason": "ongoing"},
        {"client": "H", "start": 12, "parts": [("T2", [9] * 4)], "end_reason": "maintenance_ended", "goals": True},
    ])
    values, _ = T.measure(s, r)
    assert values["dropout"] == pytest.approx(2 / 5)  # A, B of A, B, C, D, H
    assert values["dropout_early"] == pytest.approx(1 / 2)  # A (one session) of A, B


def test_occasional_visitors_are_left_out_of_every_target():
    treated = [{"client": f"C{i}", "start": 15, "parts": [("T1", [15 - k for k in range(1, 9)])],
                "end_reason": "completed", "rupture": ""} for i in range(6)]
    visitors = [{"client": f"V{i}", "start": 15, "parts": [("T1", [15] * 8)], "end_reason": "dropout",
                 "rupture": "misattunement"} for i in range(6)]
    s, r = tables(treated + visitors)
    r["client_need"] = np.where(r["client"].str.startswith("V"), "occasional", "physical")
    values, curve = T.measure(s, r)
    assert values["dropout"] == 0.0 and values["rupture_share"] == 0.0 and curve[7] == 1.0


def test_an_unclassified_end_reason_is_an_error():
    s, r = tables([{"client": "A", "start": 12, "parts": [("T1", [11])], "end_reason": "emigrated"}])
    with pytest.raises(ValueError, match="'emigrated'"):
        T.measure(s, r)


def test_a_handover_continues_the_course():
    s, r = tables([{"client": "A", "start": 20, "parts": [("T1", [19, 18]), ("T2", [17, 16, 15])],
                    "end_reason": "finished", "goals": True, "alliance": [0.1, 0.2, 0.3, 0.4, 0.5]}])
    c = T.courses(s, r).set_index("client")
    assert c.loc["A", "sessions"] == 5 and c.loc["A", "therapists"] == 2
    assert c.loc["A", "start"] == 20 and c.loc["A", "end"] == 15 and c.loc["A", "fall"] == 5
    assert c.loc["A", "alliance3"] == 0.3  # the third course session is the successor's first
    assert c.loc["A", "end_reason"] == "finished"


def test_a_client_who_comes_back_starts_a_new_course():
    s1, r1 = tables([{"client": "A", "start": 20, "parts": [("T1", [19, 18])], "end_reason": "finished"}])
    s2, r2 = tables([{"client": "A", "start": 16, "parts": [("T2", [15, 14, 13])], "end_reason": "dropout"}])
    r2["relationship_id"] += 1
    s2["relationship_id"] += 1
    r2["start_week"] += 100
    s2["week"] += 100
    c = T.courses(pd.concat([s1, s2]), pd.concat([r1, r2]))
    assert list(c["sessions"]) == [2, 3] and list(c["start"]) == [20, 16] and list(c["end"]) == [18, 13]
    assert list(c["end_reason"]) == ["finished", "dropout"]


def test_deterioration_is_reliable_worsening_of_ended_courses_with_two_sessions():
    s, r = tables([
        {"client": "A", "start": 8, "parts": [("T1", [10, 13])], "end_reason": "dropout"},  # +5: counts
        {"client": "B", "start": 8, "parts": [("T1", [10, 12.9])], "end_reason": "dropout"},  # +4.9
        {"client": "C", "start": 8, "parts": [("T1", [14])], "end_reason": "dropout"},  # one session
        {"client": "D", "start": 8, "parts": [("T1", [10, 14])], "end_reason": "ongoing"},  # not ended
        {"client": "E", "start": 8, "parts": [("T1", [4, 3])], "end_reason": "finished", "goals": True},
        {"client": "F", "start": 8, "parts": [("T1", [9, 9])], "end_reason": "referred_out"},
    ])
    values, _ = T.measure(s, r)
    assert values["deterioration"] == pytest.approx(1 / 4)  # A of A, B, E, F


def test_howard_curve_counts_reliable_change_among_clients_with_that_many_sessions():
    s, r = tables([
        # improves by 5 at session 2, slips back later: improved "by session k" for every k >= 2
        {"client": "A", "start": 15, "parts": [("T1", [13, 10, 12, 14])], "end_reason": "dropout"},
        # falls 4.9 only: never reliably improved
        {"client": "B", "start": 15, "parts": [("T1", [10.1] * 8)], "end_reason": "finished", "goals": True},
        # starts below 10: not in the curve
        {"client": "C", "start": 9, "parts": [("T1", [1] * 8)], "end_reason": "finished", "goals": True},
        # one session, improved at once
        {"client": "D", "start": 20, "parts": [("T1", [14])], "end_reason": "dropout"},
    ])
    curve = T.dose_response(T.course_sessions(s, r), upto=8)
    assert curve[0] == pytest.approx(1 / 3)  # D of A, B, D
    assert curve[1] == pytest.approx(1 / 2)  # A of A, B (D had one session)
    assert curve[3] == pytest.approx(1 / 2)  # A still counts at its fourth session
    assert curve[7] == 0.0  # only B had eight sessions


def test_alliance_outcome_r_and_partial_r():
    rng = np.random.default_rng(3)
    n = 400
    start = rng.uniform(10, 25, n)
    alliance = 0.5 + 0.02 * (start - 17) + rng.normal(0, 0.05, n)  # alliance tracks start distress only
    fall = 0.5 * (start - 17) + rng.normal(0, 1, n)
    courses = [{"client": f"C{i}", "start": start[i], "parts": [("T1", [start[i]] * 3 + [start[i] - fall[i]])],
                "end_reason": "finished", "alliance": [0.5, 0.5, alliance[i], 0.5]} for i in range(n)]
    values, _ = T.measure(*tables(courses))
    assert values["alliance_outcome_r"] > 0.5
    assert abs(values["alliance_outcome_partial_r"]) < 0.15


@pytest.mark.parametrize("spread, expect_high", [(4.0, True), (0.0, False)])
def test_therapist_icc_finds_a_therapist_effect_only_where_there_is_one(spread, expect_high):
    rng = np.random.default_rng(5)
    effect = rng.normal(0, spread, 12)
    therapist = rng.integers(0, 12, 600)
    start = rng.uniform(10, 25, 600)
    fall = 0.3 * start + effect[therapist] + rng.normal(0, 2, 600)
    icc = T.therapist_icc(fall, start, therapist.astype(str))
    assert 0.0 <= icc <= 1.0
    assert (icc > 0.5) if expect_high else (icc < 0.05)


def test_therapist_icc_recovers_a_small_planted_effect():
    """The size the literature reports (about 5 %) is found, not rounded to the boundary at 0."""
    rng = np.random.default_rng(9)
    effect = rng.normal(0, 1.0, 40)
    therapist = rng.integers(0, 40, 4000)
    start = rng.uniform(10, 25, 4000)
    fall = 0.3 * start + effect[therapist] + rng.normal(0, 4.0, 4000)  # true ICC 1 / 17 = 0.059
    assert 0.03 < T.therapist_icc(fall, start, therapist.astype(str)) < 0.10


def test_ruptures_and_smd_from_the_session_table():
    courses = [{"client": f"C{i}", "start": 10 + i, "parts": [("T1", [10 + i - 0.5 * k for k in range(1, 9)])],
                "end_reason": "ongoing", "rupture": "misattunement" if i % 4 == 0 else ""} for i in range(8)]
    s, r = tables(courses)
    values, _ = T.measure(s, r)
    assert values["rupture_share"] == pytest.approx(2 / 8)
    starts = np.arange(10, 18, dtype=float)
    assert values["depression_smd"] == pytest.approx(4.0 / starts.std(ddof=1))


def test_talk_advantage_sign_and_scale():
    restricted = (np.array([4.0, 6.0]), np.array([12.0, 14.0]))
    laden = (np.array([2.0, 4.0]), np.array([12.0, 14.0]))
    sd = np.array([12.0, 14.0, 12.0, 14.0]).std(ddof=1)
    assert T.talk_advantage(restricted, laden) == pytest.approx(2.0 / sd)
    assert T.talk_advantage(laden, restricted) == pytest.approx(-2.0 / sd)
    assert math.isnan(T.talk_advantage((np.array([1.0]), np.array([1.0])), laden))


def test_targets_are_well_formed():
    names = [t.name for t in T.TARGETS]
    assert len(set(names)) == len(names)
    for t in T.TARGETS:
        assert t.definition and t.source
        if t.fit:
            assert t.banded and t.low < t.centre < t.high or t.low <= t.centre <= t.high
        if math.isfinite(t.published) and t.banded:
            assert t.low <= t.published <= t.high, t.name


# ------------------------------------------------------------------------------------------------
# the table over seeds, on the real model


@pytest.fixture(scope="module")
def short_runs():
    """Two seeds of a short default clinic (each with its two talk presets)."""
    return [run_seed(SeedTask(seed, 1.5)) for seed in (1, 2)]


def test_calibration_table_aggregates_per_seed_values(short_runs):
    result = aggregate(short_runs, (1, 2), 1.5)
    table = result.table
    assert list(table.columns) == list(COLUMNS)
    assert list(table["target"]) == [t.name for t in T.TARGETS]
    for row in table.itertuples():
        values = [r[row.target] for r in short_runs if math.isfinite(r[row.target])]
        if len(values) == 2:
            assert row.model == pytest.approx(np.mean(values))
            assert row.ci_low <= row.model <= row.ci_high
        target = T.BY_NAME[row.target]
        assert (row.inside is pd.NA) == (not target.banded or not math.isfinite(row.model))
        if row.inside is not pd.NA:
            assert bool(row.inside) == (row.band_low <= row.model <= row.band_high)
    assert list(result.curve["session"]) == list(range(1, T.CURVE_SESSIONS + 1))
    assert set(result.runs["seed"]) == {1, 2}


def test_calibrate_rejects_a_bad_override_before_running():
    with pytest.raises(ParameterError, match="dropout_base"):
        calibrate(seeds=(1, 2), years=1, overrides={"dropout_base": 2.0})


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "alliancesim", "calibrate", *args], capture_output=True, text=True,
                          cwd=cwd, timeout=120, env={**__import__("os").environ, "PYTHONPATH": str(ROOT)})


def test_cli_writes_the_table_it_prints_and_a_process_pool_changes_nothing(tmp_path, short_runs):
    out = tmp_path / "table.csv"
    proc = _cli("--seeds", "2", "--years", "1.5", "--jobs", "2", "--out", str(out), cwd=tmp_path)
    assert proc.returncode in (0, 1), proc.stderr
    table = read_table(out)
    assert markdown(table) in proc.stdout
    assert proc.returncode == (0 if table["inside"].dropna().all() else 1)
    assert [p.name for p in tmp_path.iterdir()] == ["table.csv"]  # no temporary file left
    serial = aggregate(short_runs, (1, 2), 1.5).table  # the same seeds, one process
    numbers = ["model", "ci_low", "ci_high", "sd"]
    np.testing.assert_allclose(table[numbers].to_numpy(float), serial[numbers].to_numpy(float), rtol=1e-5)
    assert list(table["inside"].fillna(False)) == list(serial["inside"].fillna(False))


@pytest.mark.parametrize("args, words", [
    (["--seeds", "1"], "--seeds 1"),
    (["--years", "0"], "years=0"),
    (["--out", "table.txt"], "table.txt"),
    (["--dask", "tcp://127.0.0.1:1"], "--dask needs --fit"),
    (["--population", "10"], "--population needs --fit"),
    (["--prior-width", "0.3"], "--prior-width needs --fit"),
    (["--fit", "--population", "1"], "population=1"),
])
def test_cli_bad_input_is_one_line_and_exit_2(tmp_path, monkeypatch, capsys, args, words):
    from alliancesim.cli import main

    monkeypatch.chdir(tmp_path)
    assert main(["calibrate", *args]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and words in err
    assert not any(tmp_path.iterdir())


# ------------------------------------------------------------------------------------------------
# the fit


def test_distance_is_zero_at_the_targets_and_counts_half_widths():
    at = {t.name: t.centre for t in T.TARGETS}
    assert distance(at) == 0.0
    fitted = [t for t in T.TARGETS if t.fit]
    one = dict(at, dropout=T.BY_NAME["dropout"].high)  # one target at its band's edge
    assert distance(one) == pytest.approx(math.sqrt(1 / len(fitted)))
    missing = dict(at, improved_by_26=float("nan"))
    assert distance(missing) == pytest.approx(math.sqrt(100 / len(fitted)))
    assert distance(dict(at, dropout_early=5.0)) == 0.0  # reported-only targets do not count


def test_free_parameters_must_be_registered_floats_inside_their_range():
    check_free_parameters()
    with pytest.raises(ParameterError, match="not a model parameter"):
        check_free_parameters([FreeParameter("no_such_rate", 0, 1, "")])
    with pytest.raises(ParameterError, match="allowed range"):
        check_free_parameters([FreeParameter("dropout_base", 0, 2, "")])
    with pytest.raises(ParameterError, match="needs a float"):
        check_free_parameters([FreeParameter("n_therapists", 1, 5, "")])


def test_a_local_fit_centres_each_prior_on_the_default_inside_the_full_range():
    full = FitSettings().priors()
    assert full == FitSettings().free
    local = FitSettings(prior_width=0.3).priors()
    for whole, p in zip(full, local, strict=True):
        default = REGISTRY[p.name].default
        assert whole.low <= p.low < p.high <= whole.high
        assert p.high - p.low == pytest.approx(0.3 * (whole.high - whole.low))
        assert p.low <= default <= p.high
        if whole.low < default - 0.15 * (whole.high - whole.low) and default + 0.15 * (whole.high - whole.low) < whole.high:
            assert (p.low + p.high) / 2 == pytest.approx(default)  # centred where the window fits
    for bad in (0.0, -0.1, 1.5, math.nan):
        with pytest.raises(ParameterError, match="prior_width"):
            FitSettings(prior_width=bad).check()


def test_the_fit_sampler_gives_the_same_fit_with_any_number_of_workers(tmp_path):
    """pyabc's own parallel samplers accept particles as they finish; ours, in a fixed order."""
    import pyabc

    from alliancesim.fit import OrderedSampler

    def model(p):
        return {"x": p["mu"] + 0.1 * np.random.normal()}

    def one(workers):
        sampler = OrderedSampler(seed=3, workers=workers)
        try:
            np.random.seed(3)
            abc = pyabc.ABCSMC(model, pyabc.Distribution(mu=pyabc.RV("uniform", -2, 4)),
                               lambda a, b: abs(a["x"] - b["x"]), population_size=20, sampler=sampler)
            abc.new("sqlite:///" + str(tmp_path / f"w{workers}.db"), {"x": 0.5})
            history = abc.run(max_nr_populations=3)
        finally:
            sampler.stop()
        particles, weights = history.get_distribution(m=0, t=history.max_t)
        return particles["mu"].to_numpy(), np.asarray(weights), history.total_nr_simulations

    serial = one(1)
    for workers in (2, 3):
        again = one(workers)
        assert np.array_equal(serial[0], again[0]) and np.array_equal(serial[1], again[1])
        assert serial[2] == again[2]
    assert abs(np.average(serial[0], weights=serial[1]) - 0.5) < 0.3  # and it does fit


def test_reduced_fit_writes_a_posterior_inside_the_priors(tmp_path):
    out = tmp_path / "fit"
    settings = FitSettings(population=3, generations=1, fit_seeds=1, years=0.5, table_seeds=2, jobs=1, refine=2)
    info = fit(settings, out, log=lambda _line: None)
    files = {p.name for p in out.iterdir()}
    assert {"posterior.csv", "posterior.md", "particles.csv", "best_calibration.csv", "best_calibration.md",
            "fit_info.json", "abc.db"} <= files
    post = pd.read_csv(out / "posterior.csv")
    assert list(post["parameter"]) == [p.name for p in settings.free]
    for r in post.itertuples():
        assert r.prior_low <= r.q05 <= r.median <= r.q95 <= r.prior_high
        assert r.prior_low <= r.mean <= r.prior_high
    particles = pd.read_csv(out / "particles.csv")
    assert len(particles) == 3 and particles["weight"].sum() == pytest.approx(1.0, abs=1e-4)
    best = read_table(out / "best_calibration.csv")
    assert set(best["runs"]) <= {0, 1, 2}
    assert json.loads((out / "fit_info.json").read_text()) == json.loads(json.dumps(info))
    assert info["best_distance"] >= 0 and set(info["best_parameters"]) == {p.name for p in settings.free}
    # The estimate: the two closest particles and the posterior mean, measured again; the closest there wins.
    assert [r["candidate"] for r in info["refined"]] == ["particle", "particle", "posterior mean"]
    assert info["best_distance"] == min(r["table_distance"] for r in info["refined"])
    chosen = min(info["refined"], key=lambda r: r["table_distance"])
    assert info["best_parameters"] == chosen["parameters"] and info["estimate"] == chosen["candidate"]
    assert [p.name for p in tmp_path.iterdir()] == ["fit"]  # no partial folder left beside it
    with pytest.raises(ParameterError, match="already exists"):
        fit(settings, out, log=lambda _line: None)


# ------------------------------------------------------------------------------------------------
# the generated prose


def test_fill_blocks_replaces_only_the_marked_body():
    text = "a\n<!-- BEGIN generated:x -->\nold\n<!-- END generated:x -->\nb\n"
    assert fill_blocks(text, {"x": "new 1.000"}) == "a\n<!-- BEGIN generated:x -->\nnew 1.000\n<!-- END generated:x -->\nb\n"
    with pytest.raises(KeyError):
        fill_blocks(text, {"y": "z"})


def _experiment():
    spec = importlib.util.spec_from_file_location("experiment_07", EXP / "run.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("doc", [ROOT / "docs" / "calibration.md", EXP / "RESULTS.md"])
def test_numbers_in_the_prose_are_the_numbers_in_the_tables(doc):
    """docs/calibration.md and RESULTS.md quote table.csv, dose_response.csv and the fit exactly."""
    text = doc.read_text(encoding="utf-8")
    blocks = _experiment().blocks_from_files()
    assert fill_blocks(text, blocks) == text, f"{doc.name} is stale: run python experiments/07_calibration/run.py"
    # And directly: each target's line quotes its model value and interval from table.csv.
    table = read_table(EXP / "table.csv")
    lines = text.split("<!-- BEGIN generated:table -->")[1].split("<!-- END generated:table -->")[0].splitlines()
    for r in table.itertuples():
        quoted = [line for line in lines if line.startswith(f"| {r.label} |")]
        assert quoted, r.label
        expected = fmt(r.model) + (f" ({fmt(r.ci_low)} to {fmt(r.ci_high)})" if math.isfinite(r.ci_low) else "")
        assert all(f"| {expected} |" in line for line in quoted), (r.label, expected, quoted)


def test_default_clinic_is_big_enough_for_the_benchmarks():
    from alliancesim import simulate, summary_metrics

    m = summary_metrics(simulate("default", seed=4, years=10))
    assert m["clients_on_books"] >= 300
    assert m["clients_on_books"] <= 400


def test_reduced_fit_on_a_dask_cluster(tmp_path):
    """``--dask``: particles are evaluated by a real scheduler and worker process."""
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, host="127.0.0.1", protocol="tcp",
                      dashboard_address=None) as cluster:
        settings = FitSettings(population=2, generations=1, fit_seeds=1, years=0.5, table_seeds=2,
                               dask=cluster.scheduler_address)
        info = fit(settings, tmp_path / "fit", log=lambda _line: None)
        with Client(cluster, set_as_default=False) as client:
            # The worker process itself ran particles (the simulator imports the calibration module when called).
            on_worker = client.run(lambda: "alliancesim.calibration" in sys.modules)
    assert list(on_worker.values()) == [True]
    assert info["evaluations"] >= 2 and info["settings"]["dask"] == cluster.scheduler_address
    assert len(pd.read_csv(tmp_path / "fit" / "particles.csv")) == 2


def test_calibrate_refuses_an_out_it_cannot_write_before_running_anything(tmp_path, capsys):
    from alliancesim.cli import main

    (tmp_path / "afile").write_text("not a folder")
    assert main(["calibrate", "--seeds", "2", "--years", "0.2", "--jobs", "1",
                 "--out", str(tmp_path / "afile" / "table.csv")]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""  # nothing was computed
    assert captured.err.count("\n") == 1 and "cannot be written" in captured.err and "table.csv" in captured.err
