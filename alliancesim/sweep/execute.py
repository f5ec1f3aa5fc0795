"""Running a sweep: plan, skip what is done, execute, store as runs finish.

>>> from alliancesim.sweep import load_spec, run_sweep, load_runs
>>> result = run_sweep(load_spec("experiments/examples/boundaries_grid.toml"), "runs/boundaries")
>>> df = load_runs("runs/boundaries")                       # one row per run

Re-running the same call resumes: runs whose key is already stored are
skipped (failed ones too, unless ``retry_failed=True``).  The results do not
depend on the backend or the number of workers: every run's seed comes from its
key (see :mod:`alliancesim.sweep.seeding`).

Ctrl-C once: no new runs start, the running ones finish and are stored.
Ctrl-C twice: the running runs are abandoned.  Either way everything finished
is on disk and the next call picks up the rest.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import itertools
import queue
import signal
import sys
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .backends import MAX_ATTEMPTS, make_backend
from .design import design_chunks, n_points
from .progress import Progress
from .seeding import point_id, run_key, run_seed
from .spec import Spec, load_spec
from .storage import DamagedPartWarning, RunWriter, SweepDir, SweepError, run_schema
from .worker import CodeMismatch

__all__ = ["Plan", "SweepResult", "plan_sweep", "run_sweep"]


@dataclass(frozen=True)
class Plan:
    """How many runs a spec costs.

    Attributes
    ----------
    points : int
        Design points.
    distinct : int
        Distinct parameter sets among them (a sampled design can map two
        points of a list-valued parameter to the same values; they share runs).
    replicates : int
        Runs per distinct point.
    """

    points: int
    distinct: int
    replicates: int

    @property
    def runs(self) -> int:
        return self.distinct * self.replicates

    def describe(self, spec: Spec) -> str:
        d = len(spec.varied)
        what = {"grid": "grid", "lhs": "Latin hypercube", "sobol": "Sobol'", "morris": "Morris"}[spec.design]
        dup = f" ({self.distinct} distinct)" if self.distinct != self.points else ""
        length = ("varied length" if "years" in spec.names
                  else f"{spec.years:g} year{'s' if spec.years != 1 else ''}")
        return (f"{what} design over {d} parameter{'s' if d != 1 else ''}: {self.points} points{dup} "
                f"x {self.replicates} replicate{'s' if self.replicates != 1 else ''} = {self.runs} runs "
                f"of {length}")


@dataclass(frozen=True)
class SweepResult:
    """What a call to :func:`run_sweep` did.

    Attributes
    ----------
    path : Path
        The sweep folder.
    runs : int
        Runs in the whole sweep.
    skipped : int
        Runs already stored before this call.
    ran : int
        Runs finished (and stored) by this call.
    ok, failed : int
        Stored runs by status, after this call.
    interrupted : bool
        Stopped by Ctrl-C before the end.
    first_error : str or None
        The error of the first run that failed in this call.
    seconds : float
        Wall time of this call.
    backend : str
        ``serial``, ``pool`` or ``dask`` (empty when nothing ran).
    """

    path: Path
    runs: int
    skipped: int
    ran: int
    ok: int
    failed: int
    interrupted: bool
    first_error: str | None
    seconds: float
    backend: str = ""

    @property
    def complete(self) -> bool:
        return self.ok + self.failed == self.runs

    @property
    def runs_per_second(self) -> float:
        return self.ran / self.seconds if self.seconds > 0 else float("nan")


def _walk(spec: Spec, batches, done) -> Iterator[tuple[int, str, dict, int, str]]:
    """``(point, point_id, params, replicate, key)`` for every distinct run not in ``done``."""
    names = spec.names
    seen: set[str] = set()
    for df in batches:
        points = df["point"].tolist()
        columns = [df[n].tolist() for n in names]
        for i, point in enumerate(points):
            params = dict(spec.base)
            for n, col in zip(names, columns):
                params[n] = col[i]
            pid = point_id(params)
            if pid in seen:
                continue
            seen.add(pid)
            for r in range(spec.replicates):
                key = run_key(pid, r)
                if key not in done:
                    yield point, pid, params, r, key


def plan_sweep(spec: Spec) -> Plan:
    """Count the runs of ``spec`` without walking them (runs nothing).

    A grid's points are all distinct (each parameter's values are), and so are
    a Latin hypercube's when every varied parameter is a continuous number.
    Other sampled designs are built (they are held in memory anyway, limited by
    :data:`~alliancesim.sweep.spec.MAX_SAMPLED_POINTS`) to count the points that
    coincide: Morris trajectories share grid levels, Saltelli's Sobol' matrices
    repeat points for one parameter, lists and whole numbers repeat values.
    """
    points = n_points(spec)
    continuous = all(v.param.type is float and v.kind != "values" for v in spec.varied)
    if spec.design == "grid" or (spec.design == "lhs" and continuous):
        distinct = points
    else:
        import pandas as pd

        design = pd.concat([df[spec.names] for df in design_chunks(spec)], ignore_index=True)
        distinct = int((~design.duplicated()).sum())
    return Plan(points=points, distinct=distinct, replicates=spec.replicates)


class _Interrupts:
    """Ctrl-C handling for the sweep loop (main thread only).

    First SIGINT: ``requested`` (no new runs).  Second: ``abandon``; it raises
    KeyboardInterrupt at once only inside :meth:`interruptible` sections
    (waiting for results, a serial run), so that bookkeeping and file writes
    are never cut in half; elsewhere the loop raises it at its next check.
    """

    def __init__(self, on_first: Callable[[], None]):
        self.requested = False
        self.abandon = False
        self._on_first = on_first
        self._old = None
        self._interruptible = False

    def _handler(self, signum, frame):
        if self.requested:
            self.abandon = True
            if self._interruptible:
                raise KeyboardInterrupt
            return
        self.requested = True
        self._on_first()

    @contextlib.contextmanager
    def interruptible(self):
        self._interruptible = True
        try:
            if self.abandon:
                raise KeyboardInterrupt
            yield
        finally:
            self._interruptible = False

    def check(self) -> None:
        """Raise KeyboardInterrupt if a second Ctrl-C came in."""
        if self.abandon:
            raise KeyboardInterrupt

    def _terminate(self, signum, frame):
        # SIGTERM (kill, a cluster's time limit) comes with little grace: stop now, as a second
        # Ctrl-C does, keeping every stored run.
        self.requested = self.abandon = True
        if self._interruptible:
            raise KeyboardInterrupt

    def __enter__(self):
        # Only in the main thread, and not where SIGINT is ignored (e.g. `cmd &` in a script).
        self._old_term = None
        if threading.current_thread() is threading.main_thread():
            if signal.getsignal(signal.SIGINT) is not signal.SIG_IGN:
                self._old = signal.signal(signal.SIGINT, self._handler)
            if signal.getsignal(signal.SIGTERM) is not signal.SIG_IGN:
                self._old_term = signal.signal(signal.SIGTERM, self._terminate)
        return self

    def __exit__(self, *exc):
        if self._old is not None:
            signal.signal(signal.SIGINT, self._old)
        if self._old_term is not None:
            signal.signal(signal.SIGTERM, self._old_term)


class _Loop:
    """Keeps at most ``backend.slots`` units of runs in flight and stores each run as it finishes.

    A unit is the list of runs one backend call executes: always one run
    locally; on Dask, several short runs together once their duration is known
    (see :meth:`DaskBackend.unit_size`), so the scheduler sees tasks of about a
    second rather than thousands of tiny ones.
    """

    def __init__(self, backend, writer: RunWriter, bar: Progress, metrics: tuple[str, ...]):
        self.backend = backend
        self.writer = writer
        self.bar = bar
        self.metrics = metrics
        self.counts = {"ok": 0, "failed": 0}
        self.first_error: str | None = None
        self.interrupted = False
        self._inflight: dict[Any, list[dict]] = {}
        self._attempts: dict[str, int] = {}
        self._finished: queue.Queue = queue.Queue()
        self._restarts_seen = 0
        self._durations = [0.0, 0]  # sum and count of finished runs' durations

    def _submit(self, unit: list[dict]) -> None:
        fut = self.backend.submit(unit)
        self._inflight[fut] = unit
        fut.add_done_callback(self._finished.put)

    def _next_unit(self, tasks: Iterator[dict]) -> list[dict]:
        total, n = self._durations
        size = self.backend.unit_size(total / n if n else None)
        return list(itertools.islice(tasks, size))

    def _store(self, task: dict, result: dict) -> None:
        row = {"key": task["key"], "point": task["point"], "point_id": task["point_id"],
               "replicate": task["replicate"], "seed": task["seed"], "status": result["status"],
               "error": result["error"], "traceback": result["traceback"],
               "duration_s": result.get("duration_s"), "worker": result.get("worker"),
               "alliancesim_version": result.get("version"), "code_fingerprint": result.get("fingerprint"),
               "finished_at": _dt.datetime.now(_dt.UTC), **task["params"], **result["metrics"]}
        self.writer.add(row, result.get("weekly"))
        self.counts[result["status"]] += 1
        if result["status"] != "ok" and self.first_error is None:
            self.first_error = result["error"]
        if result.get("duration_s") is not None:
            self._durations[0] += result["duration_s"]
            self._durations[1] += 1
        self.bar.update(result["status"])

    def _handle(self, fut) -> None:
        unit = self._inflight.pop(fut, None)
        if unit is None:  # not ours any more (cancelled while abandoning)
            return
        try:
            outcomes = self.backend.outcome(fut, len(unit))
        except CodeMismatch as exc:
            # Never store a row from other code: stop, keep what the right code made.  The failed
            # task is released, or a resumed sweep would be handed the same failure by its key.
            with contextlib.suppress(Exception):
                self.backend.cancel([fut])
            raise SweepError(f"{exc}; none of its results were stored. Stop that worker or install the "
                             "same code on it, then run the same command again to resume") from None
        for task, (kind, value) in zip(unit, outcomes):
            if kind == "retry":
                if getattr(self.backend, "restarts", 0) > self._restarts_seen:
                    self._restarts_seen = self.backend.restarts
                    self.bar.note(f"{value}; started new worker processes and retrying the runs they "
                                  f"held (each up to {MAX_ATTEMPTS} times)")
                tries = self._attempts[task["key"]] = self._attempts.get(task["key"], 1) + 1
                if tries <= MAX_ATTEMPTS:
                    self._submit([task])
                    continue
                kind, value = "failed", f"WorkerDied: {value} ({MAX_ATTEMPTS} attempts)"
            if kind == "failed":
                value = {"status": "failed", "error": value, "traceback": None,
                         "metrics": {m: float("nan") for m in self.metrics}}
            self._store(task, value)

    def run(self, tasks: Iterator[dict]) -> None:
        """Run every task; returns when all are stored or after Ctrl-C (see the module notes)."""
        def first_interrupt() -> None:
            self.bar.note("stopping: no new runs start; waiting for the running ones to finish "
                          "(Ctrl-C again to abandon them)")

        exhausted = False
        abandon = False
        try:
            with _Interrupts(first_interrupt) as interrupts:
                cancelled = False
                while True:
                    if interrupts.requested and not cancelled:
                        cancelled = True
                        for fut in self.backend.cancel_queued(list(self._inflight)):
                            self._inflight.pop(fut, None)
                    while (not interrupts.requested and not exhausted
                           and len(self._inflight) < self.backend.slots):
                        unit = self._next_unit(tasks)
                        if not unit:
                            exhausted = True
                        else:
                            with interrupts.interruptible():  # a serial run happens in here
                                self._submit(unit)
                    interrupts.check()
                    if not self._inflight:
                        break
                    try:
                        with interrupts.interruptible():
                            fut = self._finished.get(timeout=0.2)
                    except queue.Empty:
                        self.writer.tick()
                        continue
                    self._handle(fut)
                self.interrupted = interrupts.requested
        except KeyboardInterrupt:
            self.interrupted = abandon = True
        except BaseException:
            abandon = True
            raise
        finally:
            try:
                if abandon:
                    with contextlib.suppress(Exception):  # the cluster may be what failed
                        self.backend.cancel(list(self._inflight))
                    self.backend.stop(abandon=True)
                else:
                    self.backend.stop()
            finally:
                self.writer.close()


def run_sweep(spec: Spec | str | Path, out: str | Path, *, workers: int | None = None,
              scheduler: str | None = None, client=None, retry_failed: bool = False,
              progress: bool = True, log: Callable[[str], None] | None = None) -> SweepResult:
    """Run (or resume) a sweep and store one row per run under ``out``.

    Parameters
    ----------
    spec : Spec or path
        The sweep spec (see :mod:`alliancesim.sweep.spec`).
    out : path
        Output folder; created if needed.  If it already holds this sweep,
        the finished runs are skipped.
    workers : int, optional
        Local worker processes (default: one per CPU); ``1`` runs in this process.
    scheduler : str, optional
        Address of a running Dask scheduler, ``tcp://HOST:PORT``.
    client : distributed.Client, optional
        An existing Dask client to run on (not closed afterwards).
    retry_failed : bool
        Run the runs stored as failed again (their old rows are removed first).
    progress : bool
        Show a progress bar (and notes) on standard error.
    log : callable, optional
        Where notes go (default: standard error when ``progress``).

    Returns
    -------
    SweepResult

    Raises
    ------
    SpecError, SweepError
        Before anything runs: a bad spec, a folder holding another sweep or
        in use by another sweep, an unreachable scheduler.
    """
    from ..runner import code_fingerprint

    started = time.perf_counter()
    if not isinstance(spec, Spec):
        spec = load_spec(spec)
    warn_set_aside = log is None and not progress  # nobody sees the log: say it as a warning
    if log is None:
        log = (lambda m: print(m, file=sys.stderr, flush=True)) if progress else (lambda m: None)
    schema = run_schema(spec.metrics)
    # Connect first: an unreachable scheduler should not leave a half-made folder behind.
    backend = make_backend(workers=workers, scheduler=scheduler, client=client)
    try:
        with SweepDir(out) as sdir:
            sdir.prepare(spec, design_chunks(spec), n_points(spec), n_points(spec) * spec.replicates)
            if retry_failed:
                dropped = sdir.drop_failed()
                if dropped:
                    log(f"retrying {dropped} failed run{'s' if dropped != 1 else ''}")
            done = sdir.finished()
            for note in sdir.set_aside:  # damaged parts found on entering, or while reading
                if warn_set_aside:
                    warnings.warn(note.removeprefix("warning: "), DamagedPartWarning, stacklevel=2)
                else:
                    log(note)
            distinct = 0
            todo = 0
            for *_, r, key in _walk(spec, sdir.design_batches(), ()):
                distinct += r == 0
                todo += key not in done
            plan = Plan(points=n_points(spec), distinct=distinct, replicates=spec.replicates)
            sdir.record_counts(plan.runs, plan.distinct)
            ok_before = sum(1 for k, s in done.items() if s == "ok")
            failed_before = len(done) - ok_before
            log(f"{spec.name}: {plan.describe(spec)}")
            for note in spec.notes:
                log(f"warning: {note}")
            if not todo:
                log(f"nothing to run: all {plan.runs} runs are stored in {sdir.path}")
                return SweepResult(sdir.path, plan.runs, len(done), 0, ok_before, failed_before, False,
                                   None, time.perf_counter() - started)
            skipped = f"{len(done)} already stored, " if done else ""
            log(f"{skipped}{todo} to run {backend.describe()}")
            fingerprint = code_fingerprint()
            tasks = (
                {"key": key, "point": point, "point_id": pid, "replicate": r,
                 "seed": run_seed(spec.seed, pid, r, spec.seeding), "params": params,
                 "metrics": spec.metrics, "weekly": spec.weekly, "fingerprint": fingerprint}
                for point, pid, params, r, key in _walk(spec, sdir.design_batches(), done)
            )
            writer = RunWriter(sdir, schema, flush_runs=spec.flush_runs, flush_seconds=spec.flush_seconds)
            bar = Progress(todo, spec.name, enabled=progress)
            loop = _Loop(backend, writer, bar, spec.metrics)
            try:
                loop.run(tasks)
            finally:
                bar.close()
            result = SweepResult(sdir.path, plan.runs, len(done), loop.counts["ok"] + loop.counts["failed"],
                                 ok_before + loop.counts["ok"], failed_before + loop.counts["failed"],
                                 loop.interrupted, loop.first_error, time.perf_counter() - started,
                                 backend.name)
        return result
    finally:
        backend.stop()
