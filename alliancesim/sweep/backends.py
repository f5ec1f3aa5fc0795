"""Where runs execute: in this process, in a local process pool, or on a Dask cluster.

Each backend takes :func:`~alliancesim.sweep.worker.run_task` calls and hands
back futures; the sweep loop (:mod:`alliancesim.sweep.execute`) keeps a bounded
number of them in flight, so neither the plan nor the results pile up in memory.

* :class:`SerialBackend` (``workers=1``): runs in the sweep process itself.
* :class:`PoolBackend` (default): a :class:`concurrent.futures.ProcessPoolExecutor`.
  When the sweep process runs no other threads (the command line, a script) its
  workers are forked from it, ready to run at once; otherwise (a notebook, the
  dashboard) they come from a ``forkserver`` (``spawn`` where forkserver is
  missing), which is safe with threads but must import the model first.  If a
  worker process dies (out of memory, killed), the pool is rebuilt and the runs
  it held are tried again, up to :data:`MAX_ATTEMPTS` times each.
* :class:`DaskBackend` (``scheduler="tcp://HOST:PORT"`` or an existing
  :class:`distributed.Client`): the scheduler places the runs and reschedules
  those of a worker that dies; a run that kills workers repeatedly comes back as
  ``KilledWorker`` and is recorded as failed.  Once run times are known, short
  runs travel in groups of about :data:`TASK_SECONDS` per Dask task, which keeps
  the scheduler's per-task work small next to the simulations.
"""

from __future__ import annotations

import contextlib
import hashlib
import multiprocessing
import os
import signal
import threading
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from .storage import SweepError
from .worker import CodeMismatch, init_pool_worker, run_task, run_tasks, worker_version

__all__ = ["MAX_ATTEMPTS", "DaskBackend", "PoolBackend", "SerialBackend", "make_backend"]

#: Times a run is tried when the worker process running it dies.
MAX_ATTEMPTS = 3
#: On Dask, short runs are sent in groups lasting about this long (seconds) ...
TASK_SECONDS = 1.0
#: ... of at most this many runs.
MAX_UNIT = 32


@contextlib.contextmanager
def _sigint_blocked():
    """Block SIGINT in this thread (inherited by processes started meanwhile)."""
    if not hasattr(signal, "pthread_sigmask"):  # pragma: no cover - Windows
        yield
        return
    old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


class SerialBackend:
    """Runs one at a time in the calling process (``workers=1``)."""

    name = "serial"
    slots = 1

    def describe(self) -> str:
        return "in this process (serial)"

    def unit_size(self, mean_seconds: float | None) -> int:
        return 1

    def submit(self, unit: list[dict[str, Any]]) -> Future:
        (task,) = unit
        fut: Future = Future()
        fut.set_result(run_task(task))
        return fut

    def outcome(self, fut: Future, n: int = 1) -> list[tuple[str, Any]]:
        return [("ok", fut.result())]

    def cancel(self, futures) -> None:
        pass

    def cancel_queued(self, futures) -> list:
        return []

    def stop(self, abandon: bool = False) -> None:
        pass


