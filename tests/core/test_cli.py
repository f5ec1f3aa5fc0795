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
    # the title says the clinic is not the preset as shipped
    assert printed.splitlines()[0].startswith("The default clinic (modified: n_therapists=5, population=800)")
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


def test_an_unmodified_preset_is_named_as_it_is(capsys):
    assert main(["run", "--years", "0.2", "--scenario", "slow_to_trust"]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert first.startswith(presets.load("slow_to_trust").title + ":") and "modified" not in first


def test_version(capsys):
    import alliancesim

    with pytest.raises(SystemExit) as stop:
        main(["--version"])
    assert stop.value.code == 0 and capsys.readouterr().out.strip() == f"alliancesim {alliancesim.__version__}"


def test_metrics_lists_every_metric_with_unit_and_meaning(capsys):
    from alliancesim.metrics import METRIC_UNITS, METRICS

    assert main(["metrics"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == list(METRICS)
    for line, (name, meaning) in zip(lines, METRICS.items()):
        assert METRIC_UNITS[name] in line and line.endswith(meaning)


def test_examples_copies_the_shipped_specs_and_never_overwrites(tmp_path, capsys):
    from alliancesim.sweep import EXAMPLES_DIR, load_spec

    target = tmp_path / "specs"
    assert main(["examples", str(target)]) == 0
    copied = sorted(p.name for p in target.iterdir())
    assert copied == sorted(p.name for p in EXAMPLES_DIR.iterdir() if p.suffix in (".toml", ".md"))
    for spec in target.glob("*.toml"):
        load_spec(spec)  # each one is a valid spec where it lands
    assert main(["examples", str(target)]) == 0  # the same files again: nothing to do
    (target / "boundaries_grid.toml").write_text("# mine\n")
    capsys.readouterr()
    assert main(["examples", str(target)]) == 2
    err = capsys.readouterr().err
    assert "already has a different boundaries_grid.toml" in err and len(err.strip().splitlines()) == 1
    assert (target / "boundaries_grid.toml").read_text() == "# mine\n"  # kept


def test_sigterm_stops_a_run_in_one_line_and_leaves_nothing_behind(tmp_path):
    """`kill PID` (or a cluster's time limit) stops a run as Ctrl-C does: exit 143, no half-written folder."""
    import signal
    import time

    proc = subprocess.Popen([sys.executable, "-m", "alliancesim", "run", "--years", "100", "--engine", "python",
                             "--out", str(tmp_path / "out")], cwd=tmp_path, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not list(tmp_path.glob(".out.*")) and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)  # until the run is under way (its results folder is being written beside)
    time.sleep(0.5)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err
    assert err == "alliancesim: terminated\n"
    assert list(tmp_path.iterdir()) == []
