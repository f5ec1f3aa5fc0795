"""Serving the dashboard without internet: Solara's front end from files shipped in the package.

Solara (1.64) serves its JavaScript and CSS through a proxy at ``/_solara/cdn/`` that reads a
local folder and, on a miss, downloads from a public CDN.  The package carries those files
(:mod:`alliancesim.dashboard.assets`: built into the wheel, or fetched by ``scripts/setup.sh``
in a source checkout); this module builds the environment that makes ``solara run`` read them,
never reach the internet, and show a clear message on the page if a file is missing
(``static/custom.js``), and the command line that both ``alliancesim dashboard`` and the browser
tests start.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from . import assets as _assets

#: The Solara app: ``solara run alliancesim.dashboard.app:page``.
APP_SPEC = "alliancesim.dashboard.app:page"

#: Our page assets (``custom.js``: a message instead of a white page when a front-end file fails).
STATIC_DIR = Path(__file__).resolve().parent / "static"

#: Dead loopback port: a cache miss fails at once instead of trying a public CDN.
_NO_CDN = "http://127.0.0.1:9/"


def solara_cdn_dir() -> Path:
    """The folder Solara's asset proxy reads: the front-end files shipped inside the package."""
    return _assets.frontend_dir()


def offline_solara_env() -> dict[str, str]:
    """Environment that makes ``solara run`` serve its front end from the local cache
    and never contact a third party (telemetry off; a cache miss fails fast on a dead
    loopback port instead of downloading).  Use with ``--no-open --no-check-version``."""
    return {
        "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "False",
        "SOLARA_ASSETS_PROXY": "True",
        "SOLARA_ASSETS_PROXY_CACHE_DIR": str(solara_cdn_dir()),
        "SOLARA_ASSETS_CDN": _NO_CDN,
        "SOLARA_ASSETS_EXTRA_LOCATIONS": str(STATIC_DIR),
        "PYTHONUNBUFFERED": "1",
    }


def dashboard_env(offline: bool = True) -> dict[str, str]:
    """Environment for serving the dashboard: offline (see :func:`offline_solara_env`) unless
    ``offline`` is false, never telemetry, and without Solara's "runs on Solara" banner, which
    would sit on top of the event list in a projected room."""
    env = offline_solara_env() if offline else {
        "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "False", "PYTHONUNBUFFERED": "1",
        "SOLARA_ASSETS_EXTRA_LOCATIONS": str(STATIC_DIR)}
    env.update({"SOLARA_THEME_SHOW_BANNER": "False", "SOLARA_THEME_TITLE": "alliancesim"})
    # Solara warns at every page load that its session cookie falls back to samesite=lax on
    # plain http; on a page served to this computer that is expected, and only noise.
    quiet = "ignore:Cookies with samesite=none require https:UserWarning"
    env["PYTHONWARNINGS"] = ",".join(w for w in (os.environ.get("PYTHONWARNINGS", ""), quiet) if w)
    # A closed session's memory must go back to the system, or a class's server only grows.
    # Python's own small-object pools are rarely empty enough to be returned, and glibc gives
    # each worker thread its own arena and rarely trims it; so use the system allocator, with
    # two arenas (30 ten-year sessions: +52 MB over idle without these, +25 MB with them;
    # benchmarks/dashboard_memory.py).
    env.setdefault("MALLOC_ARENA_MAX", os.environ.get("MALLOC_ARENA_MAX", "2"))
    env.setdefault("PYTHONMALLOC", os.environ.get("PYTHONMALLOC", "malloc"))
    return env


def missing_assets() -> list[str]:
    """Front-end packages not (completely) shipped, e.g. ``["mermaid@10.8.0"]``; empty when all are."""
    return _assets.missing(solara_cdn_dir())


def solara_command(host: str, port: int, app: str = APP_SPEC) -> list[str]:
    """``python -m solara run`` for the dashboard, in production mode, no browser, no version check."""
    return [
        sys.executable, "-m", "solara", "run", app,
        "--host", host, "--port", str(port),
        "--production", "--no-open", "--no-check-version",
    ]
