"""What the views need from a running model, gathered cheaply and kept between redraws.

A :class:`Digest` belongs to one model (see :func:`digest`).  It reads only the
public API (DataCollector, event log, relationships, therapists, tables) and
keeps what it has read, so a redraw after one more week costs one week's worth
of work: the weekly series come straight from the DataCollector's lists, the
event log is indexed as it grows, and the session table (the expensive one) is
rebuilt only when the pair on show has had a new session.
"""

from __future__ import annotations

import contextlib
import threading
import weakref
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..metrics import weekly_columns
from ..tables import session_table

#: Event kinds by the question a teacher asks of the log ("what happened to the relationships?").
EVENT_TOPICS: dict[str, frozenset[str]] = {
    "ruptures and repairs": frozenset({
        "countertransference", "boundary_incident", "rupture", "rupture_noticed", "rupture_missed",
        "repair", "repair_failed",
    }),
    "comings and goings": frozenset({
        "arrival", "turned_away", "first_session", "trust_reached", "goals_met", "maintenance",
        "finished", "completed", "maintenance_ended", "dropout", "referred_colleague", "referred_out",
        "word_of_mouth", "paused", "resumed", "setback", "moved_away", "kept_travelling",
    }),
    "retirement and handover": frozenset({
        "notice_given", "introduced", "file_transferred", "therapist_left", "successor_started",
        "stayed_with_successor", "moved_to_colleague", "left_at_handover", "alliance_recovered",
    }),
}

#: How a handover ended for a client (the relationship's ``handover_outcome``).
OUTCOMES = ("stayed_with_successor", "moved_to_colleague", "left")


def kind_name(event) -> str:
    kind = event.kind
    return getattr(kind, "value", str(kind))


def topic_of(event) -> str:
    name = kind_name(event)
    for topic, kinds in EVENT_TOPICS.items():
        if name in kinds:
            return topic
    return "other"


def model_lock(model):
    """The model's step lock (a DashboardClinic has one), or a no-op."""
    lock = getattr(model, "lock", None)
    return lock if lock is not None else contextlib.nullcontext()


@dataclass
class HandoverClient:
    """One client on the books of a therapist on their last day."""

    client: str
    outcome: str  # one of OUTCOMES
    new_therapist: str | None
    recovered_after: int | None  # weeks until the new alliance recovered, None: not (yet)
    weeks_since: int  # weeks the new relationship has run (or ran)


@dataclass
class Departure:
    """A therapist who left (or is leaving), with what became of their clients."""

    therapist: str
    site: int
    week: int | None  # last day; None while only on notice
    reason: str
    successor: str | None
    clients: list[HandoverClient] = field(default_factory=list)

    def count(self, outcome: str) -> int:
        return sum(1 for c in self.clients if c.outcome == outcome)

    def recovery_weeks(self) -> list[int]:
        return [c.recovered_after for c in self.clients if c.recovered_after is not None]