class PoolBackend:
    """A local pool of worker processes.

    Parameters
    ----------
    workers : int
        Number of worker processes.
    """

    name = "pool"

    def __init__(self, workers: int):
        self.workers = workers
        self.slots = 4 * workers
        self.generation = 0
        self.restarts = 0
        self._progress = False  # a run finished since the pool was (re)started
        self._fruitless = 0  # restarts in a row with no finished run in between
        self._pool: ProcessPoolExecutor | None = None
        self._start()

    def describe(self) -> str:
        return f"on {self.workers} local worker processes"

    @staticmethod
    def _context() -> multiprocessing.context.BaseContext:
        """How to start workers: fork when nothing else runs in this process, else a fork server."""
        methods = multiprocessing.get_all_start_methods()
        if "fork" in methods and threading.active_count() == 1:
            # With fork, the pool starts all its processes at the first submit, before its
            # own manager thread: the process is still single-threaded when it forks.
            return multiprocessing.get_context("fork")
        ctx = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
        if ctx.get_start_method() == "forkserver":
            # Import (and warm up) the model once in the fork server; workers fork from it ready to run.
            ctx.set_forkserver_preload(["alliancesim.sweep.worker", "alliancesim.sweep._warmup"])
        return ctx

    def _start(self) -> None:
        # The pool itself is made at the next submit, when its processes start: only then
        # is it known whether this process is still free of other threads (see _context).
        self._pool = None
        self.generation += 1

    def unit_size(self, mean_seconds: float | None) -> int:
        return 1

    def submit(self, unit: list[dict[str, Any]]) -> Future:
        (task,) = unit
        # The pool starts its processes (fork server, workers) inside submit().  They are
        # started with SIGINT blocked, and keep it blocked: Ctrl-C in a terminal reaches
        # the whole process group, and only the sweep process should act on it.
        with _sigint_blocked():
            if self._pool is None:
                self._pool = ProcessPoolExecutor(max_workers=self.workers, mp_context=self._context(),
                                                 initializer=init_pool_worker, initargs=(os.getpid(),))
            fut = self._pool.submit(run_task, task)
        fut.generation = self.generation
        return fut

    def outcome(self, fut: Future, n: int = 1) -> list[tuple[str, Any]]:
        try:
            result = fut.result()
        except BrokenProcessPool:
            if getattr(fut, "generation", None) == self.generation:
                # First news of this breakage: replace the pool; its other runs come back here too.
                if self._pool is not None:
                    self._pool.shutdown(wait=False, cancel_futures=True)
                self._fruitless = 0 if self._progress else self._fruitless + 1
                if self._fruitless >= MAX_ATTEMPTS:
                    raise SweepError(
                        "the local worker processes keep dying before finishing a single run; when "
                        "run_sweep is called from a script, put the call under "
                        "`if __name__ == \"__main__\":` (worker processes import the main module)"
                    ) from None
                self._progress = False
                self.restarts += 1
                self._start()
            return [("retry", "a worker process died while running this run")]
        self._progress = True
        return [("ok", result)]

    def cancel(self, futures) -> None:
        for fut in futures:
            fut.cancel()

    def cancel_queued(self, futures) -> list:
        """Cancel the runs that have not started; returns those futures."""
        return [fut for fut in futures if fut.cancel()]

    def stop(self, abandon: bool = False) -> None:
        pool, self._pool = self._pool, None
        if pool is None:
            return
        if abandon:
            terminate = getattr(pool, "terminate_workers", None)  # Python >= 3.14
            if terminate is not None:
                terminate()
            else:
                for proc in list((getattr(pool, "_processes", None) or {}).values()):
                    proc.terminate()
        pool.shutdown(wait=True, cancel_futures=True)


