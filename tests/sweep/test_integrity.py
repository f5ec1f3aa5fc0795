"""Sweep folders that stay usable: damaged parts set aside, costs known, rules checked (issue 11)."""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from alliancesim.cli import main
from alliancesim.sweep import load_runs, load_weekly, run_sweep
from alliancesim.sweep.storage import DamagedPartWarning

from .support import TINY, parts, write_spec

#: 2 points x 3 replicates of a fifth of a year, a part every 2 runs: 3 runs parts (and weekly parts).
SMALL_SPEC = """
name = "small"
years = 0.2
replicates = 3
seed = 7
""" + TINY + """
[vary.self_awareness_mean]
values = [0.2, 0.8]

[outputs]
metrics = ["dropout_share", "mean_alliance", "sessions"]
weekly = true
flush_runs = 2
"""


@pytest.fixture(scope="module")
def small_sweep(tmp_path_factory):
    """``(spec_path, out, runs)`` of one finished serial sweep of SMALL_SPEC (copy ``out`` before damaging it)."""
    folder = tmp_path_factory.mktemp("small")
    spec = write_spec(folder, SMALL_SPEC)
    out = folder / "out"
    result = run_sweep(spec, out, workers=1, progress=False)
    assert result.complete and result.ok == 6
    return spec, out, load_runs(out)


