"""The event log: typed events that read as plain sentences for a teacher.

Every notable thing that happens (a first session, a rupture and its repair, a
retirement and who followed the successor) is recorded as an :class:`Event`
with its week, kind, client, therapist and a small ``detail`` dict.  Events are
stored as plain tuples while the model runs (cheap) and rendered to sentences
only when asked::

    >>> log = EventLog()
    >>> log.add(14, EventKind.COUNTERTRANSFERENCE, "C17", "T2", topic="family", pronoun="she")
    >>> log.sentences()[0]
    "week 14: client C17's story about her brother touched therapist T2's own history"
"""

from __future__ import annotations

from collections.abc import Callable
from enum import Enum
from typing import Any, NamedTuple

import pandas as pd


class EventKind(str, Enum):
    """Kinds of event in the log."""

    ARRIVAL = "arrival"
    TURNED_AWAY = "turned_away"
    FIRST_SESSION = "first_session"
    TRUST_REACHED = "trust_reached"
    COUNTERTRANSFERENCE = "countertransference"
    BOUNDARY_INCIDENT = "boundary_incident"
    RUPTURE = "rupture"
    REPAIR = "repair"
    GOALS_MET = "goals_met"
    MAINTENANCE = "maintenance"
    FINISHED = "finished"
    COMPLETED = "completed"
    MAINTENANCE_ENDED = "maintenance_ended"
    DROPOUT = "dropout"
    REFERRED_COLLEAGUE = "referred_colleague"
    REFERRED_OUT = "referred_out"
    WORD_OF_MOUTH = "word_of_mouth"
    PAUSED = "paused"
    RESUMED = "resumed"
    SETBACK = "setback"
    MOVED_AWAY = "moved_away"
    KEPT_TRAVELLING = "kept_travelling"
    NOTICE_GIVEN = "notice_given"
    INTRODUCED = "introduced"
    FILE_TRANSFERRED = "file_transferred"
    THERAPIST_LEFT = "therapist_left"
    SUCCESSOR_STARTED = "successor_started"
    STAYED_WITH_SUCCESSOR = "stayed_with_successor"
    MOVED_TO_COLLEAGUE = "moved_to_colleague"
    LEFT_AT_HANDOVER = "left_at_handover"
    ALLIANCE_RECOVERED = "alliance_recovered"


class Event(NamedTuple):
    """One event: ``week``, ``kind``, ``client`` and ``therapist`` labels (or ``None``), ``detail``."""

    week: int
    kind: EventKind
    client: str | None
    therapist: str | None
    detail: dict[str, Any]

    def sentence(self) -> str:
        """This event as a plain sentence: ``"week 14: client C17 ..."``."""
        return f"week {self.week}: " + _TEMPLATES[self.kind](self)


_POSSESSIVE = {"she": "her", "he": "his", "they": "their"}
#: How a topic sounds in a sentence ("her brother", "his dog").
_TOPIC_PHRASE = {
    "family": "story about {p} brother",
    "pets": "story about {p} dog",
    "work": "story about {p} job",
    "grief": "grief for {p} father",
    "relationships": "story about {p} partner",
    "health": "worry about {p} health",
    "money": "worry about money",
    "body image": "unease about {p} body",
}
_SETBACK_PHRASE = {
    "grief": "lost someone close",
    "work": "lost {p} job",
    "family": "went through a family crisis",
    "health": "fell ill",
    "relationships": "went through a breakup",
    "money": "ran into money trouble",
}


def _p(e: Event) -> str:
    return _POSSESSIVE.get(e.detail.get("pronoun", "they"), "their")


def _topic(e: Event) -> str:
    return _TOPIC_PHRASE.get(e.detail.get("topic", ""), "story").format(p=_p(e))


def _c(e: Event) -> str:
    return f"client {e.client}"


def _t(e: Event) -> str:
    return f"therapist {e.therapist}"


def _outcome(e: Event) -> str:
    """What became of a rupture in the session it happened (detail ``outcome``)."""
    d = e.detail
    bonds = f" (bond {d.get('bond_before', 0):.2f} before, {d.get('bond_after', 0):.2f} after)"
    outcome = d.get("outcome")
    if outcome == "therapist":
        return f"{e.therapist} noticed, named it and repaired it" + bonds
    if outcome == "client":
        missed = "" if d.get("noticed") else f"{e.therapist} did not notice, but "
        return f"{missed}{e.client} repaired it by reaching back" + bonds
    if d.get("noticed"):
        return f"{e.therapist} noticed but could not repair it; it was left unresolved"
    return f"{e.therapist}'s hands were busy and it went unnoticed; it was left unresolved"


def _rupture(e: Event) -> str:
    d = e.detail
    cause = d.get("cause")
    how = "withdrew into silence" if d.get("kind") == "withdrawal" else "pushed back"
    if cause == "countertransference":
        start = f"{_c(e)}'s {_topic(e)} touched {_t(e)}'s own history; the alliance ruptured as {e.client} {how}"
    elif cause == "boundary":
        start = f"the boundary slip left {_c(e)} uneasy with {_t(e)}; {e.client} {how}"
    else:
        start = f"a small rupture: {_c(e)} {how} when {_t(e)} missed a cue"
    return f"{start}; {_outcome(e)}"