class DaskBackend:
    """Runs on a Dask distributed cluster.

    Parameters
    ----------
    client : distributed.Client, optional
        A connected client (left open afterwards).
    address : str, optional
        Scheduler address such as ``tcp://127.0.0.1:8786``; a client is made
        and closed afterwards.
    """

    name = "dask"

    def __init__(self, client=None, address: str | None = None):
        from distributed import Client

        self._own = client is None
        if client is None:
            if not address or "://" not in address:
                raise SweepError(f"--scheduler expects an address such as tcp://HOST:PORT, got {address!r}")
            try:
                client = Client(address, timeout="10s", set_as_default=False)
            except (OSError, TimeoutError) as exc:
                raise SweepError(f"cannot connect to the Dask scheduler at {address}: "
                                 f"{' '.join(str(exc).split()) or type(exc).__name__}") from None
        self.client = client
        self.address = client.scheduler.address
        self._quiet_logs()
        try:
            versions = client.run(worker_version)
        except Exception as exc:  # noqa: BLE001 - whatever the workers raise, it is one line
            self.stop()
            raise SweepError(f"the Dask workers at {self.address} cannot run alliancesim "
                             f"({type(exc).__name__}: {' '.join(str(exc).split())}); install it on every worker") from None
        here = worker_version()
        wrong = {w: v for w, v in versions.items() if v != here}
        if wrong:
            w, v = next(iter(wrong.items()))
            self.stop()
            raise SweepError(f"Dask worker {w} has alliancesim {v} but this is {here} (version+code "
                             "fingerprint); install the same code everywhere")
        threads = sum(client.nthreads().values())
        self.slots = max(8, 2 * threads)

    def describe(self) -> str:
        n = len(self.client.nthreads())
        return f"on the Dask cluster at {self.address} ({n} workers)"

    def unit_size(self, mean_seconds: float | None) -> int:
        """Runs per Dask task: one until run times are known, then about :data:`TASK_SECONDS` worth."""
        if not mean_seconds or mean_seconds <= 0:
            return 1
        return max(1, min(MAX_UNIT, round(TASK_SECONDS / mean_seconds)))

    def submit(self, unit: list[dict[str, Any]]):
        ident = hashlib.sha256(repr([(t["key"], t["seed"], sorted(t["params"].items()),
                                      tuple(t["metrics"]), t["weekly"]) for t in unit]).encode())
        return self.client.submit(run_tasks, unit, key=f"alliancesim-runs-{ident.hexdigest()[:24]}",
                                  pure=False)

    def outcome(self, fut, n: int = 1) -> list[tuple[str, Any]]:
        from distributed import KilledWorker

        try:
            return [("ok", r) for r in fut.result()]
        except CodeMismatch:
            raise  # the sweep loop stops with a message saying what to do
        except KilledWorker as exc:
            message = f"KilledWorker: {' '.join(str(exc).split())}"
            # Several runs travelled together: send each alone again, so only the one that
            # kills its worker ends up failed.  A single run is recorded as failed.
            return [("retry" if n > 1 else "failed", message)] * n
        except Exception as exc:  # noqa: BLE001 - infrastructure: stop the sweep, keep what finished
            from distributed.comm.core import CommClosedError

            text = " ".join(str(exc).split())
            # However the client learns of it (a closed stream, a cancelled future), it is one event.
            lost = (isinstance(exc, (CommClosedError, OSError, TimeoutError)) or "connection-lost" in text
                    or (self.client is not None and self.client.status != "running"))
            if lost:
                what = f"lost the connection to the Dask scheduler at {self.address} (it stopped, or the network failed)"
            else:
                what = f"lost a run on the Dask cluster at {self.address}: {type(exc).__name__}: {text}"
            raise SweepError(f"{what}; the runs that finished are stored: start the scheduler again "
                             "and run the same command to resume") from None

    def cancel(self, futures) -> None:
        futures = list(futures)
        if futures and self.client is not None:
            self.client.cancel(futures)

    def cancel_queued(self, futures) -> list:
        # A Dask future does not tell queued from running; let all of them finish.
        return []

    #: Loggers of the client side of distributed: when the scheduler goes away they print
    #: dozens of lines of chained tracebacks; the sweep says it in one line instead.
    _NOISY = ("distributed.client", "distributed.batched", "distributed.comm", "distributed.core",
              "distributed.utils")

    def _quiet_logs(self) -> None:
        import logging

        self._log_levels = {name: logging.getLogger(name).level for name in self._NOISY}
        for name in self._NOISY:
            logging.getLogger(name).setLevel(logging.CRITICAL)

    def _restore_logs(self) -> None:
        import logging

        for name, level in getattr(self, "_log_levels", {}).items():
            logging.getLogger(name).setLevel(level)
        self._log_levels = {}

    def stop(self, abandon: bool = False) -> None:
        try:
            if self._own and self.client is not None:
                with contextlib.suppress(Exception):  # the scheduler may be what failed
                    self.client.close(timeout=5)
                self.client = None
        finally:
            self._restore_logs()


#: Local worker processes allowed per CPU: beyond one they only queue for the CPU; a few more are
#: allowed for machines whose runs wait on a slow disk.
MAX_WORKERS_PER_CPU = 4


def make_backend(*, workers: int | None = None, scheduler: str | None = None, client=None):
    """The backend for the given options (see the module notes)."""
    if client is not None or scheduler is not None:
        if workers is not None:
            raise SweepError("--workers is for the local pool; a Dask cluster has its own workers")
        return DaskBackend(client=client, address=scheduler)
    workers = check_workers(workers)
    return SerialBackend() if workers == 1 else PoolBackend(workers)


def check_workers(workers: int | None) -> int:
    """The number of local worker processes to use (``None``: one per CPU).

    Raises
    ------
    SweepError
        For anything but a whole number from 1 to :data:`MAX_WORKERS_PER_CPU` per CPU.
    """
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    if workers is None:
        return cpus
    most = MAX_WORKERS_PER_CPU * cpus
    if isinstance(workers, bool) or not isinstance(workers, int) or not 1 <= workers <= most:
        raise SweepError(f"workers={workers!r} is out of range: allowed a whole number from 1 to {most} "
                         f"({MAX_WORKERS_PER_CPU} per CPU here; a run uses one CPU, so more only wait)")
    return workers
