"""Browser-test plumbing for the Solara dashboard (pytest-playwright + Debian chromium).

Fixtures:
    browser_type_launch_args  pytest-playwright override: system chromium, headless flags.
    dashboard_server          session: ``solara run`` of DASHBOARD_APP on 127.0.0.1:<free port>,
                              offline environment; ``.url``, ``.start_seconds``, log paths.
    dashboard_url             session: ``dashboard_server.url``.
    artifacts_dir             session: ``<repo>/test-artifacts/`` (screenshots, server logs).
    offline_page              function: a pytest-playwright ``page`` that records every request,
                              failed/HTTP-error requests, non-loopback requests, page errors and
                              console errors; ``assert_clean()`` checks them; SolaraViz helpers.

The server environment and command line come from ``alliancesim.dashboard.offline``, the
same code ``alliancesim dashboard`` uses; its Export tab writes to ``dashboard_server.export_dir``.

Environment:
    ALLIANCESIM_DASHBOARD_APP  overrides DASHBOARD_APP (any ``solara run`` app spec, e.g.
                               ``/abs/path/app.py:page``).
    CI                         when set (true/1/yes), a missing chromium or missing Solara assets
                               fail the tests instead of skipping them.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from alliancesim.dashboard import offline as _offline
from alliancesim.dashboard.assets import install_command
from alliancesim.dashboard.export import EXPORT_DIR_ENV

# ---------------------------------------------------------------------------------------------
# constants

DASHBOARD_APP = _offline.APP_SPEC
DASHBOARD_APP_ENV = "ALLIANCESIM_DASHBOARD_APP"

REPO_ROOT = Path(__file__).resolve().parents[2]
BROWSER_TEST_DIR = Path(__file__).resolve().parent
ARTIFACTS_DIR = REPO_ROOT / "test-artifacts"

SERVER_START_TIMEOUT = 90.0  # seconds until /readyz must answer
SERVER_STOP_TIMEOUT = 15.0

# Flags for Debian's chromium: without them it tries to reach Google services (and fails).
# --proxy-server points every non-loopback request at a dead loopback port (chromium always
# sends loopback directly), so nothing can leave the machine even if the page asks for it;
# such a request still shows up in offline_page.foreign_requests.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--proxy-server=http://127.0.0.1:9",
]

LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}
LOCAL_SCHEMES = {"data", "blob", "about", "chrome-error"}

# the ▶ / ❚❚ labels of the run controls (alliancesim/dashboard/controller.py)
PLAY_LABEL = "▶"
PAUSE_LABEL = "❚❚"


def is_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def solara_cdn_dir() -> Path:
    """Where the package keeps the front-end files (and where solara looks)."""
    return _offline.solara_cdn_dir()


def offline_solara_env() -> dict[str, str]:
    """Environment that makes ``solara run`` serve its front end from the package's files and
    never contact a third party (see ``alliancesim.dashboard.offline``)."""
    return _offline.offline_solara_env()


def dashboard_app_spec() -> str:
    return os.environ.get(DASHBOARD_APP_ENV) or DASHBOARD_APP


def _skip_or_fail(reason: str) -> None:
    if is_ci():
        pytest.fail(f"{reason} (CI is set, so this is an error, not a skip)", pytrace=False)
    pytest.skip(reason)


def _chromium_missing_reason() -> str | None:
    if shutil.which("chromium"):
        return None
    return "Debian chromium is not installed (apt-get install -y chromium); browser tests need it"


def _missing_assets_reason() -> str | None:
    """None if every asset folder the installer manages is complete."""
    missing = _offline.missing_assets()
    if not missing:
        return None
    return (
        f"Solara front-end assets missing in {solara_cdn_dir()}: {', '.join(missing)}; "
        f"run: {install_command()}"
    )


# ---------------------------------------------------------------------------------------------
# collection: skip (locally) / fail (CI) the browser tests when chromium is absent

_BROWSER_FIXTURES = {"page", "browser", "context", "offline_page", "dashboard_url", "dashboard_server"}


def _is_browser_item(item: pytest.Item) -> bool:
    path = Path(str(item.path)).resolve()
    if path == BROWSER_TEST_DIR or BROWSER_TEST_DIR in path.parents:
        return True
    return bool(_BROWSER_FIXTURES & set(getattr(item, "fixturenames", ())))


def pytest_configure(config: pytest.Config) -> None:
    # pytest-base-url (a pytest-playwright dependency) defines its session-scoped `base_url`
    # fixture as an instance method, which pytest 9 warns about on every browser test.
    config.addinivalue_line(
        "filterwarnings", "ignore:(?s)Session-scoped fixtures defined as instance methods.*'base_url' fixture"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    reason = _chromium_missing_reason()
    if reason is None or is_ci():
        return  # under CI the launch-args fixture fails loudly instead
    marker = pytest.mark.skip(reason=reason)
    for item in items:
        if _is_browser_item(item):
            item.add_marker(marker)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    report = yield
    setattr(item, f"_report_{report.when}", report)  # read by offline_page's teardown
    return report


# ---------------------------------------------------------------------------------------------
# browser

@pytest.fixture(scope="session")
def chromium_executable() -> str:
    reason = _chromium_missing_reason()
    if reason is not None:
        _skip_or_fail(reason)
    return shutil.which("chromium")  # type: ignore[return-value]


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict, chromium_executable: str) -> dict:
    """pytest-playwright override: never a Playwright-downloaded browser, always Debian's."""
    args = list(browser_type_launch_args.get("args", []))
    args += [flag for flag in CHROMIUM_ARGS if flag not in args]
    return {**browser_type_launch_args, "executable_path": chromium_executable, "args": args}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict) -> dict:
    return {"viewport": {"width": 1400, "height": 900}, **browser_context_args}


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    ARTIFACTS_DIR.mkdir(parents=True, exist_ok=True)
    for stale in ARTIFACTS_DIR.glob("FAILED-*.png"):  # from an earlier session: would mislead
        stale.unlink()
    return ARTIFACTS_DIR


