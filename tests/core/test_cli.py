"""The command line: outputs, listings, and one-line errors with exit status 2."""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest

from alliancesim import presets
from alliancesim.cli import main
from alliancesim.tables import TABLES


def test_run_writes_tables_and_summary(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["run", "--years", "1", "--seed", "3", "--set", "n_therapists=5", "--set", "population=800",
                 "--out", str(out), "--csv"]) == 0
    printed = capsys.readouterr().out
    assert "52 weeks, seed 3" in printed and "dropout" in printed
    for name in TABLES:
        assert (out / f"{name}.parquet").exists() and (out / f"{name}.csv").exists()
    summary = json.loads((out / "summary.json").read_text())
    assert summary["seed"] == 3 and summary["params"]["n_therapists"] == 5
    assert summary["metrics"]["weeks"] == 52
    weekly = pd.read_parquet(out / "weekly.parquet")
    assert len(weekly) == 52 and weekly["week"].tolist() == list(range(1, 53))


def test_scenarios_lists_every_preset_one_line_each(capsys):
    assert main(["scenarios"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert [line.split()[0] for line in lines] == presets.names()


@pytest.mark.parametrize("argv,message", [
    (["run", "--set", "nope=1"], "unknown parameter 'nope'"),
    (["run", "--set", "n_therapists=0"], "n_therapists=0 is out of range: allowed 1 to 60"),
    (["run", "--set", "n_therapists=many"], "n_therapists='many' is not a whole number"),
    (["run", "--set", "n_therapists"], "--set expects key=value"),
    (["run", "--scenario", "nope"], "unknown preset 'nope'"),
    (["run", "--years", "ten"], "expected a number of years"),
    (["run", "--years", "0"], "years=0 is out of range"),
    (["run", "--bogus"], "unrecognized arguments: --bogus"),
    (["frobnicate"], "invalid choice: 'frobnicate'"),
])
def test_bad_input_is_one_line_and_exit_2(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("alliancesim: error: ") and message in err
    assert err.count("\n") == 1


def test_out_must_be_a_directory(tmp_path, capsys):
    f = tmp_path / "file"
    f.write_text("x")
    assert main(["run", "--years", "0.2", "--out", str(f)]) == 2
    assert "is not a directory" in capsys.readouterr().err


def test_no_traceback_from_the_real_entry_point(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[params\n")
    proc = subprocess.run([sys.executable, "-m", "alliancesim", "run", "--scenario", str(bad)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "is not valid TOML" in proc.stderr
    assert "Traceback" not in proc.stderr
