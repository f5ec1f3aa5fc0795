"""A real Dask LocalCluster with worker processes: same results as serial, survives a killed worker."""

from __future__ import annotations

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
