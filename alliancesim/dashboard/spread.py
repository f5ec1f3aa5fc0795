"""Run the same clinic N times with different seeds, to show how much is chance.

One run is one story; the spread over seeds shows which differences between
presets are larger than luck.  Runs go one after another in a background
thread, so the page stays usable and the person can stop early.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

import solara

from ..params import Params
from ..runner import run_metrics


@dataclass(frozen=True)
class SpreadResult:
    """The outcome of "run N times": one metrics dict per seed, and what was run."""

    title: str
    params: Params
    seeds: tuple[int, ...]
    runs: list[dict] = field(default_factory=list)  # {"seed": s, **summary_metrics}
    stopped: bool = False


def spread_seeds(first_seed: int, n: int) -> tuple[int, ...]:
    """Seeds ``first_seed, first_seed + 1, ...``: the first run is the one on screen."""
    return tuple(first_seed + i for i in range(n))


def run_spread(params: Params, seeds: tuple[int, ...], title: str,
               progress: Callable[[int, int], None] | None = None,
               stop: Callable[[], bool] | None = None) -> SpreadResult:
    """Run ``params`` once per seed (in this thread); ``stop()`` ends early, keeping finished runs."""
    runs: list[dict] = []
    for i, seed in enumerate(seeds):
        if stop is not None and stop():
            return SpreadResult(title, params, seeds, runs, stopped=True)
        runs.append({"seed": seed, **run_metrics(params, seed)})
        if progress is not None:
            progress(i + 1, len(seeds))
    return SpreadResult(title, params, seeds, runs)


class SpreadRunner:
    """One browser session's "run N times": a background task, its progress and a stop button."""

    def __init__(self) -> None:
        self.done = solara.reactive(0)
        self.total = solara.reactive(0)
        self._stop = threading.Event()

        @solara.lab.task(prefer_threaded=True)
        def task(params: Params, seeds: tuple[int, ...], title: str) -> SpreadResult:
            def progress(done: int, total: int) -> None:
                self.done.set(done)

            return run_spread(params, seeds, title, progress,
                              stop=lambda: self._stop.is_set() or not task.is_current())

        self.task = task

    def start(self, params: Params, seeds: tuple[int, ...], title: str) -> None:
        self._stop.clear()
        self.done.set(0)
        self.total.set(len(seeds))
        self.task(params, seeds, title)

    def stop(self) -> None:
        """Finish the run in progress, then stop (a single run cannot be interrupted)."""
        self._stop.set()

    @property
    def result(self) -> SpreadResult | None:
        return self.task.latest if self.task.finished or self.task.pending else self.task.value
