#!/usr/bin/env python3
"""Fetch the dashboard's front-end files (Solara's JavaScript, CSS, fonts) into the package folder
``alliancesim/dashboard/frontend/``, so the dashboard works offline from this checkout.

A thin wrapper around :mod:`alliancesim.dashboard.assets` that runs before alliancesim is
installed (it loads that stdlib-only module by path).  Building a wheel does the same through the
build hook ``_build_frontend.py``.  Idempotent: complete folders are skipped.

Usage: python scripts/install_solara_assets.py [--into DIR] [--check]
Exit codes: 0 ok, 1 (--check) files missing, 2 npm missing or ``npm pack`` failed.
"""

import importlib.util
import sys
from pathlib import Path

MODULE = Path(__file__).resolve().parents[1] / "alliancesim" / "dashboard" / "assets.py"

if __name__ == "__main__":
    spec = importlib.util.spec_from_file_location("_alliancesim_assets", MODULE)
    assets = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = assets  # dataclasses look their module up there
    spec.loader.exec_module(assets)
    sys.exit(assets.main())
