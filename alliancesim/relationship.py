"""The therapeutic relationship: the unit the sources talk about.

One :class:`Relationship` exists per therapist-client pair.  It holds

* the **bond** (trust) and the other two parts of the working alliance, **goal**
  and **task** agreement (Bordin; the Working Alliance Inventory subscales), all
  on 0-1 scales, with :attr:`Relationship.alliance` their mean;
* the four **themes** of Clark (2019), which develop roughly in this order:
  *separateness* (boundaries, roles, power), *pleasure* (safety, comfort,
  communication), *merging* (contact, empathy) and *internalisation* (the client
  takes in the therapist's care and can care for themselves);
* the therapist's **knowledge** of the client (the file), which can be handed
  over so the client "need not explain their whole story all over again";
* the **rupture state machine** (:class:`RuptureState`, :data:`TRANSITIONS`,
  :class:`Rupture`)::

      intact -> ruptured -> noticed   -> therapist repair -> resolved -> intact
                         \\-> unnoticed -> client repair   -> unresolved
                                                              (carried to the next session)

  The session code (:func:`alliancesim.week.ruptures_and_repair`) walks episodes along
  these edges only (it checks each step against :data:`ALLOWED`) and records
  every state visited, so each episode's path can be read back and checked.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING

import numpy as np

from .schema import RELATIONSHIP, TOPICS
from .state import Column, check_columns

if TYPE_CHECKING:  # pragma: no cover
    from .agents import Client, Therapist

#: Bond a client needs before they feel they can trust the therapist.
TRUST_THRESHOLD = 0.6
#: A new alliance has recovered once it reaches this share of the old one.
RECOVERY_SHARE = 0.9


class RuptureState(str, Enum):
    """States of one rupture episode (``code`` is the integer the compiled kernel uses)."""

    INTACT = "intact"
    RUPTURED = "ruptured"
    NOTICED = "noticed"
    UNNOTICED = "unnoticed"
    THERAPIST_REPAIR = "therapist_repair"
    CLIENT_REPAIR = "client_repair"
    RESOLVED = "resolved"
    UNRESOLVED = "unresolved"

    @property
    def code(self) -> int:
        return _STATE_ORDER.index(self)


_STATE_ORDER = list(RuptureState)

#: Allowed transitions of the rupture state machine.
TRANSITIONS: dict[RuptureState, frozenset[RuptureState]] = {
    RuptureState.INTACT: frozenset({RuptureState.RUPTURED}),
    RuptureState.RUPTURED: frozenset({RuptureState.NOTICED, RuptureState.UNNOTICED}),
    RuptureState.NOTICED: frozenset({RuptureState.THERAPIST_REPAIR}),
    RuptureState.UNNOTICED: frozenset({RuptureState.CLIENT_REPAIR, RuptureState.UNRESOLVED}),
    RuptureState.THERAPIST_REPAIR: frozenset(
        {RuptureState.RESOLVED, RuptureState.CLIENT_REPAIR, RuptureState.UNRESOLVED}
    ),
    RuptureState.CLIENT_REPAIR: frozenset({RuptureState.RESOLVED, RuptureState.UNRESOLVED}),
    RuptureState.UNRESOLVED: frozenset({RuptureState.NOTICED, RuptureState.UNNOTICED}),
    RuptureState.RESOLVED: frozenset({RuptureState.INTACT}),
}

#: The same transitions as a matrix ``ALLOWED[from.code, to.code]``, for the compiled kernel.
ALLOWED = np.zeros((len(RuptureState), len(RuptureState)), dtype=np.bool_)
for _src, _dsts in TRANSITIONS.items():
    for _dst in _dsts:
        ALLOWED[_src.code, _dst.code] = True


class RuptureKind(str, Enum):
    """How a rupture shows (Safran & Muran)."""

    WITHDRAWAL = "withdrawal"  # going quiet, deferring, "yeah, didn't think about it like that"
    CONFRONTATION = "confrontation"  # complaint, irritation, pulling away from the touch


class RuptureCause(str, Enum):
    """Where a rupture came from (codes 1-3 in the kernel; 0 is no rupture)."""

    MISATTUNEMENT = "misattunement"  # pressure, pace, a missed cue, too much talk
    COUNTERTRANSFERENCE = "countertransference"  # the therapist's own history
    BOUNDARY = "boundary"  # a boundary incident


#: Rupture causes by kernel code.
CAUSES: tuple[RuptureCause | None, ...] = (None, *RuptureCause)
#: Who repaired a rupture, by kernel code.
REPAIRERS: tuple[str | None, ...] = (None, "therapist", "client")


class IllegalTransition(RuntimeError):
    """A rupture tried to move along an edge the state machine does not have."""


#: States kept in the packed path (3 bits each in an int64): the most recent ones.
PATH_CAPACITY = 21


def decode_path(path: int, length: int) -> list[RuptureState]:
    """The states a rupture went through, from the packed ``path`` (see :data:`alliancesim.schema.RUPTURE`).

    Episodes longer than :data:`PATH_CAPACITY` states keep their most recent
    ones (``length`` tells how many there were in all).
    """
    stored = min(length, PATH_CAPACITY)
    return [_STATE_ORDER[(path >> (3 * (stored - 1 - k))) & 7] for k in range(stored)]


def check_path(states: list[RuptureState]) -> None:
    """Raise :class:`IllegalTransition` unless every step of ``states`` is in :data:`TRANSITIONS`."""
    for a, b in zip(states, states[1:], strict=False):
        if b not in TRANSITIONS[a]:
            raise IllegalTransition(f"{a.value} -> {b.value}")


@dataclass(frozen=True, slots=True)
class Rupture:
    """One rupture episode, from the break to its resolution (or the end of the run)."""

    rupture_id: int
    relationship_id: int
    week: int
    session: int
    kind: RuptureKind
    cause: RuptureCause
    topic: str | None
    bond_before: float
    bond_at_rupture: float
    state: RuptureState
    path: tuple[RuptureState, ...]
    path_length: int
    noticed: bool
    attempts: int
    repaired_by: str | None
    resolved_week: int | None
    resolved_session: int | None
    bond_after: float | None

    @property
    def resolved(self) -> bool:
        return self.resolved_week is not None

    @property
    def path_truncated(self) -> bool:
        """True when the episode went through more states than :attr:`path` keeps."""
        return self.path_length > len(self.path)

    @classmethod
    def from_row(cls, i: int, row) -> Rupture:
        """The episode in row ``i`` of the rupture table."""
        def opt(v):
            return None if v < 0 else int(v)

        topic = int(row["topic"])
        bond_after = float(row["bond_after"])
        return cls(
            rupture_id=i + 1,
            relationship_id=int(row["relationship"]) + 1,
            week=int(row["week"]),
            session=int(row["session"]),
            kind=RuptureKind.CONFRONTATION if row["confrontation"] else RuptureKind.WITHDRAWAL,
            cause=CAUSES[int(row["cause"])],
            topic=TOPICS[topic] if topic >= 0 else None,
            bond_before=float(row["bond_before"]),
            bond_at_rupture=float(row["bond_at_rupture"]),
            state=_STATE_ORDER[int(row["state"])],
            path=tuple(decode_path(int(row["path"]), int(row["path_length"]))),
            path_length=int(row["path_length"]),
            noticed=bool(row["noticed"]),
            attempts=int(row["attempts"]),
            repaired_by=REPAIRERS[int(row["repaired_by"])],
            resolved_week=opt(row["resolved_week"]),
            resolved_session=opt(row["resolved_session"]),
            bond_after=None if bond_after != bond_after else bond_after,
        )


class RuptureLog:
    """The model's rupture episodes, read as :class:`Rupture` objects (``len``, index, iterate)."""

    def __init__(self, table) -> None:
        self._table = table

    def __len__(self) -> int:
        return self._table.n

    def __getitem__(self, i: int) -> Rupture:
        n = self._table.n
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError(i)
        return Rupture.from_row(i, self._table.data[i])

    def __iter__(self):
        for i in range(self._table.n):
            yield Rupture.from_row(i, self._table.data[i])


