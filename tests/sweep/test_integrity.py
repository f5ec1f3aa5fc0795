"""Sweep folders that stay usable: damaged parts set aside, costs known, rules checked (issue 11)."""

from __future__ import annotations

import shutil
import warnings

import pandas as pd
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
    return first


@pytest.mark.parametrize("how", ["truncated", "empty", "weekly"])
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
