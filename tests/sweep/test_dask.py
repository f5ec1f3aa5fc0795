"""A real Dask LocalCluster with worker processes: same results as serial, survives a killed worker."""

from __future__ import annotations

import contextlib
import os
import signal
import threading

import pytest

from alliancesim.cli import main
from alliancesim.sweep import load_runs, run_sweep

from .support import (
    LONG_SPEC,
    alive,
    check_rows_rerun,
    cli,
    descendants,
    expected_runs,
    parts,
    same_results,
    stored_runs,
    wait_for,
    write_spec,
)

pytestmark = pytest.mark.own_processes


@pytest.fixture(scope="module")
def cluster():
    """Scheduler and two single-threaded worker processes on 127.0.0.1; all gone afterwards."""
    import psutil
    from distributed import Client, LocalCluster

    before = set(descendants(os.getpid()))
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      protocol="tcp", dashboard_address=None) as cl, \
            Client(cl, set_as_default=False) as client:
        assert cl.scheduler_address.startswith("tcp://127.0.0.1:")
        assert all(w.startswith("tcp://127.0.0.1:") for w in client.scheduler_info()["workers"])
        yield cl, client

    def ours():
        left = []
        for pid in alive(set(descendants(os.getpid())) - before):
            cmd = " ".join(psutil.Process(pid).cmdline())
            if "resource_tracker" not in cmd and "forkserver" not in cmd:
                left.append(cmd[:80])
        return left

    wait_for(lambda: not ours(), timeout=60, what="the cluster's processes to exit")


def test_local_cluster_gives_the_serial_results(reference, cluster, tmp_path):
    spec, _, ref = reference
    _, client = cluster
    result = run_sweep(spec, tmp_path / "out", client=client, progress=False)
    assert (result.backend, result.ran, result.ok) == ("dask", 40, 40)
    df = load_runs(tmp_path / "out")
    same_results(df, ref)
    worker_pids = set(client.run(os.getpid).values())
    assert {int(w.rsplit(":", 1)[1]) for w in df["worker"]} == worker_pids  # ran in both workers
    assert client.status == "running"  # a client we passed in is left open


def test_cli_scheduler_address(reference, cluster, tmp_path):
    spec, _, ref = reference
    cl, _ = cluster
    proc = cli("sweep", str(spec), "--out", str(tmp_path / "out"), "--scheduler", cl.scheduler_address,
               "--quiet")
    assert proc.returncode == 0, proc.stderr
    assert f"40 to run on the Dask cluster at {cl.scheduler_address} (2 workers)" in proc.stderr
    same_results(load_runs(tmp_path / "out"), ref)


def test_scheduler_address_must_be_an_address(tmp_path, capsys, reference):
    spec, _, _ = reference
    assert main(["sweep", str(spec), "--out", str(tmp_path / "o"), "--scheduler", "127.0.0.1:8786"]) == 2
    assert capsys.readouterr().err == ("alliancesim: error: --scheduler expects an address such as "
                                       "tcp://HOST:PORT, got '127.0.0.1:8786'\n")
    assert not (tmp_path / "o").exists()


def test_a_killed_worker_does_not_stop_the_sweep(cluster, tmp_path):
    _, client = cluster
    spec = write_spec(tmp_path, LONG_SPEC)
    out = tmp_path / "out"
    victim = next(iter(client.run(os.getpid).values()))
    state = {"finished": False, "stored_at_kill": None}

    def kill_when_running():
        wait_for(lambda: len(parts(out)) >= 2 or state["finished"], what="some stored runs")
        if not state["finished"]:
            os.kill(victim, signal.SIGKILL)
            state["stored_at_kill"] = len(load_runs(out, columns=["status"]))

    killer = threading.Thread(target=kill_when_running)
    killer.start()
    try:
        result = run_sweep(spec, out, client=client, progress=False)
    finally:
        state["finished"] = True
        killer.join()
    assert state["stored_at_kill"] is not None and state["stored_at_kill"] < 160  # killed midway
    assert (result.ran, result.ok, result.failed) == (160, 160, 0)
    df = load_runs(out)
    assert stored_runs(df) == expected_runs(spec)
    check_rows_rerun(spec, df)
    assert victim not in set(client.run(os.getpid).values())  # the nanny replaced it
    client.wait_for_workers(2, timeout=30)


def _pretend_other_code(other: bool) -> None:
    """Run on a worker: make it report other model code (or its own again)."""
    import alliancesim.runner as runner

    if other:
        runner._real_code_fingerprint = runner.code_fingerprint
        runner.code_fingerprint = lambda package_dir=None: "0123456789abcdef"
    elif hasattr(runner, "_real_code_fingerprint"):
        runner.code_fingerprint = runner._real_code_fingerprint


