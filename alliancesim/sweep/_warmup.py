"""Imported by the local pool's fork server (and by Dask workers that preload
:mod:`alliancesim.sweep.worker`): run one tiny simulation before any real run.

A process's first run is slower than the rest: it imports what the model and
its tables load lazily, and whatever compiled or cached code the model keeps
(the model's internals decide; this module only calls the public runner).
Doing that once in the fork server means every worker forked from it starts
warm; a Dask worker does it once when it starts.  A failure here is not an error: the workers then warm up on their own.
"""

from __future__ import annotations


def warm_up() -> None:
    try:
        from ..runner import run_metrics

        run_metrics({"initial_clients": 5, "population": 200, "n_therapists": 1, "years": 0.1}, seed=0)
    except Exception:  # noqa: BLE001 - best effort only
        pass


warm_up()
