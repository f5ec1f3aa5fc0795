"""Shared helpers for the core model tests: small, fast clinics and cached runs."""

from __future__ import annotations

import functools

import pytest
from hypothesis import settings

# Compiled session functions compile on their first call with new argument types:
# that one slow example must not count as a failure.
settings.register_profile("alliancesim", deadline=None)
settings.load_profile("alliancesim")

from alliancesim.runner import simulate
from alliancesim.tables import all_tables

#: A small clinic for quick tests: fewer people, fewer therapists, same mechanisms.
SMALL = {"n_therapists": 6, "population": 1500, "initial_clients": 90, "arrival_rate": 2.5}


@functools.lru_cache(maxsize=64)
def _cached(preset: str, seed: int, years: float, overrides: tuple):
    model = simulate(preset, seed=seed, years=years, **dict(overrides))
    return model, all_tables(model)


@pytest.fixture(scope="session")
def run():
    """``run(preset, seed, years, **overrides) -> (model, tables)``, cached across tests."""
    def _run(preset: str = "default", seed: int = 1, years: float = 3.0, **overrides):
        return _cached(preset, seed, years, tuple(sorted(overrides.items())))
    return _run
