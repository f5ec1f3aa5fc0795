"""``alliancesim dashboard`` really serves the page, offline, on loopback only."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request

import pytest

from .conftest import REPO_ROOT, _answers, _free_port, _missing_assets_reason, _skip_or_fail
from processes import stop_with_ctrl_c

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def listening_addresses(port: int) -> set[str]:
    """Local addresses (hex, as in /proc/net/tcp*) with a socket listening on ``port``."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = open(table).read().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            local, state = line.split()[1], line.split()[3]
            address, _, port_hex = local.rpartition(":")
            if state == "0A" and int(port_hex, 16) == port:  # 0A: LISTEN
                found.add(address)
    return found


def test_alliancesim_dashboard_serves_offline_on_loopback(tmp_path, artifacts_dir):
    reason = _missing_assets_reason()
    if reason is not None:
        _skip_or_fail(reason)
    port = _free_port()
    log = (artifacts_dir / "cli-serve.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "alliancesim", "dashboard", "--port", str(port), "--preset", "retiring_file",
         "--export-dir", str(tmp_path)],
        cwd=REPO_ROOT, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 90
        while not _answers(f"http://127.0.0.1:{port}/readyz"):
            assert process.poll() is None, (artifacts_dir / "cli-serve.log").read_text()
            assert time.monotonic() < deadline, "the dashboard did not start within 90 s"
            time.sleep(0.3)
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(f"http://127.0.0.1:{port}/", timeout=10) as page:
            assert page.status == 200 and b"solara" in page.read().lower()
        # the front end comes from the local cache (the CDN setting points at a dead local port)
        with opener.open(f"http://127.0.0.1:{port}/_solara/cdn/requirejs@2.3.6/require.js", timeout=10) as js:
            assert js.status == 200 and b"requirejs" in js.read(2000).lower()
        assert listening_addresses(port) == {"0100007F"}  # 127.0.0.1, and nothing else
        printed = (artifacts_dir / "cli-serve.log").read_text()
        assert f"http://127.0.0.1:{port}/" in printed and str(tmp_path) in printed
    finally:
        stop_with_ctrl_c(process)
        log.close()
    assert process.returncode in (0, 130, -signal.SIGINT)


def _start(port: int, log_path, export_dir) -> subprocess.Popen:
    with open(log_path, "ab") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "alliancesim", "dashboard", "--port", str(port), "--export-dir", str(export_dir)],
            cwd=REPO_ROOT, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def _wait_until_serving(process: subprocess.Popen, port: int, log_path) -> None:
    deadline = time.monotonic() + 90
    while not _answers(f"http://127.0.0.1:{port}/readyz"):
        assert process.poll() is None, log_path.read_text()
        assert time.monotonic() < deadline, "the dashboard did not start within 90 s"
        time.sleep(0.3)


def _wait_until_closed(port: int, timeout: float = 20) -> bool:
    deadline = time.monotonic() + timeout
    while listening_addresses(port):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True


def test_restart_right_after_ctrl_c_and_kill_pid_stops_the_server(tmp_path, artifacts_dir):
    reason = _missing_assets_reason()
    if reason is not None:
        _skip_or_fail(reason)
    port = _free_port()
    log_path = artifacts_dir / "cli-restart.log"
    log_path.write_bytes(b"")
    first = _start(port, log_path, tmp_path)
    try:
        _wait_until_serving(first, port, log_path)
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        for _ in range(3):  # visitors: their connections linger in TIME_WAIT after the stop
            opener.open(f"http://127.0.0.1:{port}/", timeout=10).read()
        os.killpg(first.pid, signal.SIGINT)  # Ctrl-C in the terminal reaches the whole group
        first.wait(timeout=30)
    finally:
        if first.poll() is None:
            os.killpg(first.pid, signal.SIGKILL)
            first.wait()
    assert _wait_until_closed(port)
    second = _start(port, log_path, tmp_path)  # at once, on the same port
    try:
        _wait_until_serving(second, port, log_path)
        assert "Address already in use" not in log_path.read_text()
        os.kill(second.pid, signal.SIGTERM)  # `kill PID`: only the alliancesim process
        assert second.wait(timeout=30) == 128 + signal.SIGTERM
        assert _wait_until_closed(port), "the Solara server outlived `kill PID` of alliancesim dashboard"
    finally:
        try:
            os.killpg(second.pid, signal.SIGKILL)  # nothing should be left; clean up if it is
        except ProcessLookupError:
            pass
        second.wait()