def _damage(out, how: str):
    first, second = parts(out)[:2]
    if how == "truncated":
        data = first.read_bytes()
        first.write_bytes(data[: len(data) // 2])
    elif how == "empty":
        first.write_bytes(b"")
    elif how == "weekly":
        (out / "weekly" / second.name).write_bytes(b"PAR1 not really")
        return second
    elif how == "corrupt":  # the footer still reads; the stored statuses do not
        data = bytearray(first.read_bytes())
        meta = pq.read_metadata(first)
        column = meta.row_group(0).column(meta.schema.names.index("status"))
        start = column.data_page_offset
        data[start + 8:start + 8 + 64] = bytes(range(64))
        first.write_bytes(bytes(data))
    return first


@pytest.mark.parametrize("how", ["truncated", "empty", "weekly", "corrupt"])
def test_a_damaged_part_is_skipped_by_readers_and_redone_by_resume(small_sweep, tmp_path, how, capsys):
    spec, reference, runs = small_sweep
    out = tmp_path / "out"
    shutil.copytree(reference, out)
    damaged = _damage(out, how)

    # Readers keep working, and say what they skipped.
    with pytest.warns(DamagedPartWarning, match=rf"{damaged.name} .* is damaged"):
        partial = load_runs(out) if how != "weekly" else load_weekly(out)
    assert len(partial) < (len(runs) if how != "weekly" else len(load_weekly(reference)))
    assert main(["report", str(out), "--out", str(tmp_path / "report")]) == 0
    err = capsys.readouterr().err
    if how != "weekly":
        assert "warning: " in err and "is damaged" in err and "Traceback" not in err

    # The resume sets the damaged part aside (one line) and redoes exactly its runs.
    assert main(["sweep", str(spec), "--out", str(out), "--workers", "1", "--quiet"]) == 0
    err = capsys.readouterr().err
    notes = [line for line in err.splitlines() if "is damaged" in line]
    assert len(notes) == 1 and "runs will be redone" in notes[0]
    assert any((out / "damaged").iterdir())
    with warnings.catch_warnings():
        warnings.simplefilter("error", DamagedPartWarning)
        again = load_runs(out)
        weekly = load_weekly(out)
    assert again["key"].is_unique and len(again) == len(runs)
    columns = ["key", "point", "replicate", "seed", "status", "dropout_share", "mean_alliance", "sessions"]
    pd.testing.assert_frame_equal(again[columns], runs[columns], check_exact=True)
    pd.testing.assert_frame_equal(weekly, load_weekly(reference), check_exact=True)


# --- rules between parameters, wherever parameters enter ------------------------------------------

@pytest.mark.parametrize("head,message", [
    ('[fixed]\nshare_physical = 0.9\n', "share_physical + share_overwhelmed = 1.1 exceeds 1"),
    ('preset = "retiring_none"\nyears = 1\n', "scheduled_retirement_week=156 is after the end of the run"),
    ('[vary.boundary_rigid_above]\nvalues = [0.2, 0.3]\n', "must be below boundary_rigid_above"),
])
@pytest.mark.parametrize("dry_run", [True, False])
def test_a_spec_whose_every_run_would_fail_is_refused(tmp_path, capsys, head, message, dry_run):
    vary = "" if "[vary" in head else "[vary.n_therapists]\nvalues = [2, 3]\n"
    spec = write_spec(tmp_path, head + vary)
    args = ["sweep", str(spec), "--dry-run"] if dry_run else ["sweep", str(spec), "--out", str(tmp_path / "o")]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err
    assert not (tmp_path / "o").exists()


def test_a_design_with_some_bad_corners_warns_before_it_runs(tmp_path, capsys):
    spec = write_spec(tmp_path, "years = 0.2\n[vary.share_physical]\nvalues = [0.1, 0.9]\n")
    assert main(["sweep", str(spec), "--dry-run"]) == 0
    err = capsys.readouterr().err
    assert "warning: some runs will fail" in err and "share_physical=0.9" in err


def test_a_sweep_in_which_every_run_fails_exits_non_zero(tmp_path, capsys, monkeypatch):
    import alliancesim.runner

    def broken(*_a, **_k):
        raise RuntimeError("the model is broken")

    monkeypatch.setattr(alliancesim.runner, "simulate", broken)
    spec = write_spec(tmp_path, "years = 0.2\n[vary.n_therapists]\nvalues = [2, 3]\n" + TINY.replace(
        "n_therapists = 4\n", ""))
    assert main(["sweep", str(spec), "--out", str(tmp_path / "o"), "--workers", "1", "--quiet"]) == 1
    err = capsys.readouterr().err
    assert "every run failed (2 of 2)" in err and "RuntimeError: the model is broken" in err


# --- the cost of a design, known before it starts -------------------------------------------------

HUGE = "years = 0.2\nreplicates = 1000000000\n" + TINY + "[vary.self_awareness_mean]\nvalues = [0.2, 0.8]\n"


def test_run_counts_are_computed_not_walked(tmp_path, monkeypatch):
    from alliancesim.sweep import execute, load_spec

    spec = load_spec(write_spec(tmp_path, "years = 1\n[vary.self_awareness_mean]\nrange = [0, 1]\nsteps = 10000\n"
                                           "[vary.warmth_mean]\nrange = [0, 1]\nsteps = 10000\n"))
    monkeypatch.setattr(execute, "design_chunks", lambda *_: pytest.fail("the design was enumerated"))
    monkeypatch.setattr(execute, "_walk", lambda *_: pytest.fail("the runs were enumerated"))
    plan = execute.plan_sweep(spec)
    assert (plan.points, plan.distinct, plan.runs) == (10**8, 10**8, 10**8)


def test_sampled_designs_count_the_points_that_coincide(tmp_path):
    from alliancesim.sweep import load_spec
    from alliancesim.sweep.execute import plan_sweep

    spec = load_spec(write_spec(tmp_path, "years = 1\nreplicates = 2\n[design]\nmethod = \"lhs\"\nsamples = 40\n"
                                           "[vary.n_therapists]\nrange = [2, 4]\n"))
    plan = plan_sweep(spec)
    assert (plan.points, plan.distinct, plan.runs) == (40, 3, 6)


def test_dry_run_prints_runs_time_and_disk(tmp_path, capsys):
    spec = write_spec(tmp_path, HUGE)
    assert main(["sweep", str(spec), "--dry-run", "--workers", "2"]) == 0
    out = capsys.readouterr().out
    assert "2000000000 runs" in out
    assert "estimated time:" in out and "on 2 workers" in out and "estimated disk:" in out
    assert "needs --yes" in out


@pytest.mark.parametrize("example", sorted((Path(__file__).parents[2] / "experiments" / "examples").glob("*.toml")),
                         ids=lambda p: p.stem)
def test_every_shipped_example_spec_has_a_dry_run(example, capsys):
    """The timing runs are shorter than the spec's runs: a retirement after them must not break them."""
    assert main(["sweep", str(example), "--dry-run"]) == 0, capsys.readouterr().err
    assert "estimated time:" in capsys.readouterr().out


def test_a_huge_sweep_needs_yes_and_says_so_in_one_line(tmp_path, capsys):
    spec = write_spec(tmp_path, HUGE)
    assert main(["sweep", str(spec), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "2,000,000,000 runs" in err and "--yes" in err
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("design,message", [
    ('[design]\nmethod = "lhs"\nsamples = 100000000\n[vary.self_awareness_mean]\nrange = [0, 1]\n',
     "samples=100,000,000 gives 100,000,000 design points"),
    ('[design]\nmethod = "sobol"\nsamples = 1073741824\n[vary.self_awareness_mean]\nrange = [0, 1]\n',
     "design points, more than 5,000,000"),
    ('[vary.self_awareness_mean]\nrange = [0, 1]\nstep = 1e-12\n', "step=1e-12 gives 1,000,000,000,001 values"),
    ('[vary.self_awareness_mean]\nrange = [0, 1]\nsteps = 100000000000\n', "choose fewer steps"),
])
def test_designs_too_big_to_build_are_one_line_errors(tmp_path, capsys, design, message):
    spec = write_spec(tmp_path, "years = 1\n" + design)
    assert main(["sweep", str(spec), "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err


# --- stored weekly series keep the weekly table's types ---------------------------------------------

def test_sweep_weekly_series_keep_integer_counts(small_sweep):
    from alliancesim.runner import simulate
    from alliancesim.tables import weekly_table

    _spec, out, _runs = small_sweep
    stored = load_weekly(out)
    direct = weekly_table(simulate(None, seed=1, years=0.2, n_therapists=2, population=300))
    assert (direct["sessions"].dtype.kind, stored["sessions"].dtype.kind) == ("i", "i")
    for column in direct.columns:
        assert stored[column].dtype == direct[column].dtype, column


# --- sensitivity results say when they are noise -----------------------------------------------------

NOISY_SOBOL = """
years = 0.2
seed = 5
""" + TINY + """
[design]
method = "sobol"
samples = 2
[vary.self_awareness_mean]
range = [0.1, 0.9]
[vary.warmth_mean]
range = [0.1, 0.9]
[vary.trust_growth_rate]
range = [0.05, 0.5]
[outputs]
metrics = ["sessions", "mean_alliance"]
[sensitivity]
resamples = 50
"""


def test_sobol_with_tiny_n_warns_in_the_output_and_the_saved_summary(tmp_path, capsys):
    from alliancesim.sweep.sensitivity import MIN_SOBOL_N

    spec = write_spec(tmp_path, NOISY_SOBOL)
    out = tmp_path / "out"
    assert main(["sensitivity", str(spec), "--out", str(out), "--workers", "1", "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert f"warning: only N=2 base samples: Sobol' indices need N of {MIN_SOBOL_N} or more" in printed
    saved = (out / "sensitivity" / "summary.txt").read_text()
    assert "warning: only N=2 base samples" in saved

    # indices.csv holds the numbers as computed, not rounded.
    from alliancesim.sweep import analyse, load_spec
    from alliancesim.sweep.sensitivity import NoisyIndicesWarning

    table = pd.read_csv(out / "sensitivity" / "indices.csv")
    with pytest.warns(NoisyIndicesWarning, match="only N=2 base samples"):
        ind = analyse(load_spec(spec), out)
    pd.testing.assert_frame_equal(table, ind.table, check_exact=True)


def test_indices_that_cannot_be_shares_of_variance_are_called_noise():
    from alliancesim.sweep.sensitivity import Indices, noise_warnings

    table = pd.DataFrame({"metric": ["m", "m", "q", "q"], "parameter": ["a", "b", "a", "b"],
                          "S1": [2.45, -0.8, 0.6, 0.3], "S1_conf": [41.6, 3.0, 0.05, 0.04],
                          "ST": [2.91, 0.2, 0.65, 0.35], "ST_conf": [0.5, 0.3, 0.06, 0.05]})
    lines = noise_warnings(Indices("sobol", table), samples=1024)
    assert len(lines) == 1 and lines[0].startswith("m: the indices look like noise")
    assert "outside 0 to 1" in lines[0]
    sums = pd.DataFrame({"metric": ["m", "m"], "parameter": ["a", "b"], "S1": [0.9, 0.76],
                         "S1_conf": [0.1, 0.1], "ST": [0.95, 0.8], "ST_conf": [0.1, 0.1]})
    assert "add up to 1.66" in noise_warnings(Indices("sobol", sums), samples=1024)[0]
    wide = pd.DataFrame({"metric": ["m"], "parameter": ["a"], "mu": [0.1], "mu_star": [0.2],
                         "mu_star_conf": [0.3], "sigma": [0.1]})
    assert "no larger than its confidence half-width" in noise_warnings(Indices("morris", wide), samples=20)[0]


def test_heat_map_does_not_colour_out_of_range_values_as_in_range():
    import numpy as np

    from alliancesim.sweep.sensitivity import heat_cells

    values = np.array([[2.91, 0.5], [-0.3, np.nan], [1.0, 0.0]])
    shown, labels = heat_cells(values)
    assert shown.mask.tolist() == [[True, False], [True, True], [False, False]]
    assert labels == [["2.91!", "0.50"], ["-0.30!", ""], ["1.00", "0.00"]]
