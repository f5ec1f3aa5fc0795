"""Does the dashboard server give memory back when students close their tabs?

Starts the dashboard server (offline, as ``alliancesim dashboard`` does), then, ``--parallel``
at a time, opens ``--sessions`` browser tabs in Debian's chromium; each runs a clinic to its
end (the default clinic: 10 years) a year per Step, then closes.  Prints the server's resident
memory (RSS, from /proc) at start, when idle (after one warm-up tab that showed one week, so
libraries and caches are loaded), at its peak, and after the tabs have closed.

The issue's bar: after 30 sessions have run a 10-year clinic and closed, RSS is back within
50 MB of idle.

Usage (from the repository root)::

    PYTHONPATH=. python benchmarks/dashboard_memory.py [--sessions 30] [--parallel 3]
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

BAR_MB = 50.0
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--proxy-server=http://127.0.0.1:9"]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for {pid}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(port: int, export_dir: str, log) -> subprocess.Popen:
    from alliancesim.dashboard.app import MEMORY_LOG_ENV
    from alliancesim.dashboard.export import EXPORT_DIR_ENV
    from alliancesim.dashboard.offline import dashboard_env, solara_command

    env = {**os.environ, **dashboard_env(), EXPORT_DIR_ENV: export_dir, "PYTHONPATH": str(REPO),
           MEMORY_LOG_ENV: "1"}
    process = subprocess.Popen(solara_command("127.0.0.1", port), cwd=REPO, env=env, stdin=subprocess.DEVNULL,
                               stdout=subprocess.DEVNULL, stderr=log, start_new_session=True)
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            with opener.open(f"http://127.0.0.1:{port}/readyz", timeout=2):
                return process
        except OSError:
            time.sleep(0.3)
    process.kill()
    raise RuntimeError("server did not start")


def run_session(browser, url: str, years: bool = True) -> int:
    """One student: open the page, run the clinic to its end a year per Step, close the tab."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.goto(url)
    step = page.get_by_role("button", name="Step", exact=True)
    step.wait_for(timeout=90_000)
    week = 0
    if not years:  # one week: the model's code has run once
        step.click()
        page.locator(".as-week-now", has_text="1").wait_for()
    if years:
        page.locator(".as-weeks-per-update .v-slider__thumb-container").focus()
        page.keyboard.press("End")
        horizon = int(page.locator(".as-week-line").inner_text().split(" of ")[1].split()[0])
        while week < horizon:
            step.click()
            page.wait_for_function("w => Number(document.querySelector('.as-week-now').innerText) > w",
                                   arg=week, timeout=120_000)
            week = int(page.locator(".as-week-now").inner_text())
    page.close(run_before_unload=True)  # the page tells the server it is gone (a beacon on pagehide)
    time.sleep(0.5)  # let the beacon leave before the browser context goes
    context.close()
    return week


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=30)
    parser.add_argument("--parallel", type=int, default=3)
    parser.add_argument("--settle", type=float, default=20.0, help="seconds to wait for memory after the last tab")
    args = parser.parse_args(argv)
    from playwright.sync_api import sync_playwright

    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    with tempfile.TemporaryDirectory() as exports:
        log_path = Path(exports) / "server.log"
        log = open(log_path, "wb")  # noqa: SIM115 - open for the server's lifetime
        server = start_server(port, exports, log)
        try:
            fresh = rss_mb(server.pid)
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=shutil.which("chromium"), args=CHROMIUM_ARGS)
                run_session(browser, url, years=False)  # warm-up: the first page and week (imports, caches)
                time.sleep(5)
                idle = rss_mb(server.pid)
                print(f"server RSS: {fresh:.0f} MB at start, {idle:.0f} MB idle after one warm-up tab")
                peak = idle
                weeks: list[int] = []
                lock = threading.Lock()
                started = time.monotonic()
                todo = list(range(args.sessions))

                def worker() -> None:
                    nonlocal peak
                    with sync_playwright() as q:
                        b = q.chromium.launch(executable_path=shutil.which("chromium"), args=CHROMIUM_ARGS)
                        while True:
                            with lock:
                                if not todo:
                                    break
                                todo.pop()
                            w = run_session(b, url)
                            with lock:
                                weeks.append(w)
                                peak = max(peak, rss_mb(server.pid))
                                print(f"  {len(weeks):3d} sessions done (ran to week {w}): "
                                      f"RSS {rss_mb(server.pid):.0f} MB", flush=True)
                        b.close()

                threads = [threading.Thread(target=worker) for _ in range(args.parallel)]
                for t in threads:
                    t.start()
                for t in threads:
                    t.join()
                browser.close()
            elapsed = time.monotonic() - started
            final = rss_mb(server.pid)
            deadline = time.monotonic() + args.settle
            while time.monotonic() < deadline and final - idle > BAR_MB:
                time.sleep(1.0)
                final = rss_mb(server.pid)
            print(f"{len(weeks)} sessions ({args.parallel} at a time, {elapsed:.0f} s), each to week "
                  f"{min(weeks)}-{max(weeks)}: peak {peak:.0f} MB, after they closed {final:.0f} MB "
                  f"({final - idle:+.0f} MB from idle)")
            closed = [line for line in log_path.read_text(errors="replace").splitlines() if "models alive" in line]
            counts = [line.rsplit("; ", 1)[-1].split()[0] for line in closed]
            print(f"server: models alive after each closed session's clean-up: {' '.join(counts)}")
            verdict = "meets" if final - idle <= BAR_MB else "misses"
            print(f"{verdict} the bar: back within {BAR_MB:.0f} MB of idle")
        finally:
            os.killpg(server.pid, 15)
            server.wait(timeout=15)
    return 0


if __name__ == "__main__":
    sys.exit(main())
