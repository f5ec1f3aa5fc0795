"""Running sweeps locally: identical results, failures recorded, kill -9 / Ctrl-C / dead workers survived."""

from __future__ import annotations

import math
import os
import re
import signal

import pandas as pd
import pytest

from alliancesim.cli import main
from alliancesim.runner import run_metrics
from alliancesim.sweep import load_runs, load_spec, load_weekly, make_report, run_sweep

from .support import (
    LONG_SPEC,
    TINY,
    check_rows_rerun,
    expected_runs,
    alive,
    cli,
    descendants,
    group_members,
    parts,
    same_results,
    stored_runs,
    start_cli,
    wait_for,
    write_spec,
)


def test_pool_gives_the_serial_results_and_resume_skips_them(reference, tmp_path):
    spec, _, ref = reference
    result = run_sweep(spec, tmp_path / "out", workers=3, progress=False)
    assert (result.ran, result.ok, result.failed, result.backend) == (40, 40, 0, "pool")
    same_results(load_runs(tmp_path / "out"), ref)
    again = run_sweep(spec, tmp_path / "out", workers=2, progress=False)
    assert (again.ran, again.skipped, again.ok) == (0, 40, 40)


def test_a_run_that_raises_is_recorded_and_the_others_finish(tmp_path, capsys):
    # A Latin hypercube over two thresholds the model requires in order (loose < rigid): some
    # points break that rule.  The spec is fine value by value; those runs fail inside the model's
    # validation, in the worker, as any run-time error would.
    spec = write_spec(tmp_path, """
years = 0.5
seed = 3
[design]
method = "lhs"
samples = 8
[vary.boundary_loose_below]
range = [0.2, 0.6]
[vary.boundary_rigid_above]
range = [0.3, 0.8]
[outputs]
metrics = ["sessions", "dropout_share"]
""" + TINY)
    assert main(["sweep", str(spec), "--out", str(tmp_path / "out"), "--workers", "2", "--quiet"]) == 0
    err = capsys.readouterr().err
    df = load_runs(tmp_path / "out")
    bad = df["boundary_loose_below"] >= df["boundary_rigid_above"]
    assert 0 < bad.sum() < len(df) == 8  # the design has both kinds (fixed seed)
    assert (df.loc[bad, "status"] == "failed").all() and (df.loc[~bad, "status"] == "ok").all()
    for row in df[bad].itertuples():
        assert row.error.startswith("ParameterError: boundary_loose_below=")
        assert "must be below boundary_rigid_above" in row.error
        assert "Traceback" in row.traceback and "\n" not in row.error
        assert math.isnan(row.sessions)
    assert (df.loc[~bad, "sessions"] > 0).all()
    assert f"{bad.sum()} failed of 8" in err
    assert "first: ParameterError: boundary_loose_below=" in err
    # Failed runs count as done; --retry-failed runs them again (and still one row per run).
    assert main(["sweep", str(spec), "--out", str(tmp_path / "out"), "--workers", "1", "--retry-failed",
                 "--quiet"]) == 0
    assert f"retrying {bad.sum()} failed runs" in capsys.readouterr().err
    again = load_runs(tmp_path / "out")
    assert again["key"].is_unique and len(again) == 8
    assert (again["status"] == "failed").sum() == bad.sum()


def test_sigkill_midway_then_rerun_gives_exactly_the_full_set(tmp_path):
    spec = write_spec(tmp_path, LONG_SPEC)
    out = tmp_path / "out"
    proc = start_cli("sweep", str(spec), "--out", str(out), "--workers", "2", "--quiet",
                     log=tmp_path / "first.log")
    wait_for(lambda: len(parts(out)) >= 3, what="some stored runs")
    os.kill(proc.pid, signal.SIGKILL)  # the sweep process only, as `kill -9 PID` does
    assert proc.wait(timeout=10) == -signal.SIGKILL
    proc.log.close()
    # Its worker processes notice and end too: nothing keeps computing for a dead sweep.
    wait_for(lambda: not group_members(proc.pid), timeout=15, what="orphaned workers to exit")
    stored = len(load_runs(out, columns=["status"]))
    assert 0 < stored < 160
    notes = []
    rerun = run_sweep(spec, out, workers=2, progress=False, log=notes.append)
    assert (rerun.skipped, rerun.ran, rerun.ok) == (stored, 160 - stored, 160)
    assert f"{stored} already stored, {160 - stored} to run on 2 local worker processes" in notes
    raw = pd.concat(pd.read_parquet(p, columns=["key", "status"]) for p in parts(out))
    assert raw["key"].is_unique and set(raw["key"]) == set(expected_runs(spec))  # none duplicated, none lost
    assert (raw["status"] == "ok").all()
    df = load_runs(out)
    assert stored_runs(df) == expected_runs(spec)  # every run with its own seed, whoever ran it
    check_rows_rerun(spec, df[df["key"].isin(raw["key"].iloc[:stored])], n=2)  # from before the kill
    check_rows_rerun(spec, df[df["key"].isin(raw["key"].iloc[stored:])], n=2)  # from the re-run


