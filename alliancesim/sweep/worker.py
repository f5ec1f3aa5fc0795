"""What runs in a worker process: one simulation, turned into one result row.

:func:`run_task` never raises for a failing run: the exception becomes a
``failed`` result with the error and its traceback, so one bad parameter
combination cannot stop a sweep.  Only the death of the worker process itself
(out of memory, killed) reaches the sweep as an exception, and the backends deal
with that.
"""

from __future__ import annotations

import math
import os
import signal
import socket
import threading
import time
import traceback
from typing import Any

__all__ = ["CodeMismatch", "dask_setup", "init_pool_worker", "run_task", "run_tasks", "worker_version"]


class CodeMismatch(RuntimeError):
    """A worker whose model code differs from the sweep's (its results would mix two models)."""


def _check_code(expected: str | None) -> str:
    """The worker's code fingerprint; raises CodeMismatch if it is not ``expected``."""
    from ..runner import code_fingerprint

    mine = code_fingerprint()
    if expected is not None and mine != expected:
        raise CodeMismatch(f"worker {_where()} runs other alliancesim code (code fingerprint {mine}, "
                           f"the sweep's is {expected})")
    return mine


def _where() -> str:
    try:
        from distributed import get_worker

        return get_worker().address
    except (ImportError, ValueError):
        return f"{socket.gethostname()}:{os.getpid()}"


def dask_setup(worker=None) -> None:
    """Warm a Dask worker up when it starts: ``dask worker ... --preload alliancesim.sweep.worker``.

    Dask calls this for a preloaded module.  It imports what a run needs and makes
    one tiny run, so the worker's first sweep task does not pay for them (about a
    second per worker process, a fresh import of the model and its tables).  The
    local pool does the same in its fork server.
    """
    from . import _warmup  # noqa: F401 - importing it warms up (once per process)


def run_task(task: dict[str, Any]) -> dict[str, Any]:
    """Run one simulation.

    Parameters
    ----------
    task : dict
        ``key``, ``params`` (every registered parameter), ``seed`` (int),
        ``metrics`` (names to keep), ``weekly`` (bool) and optionally
        ``fingerprint``: the sweep's code fingerprint, which this worker's must match.

    Returns
    -------
    dict
        ``key``, ``status`` (``"ok"`` or ``"failed"``), ``error`` (one line,
        ``None`` when ok), ``traceback``, ``metrics`` (name -> float; NaN is a
        legal value), ``weekly`` (DataFrame or ``None``), ``duration_s``,
        ``worker`` (``host:pid``), ``version`` (the worker's alliancesim) and
        ``fingerprint`` (its code fingerprint).

    Raises
    ------
    CodeMismatch
        The worker runs other model code than the sweep (nothing is run): a
        result from it would not be the sweep's model's.
    """
    from .. import __version__

    fingerprint = _check_code(task.get("fingerprint"))
    started = time.perf_counter()
    out: dict[str, Any] = {"key": task["key"], "status": "ok", "error": None, "traceback": None,
                           "metrics": {}, "weekly": None, "version": __version__,
                           "fingerprint": fingerprint, "worker": f"{socket.gethostname()}:{os.getpid()}"}
    try:
        from ..metrics import summary_metrics
        from ..runner import simulate
        from ..tables import weekly_table

        model = simulate(dict(task["params"]), seed=task["seed"])
        found = summary_metrics(model)
        values = {}
        for name in task["metrics"]:
            if name not in found:
                raise KeyError(f"the model returned no metric {name!r}")
            values[name] = float(found[name])
        out["metrics"] = values
        if task["weekly"]:
            out["weekly"] = weekly_table(model)
    except Exception as exc:  # noqa: BLE001 - a failing run is data, not a crash
        message = " ".join(str(exc).split()) or "(no message)"
        out.update(status="failed", error=f"{type(exc).__name__}: {message}",
                   traceback=traceback.format_exc(), metrics={n: math.nan for n in task["metrics"]})
    out["duration_s"] = time.perf_counter() - started
    return out


def run_tasks(tasks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """:func:`run_task` for each of ``tasks``, in order (one Dask task for several short runs)."""
    return [run_task(task) for task in tasks]


def worker_version() -> str:
    """What a (Dask) worker runs: ``"<alliancesim version>+<code fingerprint>"``."""
    from .. import __version__
    from ..runner import code_fingerprint

    return f"{__version__}+{code_fingerprint()}"


def init_pool_worker(parent_pid: int) -> None:
    """Initializer of local pool workers.

    Ctrl-C reaches every process in the terminal's process group; workers
    ignore it and let the sweep process decide (finish the running runs, or
    abandon them).  A watchdog thread ends the worker if the sweep process
    dies without shutting the pool down (``kill -9``), so no orphan keeps
    computing.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # a forked worker must not inherit the sweep's handler
    threading.Thread(target=_watch_parent, args=(parent_pid,), name="alliancesim-watchdog",
                     daemon=True).start()
    import alliancesim.runner  # noqa: F401  (import the model before the first run, not during it)
    from alliancesim.model import settle_process

    settle_process()  # this process exists to run models: load the compiled code, freeze the libraries


def _watch_parent(pid: int, interval: float = 0.5) -> None:
    try:
        import psutil

        proc = psutil.Process(pid)

        def alive() -> bool:
            try:
                return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
            except psutil.Error:
                return False
    except Exception:  # noqa: BLE001 - psutil missing or the parent already gone
        def alive() -> bool:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return False
            except PermissionError:
                return True
            return True
    while alive():
        time.sleep(interval)
    os._exit(1)
