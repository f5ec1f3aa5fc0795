"""Scenario discovery (PRIM, EMA Workbench's) on sweep folders."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from alliancesim.cli import main
from alliancesim.sweep import SweepError
from alliancesim.sweep import discover as D


def planted(monkeypatch, n: int = 600, seed: int = 3) -> None:
    """A sweep whose outcome is high exactly where a < 0.3 and b > 0.6 (c is irrelevant)."""
    rng = np.random.default_rng(seed)
    runs = pd.DataFrame({"a": rng.uniform(0, 1, n), "b": rng.uniform(0, 1, n), "c": rng.uniform(0, 1, n),
                         "policy": rng.choice(["none", "file"], n)})
    runs["outcome"] = ((runs.a < 0.3) & (runs.b > 0.6)).astype(float) + rng.normal(0, 0.05, n)
    monkeypatch.setattr(D, "read_manifest", lambda path: {"varied": ["a", "b", "c", "policy"], "metrics": ["outcome"]})
    runs["status"] = "ok"
    monkeypatch.setattr(D, "load_runs", lambda path, columns, status: runs[columns])


def test_prim_finds_the_planted_box(monkeypatch, tmp_path):
    planted(monkeypatch)
    found = D.discover("sweep", "outcome", above=0.5, out=tmp_path / "found")
    limits = found.limits.set_index("parameter")
    assert set(limits.index) == {"a", "b"}  # c and the policy do not matter
    assert limits.at["a", "high"] == pytest.approx(0.3, abs=0.05) and limits.at["a", "low"] < 0.05
    assert limits.at["b", "low"] == pytest.approx(0.6, abs=0.05) and limits.at["b", "high"] > 0.95
    assert found.coverage >= 0.5 and found.density > 0.9
    assert found.density == found.trajectory["density"][found.trajectory["coverage"] >= 0.5].max()
    written = sorted(p.name for p in (tmp_path / "found").iterdir())
    assert written == ["limits.csv", "tradeoff.png", "trajectory.csv"]
    table = pd.read_csv(tmp_path / "found" / "limits.csv")
    assert list(table["parameter"]) == list(found.limits["parameter"]) and (table["box"] == found.chosen).all()
    again = D.discover("sweep", "outcome", above=0.5, min_coverage=0.99, out=tmp_path / "found")  # replaces
    assert again.coverage >= 0.99 and pd.read_csv(tmp_path / "found" / "limits.csv")["coverage"].iloc[0] >= 0.99


@pytest.mark.parametrize("kwargs, message", [
    ({"metric": "dropout_share", "above": 0.2}, "metric 'dropout_share' is not in this sweep: choose one of outcome"),
    ({"metric": "outcome", "above": 5}, "no run has outcome > 5 (it ranges from"),
    ({"metric": "outcome", "below": 5}, "every run has outcome < 5"),
    ({"metric": "outcome", "above": 0.5, "below": 0.1}, "give exactly one of --above or --below"),
    ({"metric": "outcome", "above": 0.5, "min_coverage": 0}, "min_coverage=0 is out of range"),
    ({"metric": "outcome", "above": "p100"}, "no run has outcome >"),
])
def test_bad_requests_are_one_line_errors(monkeypatch, kwargs, message):
    planted(monkeypatch)
    with pytest.raises(SweepError, match=message.replace("(", r"\(")):
        D.discover("sweep", **kwargs)


def test_discover_on_a_real_sweep_folder(reference, capsys):
    _, out, runs = reference
    assert main(["discover", str(out), "--metric", "mean_alliance", "--below", "p50"]) == 0
    printed = capsys.readouterr().out
    median = float(np.percentile(runs["mean_alliance"], 50))
    assert f"runs have mean_alliance < {median:.4g} (p50)" in printed and "coverage" in printed
    folder = out / "discovery" / "mean_alliance_below_p50"
    trajectory = pd.read_csv(folder / "trajectory.csv")
    assert trajectory["density"].iloc[0] == pytest.approx((runs["mean_alliance"] < median).mean())
    assert (folder / "tradeoff.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_thresholds_as_numbers_or_percentiles():
    values = np.arange(101, dtype=float)
    assert D.threshold_value("p75", values) == 75 and D.threshold_value("0.25", values) == 0.25
    assert D.threshold_value(3, values) == 3.0
    for bad in ("p101", "px", "high"):
        with pytest.raises(SweepError, match="percentile"):
            D.threshold_value(bad, values)


def test_discover_cli_errors_are_one_line(reference, capsys):
    _, out, _ = reference
    assert main(["discover", str(out), "--metric", "nope", "--above", "1"]) == 2
    assert main(["discover", str(out), "--metric", "mean_alliance"]) == 2  # neither --above nor --below
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and all(line.startswith("alliancesim: error: ") for line in err)