def _repair(e: Event) -> str:
    """A rupture left open in an earlier session is repaired."""
    d = e.detail
    bonds = f"(bond {d.get('bond_before', 0):.2f} before the rupture, {d.get('bond_after', 0):.2f} after)"
    if d.get("by") == "client":
        return f"{_c(e)} came back to the unresolved rupture with {_t(e)} and repaired it {bonds}"
    return f"{_t(e)} returned to the unresolved rupture with {_c(e)} and repaired it {bonds}"


_TEMPLATES = {
    EventKind.ARRIVAL: lambda e: f"{_c(e)} booked a first appointment with {_t(e)}"
    + (f" on {e.detail['referrer']}'s recommendation" if e.detail.get("referrer") else ""),
    EventKind.TURNED_AWAY: lambda e: f"{_c(e)} found no therapist with room near enough and went elsewhere",
    EventKind.FIRST_SESSION: lambda e: f"{_c(e)} had a first session with {_t(e)}",
    EventKind.TRUST_REACHED: lambda e: f"{_c(e)} came to trust {_t(e)} after {e.detail.get('sessions')} sessions",
    EventKind.COUNTERTRANSFERENCE: lambda e: f"{_c(e)}'s {_topic(e)} touched {_t(e)}'s own history; "
    f"{e.therapist}'s empathy faltered and the touch grew heavier, but the connection held",
    EventKind.BOUNDARY_INCIDENT: lambda e: f"{_t(e)} let the professional boundary with {_c(e)} slip",
    EventKind.RUPTURE: _rupture,
    EventKind.REPAIR: _repair,
    EventKind.GOALS_MET: lambda e: f"{_c(e)} reached {_p(e)} goals with {_t(e)}",
    EventKind.MAINTENANCE: lambda e: f"{_c(e)} stayed on with {_t(e)} for regular maintenance sessions",
    EventKind.FINISHED: lambda e: f"{_c(e)} finished treatment with {_t(e)} after {e.detail.get('sessions')} sessions",
    EventKind.COMPLETED: lambda e: f"{_c(e)} came for the {e.detail.get('sessions')} sessions "
    f"{e.detail.get('pronoun', 'they')} meant to, with {_t(e)}, and stopped",
    EventKind.MAINTENANCE_ENDED: lambda e: f"{_c(e)} stopped {_p(e)} maintenance sessions with {_t(e)} "
    f"after {e.detail.get('sessions')} sessions",
    EventKind.DROPOUT: lambda e: f"{_c(e)} did not come back to {_t(e)} after session {e.detail.get('sessions')}",
    EventKind.REFERRED_COLLEAGUE: lambda e: f"{_t(e)} felt {e.detail.get('to')} would suit {_c(e)} better and referred {_o(e)} on",
    EventKind.REFERRED_OUT: lambda e: f"{_t(e)} signposted {_c(e)} to {e.detail.get('to', 'another practitioner')}",
    EventKind.WORD_OF_MOUTH: lambda e: f"{_c(e)} told a {e.detail.get('tie', 'friend')} about {_t(e)}",
    EventKind.PAUSED: lambda e: f"{_c(e)} paused sessions for {e.detail.get('weeks')} weeks",
    EventKind.RESUMED: lambda e: f"{_c(e)} came back after a pause",
    EventKind.SETBACK: lambda e: f"{_c(e)} " + _SETBACK_PHRASE.get(e.detail.get("topic", ""), "had a hard time").format(p=_p(e))
    + f"; distress rose by {e.detail.get('rise', 0):.0f} points",
    EventKind.MOVED_AWAY: lambda e: f"{_c(e)} moved {e.detail.get('km', 0):.0f} km from {_t(e)}'s room and stopped coming",
    EventKind.KEPT_TRAVELLING: lambda e: f"{_c(e)} moved {e.detail.get('km', 0):.0f} km away but kept travelling "
    f"to {_t(e)} because of their relationship",
    EventKind.NOTICE_GIVEN: lambda e: f"{_t(e)} announced {e.detail.get('reason', 'retirement')}; last day in week "
    f"{e.detail.get('last_week')}",
    EventKind.INTRODUCED: lambda e: f"{_t(e)} introduced {_c(e)} to {e.detail.get('successor')}, who will take over the room",
    EventKind.FILE_TRANSFERRED: lambda e: f"{_t(e)} passed {_c(e)}'s file to {e.detail.get('successor')}",
    EventKind.THERAPIST_LEFT: lambda e: f"{_t(e)} left the clinic ({e.detail.get('reason', 'retired')})",
    EventKind.SUCCESSOR_STARTED: lambda e: f"{_t(e)} moved into {e.detail.get('predecessor')}'s room",
    EventKind.STAYED_WITH_SUCCESSOR: lambda e: f"{_c(e)} stayed on with {_t(e)}, the successor in the same room",
    EventKind.MOVED_TO_COLLEAGUE: lambda e: f"{_c(e)} moved to {_t(e)}, nearer home",
    EventKind.LEFT_AT_HANDOVER: lambda e: f"{_c(e)} stopped coming when {_t(e)} left",
    EventKind.ALLIANCE_RECOVERED: lambda e: f"{_c(e)}'s alliance with {_t(e)} recovered "
    f"{e.detail.get('weeks')} weeks after the handover",
}


