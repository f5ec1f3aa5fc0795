"""Storage: atomic parts, cleanup after a crash, flat memory, one writer per folder, same sweep only."""

from __future__ import annotations

import datetime as dt
import json
import signal
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from alliancesim import __version__
from alliancesim.metrics import METRICS
from alliancesim.params import defaults
from alliancesim.runner import code_fingerprint
from alliancesim.sweep import SweepError, load_runs, load_spec, load_weekly
from alliancesim.sweep.design import design_chunks, n_points
from alliancesim.sweep.storage import RunWriter, SweepDir, run_schema

from .support import NEUTRAL_CWD, wait_for, write_spec

SPEC = """
replicates = 3
[vary.self_awareness_mean]
values = [0.2, 0.8]
"""


def fake_row(i: int, status: str = "ok") -> dict:
    """A row as the sweep writes it (parameters and metrics made up; the model does not run)."""
    row = {"key": f"{i:016x}-0", "point": i, "point_id": f"{i:016x}", "replicate": 0, "seed": i * 7,
           "status": status, "error": None if status == "ok" else "ValueError: boom",
           "traceback": None, "duration_s": 0.5, "worker": "host:1", "alliancesim_version": __version__,
           "finished_at": dt.datetime.now(dt.UTC), **defaults()}
    row.update({m: (float(i) if status == "ok" else float("nan")) for m in METRICS})
    return row


def open_dir(tmp_path, text=SPEC):
    spec = load_spec(write_spec(tmp_path, text))
    sdir = SweepDir(tmp_path / "out").__enter__()
    sdir.prepare(spec, design_chunks(spec), n_points(spec), n_points(spec) * spec.replicates)
    return spec, sdir


def test_writer_flushes_by_count_and_time_and_round_trips(tmp_path):
    spec, sdir = open_dir(tmp_path)
    now = [0.0]
    w = RunWriter(sdir, run_schema(METRICS), flush_runs=3, flush_seconds=10, clock=lambda: now[0])
    for i in range(7):
        w.add(fake_row(i))
    assert [p.name for p in sorted(sdir.runs_dir.iterdir())] == ["part-000001.parquet", "part-000002.parquet"]
    assert w.pending == 1
    w.tick()
    assert w.pending == 1  # not due yet
    now[0] = 10.5
    w.tick()
    assert w.pending == 0 and len(list(sdir.runs_dir.iterdir())) == 3
    w.add(fake_row(7, "failed"))
    w.close()
    sdir.__exit__(None, None, None)
    df = load_runs(tmp_path / "out")
    assert df["key"].tolist() == [f"{i:016x}-0" for i in range(8)]
    assert df["status"].tolist() == ["ok"] * 7 + ["failed"]
    assert df.loc[7, "error"] == "ValueError: boom" and pd.isna(df.loc[7, "dropout_share"])
    assert df["n_therapists"].dtype == "int64" and df["handover_policy"].iloc[0] == "file"
    assert df["finished_at"].dt.tz is not None