class Digest:
    """Cached, incrementally updated views of one model's state."""

    def __init__(self, model) -> None:
        self._model = weakref.ref(model)
        self._lock = threading.RLock()
        self._events: list = []
        self._by_client: dict[str, list] = {}
        self._events_through = -1  # last week whose events are indexed
        self._weekly_key: tuple | None = None
        self._weekly: dict[str, np.ndarray] = {}
        self._rel_count = -1
        self._rel_by_id: dict[int, object] = {}
        self._pair_rows: dict[int, pd.DataFrame] = {}
        self._departures_key: tuple | None = None
        self._departures: list[Departure] = []
        self._predecessors = np.zeros(0, dtype=np.int64)

    @property
    def model(self):
        model = self._model()
        if model is None:  # pragma: no cover - a digest never outlives the page that holds its model
            raise RuntimeError("the model of this digest is gone")
        return model

    # ------------------------------------------------------------------ weekly series
    def weekly(self) -> dict[str, np.ndarray]:
        """Weekly reporters as arrays (``week`` from 1), straight from the DataCollector."""
        model = self.model
        with self._lock, model_lock(model):
            columns = weekly_columns(model)  # not the run's headline metrics, collected at its end
            n = min((len(v) for v in columns.values()), default=0)
            key = (model.week, n)
            if key != self._weekly_key:
                series = {name: np.asarray(values[:n], dtype=float) for name, values in columns.items()}
                series["week"] = np.arange(1, n + 1, dtype=float)
                self._weekly, self._weekly_key = series, key
            return self._weekly

    def totals(self) -> dict[str, float]:
        """Running totals of the weekly counts (dropouts so far, ...)."""
        return {name: float(np.nansum(values)) for name, values in self.weekly().items() if name != "week"}

    # ------------------------------------------------------------------ events
    def _index_events(self) -> None:
        model = self.model
        if model.week <= self._events_through:
            return
        for event in model.events.since(self._events_through + 1):
            self._events.append(event)
            if event.client is not None:
                self._by_client.setdefault(event.client, []).append(event)
        self._events_through = model.week

    def events(self, topic: str | None = None, text: str = "", limit: int = 100) -> list:
        """Newest first: up to ``limit`` events on ``topic`` whose sentence mentions ``text``."""
        model = self.model
        with self._lock, model_lock(model):
            self._index_events()
            needle = text.strip().lower()
            found = []
            for event in reversed(self._events):
                if topic and topic_of(event) != topic:
                    continue
                if needle and not _mentions(event, needle):
                    continue
                found.append(event)
                if len(found) >= limit:
                    break
            return found

    def events_of_pair(self, client: str, therapist: str, start_week: int = 0,
                       end_week: int | None = None) -> list:
        """The events of one relationship (including the client's life events while in it), oldest first."""
        model = self.model
        with self._lock, model_lock(model):
            self._index_events()
            last = model.week if end_week is None else end_week
            return [e for e in self._by_client.get(client, ())
                    if e.therapist == therapist and start_week <= e.week <= last]

    # ------------------------------------------------------------------ relationships
    def relationship(self, rid: int):
        model = self.model
        with self._lock, model_lock(model):
            rels = model.relationships
            if len(rels) != self._rel_count:
                self._rel_by_id = {r.rid: r for r in rels}
                self._rel_count = len(rels)
            return self._rel_by_id.get(rid)

    def predecessor_rows(self) -> np.ndarray:
        """For each relationship row, the row of the relationship it continues (-1: none), shape (n,).

        A relationship gets its predecessor in the week it starts, so only new rows are read.
        """
        model = self.model
        with self._lock, model_lock(model):
            rels = model.relationships
            known = len(self._predecessors)
            if len(rels) != known:
                new = [(-1 if r.predecessor is None else r.predecessor.idx) for r in rels[known:]]
                self._predecessors = np.concatenate([self._predecessors, np.array(new, dtype=np.int64)])
            return self._predecessors

    def pair_choices(self, which: str = "now", limit: int = 300) -> list[tuple[int, str]]:
        """``(relationship id, label)`` for the inspector's picker, most eventful first.

        ``which``: ``"now"`` pairs still together, ``"handover"`` pairs that began at a
        handover (the successor's clients first, then clients who moved to a colleague
        when their therapist left, then referrals), ``"ended"`` pairs that have ended.
        """
        model = self.model
        with self._lock, model_lock(model):
            rels = list(model.relationships)
        if which == "now":
            rels = [r for r in rels if r.end_week is None]
        elif which == "ended":
            rels = [r for r in rels if r.end_week is not None]
        if which == "handover":
            # the story of a retirement first: clients who stayed with the successor, then those
            # who moved to a colleague when their therapist left, then referrals
            rels = [r for r in rels if r.predecessor is not None]
            rels.sort(key=lambda r: (_handover_rank(r), r.start_week, -r.sessions, r.rid))
        else:
            rels.sort(key=lambda r: (-int(r.ruptures > 0), -r.sessions, r.rid))
        return [(r.rid, pair_label(r)) for r in rels[:limit]]

    def sessions_of(self, rid: int) -> pd.DataFrame:
        """The session rows of one relationship (cached until it has a new session)."""
        r = self.relationship(rid)
        if r is None:
            return pd.DataFrame()
        model = self.model
        with self._lock, model_lock(model):
            cached = self._pair_rows.get(rid)
            if cached is not None and len(cached) == r.sessions:
                return cached
            rows = session_table(model, relationship_id=rid)
            self._pair_rows[rid] = rows
            return rows

    def last_day(self, therapist: str) -> int | None:
        """The last day a therapist announced when giving notice."""
        with self._lock, model_lock(self.model):
            for t in self.model.therapists_all:
                if t.label == therapist:
                    return t.leaving_week
            return None

    # ------------------------------------------------------------------ handovers
    def departures(self) -> list[Departure]:
        """Every therapist who has left or given notice, with their clients' outcomes."""
        model = self.model
        with self._lock, model_lock(model):
            key = (model.week, len(model.relationships))
            if key == self._departures_key:
                return self._departures
            self._index_events()
            leaving = [t for t in model.therapists_all if t.left_week is not None or t.on_notice]
            by_label = {t.label: Departure(t.label, t.site, t.left_week, t.leave_reason or "leaving",
                                           t.successor.label if t.successor is not None else None)
                        for t in leaving}
            continued: dict[int, object] = {}
            ended_at_handover = []
            for r in model.relationships:
                if r.end_reason == "therapist_left" and r.therapist.label in by_label:
                    ended_at_handover.append(r)
                old = r.predecessor
                if old is not None and old.end_reason == "therapist_left":
                    continued[old.rid] = r
            for r in ended_at_handover:
                new = continued.get(r.rid)
                outcome = r.handover_outcome or ("left" if new is None else "moved_to_colleague")
                new_label = new.therapist.label if new is not None else None
                recovered = new.recovery_weeks if new is not None else None
                weeks_since = 0
                if new is not None:
                    end = new.end_week if new.end_week is not None else model.week
                    weeks_since = int(end - new.start_week)
                by_label[r.therapist.label].clients.append(
                    HandoverClient(r.client.label, outcome, new_label, recovered, weeks_since))
            self._departures = sorted(by_label.values(), key=lambda d: (d.week is None, d.week or 0, d.therapist))
            self._departures_key = key
            return self._departures