def _o(e: Event) -> str:
    return {"she": "her", "he": "him"}.get(e.detail.get("pronoun", "they"), "them")


assert set(_TEMPLATES) == set(EventKind)


#: Event kinds by the small number a row keeps while the model runs (see EventLog).
_KINDS: tuple[EventKind, ...] = tuple(EventKind)
_CODE: dict[EventKind, int] = {kind: code for code, kind in enumerate(_KINDS)}


class EventLog:
    """Append-only log of events; cheap to add to, rendered on demand.

    Rows are kept as plain tuples while the model runs and handed out as
    :class:`Event` objects.  Until the log is read, a row holds its kind as a
    small number and its detail as a tuple of ``(name, value)`` pairs, not an
    :class:`EventKind` and a dict: a tuple of plain numbers and strings drops out
    of Python's cyclic garbage collector, so a long run's tens of thousands of
    events cost its full collections nothing.  A batch of events can also be added *deferred*
    (:meth:`defer`): a function that makes its rows is kept in the batch's place
    and called only when the log is first read, so a run nobody reads the log
    of never spends time on it.
    """

    __slots__ = ("_rows", "_new", "_deferred")

    def __init__(self) -> None:
        self._rows: list[tuple] = []  # rows read so far, as Event fields
        self._new: list[tuple] = []  # rows added since: the kind as its number, the detail as pairs
        self._deferred: list[tuple[int, Callable[[], list[tuple]]]] = []  # (position in _new, make)

    def add(self, week: int, kind: EventKind, client: str | None, therapist: str | None, /, **detail: Any) -> None:
        """Add one event (``detail``: plain values, numbers and strings)."""
        self._new.append((week, _CODE[kind], client, therapist, tuple(detail.items())))

    def defer(self, make: Callable[[], list[tuple]]) -> None:
        """Add the rows ``make()`` returns (``(week, kind, client, therapist, detail)`` tuples) here, in order,
        when the log is next read.  ``make`` must give the same rows whenever it is called."""
        self._deferred.append((len(self._new), make))

    @property
    def rows(self) -> list[tuple]:
        """Every row as ``(week, kind, client, therapist, detail)``, deferred ones made and put in their place."""
        if self._new or self._deferred:
            rows, new, at = self._rows, self._new, 0
            for position, make in self._deferred:
                rows.extend((w, _KINDS[k], c, t, dict(d)) for w, k, c, t, d in new[at:position])
                rows.extend(make())
                at = position
            rows.extend((w, _KINDS[k], c, t, dict(d)) for w, k, c, t, d in new[at:])
            self._new, self._deferred = [], []
        return self._rows

    def __getstate__(self):
        return self.rows

    def __setstate__(self, rows) -> None:
        self._rows, self._new, self._deferred = rows, [], []

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self):
        return map(Event._make, self.rows)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [Event._make(r) for r in self.rows[i]]
        return Event._make(self.rows[i])

    def since(self, week: int) -> list[Event]:
        """Events from ``week`` on (the log is in time order)."""
        rows = self.rows
        lo, hi = 0, len(rows)
        while lo < hi:
            mid = (lo + hi) // 2
            if rows[mid][0] < week:
                lo = mid + 1
            else:
                hi = mid
        return [Event._make(r) for r in rows[lo:]]

    def sentences(self, newest_first: bool = False, limit: int | None = None) -> list[str]:
        rows = reversed(self.rows) if newest_first else iter(self.rows)
        out = []
        for r in rows:
            out.append(Event._make(r).sentence())
            if limit is not None and len(out) >= limit:
                break
        return out

    def to_frame(self) -> pd.DataFrame:
        """The log as a table: week, kind, client, therapist, detail (JSON text), sentence."""
        import json

        rows = self.rows
        return pd.DataFrame(
            {
                "week": pd.array([r[0] for r in rows], dtype="int64"),
                "kind": [r[1].value for r in rows],
                "client": [r[2] for r in rows],
                "therapist": [r[3] for r in rows],
                "detail": [json.dumps(r[4], sort_keys=True, default=_json_default) for r in rows],
                "sentence": [Event._make(r).sentence() for r in rows],
            }
        )


def _json_default(x: Any) -> Any:
    if hasattr(x, "value"):
        return x.value
    if isinstance(x, float):
        return round(x, 6)
    return str(x)