def test_half_written_files_are_never_read_and_are_cleaned(tmp_path):
    spec, sdir = open_dir(tmp_path)
    w = RunWriter(sdir, run_schema(METRICS), flush_runs=2)
    for i in range(2):
        w.add(fake_row(i))
    sdir.__exit__(None, None, None)
    runs = sdir.runs_dir
    # What a killed writer leaves: a temporary file cut short, and a weekly part without its runs part.
    good = (runs / "part-000001.parquet").read_bytes()
    (runs / ".part-000002.parquet.999.tmp").write_bytes(good[: len(good) // 2])
    sdir.weekly_dir.mkdir()
    (sdir.weekly_dir / "part-000002.parquet").write_bytes(b"PAR1 partial")
    assert len(load_runs(tmp_path / "out")) == 2
    with SweepDir(tmp_path / "out") as again:
        assert not (runs / ".part-000002.parquet.999.tmp").exists()
        assert not (again.weekly_dir / "part-000002.parquet").exists()
        assert again.next_part() == 2


_WRITER = """
import datetime as dt, io, os, sys, time
import pyarrow.parquet as pq
from alliancesim.metrics import METRICS
from alliancesim.params import defaults
from alliancesim.runner import code_fingerprint
from alliancesim.sweep import storage
row = {"status": "ok", "point": 0, "replicate": 0, "seed": 1, "duration_s": 0.1,
       "finished_at": dt.datetime.now(dt.UTC), **defaults(), **{m: 1.0 for m in METRICS}}
if sys.argv[2] == "stall":
    # From the second part on, stop half-way through writing the file, as a slow disk would,
    # and say so: the parent kills the process at exactly that moment.
    real, count = pq.write_table, [0]
    def half_then_stall(table, where, **kw):
        count[0] += 1
        if count[0] == 1:
            return real(table, where, **kw)
        buf = io.BytesIO()
        real(table, buf, **kw)
        data = buf.getvalue()
        with open(where, "wb") as fh:
            fh.write(data[: len(data) // 2])
            fh.flush()
        print("stalled", flush=True)
        time.sleep(60)
    storage.pq.write_table = half_then_stall
with storage.SweepDir(sys.argv[1]) as d:
    w = storage.RunWriter(d, storage.run_schema(METRICS), flush_runs=1000)
    print("ready", flush=True)
    i = 0
    while True:
        w.add(dict(row, key=f"{os.getpid()}-{i}")); i += 1
"""


def test_killed_writer_leaves_only_whole_parts(tmp_path):
    """SIGKILL a process while it writes a part: readers see whole parts only, then the next sweep cleans up."""
    spec, sdir = open_dir(tmp_path)
    sdir.__exit__(None, None, None)
    out, runs = tmp_path / "out", tmp_path / "out" / "runs"
    for mode, until in (("stall", "stalled"), ("random", None)):
        proc = subprocess.Popen([sys.executable, "-c", _WRITER, str(out), mode], stdout=subprocess.PIPE,
                                text=True, cwd=NEUTRAL_CWD)
        assert proc.stdout.readline().strip() == "ready"
        if until:
            assert proc.stdout.readline().strip() == until
        else:  # some moment after the first part of this process is written
            before = len(list(runs.glob("part-*"))) if runs.exists() else 0
            wait_for(lambda: len(list(runs.glob("part-*"))) > before, what="a written part")
            time.sleep(0.3)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
        files = list(runs.iterdir())
        if until:  # the cut-off file is there, under its temporary name only
            cut = [p for p in files if p.name.endswith(".tmp")]
            assert len(cut) == 1 and cut[0].name.startswith(".part-")
            with pytest.raises(Exception):
                pq.read_table(cut[0])
        whole = [p for p in files if p.name.startswith("part-")]
        for p in whole:  # every visible part is one complete flush
            assert pq.read_table(p).num_rows == 1000
        df = load_runs(out, columns=["status"])
        assert len(df) == 1000 * len(whole) and len(whole) >= 1
        with SweepDir(out):  # the next sweep removes what the killed one left
            assert not [p for p in runs.iterdir() if p.name.endswith(".tmp")]


def test_memory_stays_flat_as_runs_grow(tmp_path):
    """Peak Python memory of writing 20 000 runs is that of writing 2 000: rows are not kept."""
    def peak(n: int, folder) -> int:
        spec, sdir = open_dir(folder)
        w = RunWriter(sdir, run_schema(METRICS), flush_runs=200)
        template = fake_row(0)
        tracemalloc.start()
        for i in range(n):
            row = dict(template, key=f"{i:016x}-0", point=i)
            w.add(row)
        w.close()
        top = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        sdir.__exit__(None, None, None)
        assert len(load_runs(folder / "out", columns=["status"])) == n
        return top

    small, large = peak(2_000, tmp_path / "s"), peak(20_000, tmp_path / "l")
    assert large < small * 1.3 + 256 * 1024, (small, large)
    # The rows themselves would take far more than that if they were held:
    held = len(json.dumps(fake_row(0), default=str)) * 18_000
    assert large - small < held / 20


def test_one_writer_per_folder(tmp_path):
    spec, sdir = open_dir(tmp_path)
    with pytest.raises(SweepError, match=r"is being written by another sweep \(pid \d+\)"):
        SweepDir(tmp_path / "out").__enter__()
    sdir.__exit__(None, None, None)
    with SweepDir(tmp_path / "out"):
        pass


def test_folder_of_another_sweep_is_refused(tmp_path):
    spec, sdir = open_dir(tmp_path)
    sdir.__exit__(None, None, None)
    other = load_spec(write_spec(tmp_path, SPEC.replace("replicates = 3", "replicates = 4"), "b.toml"))
    with SweepDir(tmp_path / "out") as d, pytest.raises(SweepError) as info:
        d.prepare(other, design_chunks(other), 2, 8)
    assert "holds a different sweep (replicates differs: 3 -> 4)" in str(info.value)
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    manifest["alliancesim_version"] = "0.0.1"
    (tmp_path / "out" / "manifest.json").write_text(json.dumps(manifest))
    with SweepDir(tmp_path / "out") as d, pytest.raises(SweepError, match="started with alliancesim 0.0.1"):
        d.prepare(spec, design_chunks(spec), 2, 6)



def test_folder_started_with_other_model_code_is_refused(tmp_path):
    """Same version, edited model: resuming would mix two models' runs, so it is refused in one
    line; a manifest from before fingerprints were stored is resumed as before."""
    spec, sdir = open_dir(tmp_path)
    sdir.__exit__(None, None, None)
    path = tmp_path / "out" / "manifest.json"
    manifest = json.loads(path.read_text())
    assert manifest["code_fingerprint"] == code_fingerprint()
    path.write_text(json.dumps({**manifest, "code_fingerprint": "0123456789abcdef"}))
    with SweepDir(tmp_path / "out") as d, pytest.raises(SweepError) as info:
        d.prepare(spec, design_chunks(spec), 2, 6)
    message = str(info.value)
    assert "other model code" in message and "0123456789abcdef" in message and "\n" not in message
    del manifest["code_fingerprint"]
    path.write_text(json.dumps(manifest))
    with SweepDir(tmp_path / "out") as d:
        d.prepare(spec, design_chunks(spec), 2, 6)


@pytest.mark.parametrize("damage", [b"", b"not parquet at all"])
def test_a_damaged_design_file_is_a_one_line_error(tmp_path, damage):
    spec, sdir = open_dir(tmp_path)
    sdir.__exit__(None, None, None)
    (tmp_path / "out" / "design.parquet").write_bytes(damage)
    with SweepDir(tmp_path / "out") as d:
        d.prepare(spec, design_chunks(spec), 2, 6)
        with pytest.raises(SweepError, match=r"design.parquet' cannot be read .*start the sweep in a new --out"):
            list(d.design_batches())


def test_code_fingerprint_follows_the_files_that_decide_a_run(tmp_path):
    import alliancesim

    package = Path(alliancesim.__file__).parent
    copy = tmp_path / "alliancesim"
    for pattern in ("*.py", "*.pyx", "*.pxd", "presets/*.toml", "sweep/*.py", "dashboard/*.py"):
        for f in package.glob(pattern):
            (copy / f.relative_to(package)).parent.mkdir(parents=True, exist_ok=True)
            (copy / f.relative_to(package)).write_bytes(f.read_bytes())
    base = code_fingerprint.__wrapped__(str(copy))
    assert base == code_fingerprint()
    (copy / "dashboard" / "app.py").write_text("# the dashboard does not change a run\n")
    (copy / "sweep" / "report.py").write_text("# nor do the sweep's plots\n")
    assert code_fingerprint.__wrapped__(str(copy)) == base
    session = copy / "session.py"
    session.write_text(session.read_text() + "\n# an edited session\n")
    assert code_fingerprint.__wrapped__(str(copy)) != base


def test_drop_failed_removes_only_failed_rows(tmp_path):
    spec, sdir = open_dir(tmp_path)
    w = RunWriter(sdir, run_schema(METRICS), flush_runs=2)
    for i, status in enumerate(["ok", "failed", "failed", "failed", "ok"]):
        w.add(fake_row(i, status))
    w.close()
    assert sdir.drop_failed() == 3
    assert sorted(sdir.finished().values()) == ["ok", "ok"]
    assert len(list(sdir.runs_dir.iterdir())) == 2  # the all-failed part is gone
    sdir.__exit__(None, None, None)


def test_weekly_parts(tmp_path):
    spec, sdir = open_dir(tmp_path)
    w = RunWriter(sdir, run_schema(METRICS), flush_runs=2)
    for i in range(3):
        weekly = pd.DataFrame({"week": [1, 2], "sessions": [i, i + 1], "mean_alliance": [0.5, 0.6]})
        w.add(fake_row(i), weekly)
    w.close()
    sdir.__exit__(None, None, None)
    wk = load_weekly(tmp_path / "out")
    assert len(wk) == 6 and wk["sessions"].dtype == "int64"  # counts stay whole numbers
    assert set(wk["key"]) == set(load_runs(tmp_path / "out")["key"])