# ---------------------------------------------------------------------------------------------
# server

@dataclass
class DashboardServer:
    url: str
    app: str
    process: subprocess.Popen
    start_seconds: float
    stdout_path: Path
    stderr_path: Path
    export_dir: Path

    def stderr_tail(self, lines: int = 60) -> str:
        try:
            text = self.stderr_path.read_text(errors="replace")
        except OSError:
            return "(no stderr)"
        return "\n".join(text.splitlines()[-lines:]) or "(stderr empty)"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _answers(url: str) -> bool:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # ignore *_proxy vars
    try:
        with opener.open(url, timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError, ValueError):
        return False


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    for sig, wait in ((signal.SIGTERM, SERVER_STOP_TIMEOUT), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(process.pid, sig)  # the server runs in its own session/process group
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


@pytest.fixture(scope="session")
def dashboard_server(artifacts_dir: Path):
    reason = _missing_assets_reason()
    if reason is not None:
        _skip_or_fail(reason)
    app = dashboard_app_spec()
    port = _free_port()
    url = f"http://127.0.0.1:{port}/"
    cmd = _offline.solara_command("127.0.0.1", port, app)
    stdout_path = artifacts_dir / "solara-server.stdout.log"
    stderr_path = artifacts_dir / "solara-server.stderr.log"
    export_dir = artifacts_dir / "exports"
    if export_dir.exists():
        shutil.rmtree(export_dir)  # each session checks only what it wrote
    env = {**os.environ, **_offline.dashboard_env(), EXPORT_DIR_ENV: str(export_dir)}
    started = time.monotonic()
    with open(stdout_path, "wb") as out, open(stderr_path, "wb") as err:
        process = subprocess.Popen(
            cmd, cwd=REPO_ROOT, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
            start_new_session=True,
        )
    server = DashboardServer(url, app, process, 0.0, stdout_path, stderr_path, export_dir)
    try:
        deadline = started + SERVER_START_TIMEOUT
        while not _answers(url + "readyz"):
            if process.poll() is not None:
                pytest.fail(
                    f"solara server for {app!r} exited with code {process.returncode} before answering.\n"
                    f"command: {' '.join(cmd)}\nstderr ({stderr_path}):\n{server.stderr_tail()}",
                    pytrace=False,
                )
            if time.monotonic() > deadline:
                pytest.fail(
                    f"solara server for {app!r} did not answer {url}readyz within {SERVER_START_TIMEOUT:.0f} s.\n"
                    f"command: {' '.join(cmd)}\nstderr ({stderr_path}):\n{server.stderr_tail()}",
                    pytrace=False,
                )
            time.sleep(0.2)
        server.start_seconds = time.monotonic() - started
        yield server
    finally:
        _stop(process)


@pytest.fixture(scope="session")
def dashboard_url(dashboard_server: DashboardServer) -> str:
    return dashboard_server.url


# ---------------------------------------------------------------------------------------------
# page

@dataclass
class OfflinePage:
    """A Playwright page plus everything it did on the network and in its console."""

    page: object  # playwright.sync_api.Page
    requests: list[str] = field(default_factory=list)  # every request / websocket URL, in order
    failed_requests: list[str] = field(default_factory=list)  # network failures and HTTP >= 400
    foreign_requests: list[str] = field(default_factory=list)  # anything not on loopback
    page_errors: list[str] = field(default_factory=list)  # uncaught exceptions in the page
    console_errors: list[str] = field(default_factory=list)  # console.error / error messages

    # --- recording -------------------------------------------------------------------------
    def _record_url(self, url: str) -> None:
        self.requests.append(url)
        parts = urlsplit(url)
        if parts.scheme in LOCAL_SCHEMES:
            return
        host = (parts.hostname or "").lower()
        if host in LOOPBACK_HOSTS or host.startswith("127."):
            return
        self.foreign_requests.append(url)

    def attach(self) -> "OfflinePage":
        page = self.page
        page.on("request", lambda req: self._record_url(req.url))
        page.on("websocket", lambda ws: self._record_url(ws.url))
        page.on("requestfailed", lambda req: self.failed_requests.append(f"{req.url} ({req.failure})"))
        page.on(
            "response",
            lambda res: res.status >= 400 and self.failed_requests.append(f"{res.url} (HTTP {res.status})"),
        )
        page.on("pageerror", lambda exc: self.page_errors.append(str(exc)))
        page.on("console", lambda msg: msg.type == "error" and self.console_errors.append(msg.text))
        return self

    def problems(self) -> dict[str, list[str]]:
        return {
            name: list(value)
            for name, value in (
                ("failed_requests", self.failed_requests),
                ("foreign_requests", self.foreign_requests),
                ("page_errors", self.page_errors),
                ("console_errors", self.console_errors),
            )
            if value
        }

    def assert_clean(self) -> None:
        problems = self.problems()
        assert not problems, "page was not clean:\n" + "\n".join(
            f"  {name}:\n" + "\n".join(f"    {item}" for item in items) for name, items in problems.items()
        )

    # --- run controls helpers ------------------------------------------------------------------
    def goto(self, url: str, timeout: float = 60_000) -> None:
        """Open the dashboard and wait until the run controls are on screen."""
        self.page.goto(url)
        self.button("Step").wait_for(timeout=timeout)

    def button(self, label: str):
        return self.page.get_by_role("button", name=label, exact=True)

    def step(self) -> None:
        self.button("Step").click()

    def reset(self) -> None:
        self.button("Reset").click()

    def play(self) -> None:
        self.button(PLAY_LABEL).click()
        self.button(PAUSE_LABEL).wait_for()

    def pause(self) -> None:
        self.button(PAUSE_LABEL).click()
        self.button(PLAY_LABEL).wait_for()

    def time_locator(self):
        """The week number in the sidebar's "Week N of H" line."""
        return self.page.locator(".as-week-now")

    def model_time(self) -> int:
        return int(self.time_locator().inner_text())

    def wait_for_time(self, value: int, timeout: float = 10_000) -> None:
        self.page.wait_for_function(
            "w => { const e = document.querySelector('.as-week-now'); return e && e.innerText.trim() === String(w); }",
            arg=int(value), timeout=timeout)

    def screenshot(self, path: str | os.PathLike) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(path), full_page=True)
        return path


@pytest.fixture
def offline_page(page, artifacts_dir: Path, request: pytest.FixtureRequest):
    recorder = OfflinePage(page).attach()
    yield recorder
    report = getattr(request.node, "_report_call", None)
    if report is not None and report.failed:
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.nodeid)[-150:]
        try:
            recorder.screenshot(artifacts_dir / f"FAILED-{name}.png")
        except Exception:  # noqa: BLE001 - a screenshot must never hide the real failure
            pass
