"""Build hook (``[tool.setuptools.cmdclass]`` in pyproject.toml): put the dashboard's front-end
files into the package before setuptools collects its package data, so every wheel serves the
dashboard offline with no extra step.

It fetches what ``alliancesim/dashboard/frontend/`` lacks with npm (see
:mod:`alliancesim.dashboard.assets`); in a checkout where ``scripts/setup.sh`` already ran, or in
an sdist, which carries the files, it fetches nothing and needs no npm.
"""

import importlib.util
import sys
from pathlib import Path

from setuptools.command.build_py import build_py as _build_py
from setuptools.errors import SetupError

_ASSETS = Path(__file__).resolve().parent / "alliancesim" / "dashboard" / "assets.py"


def _assets_module():
    spec = importlib.util.spec_from_file_location("_alliancesim_assets", _ASSETS)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def ensure_frontend() -> None:
    assets = _assets_module()
    if not assets.missing():
        return
    try:
        assets.install(log=lambda line: print(f"alliancesim frontend: {line}", flush=True))
    except assets.AssetError as exc:
        raise SetupError(f"cannot build alliancesim without the dashboard's front-end files: {exc}") from None


class build_py(_build_py):
    """setuptools' build_py, after making sure the front-end files are in the package."""

    def run(self):
        ensure_frontend()
        self.__dict__.pop("data_files", None)  # computed lazily; recompute with the new files
        super().run()
