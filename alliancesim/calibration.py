"""Calibration: the default clinic against published figures.

:data:`TARGETS` lists each figure from ``shared/domain.md`` with its source,
the metric that measures it in the model (see :mod:`alliancesim.metrics`) and
the band the defaults should land in.  :func:`calibrate` runs the default
preset over several seeds and returns one row per target: model mean, spread
over seeds, target, band, source, and whether it is inside the band.

Talk-restricted vs talk-laden massage (Moyer 2007) is compared the way the
dissertation did: the same clinic with talk-restricted therapists
(``talk_restricted`` preset) and with talk-laden ones (``talk_laden``), with
the same seeds, as the fall in distress over the first six sessions.

Re-run with ``alliancesim calibrate [--seeds N] [--years Y] [--out FILE.csv]``.
The procedure that set the defaults is written up in ``docs/calibration.md``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .runner import simulate


@dataclass(frozen=True)
class Target:
    """A published figure the default clinic should land near."""

    metric: str
    target: float
    low: float
    high: float
    source: str
    meaning: str


#: What the defaults are calibrated against (bands are the tolerance we accept).
TARGETS: tuple[Target, ...] = (
    Target("dropout_share", 0.20, 0.15, 0.25, "Swift & Greenberg 2012 (669 studies)",
           "premature termination, share of clients"),
    Target("early_dropout_share", 0.40, 0.33, 0.65, "Simon et al. 2012",
           "share of dropouts who never return after session 1 or 2 (front-loaded)"),
    Target("improved_by_8", 0.50, 0.40, 0.65, "Howard et al. 1986",
           "clients improved by session 8"),
    Target("improved_by_26", 0.75, 0.65, 0.88, "Howard et al. 1986",
           "clients improved by session 26"),
    Target("depression_smd_course", 0.70, 0.55, 0.85, "Hou et al. 2010",
           "standardised fall in depression over a course of massage"),
    Target("depression_smd_single", 0.0, -0.1, 0.2, "Moyer, Rounds & Hannum 2004",
           "a single session does not reduce depression"),
    Target("rupture_share", 0.30, 0.19, 0.42, "Eubanks, Muran & Safran 2018",
           "share of sessions with a rupture"),
    Target("talk_restricted_advantage", 0.10, 0.0, 0.5, "Moyer 2007 (dissertation)",
           "extra fall in distress with talk-restricted vs talk-laden massage (SD units)"),
)


def _run(args: tuple[str, int, float | None]) -> dict[str, float]:
    """One run's metrics (module-level so it can go to a worker process)."""
    from .metrics import summary_metrics

    preset, seed, years = args
    return summary_metrics(simulate(preset, seed=seed, years=years))


def _talk_fall(args: tuple[str, int, float | None]) -> tuple[float, float, int, float]:
    """Over relationships with six sessions: sum of distress falls, sum of squared starts, count, sum of starts."""
    from .tables import session_table

    preset, seed, years = args
    ses = session_table(simulate(preset, seed=seed, years=years))
    first = ses[ses["session"] == 1].set_index("relationship_id")["distress_before"]
    sixth = ses[ses["session"] == 6].set_index("relationship_id")["distress_after"]
    both = pd.concat([first, sixth], axis=1, join="inner")
    fall = (both.iloc[:, 0] - both.iloc[:, 1]).to_numpy()
    return float(fall.sum()), float((both.iloc[:, 0] ** 2).sum()), int(len(fall)), float(both.iloc[:, 0].sum())


def talk_restricted_advantage(seeds: Sequence[int], years: float | None = None,
                              map_: Callable = map) -> float:
    """Extra fall in distress over six sessions with talk-restricted vs talk-laden therapists, in SD units."""
    quiet = list(map_(_talk_fall, [("talk_restricted", s, years) for s in seeds]))
    laden = list(map_(_talk_fall, [("talk_laden", s, years) for s in seeds]))

    def pooled(rows):
        total, sq, n, start = (sum(x[i] for x in rows) for i in range(4))
        return total / n, sq, n, start

    mq, sq_q, nq, st_q = pooled(quiet)
    ml, sq_l, nl, st_l = pooled(laden)
    n = nq + nl
    mean_start = (st_q + st_l) / n
    sd = float(np.sqrt((sq_q + sq_l) / n - mean_start ** 2))
    return (mq - ml) / sd


def calibrate(seeds: Sequence[int] = (1, 2, 3, 4, 5), years: float | None = None,
              workers: int = 1) -> pd.DataFrame:
    """Run the default clinic over ``seeds`` and compare with :data:`TARGETS`.

    Returns one row per target: ``metric, model, model_sd, target, low, high,
    within, source, meaning``.  ``workers > 1`` spreads the runs over processes
    (results do not depend on it).
    """
    # Fresh worker processes (not forks of a process that may run threads, e.g. a test runner or the dashboard).
    pool = ProcessPoolExecutor(workers, mp_context=get_context("spawn")) if workers > 1 else None
    map_ = pool.map if pool is not None else map
    try:
        runs = pd.DataFrame(list(map_(_run, [("default", s, years) for s in seeds])))
        talk = talk_restricted_advantage(seeds, years, map_)
    finally:
        if pool is not None:
            pool.shutdown()
    rows = []
    for t in TARGETS:
        if t.metric == "talk_restricted_advantage":
            value, spread = talk, float("nan")
        else:
            value, spread = float(runs[t.metric].mean()), float(runs[t.metric].std(ddof=1))
        rows.append({
            "metric": t.metric, "model": value, "model_sd": spread, "target": t.target,
            "low": t.low, "high": t.high, "within": bool(t.low <= value <= t.high),
            "source": t.source, "meaning": t.meaning,
        })
    return pd.DataFrame(rows)


def markdown(table: pd.DataFrame) -> str:
    """The calibration table as Markdown (model value, target and source)."""
    lines = ["| figure | model | target (band) | source |", "|---|---|---|---|"]
    for r in table.itertuples():
        sd = "" if r.model_sd != r.model_sd else f" ± {r.model_sd:.2f}"
        mark = "" if r.within else " (outside band)"
        lines.append(f"| {r.meaning} | {r.model:.2f}{sd}{mark} | {r.target:.2f} ({r.low:.2f}–{r.high:.2f}) "
                     f"| {r.source} |")
    return "\n".join(lines) + "\n"
