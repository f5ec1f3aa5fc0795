"""What a sweep will cost, known before it starts: runs, time and disk.

:func:`estimate_cost` times a short run of a typical point of the design on
this machine (a second or two) and scales it to the spec's run length and run
count; it measures the bytes a stored run takes by writing a sample of rows.
Nothing here enumerates the design: the run count comes from
:func:`alliancesim.sweep.execute.plan_sweep`, which computes it.

``alliancesim sweep --dry-run`` prints the estimate; a sweep of more than
:data:`CONFIRM_RUNS` runs starts only with ``--yes``.
"""

from __future__ import annotations

import io
import math
import time
from dataclasses import dataclass
from typing import Any

__all__ = ["CONFIRM_RUNS", "Cost", "estimate_cost", "human_bytes", "human_seconds"]

#: A sweep of more runs than this starts only with ``--yes`` (about a day on two cores
#: for the default clinic's ten years).
CONFIRM_RUNS = 100_000

#: Length of the timed runs (years); the estimate is a straight line through the two.
_TIMED_YEARS = (0.25, 0.5)


@dataclass(frozen=True)
class Cost:
    """The estimated cost of a sweep.

    Attributes
    ----------
    runs : int
        Runs in the sweep.
    seconds_per_run : float
        Estimated wall time of one run on one core of this machine (s).
    workers : int
        Runs at once (local worker processes).
    run_bytes : float
        Bytes one stored run takes in ``runs/`` (compressed Parquet).
    weekly_bytes : float
        Bytes one run's weekly series takes in ``weekly/`` (0 without ``weekly = true``).
    """

    runs: int
    seconds_per_run: float
    workers: int
    run_bytes: float
    weekly_bytes: float

    @property
    def cpu_seconds(self) -> float:
        return self.runs * self.seconds_per_run

    @property
    def wall_seconds(self) -> float:
        return self.cpu_seconds / max(1, self.workers)

    @property
    def disk_bytes(self) -> float:
        return self.runs * (self.run_bytes + self.weekly_bytes)

    def describe(self) -> list[str]:
        """Two lines for the terminal: time and disk."""
        weekly = f" (with {human_bytes(self.runs * self.weekly_bytes)} of weekly series)" if self.weekly_bytes else ""
        return [
            f"estimated time: {human_seconds(self.seconds_per_run)} per run (timed on this machine), "
            f"{self.runs:,} runs = {human_seconds(self.cpu_seconds)} of computing: about "
            f"{human_seconds(self.wall_seconds)} on {self.workers} worker{'s' if self.workers != 1 else ''}",
            f"estimated disk: {human_bytes(self.disk_bytes)}{weekly}",
        ]


def human_seconds(s: float) -> str:
    """``0.42 s``, ``12 min``, ``3.1 h``, ``4.2 days``, ``120 years``."""
    if not math.isfinite(s):
        return "unknown"
    for limit, unit, size in ((60, "s", 1), (3600, "min", 60), (86400 * 2, "h", 3600),
                              (86400 * 365 * 2, "days", 86400)):
        if s < limit:
            value = s / size
            return f"{value:.2g} {unit}" if value < 10 else f"{value:,.0f} {unit}"
    return f"{s / (86400 * 365):,.0f} years"


def human_bytes(n: float) -> str:
    """``512 B``, ``3.4 MB``, ``1.2 TB`` (powers of 1000)."""
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if n < 1000 or unit == "TB":
            return f"{n:.3g} {unit}" if unit != "B" else f"{n:.0f} B"
        n /= 1000
    raise AssertionError  # pragma: no cover


def typical_params(spec) -> dict[str, Any]:
    """The spec's base values with each varied number at the middle of its range (a typical run)."""
    from ..params import ParameterError, validate

    params = dict(spec.base)
    for v in spec.varied:
        if v.param.type in (int, float):
            ends = v.values or (v.low, v.high)
            mid = (min(ends) + max(ends)) / 2
            params[v.name] = int(round(mid)) if v.param.type is int else float(mid)
        else:
            params[v.name] = v.values[0]
    try:
        validate(params)
    except ParameterError:  # the middle breaks a rule between parameters: time the base instead
        params = dict(spec.base)
    return params


def _time_run(params: dict[str, Any], years: float) -> tuple[float, Any]:
    from ..runner import simulate

    timed = {**params, "years": years}
    if timed.get("scheduled_retirement_week", 0) > years * 52:
        timed["scheduled_retirement_week"] = 0  # it falls after the timed stretch of the run
    started = time.perf_counter()
    model = simulate(timed, seed=1)  # as a sweep's worker runs it
    return time.perf_counter() - started, model


def _bytes_per_run(spec, n: int = 500) -> float:
    """Bytes per row of the runs dataset, measured by writing ``n`` rows of realistic variety."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    from .storage import run_schema

    schema = run_schema(spec.metrics)
    rng = np.random.default_rng(0)
    columns = {}
    varied = set(spec.names)
    for field in schema:
        name, t = field.name, field.type
        if name in ("key", "point_id"):
            columns[name] = pa.array([f"{x:016x}" for x in rng.integers(0, 2**63, n)], t)
        elif pa.types.is_timestamp(t):
            columns[name] = pa.array(np.arange(n) * 997, pa.int64()).cast(t)
        elif pa.types.is_floating(t):
            vary = name in varied or name in spec.metrics or name == "duration_s"
            columns[name] = pa.array(rng.random(n) if vary else np.full(n, float(spec.base.get(name, 0.5))), t)
        elif pa.types.is_integer(t):
            columns[name] = pa.array(rng.integers(0, 2**31, n) if name in ("seed", "point", "replicate")
                                     else np.full(n, 1), t)
        elif pa.types.is_boolean(t):
            columns[name] = pa.array(np.zeros(n, bool), t)
        else:
            columns[name] = pa.array([None if name in ("error", "traceback") else str(spec.base.get(name, "ok"))]
                                     * n, t)
    buf = io.BytesIO()
    pq.write_table(pa.table(columns, schema=schema), buf, compression="zstd")
    return buf.tell() / n


def _weekly_bytes(model, years_timed: float, years: float) -> float:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from ..tables import weekly_table

    weekly = weekly_table(model)
    buf = io.BytesIO()
    pq.write_table(pa.Table.from_pandas(weekly, preserve_index=False), buf, compression="zstd")
    return buf.tell() * years / years_timed


def estimate_cost(spec, runs: int, workers: int) -> Cost:
    """Estimate the time and disk of ``runs`` runs of ``spec`` on ``workers`` local processes.

    Costs a second or two: one untimed warm-up run (imports, compiled code),
    then two short timed runs of :func:`typical_params`, whose times give the
    cost of a run of the spec's length by a straight line (set-up + per week).
    """
    params = typical_params(spec)
    years = float(params["years"])
    _time_run(params, 0.1)  # warm up: the first run in a process pays for imports
    short, long_ = (min(y, years) for y in _TIMED_YEARS)
    t_short, _ = _time_run(params, short)
    t_long, model = _time_run(params, long_)
    if long_ > short:
        per_year = max(0.0, (t_long - t_short) / (long_ - short))
        per_run = max(t_short, t_short + per_year * (years - short))
    else:
        per_run = t_long
    weekly = _weekly_bytes(model, long_, years) if spec.weekly else 0.0
    return Cost(runs=runs, seconds_per_run=per_run, workers=workers, run_bytes=_bytes_per_run(spec),
                weekly_bytes=weekly)