def test_workers_with_other_model_code_are_refused(reference, cluster, tmp_path):
    """Same version number, other code on the workers: refused in one line before any run."""
    from alliancesim.sweep import SweepError

    spec, _, _ = reference
    _, client = cluster
    client.run(_pretend_other_code, True)
    try:
        with pytest.raises(SweepError) as info:
            run_sweep(spec, tmp_path / "out", client=client, progress=False)
    finally:
        client.run(_pretend_other_code, False)
    message = str(info.value)
    assert "+0123456789abcdef" in message and "install the same code everywhere" in message
    assert "\n" not in message
    assert not list((tmp_path / "out").glob("runs/*.parquet"))


def test_every_row_records_the_code_that_made_it(reference):
    from alliancesim.runner import code_fingerprint

    _, _, ref = reference
    assert (ref["code_fingerprint"] == code_fingerprint()).all()


def test_a_worker_that_turns_to_other_code_midway_stores_nothing(cluster, tmp_path):
    """A worker with edited model code (same version number) appears mid-sweep: the sweep stops
    in one line that says what to do, no row of that worker is kept, and the resume finishes."""
    from alliancesim.runner import code_fingerprint
    from alliancesim.sweep import SweepError

    _, client = cluster
    spec = write_spec(tmp_path, LONG_SPEC)
    out = tmp_path / "out"
    turncoat = sorted(client.scheduler_info()["workers"])[0]
    state = {"finished": False}

    def edit_code_when_running():
        wait_for(lambda: len(parts(out)) >= 1 or state["finished"], what="some stored runs")
        if not state["finished"]:
            client.run(_pretend_other_code, True, workers=[turncoat])

    editor = threading.Thread(target=edit_code_when_running)
    editor.start()
    try:
        with pytest.raises(SweepError) as info:
            run_sweep(spec, out, client=client, progress=False)
    finally:
        state["finished"] = True
        editor.join()
        client.run(_pretend_other_code, False)
    message = str(info.value)
    assert "\n" not in message
    assert f"worker {turncoat} runs other alliancesim code (code fingerprint 0123456789abcdef" in message
    assert "none of its results were stored" in message and "run the same command again to resume" in message
    stored = load_runs(out)
    assert 0 < len(stored) < 160
    assert (stored["code_fingerprint"] == code_fingerprint()).all()
    # Same code everywhere again: the same call finishes the sweep, every run exactly once.
    result = run_sweep(spec, out, client=client, progress=False)
    assert result.complete and result.failed == 0
    df = load_runs(out)
    assert stored_runs(df) == expected_runs(spec) and (df["code_fingerprint"] == code_fingerprint()).all()


def test_scheduler_death_midway_is_one_line_that_says_rerunning_resumes(tmp_path):
    """A real scheduler and worker in their own processes; the scheduler is killed mid-sweep."""
    import socket
    import subprocess
    import sys
    from pathlib import Path

    import alliancesim

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    address = f"tcp://127.0.0.1:{port}"
    env = {**os.environ, "PYTHONPATH": str(Path(alliancesim.__file__).resolve().parents[1])}
    py = [sys.executable, "-m"]
    scheduler = subprocess.Popen([*py, "distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port",
                                  str(port), "--no-dashboard"], env=env, start_new_session=True,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    worker = subprocess.Popen([*py, "distributed.cli.dask_worker", address, "--nworkers", "1", "--nthreads", "1",
                               "--no-dashboard"], env=env, start_new_session=True,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        from distributed import Client

        with Client(address, timeout="60s", set_as_default=False) as probe:
            probe.wait_for_workers(1, timeout=60)
        spec = write_spec(tmp_path, LONG_SPEC)
        out = tmp_path / "out"
        sweep = subprocess.Popen([*py, "alliancesim", "sweep", str(spec), "--out", str(out), "--scheduler", address,
                                  "--quiet"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        wait_for(lambda: parts(out) or sweep.poll() is not None, timeout=120, what="some stored runs")
        assert sweep.poll() is None, sweep.communicate()
        os.killpg(scheduler.pid, signal.SIGKILL)
        _, err = sweep.communicate(timeout=120)
    finally:
        for proc in (scheduler, worker):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
    assert sweep.returncode == 2
    errors = [line for line in err.splitlines() if not line.startswith(("long:", "160 to run"))]
    assert len(errors) == 1, err
    assert errors[0].startswith("alliancesim: error: lost the connection to the Dask scheduler at " + address)
    assert "run the same command to resume" in errors[0]
    assert 0 < len(load_runs(out)) < 160