def _handover_rank(r) -> int:
    old = r.predecessor
    if old.end_reason != "therapist_left":
        return 2
    return 0 if old.handover_outcome == "stayed_with_successor" else 1


def _mentions(event, needle: str) -> bool:
    for label in (event.client, event.therapist):
        if label is not None and label.lower() == needle:
            return True
    return needle in event.sentence().lower()


def pair_label(r) -> str:
    state = "together" if r.end_week is None else _ended_phrase(r.end_reason)
    ruptures = f", {r.ruptures} rupture{'s' if r.ruptures != 1 else ''}" if r.ruptures else ""
    return f"{r.client.label} with {r.therapist.label} · {r.sessions} sessions{ruptures} · {state}"


_ENDED = {
    "dropout": "dropped out", "finished": "finished", "completed": "completed the sessions planned", "maintenance_ended": "stopped maintenance",
    "referred_to_colleague": "referred to a colleague", "referred_out": "signposted elsewhere",
    "moved_away": "moved away", "therapist_left": "therapist left",
}


def _ended_phrase(reason: str | None) -> str:
    return _ENDED.get(reason or "", (reason or "ended").replace("_", " "))


_digests_lock = threading.Lock()
#: The attribute of a model that holds its digest.
DIGEST_ATTRIBUTE = "_alliancesim_digest"


def digest(model) -> Digest:
    """The digest of ``model`` (one per model, dropped with it).

    Kept on the model itself, not in a module-level weak dictionary: the digest holds
    relationships, which hold agents, which hold the model, so a weak-keyed entry would
    keep every model of every closed browser session alive.
    """
    found = getattr(model, DIGEST_ATTRIBUTE, None)
    if found is None:
        with _digests_lock:
            found = getattr(model, DIGEST_ATTRIBUTE, None)
            if found is None:
                found = Digest(model)
                setattr(model, DIGEST_ATTRIBUTE, found)
    return found


def rolling_mean(values: np.ndarray, weeks: int) -> np.ndarray:
    """Trailing mean over ``weeks`` (shorter at the start), NaN-tolerant."""
    if len(values) == 0:
        return values
    filled = np.nan_to_num(values, nan=0.0)
    counts = np.cumsum(~np.isnan(values))
    sums = np.cumsum(filled)
    out = np.empty_like(filled)
    lo = np.arange(len(values)) - weeks
    valid_lo = lo >= 0
    window_sum = sums - np.where(valid_lo, sums[np.clip(lo, 0, None)], 0.0)
    window_n = counts - np.where(valid_lo, counts[np.clip(lo, 0, None)], 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(window_n > 0, window_sum / np.maximum(window_n, 1), np.nan)
    return out