def _opt(v) -> int | None:
    v = int(v)
    return None if v < 0 else v


class Relationship:
    """One therapist-client pair across its sessions.

    Numbers live in a row of the model's relationship table (see
    :data:`alliancesim.schema.RELATIONSHIP`); this object names them.  All state variables
    are on 0-1 scales; ``alliance`` is the mean of bond, goal and task, as in
    the short Working Alliance Inventory.
    """

    __slots__ = ("_table", "idx", "client", "therapist", "end_reason", "predecessor", "handover_policy",
                 "handover_outcome", "referred_by", "_ruptures")

    bond = Column()
    goal = Column()
    task = Column()
    separateness = Column()
    pleasure = Column()
    merging = Column()
    internalisation = Column()
    knowledge = Column()
    need_fit = Column()
    trust_rate = Column()
    bond_start = Column()
    distress_start = Column()
    pain_start = Column()
    sessions = Column(int)
    start_week = Column(int)
    ruptures = Column(int)
    repairs = Column(int)
    repairs_by_therapist = Column(int)
    repairs_by_client = Column(int)
    enactments = Column(int)
    boundary_incidents = Column(int)
    introduced = Column(bool)
    introduced_to_successor = Column(bool)
    file_transferred = Column(bool)
    maintenance = Column(bool)

    def __init__(self, table, idx: int, client: Client, therapist: Therapist, ruptures: RuptureLog) -> None:
        self._table = table
        self._ruptures = ruptures
        self.idx = idx
        self.client = client
        self.therapist = therapist
        self.end_reason: str | None = None
        self.predecessor: Relationship | None = None
        self.handover_policy: str | None = None
        self.handover_outcome: str | None = None
        self.referred_by: str | None = None

    @property
    def open_rupture(self) -> Rupture | None:
        """The rupture episode still unresolved in this relationship, if any."""
        i = int(self._table.open_episode[self.idx])
        return None if i < 0 else self._ruptures[i]

    @property
    def rid(self) -> int:
        """Relationship id (1-based)."""
        return self.idx + 1

    @property
    def alliance(self) -> float:
        """Working alliance: mean of bond, goal and task agreement (0-1)."""
        row = self._table.data[self.idx]
        return float((row["bond"] + row["goal"] + row["task"]) / 3.0)

    @property
    def active(self) -> bool:
        return bool(self._table.active[self.idx])

    @property
    def end_week(self) -> int | None:
        return _opt(self._table.end_week[self.idx])

    @property
    def next_week(self) -> int | None:
        return _opt(self._table.next_week[self.idx])

    @property
    def sessions_to_trust(self) -> int | None:
        return _opt(self._table.sessions_to_trust[self.idx])

    @property
    def recovery_weeks(self) -> int | None:
        """For a relationship begun at a handover: weeks until the alliance reached 90 % of the old one."""
        return _opt(self._table.recovery_weeks[self.idx])

    @property
    def alliance_end(self) -> float | None:
        v = float(self._table.alliance_end[self.idx])
        return None if v != v else v

    @property
    def topics_known(self) -> dict[str, int]:
        """What the client has talked about with this therapist: topic -> times (the file's topics)."""
        row = self._table.topics_known[self.idx]
        return {TOPICS[k]: int(n) for k, n in enumerate(row) if n > 0}

    def themes(self) -> dict[str, float]:
        """The four themes of Clark (2019) as a dict."""
        return {
            "separateness": self.separateness,
            "pleasure": self.pleasure,
            "merging": self.merging,
            "internalisation": self.internalisation,
        }

    def __repr__(self) -> str:
        return (
            f"Relationship({self.therapist.label}-{self.client.label}, sessions={self.sessions}, "
            f"alliance={self.alliance:.2f}, bond={self.bond:.2f})"
        )


check_columns(Relationship, RELATIONSHIP)
