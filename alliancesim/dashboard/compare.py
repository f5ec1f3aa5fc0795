"""Compare side by side: two setups (or the three handover policies) run with the same seed.

A class learns most from a contrast: a fixing against a holding-space therapist,
no handover against a file and an introduction.  The same seed means the same
clients arrive with the same histories, so what differs is the setup (as far as
chance allows: after the first different decision the two stories part, which is
why the page points to *Run N times* before a conclusion).

The runs happen in a background thread, one after another, without a page of
their own: only their weekly series and headline metrics are kept (from
:func:`alliancesim.metrics.weekly_columns` and :func:`~alliancesim.metrics.summary_metrics`,
the project's read layer), never the models.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import solara

from ..metrics import summary_metrics, weekly_columns
from ..model import AllianceModel
from ..params import Params

#: A preset's natural partner for a comparison (the other is picked first in the list).
PARTNERS = {
    "default": "holding_space", "fixing": "holding_space", "holding_space": "fixing",
    "retiring_none": "retiring_file_and_introduction", "retiring_file": "retiring_none",
    "retiring_file_and_introduction": "retiring_none", "countertransference": "self_aware",
    "self_aware": "countertransference", "loose_boundaries": "boundaried", "boundaried": "loose_boundaries",
    "fenced_off": "boundaried", "talk_laden": "talk_restricted", "talk_restricted": "talk_laden",
    "slow_to_trust": "default",
}
#: The handover policies, in the order a trainer tells them (the registry's choices).
POLICIES = ("none", "file", "file_and_introduction")


@dataclass(frozen=True)
class SetupRun:
    """One finished run of a setup: its weekly series and headline metrics (no model kept)."""

    label: str
    seed: int
    horizon: int
    weekly: dict[str, np.ndarray] = field(repr=False)
    metrics: dict[str, float] = field(repr=False)

    def handover_counts(self) -> dict[str, int]:
        """Clients on a leaving therapist's books, by what they did: stayed / moved / left."""
        n = self.metrics.get("handover_clients", 0.0)
        n = 0 if not np.isfinite(n) else int(n)
        shares = {"stayed_with_successor": "stayed_with_successor", "moved_to_colleague": "moved_to_colleague",
                  "left": "left_at_handover"}
        return {outcome: (int(round(n * self.metrics[m])) if n else 0) for outcome, m in shares.items()}


def run_setup(label: str, params: Params, seed: int) -> SetupRun:
    """Run ``params`` with ``seed`` to the end (in this thread) and keep what the pictures need."""
    model = AllianceModel(params, rng=seed)
    model.run()
    weekly = {name: np.asarray(values, dtype=float) for name, values in weekly_columns(model).items()}
    weekly["week"] = np.arange(1, len(weekly.get("sessions", ())) + 1, dtype=float)
    return SetupRun(label, seed, int(model.horizon), weekly, summary_metrics(model))


@dataclass(frozen=True)
class Comparison:
    """What was compared (``kind``: "setups" or "policies") and the finished runs, in order."""

    kind: str
    title: str
    runs: tuple[SetupRun, ...]


def run_comparison(kind: str, title: str, setups: list[tuple[str, Params]], seed: int) -> Comparison:
    return Comparison(kind, title, tuple(run_setup(label, params, seed) for label, params in setups))


class CompareRunner:
    """One browser session's comparison: a background task (the page stays usable while it runs)."""

    def __init__(self) -> None:
        @solara.lab.task(prefer_threaded=True)
        def task(kind: str, title: str, setups: list[tuple[str, Params]], seed: int) -> Comparison:
            return run_comparison(kind, title, setups, seed)

        self.task = task

    def start(self, kind: str, title: str, setups: list[tuple[str, Params]], seed: int) -> None:
        self.task(kind, title, setups, seed)

    def result(self, kind: str) -> Comparison | None:
        value = self.task.value if self.task.finished else None
        return value if value is not None and value.kind == kind else None


def policy_setups(params: Params) -> list[tuple[str, Params]]:
    """The same clinic under each handover policy."""
    return [(f"handover: {policy}", params.replace(handover_policy=policy)) for policy in POLICIES]