def test_ctrl_c_stops_cleanly_keeps_what_finished_and_resumes(tmp_path):
    spec = write_spec(tmp_path, LONG_SPEC)
    out = tmp_path / "out"
    args = ("sweep", str(spec), "--out", str(out), "--workers", "2")
    # Ctrl-C once: no new runs, the running ones finish and are stored.
    proc = start_cli(*args, log=tmp_path / "once.log")
    wait_for(lambda: len(parts(out)) >= 2, what="some stored runs")
    os.killpg(proc.pid, signal.SIGINT)  # a terminal sends it to the whole process group
    assert proc.wait(timeout=60) == 130
    proc.log.close()
    log = (tmp_path / "once.log").read_text()
    assert "stopping: no new runs start" in log and "Traceback" not in log
    # the progress bar: runs done of the total, elapsed<remaining, rate
    assert re.search(r"long: +\d+%.*\| *\d+/160 \[\d\d:\d\d<\d\d:\d\d, +[\d.]+(run/s|s/run)\]", log)
    assert "run the same command again to resume" in log
    wait_for(lambda: not group_members(proc.pid), timeout=15, what="workers to exit")
    first = len(load_runs(out, columns=["status"]))
    assert 0 < first < 160
    # Ctrl-C twice: the running runs are abandoned at once; what finished is kept.
    proc = start_cli(*args, log=tmp_path / "twice.log")
    wait_for(lambda: len(load_runs(out, columns=["status"])) >= first + 4, what="more stored runs")
    os.killpg(proc.pid, signal.SIGINT)
    wait_for(lambda: "stopping" in (tmp_path / "twice.log").read_text(), what="the first Ctrl-C")
    os.killpg(proc.pid, signal.SIGINT)
    assert proc.wait(timeout=30) == 130
    proc.log.close()
    assert "Traceback" not in (tmp_path / "twice.log").read_text()
    wait_for(lambda: not group_members(proc.pid), timeout=15, what="workers to exit")
    second = len(load_runs(out, columns=["status"]))
    assert first < second < 160
    done = run_sweep(spec, out, workers=2, progress=False)
    assert (done.skipped, done.ok) == (second, 160)
    df = load_runs(out)
    assert stored_runs(df) == expected_runs(spec)
    check_rows_rerun(spec, df)


def test_sigterm_stops_a_sweep_at_once_and_keeps_what_finished(tmp_path):
    """`kill PID` (a cluster's time limit): no grace to wait for running runs, nothing stored is lost."""
    spec = write_spec(tmp_path, LONG_SPEC)
    out = tmp_path / "out"
    proc = start_cli("sweep", str(spec), "--out", str(out), "--workers", "2", log=tmp_path / "term.log")
    wait_for(lambda: len(parts(out)) >= 2, what="some stored runs")
    proc.send_signal(signal.SIGTERM)  # to the sweep process only, as kill does
    assert proc.wait(timeout=30) == 130
    proc.log.close()
    log = (tmp_path / "term.log").read_text()
    assert "Traceback" not in log and "run the same command again to resume" in log
    wait_for(lambda: not group_members(proc.pid), timeout=15, what="workers to exit")
    stored = len(load_runs(out, columns=["status"]))
    assert 0 < stored < 160
    done = run_sweep(spec, out, workers=2, progress=False)
    assert (done.skipped, done.ok) == (stored, 160)


def test_a_dead_pool_worker_is_replaced_and_the_sweep_completes(tmp_path):

    spec = write_spec(tmp_path, LONG_SPEC)
    out = tmp_path / "out"
    proc = start_cli("sweep", str(spec), "--out", str(out), "--workers", "2", "--quiet",
                     log=tmp_path / "log")
    wait_for(lambda: len(parts(out)) >= 2, what="some stored runs")

    def workers():
        # Pool workers are the processes named in the stored rows (host:pid) that still run
        # under the sweep, whether they were forked from it or from a fork server.
        stored = {int(w.rsplit(":", 1)[1]) for w in load_runs(out, columns=["worker"])["worker"]}
        return [pid for pid in alive(descendants(proc.pid)) if pid in stored and pid != proc.pid]

    victim = wait_for(workers, what="pool workers")[0]
    os.kill(victim, signal.SIGKILL)  # as the kernel's out-of-memory killer would
    killed_at = len(load_runs(out, columns=["status"]))
    after_kill = pd.Timestamp.now(tz="UTC") + pd.Timedelta(seconds=0.5)
    assert proc.wait(timeout=120) == 0
    proc.log.close()
    assert killed_at < 160
    assert "a worker process died while running this run; started new worker processes" in \
        (tmp_path / "log").read_text()
    df = load_runs(out)
    assert len(df) == 160 and (df["status"] == "ok").all() and stored_runs(df) == expected_runs(spec)
    later = df[df["finished_at"] > after_kill]  # runs finished after the kill: never by the victim
    assert victim not in {int(w.rsplit(":", 1)[1]) for w in later["worker"]}
    check_rows_rerun(spec, df)


