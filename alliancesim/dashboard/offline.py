"""Serving the dashboard without internet: Solara's front end from a local cache.

Solara (1.64) serves its JavaScript and CSS through a proxy at ``/_solara/cdn/``
that reads ``<venv>/share/solara/cdn/<name>@<version>/`` and, on a miss,
downloads from a public CDN.  ``scripts/install_solara_assets.py`` (run by
``scripts/setup.sh``) fills that cache; this module builds the environment that
makes ``solara run`` use it and never reach the internet, and the command line
that both ``alliancesim dashboard`` and the browser tests start.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

#: The Solara app: ``solara run alliancesim.dashboard.app:page``.
APP_SPEC = "alliancesim.dashboard.app:page"

#: The asset installer, when the package runs from a source checkout (editable install).
ASSETS_INSTALLER = Path(__file__).resolve().parents[2] / "scripts" / "install_solara_assets.py"

#: Dead loopback port: a cache miss fails at once instead of trying a public CDN.
_NO_CDN = "http://127.0.0.1:9/"


def solara_cdn_dir(prefix: str | os.PathLike = sys.prefix) -> Path:
    """Where the installer puts Solara's front-end assets (and where Solara looks)."""
    return Path(prefix) / "share" / "solara" / "cdn"


def offline_solara_env(prefix: str | os.PathLike = sys.prefix) -> dict[str, str]:
    """Environment that makes ``solara run`` serve its front end from the local cache
    and never contact a third party (telemetry off; a cache miss fails fast on a dead
    loopback port instead of downloading).  Use with ``--no-open --no-check-version``."""
    return {
        "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "False",
        "SOLARA_ASSETS_PROXY": "True",
        "SOLARA_ASSETS_PROXY_CACHE_DIR": str(solara_cdn_dir(prefix)),
        "SOLARA_ASSETS_CDN": _NO_CDN,
        "PYTHONUNBUFFERED": "1",
    }


def dashboard_env(offline: bool = True, prefix: str | os.PathLike = sys.prefix) -> dict[str, str]:
    """Environment for serving the dashboard: offline (see :func:`offline_solara_env`) unless
    ``offline`` is false, never telemetry, and without Solara's "runs on Solara" banner, which
    would sit on top of the event list in a projected room."""
    env = offline_solara_env(prefix) if offline else {
        "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "False", "PYTHONUNBUFFERED": "1"}
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


def missing_assets(prefix: str | os.PathLike = sys.prefix) -> list[str] | None:
    """Asset packages not (completely) installed, e.g. ``["mermaid@10.8.0"]``.

    ``None`` when the installer script is not available (installed from a wheel),
    so completeness cannot be checked.
    """
    if not ASSETS_INSTALLER.is_file():
        return None
    spec = importlib.util.spec_from_file_location("_alliancesim_install_solara_assets", ASSETS_INSTALLER)
    if spec is None or spec.loader is None:
        return None
    installer = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(installer)
    cdn = solara_cdn_dir(prefix)
    return [
        f"{name}@{version}"
        for name, version, folder, required in installer.PACKAGES
        if not installer.is_complete(cdn / folder, f"{name}@{version}", required)
    ]


def solara_command(host: str, port: int, app: str = APP_SPEC) -> list[str]:
    """``python -m solara run`` for the dashboard, in production mode, no browser, no version check."""
    return [
        sys.executable, "-m", "solara", "run", app,
        "--host", host, "--port", str(port),
        "--production", "--no-open", "--no-check-version",
    ]
