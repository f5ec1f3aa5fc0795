"""Helpers for the sweep tests (specs, CLI processes, process bookkeeping)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "experiments" / "examples"

#: A tiny clinic: each run takes about a tenth of a second.
TINY = """
[fixed]
initial_clients = 30
population = 400
n_therapists = 4
"""

#: 4 points x 10 replicates = 40 runs of one year; parts are written every 2 runs.
REFERENCE_SPEC = """
name = "reference"
years = 1
replicates = 10
seed = 4242
""" + TINY + """
[vary.self_awareness_mean]
values = [0.2, 0.8]

[vary.handover_policy]
values = ["none", "file_and_introduction"]

[outputs]
metrics = ["dropout_share", "mean_alliance", "sessions", "rupture_share", "handover_clients",
           "stayed_with_successor"]
flush_runs = 2
"""

#: The same clinic, 4 points x 40 replicates = 160 runs of four years: long enough to be killed
#: or interrupted midway even on a fast machine (a one-year run takes some 20 ms now).  Checked
#: against its plan and against re-runs of single rows, not against a serial run (that costs too much).
LONG_SPEC = REFERENCE_SPEC.replace('name = "reference"', 'name = "long"').replace(
    "replicates = 10", "replicates = 40").replace("flush_runs = 2", "flush_runs = 4").replace(
    "years = 1\n", "years = 4\n")

#: Columns that must agree between two sweeps of the same spec.
COMPARE = ["key", "point", "point_id", "replicate", "seed", "status", "error",
           "self_awareness_mean", "handover_policy", "dropout_share", "mean_alliance", "sessions",
           "rupture_share", "handover_clients", "stayed_with_successor"]


def write_spec(folder: Path, text: str, name: str = "spec.toml") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text)
    return path


def same_results(a: pd.DataFrame, b: pd.DataFrame) -> None:
    """Assert two sweeps hold the same runs with bit-identical metrics (NaN == NaN)."""
    a = a[COMPARE].sort_values("key").reset_index(drop=True)
    b = b[COMPARE].sort_values("key").reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b, check_exact=True)


#: Working folder of the command-line processes: not the repository, so that ``python -m``
#: imports the same alliancesim as this process (the installed one, or PYTHONPATH's).
NEUTRAL_CWD = Path(tempfile.gettempdir())


def expected_runs(spec_path: Path) -> dict[str, int]:
    """``{key: seed}`` of the runs a spec's sweep must end with, from its design (nothing is run)."""
    from alliancesim.sweep import load_spec
    from alliancesim.sweep.design import design_chunks
    from alliancesim.sweep.seeding import point_id, run_key, run_seed

    spec = load_spec(spec_path)
    runs = {}
    for df in design_chunks(spec):
        for row in df[spec.names].to_dict("records"):
            pid = point_id({**spec.base, **row})
            for r in range(spec.replicates):
                runs[run_key(pid, r)] = run_seed(spec.seed, pid, r, spec.seeding)
    return runs


def stored_runs(df: pd.DataFrame) -> dict[str, int]:
    """``{key: seed}`` of a sweep's stored rows (keys must be unique)."""
    assert df["key"].is_unique
    return dict(zip(df["key"], df["seed"].astype(int)))


def check_rows_rerun(spec_path: Path, runs: pd.DataFrame, n: int = 3) -> None:
    """Re-run ``n`` stored rows on their own from their seed and parameters: same metrics."""
    import math

    from alliancesim.runner import run_metrics
    from alliancesim.sweep import load_spec

    spec = load_spec(spec_path)
    for i in range(0, len(runs), max(1, len(runs) // n))[:n]:
        row = runs.iloc[i]
        params = {name: (row[name].item() if hasattr(row[name], "item") else row[name]) for name in spec.base}
        again = run_metrics(params, seed=int(row["seed"]))
        for metric in spec.metrics:
            a, b = again[metric], row[metric]
            assert a == b or (math.isnan(a) and math.isnan(b)), (row["key"], metric, a, b)


def cli(*args: str, timeout: float = 180) -> subprocess.CompletedProcess:
    """Run ``python -m alliancesim ARGS`` to completion."""
    return subprocess.run([sys.executable, "-m", "alliancesim", *args], capture_output=True,
                          text=True, timeout=timeout, cwd=NEUTRAL_CWD)


def _as_a_terminal_job() -> None:
    # A test run started in the background (`pytest &`, `nohup ... &`) ignores Ctrl-C, and its
    # children inherit that; the sweep then rightly leaves Ctrl-C alone.  Start the job as a
    # terminal would, with Ctrl-C and SIGTERM at their defaults.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def start_cli(*args: str, log: Path) -> subprocess.Popen:
    """Start ``python -m alliancesim ARGS`` in its own session (like a job in a terminal)."""
    fh = open(log, "w")  # noqa: SIM115 - closed by the caller via proc.log.close()
    proc = subprocess.Popen([sys.executable, "-m", "alliancesim", *args], stdout=fh,
                            stderr=subprocess.STDOUT, start_new_session=True, text=True,
                            cwd=NEUTRAL_CWD, preexec_fn=_as_a_terminal_job)
    proc.log = fh
    return proc


def parts(out: Path) -> list[Path]:
    runs = out / "runs"
    return sorted(runs.glob("part-*.parquet")) if runs.is_dir() else []


def wait_for(predicate, timeout: float = 60.0, interval: float = 0.05, what: str = "condition"):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def descendants(pid: int) -> list[int]:
    """Processes below ``pid``, leaving out the Playwright driver and everything under it.

    The browser tests keep one Chromium (under Playwright's driver) for the whole test session,
    and Chromium starts and ends helper processes of its own whenever it likes; they are not a
    sweep's.
    """
    import psutil

    out, queue = [], [pid]
    while queue:
        try:
            children = psutil.Process(queue.pop()).children()
        except psutil.NoSuchProcess:
            continue
        for child in children:
            try:
                if any("playwright" in part for part in child.cmdline()):
                    continue
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                continue
            out.append(child.pid)
            queue.append(child.pid)
    return out


def alive(pids) -> list[int]:
    import psutil

    out = []
    for pid in pids:
        try:
            p = psutil.Process(pid)
            if p.status() != psutil.STATUS_ZOMBIE:
                out.append(pid)
        except psutil.NoSuchProcess:
            pass
    return out


def group_members(pgid: int) -> list[int]:
    """Live processes in process group ``pgid`` (a CLI started with :func:`start_cli`)."""
    import psutil

    out = []
    for p in psutil.process_iter(["pid", "status"]):
        try:
            if os.getpgid(p.pid) == pgid and p.info["status"] != psutil.STATUS_ZOMBIE:
                out.append(p.pid)
        except (ProcessLookupError, psutil.Error):
            pass
    return out