def test_weekly_series_and_a_row_reproduces_its_run(tmp_path):
    spec_path = write_spec(tmp_path, """
years = 0.5
seed = 9
replicates = 2
[vary.self_awareness_mean]
values = [0.3, 0.7]
[outputs]
weekly = true
""" + TINY)
    result = run_sweep(spec_path, tmp_path / "out", workers=1, progress=False)
    assert result.ok == 4
    runs, weekly = load_runs(tmp_path / "out"), load_weekly(tmp_path / "out")
    assert sorted(weekly.groupby("key").size().unique()) == [26]  # half a year of weeks, per run
    assert set(weekly["key"]) == set(runs["key"])
    spec = load_spec(spec_path)
    for row in runs.itertuples():
        series = weekly[weekly["key"] == row.key]
        assert series["sessions"].sum() == row.sessions
    # The stored seed and parameters re-run any row on its own, exactly.
    row = runs.iloc[3]
    params = {name: row[name] for name in spec.base}
    again = run_metrics({k: (v.item() if hasattr(v, "item") else v) for k, v in params.items()},
                        seed=int(row["seed"]))
    for metric in spec.metrics:
        assert again[metric] == row[metric] or (math.isnan(again[metric]) and math.isnan(row[metric]))


def test_report_plots_each_varied_parameter(reference, tmp_path, capsys):
    from PIL import Image

    _, out, _ = reference
    written = make_report(out, out=tmp_path / "rep")
    assert [p.name for p in written] == ["self_awareness_mean.png", "handover_policy.png"]
    for p in written:
        with Image.open(p) as im:
            assert im.format == "PNG" and im.width > 800 and im.height > 250
    proc = cli("report", str(out), "--out", str(tmp_path / "rep2"), "--metrics", "sessions,mean_alliance")
    assert proc.returncode == 0 and proc.stdout.splitlines() == [
        str(tmp_path / "rep2" / "self_awareness_mean.png"), str(tmp_path / "rep2" / "handover_policy.png")]
    capsys.readouterr()
    assert main(["report", str(out), "--metrics", "sessionz"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "'sessionz' is not stored" in err
    assert main(["report", str(tmp_path)]) == 2
    assert capsys.readouterr().err == (f"alliancesim: error: {str(tmp_path)!r} is not a sweep folder "
                                       "(no manifest.json)\n")


@pytest.mark.parametrize("workers", ["2", True, 1.5, 0, 10_000])
def test_a_bad_number_of_workers_is_refused_before_the_folder_is_made(tmp_path, workers):
    from alliancesim.sweep import SweepError

    spec = tmp_path / "s.toml"
    spec.write_text("years = 0.1\n[fixed]\npopulation = 300\n")
    with pytest.raises(SweepError, match=r"workers=.* is out of range: allowed a whole number from 1 to \d+"):
        run_sweep(spec, tmp_path / "out", workers=workers, progress=False)
    assert not (tmp_path / "out").exists()


def test_a_report_of_an_unfinished_sweep_says_how_many_runs_it_holds(reference, tmp_path, capsys):
    import shutil
    import warnings

    from alliancesim.sweep.storage import IncompleteSweepWarning

    _, out, runs = reference
    with warnings.catch_warnings():
        warnings.simplefilter("error", IncompleteSweepWarning)  # a finished sweep: no warning
        make_report(out, out=tmp_path / "whole", metrics=["sessions"])
    part = shutil.copytree(out, tmp_path / "part")
    for f in sorted((part / "runs").glob("part-*.parquet"))[-5:]:  # as if stopped before the last parts
        f.unlink()
    held = len(load_runs(part))
    assert 0 < held < len(runs)
    with pytest.warns(IncompleteSweepWarning, match=f"holds {held} of the {len(runs)} planned runs"):
        make_report(part, out=tmp_path / "rep", metrics=["sessions"])
    capsys.readouterr()
    assert main(["discover", str(part), "--metric", "mean_alliance", "--above", "p50", "--out", str(tmp_path / "d")]) == 0
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("warning: ") and f"holds {held} of the {len(runs)}" in err
