"""Run keys and run seeds.

Every run is identified by a **key**: a hash of its complete parameter set
(every registered parameter, not only the varied ones) and its replicate
number, e.g. ``"3f9c0a1b2c3d4e5f-2"``.  Keys decide what a resumed sweep skips
and are the same whatever the backend, the number of workers or the order in
which runs finish.

Every run's seed comes from the sweep's root seed through
:class:`numpy.random.SeedSequence`:

* ``seeding = "independent"`` (default): the run's sequence is the child of the
  root addressed by its key, ``SeedSequence(root, spawn_key=(point, replicate))``
  where ``point`` is the 64-bit parameter hash.  Every run has its own stream.
* ``seeding = "common"``: ``SeedSequence(root, spawn_key=(replicate,))``, the
  root's ``replicate``-th child, shared by every design point (common random
  numbers).  Differences between points are then due to the parameters alone,
  which sharpens comparisons and sensitivity indices.

The model receives a 63-bit integer drawn from that sequence, so any row of a
sweep can be re-run alone: ``alliancesim run --seed <seed> --set ...``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

import numpy as np

__all__ = ["canonical_params", "design_seed", "point_id", "run_key", "run_seed"]

_MASK63 = (1 << 63) - 1
#: spawn_key of the stream that draws Latin hypercube / Sobol' / Morris points
#: (longer than any replicate number, so it never meets a run's stream).
_DESIGN_STREAM = (1 << 64,)


def canonical_params(params: Mapping[str, Any]) -> str:
    """Parameters as canonical JSON: sorted names, shortest round-trip floats."""
    def plain(v: Any) -> Any:
        if isinstance(v, (bool, np.bool_)):
            return bool(v)
        if isinstance(v, (int, np.integer)):
            return int(v)
        if isinstance(v, (float, np.floating)):
            return float(v)
        return v

    return json.dumps({k: plain(v) for k, v in params.items()}, sort_keys=True,
                      separators=(",", ":"), allow_nan=False)


def point_id(params: Mapping[str, Any]) -> str:
    """16 hex digits identifying a complete parameter set."""
    return hashlib.sha256(canonical_params(params).encode()).hexdigest()[:16]


def run_key(point: str, replicate: int) -> str:
    """The run's key: ``"<point id>-<replicate>"``."""
    return f"{point}-{replicate}"


def run_seed(root: int, point: str, replicate: int, seeding: str = "independent") -> int:
    """The integer seed a run passes to the model (see the module notes)."""
    if seeding == "common":
        seq = np.random.SeedSequence(root, spawn_key=(replicate,))
    elif seeding == "independent":
        seq = np.random.SeedSequence(root, spawn_key=(int(point, 16), replicate))
    else:
        raise ValueError(f"unknown seeding {seeding!r}")
    return int(seq.generate_state(1, np.uint64)[0]) & _MASK63


def design_seed(root: int) -> np.random.Generator:
    """The generator that draws a sampled design's points."""
    return np.random.default_rng(np.random.SeedSequence(root, spawn_key=_DESIGN_STREAM))
