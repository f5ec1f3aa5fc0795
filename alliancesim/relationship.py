"""The therapeutic relationship: the unit the sources talk about.

One :class:`Relationship` exists per therapist-client pair.  It holds

* the **bond** (trust) and the other two parts of the working alliance, **goal**
  and **task** agreement (Bordin; the Working Alliance Inventory subscales), all
  on 0-1 scales, with :attr:`Relationship.alliance` their mean;
* the four **themes** of Clark (2019), which develop roughly in this order:
  *separateness* (boundaries, roles, power), *pleasure* (safety, comfort,
  communication), *merging* (contact, empathy) and *internalisation* (the client
  takes in the therapist's care and can care for themselves);
* a :class:`ClientFile`: what the therapist knows of the client, which can be
  handed over so the client "need not explain their whole story all over again";
* the **rupture state machine** (:class:`RuptureState`, :class:`Rupture`)::

      intact -> ruptured -> noticed   -> therapist repair -> resolved -> intact
                         \\-> unnoticed -> client repair   -> unresolved
                                                              (carried to the next session)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from .agents import Client, Therapist

#: Bond a client needs before they feel they can trust the therapist.
TRUST_THRESHOLD = 0.6
#: A new alliance has recovered once it reaches this share of the old one.
RECOVERY_SHARE = 0.9


class RuptureState(str, Enum):
    """States of one rupture episode."""

    INTACT = "intact"
    RUPTURED = "ruptured"
    NOTICED = "noticed"
    UNNOTICED = "unnoticed"
    THERAPIST_REPAIR = "therapist_repair"
    CLIENT_REPAIR = "client_repair"
    RESOLVED = "resolved"
    UNRESOLVED = "unresolved"


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


class RuptureKind(str, Enum):
    """How a rupture shows (Safran & Muran)."""

    WITHDRAWAL = "withdrawal"  # going quiet, deferring, "yeah, didn't think about it like that"
    CONFRONTATION = "confrontation"  # complaint, irritation, pulling away from the touch


class RuptureCause(str, Enum):
    """Where a rupture came from."""

    MISATTUNEMENT = "misattunement"  # pressure, pace, a missed cue, too much talk
    COUNTERTRANSFERENCE = "countertransference"  # the therapist's own history
    BOUNDARY = "boundary"  # a boundary incident


class IllegalTransition(RuntimeError):
    """A rupture tried to move along an edge the state machine does not have."""


@dataclass(slots=True)
class Rupture:
    """One rupture episode, from the break to its resolution (or the end)."""

    rupture_id: int
    relationship_id: int
    week: int
    session: int
    kind: RuptureKind
    cause: RuptureCause
    topic: str | None
    bond_before: float
    bond_at_rupture: float
    state: RuptureState = RuptureState.RUPTURED
    path: list[str] = field(default_factory=lambda: ["ruptured"])
    noticed: bool = False
    repaired_by: str | None = None
    resolved_week: int | None = None
    resolved_session: int | None = None
    bond_after: float | None = None
    sessions_open: int = 0

    def advance(self, to: RuptureState) -> None:
        """Move to state ``to``; raises :class:`IllegalTransition` for an edge not in TRANSITIONS."""
        if to not in TRANSITIONS[self.state]:
            raise IllegalTransition(f"rupture {self.rupture_id}: {self.state.value} -> {to.value}")
        self.state = to
        self.path.append(to.value)
        if to is RuptureState.NOTICED:
            self.noticed = True

    @property
    def resolved(self) -> bool:
        return self.resolved_week is not None


@dataclass(slots=True)
class ClientFile:
    """What a therapist knows of a client: history, sore areas, topics, preferences.

    ``knowledge`` (0-1) summarises how much of the client's story the therapist
    holds; ``topics`` records what the client has talked about, in the order it
    came up; ``knows_talk_preference`` whether the therapist has learned how
    much the client likes to talk.
    """

    knowledge: float = 0.0
    sore_areas_known: float = 0.0
    topics: dict[str, int] = field(default_factory=dict)
    knows_talk_preference: bool = False
    sessions_recorded: int = 0

    def transferred(self, carry: float) -> ClientFile:
        """A copy for a successor: ``carry`` of what was known, the topics and preferences."""
        return ClientFile(
            knowledge=self.knowledge * carry,
            sore_areas_known=self.sore_areas_known * carry,
            topics=dict(self.topics),
            knows_talk_preference=self.knows_talk_preference,
            sessions_recorded=self.sessions_recorded,
        )


class Relationship:
    """State of one therapist-client pair across its sessions.

    All state variables are on 0-1 scales.  ``alliance`` is the mean of bond,
    goal and task, as in the short Working Alliance Inventory.
    """

    __slots__ = (
        "rid", "client", "therapist", "start_week", "end_week", "end_reason",
        "bond", "goal", "task", "separateness", "pleasure", "merging", "internalisation",
        "file", "open_rupture", "need_fit", "trust_rate", "sessions", "last_week",
        "ruptures", "repairs", "repairs_by_therapist", "repairs_by_client", "enactments",
        "boundary_incidents", "unresolved_at_end", "sessions_to_trust",
        "alliance_start", "bond_start", "distress_start", "pain_start",
        "alliance_end", "distress_end", "pain_end",
        "predecessor", "handover_policy", "introduced", "file_transferred",
        "recovery_target", "recovered_week", "recovered_sessions", "handover_outcome",
        "maintenance", "introduced_to_successor", "referred_by",
    )

    def __init__(self, rid: int, client: Client, therapist: Therapist, week: int, bond: float,
                 need_fit: float, trust_rate: float) -> None:
        self.rid = rid
        self.client = client
        self.therapist = therapist
        self.start_week = week
        self.end_week: int | None = None
        self.end_reason: str | None = None
        self.bond = bond
        self.goal = 0.0
        self.task = 0.0
        self.separateness = 0.0
        self.pleasure = 0.0
        self.merging = 0.0
        self.internalisation = client.self_care
        self.file = ClientFile()
        self.open_rupture: Rupture | None = None
        self.need_fit = need_fit
        self.trust_rate = trust_rate
        self.sessions = 0
        self.last_week = week
        self.ruptures = 0
        self.repairs = 0
        self.repairs_by_therapist = 0
        self.repairs_by_client = 0
        self.enactments = 0
        self.boundary_incidents = 0
        self.unresolved_at_end = False
        self.sessions_to_trust: int | None = 0 if bond >= TRUST_THRESHOLD else None
        self.alliance_start: float | None = None
        self.bond_start = bond
        self.distress_start = client.distress
        self.pain_start = client.pain
        self.alliance_end: float | None = None
        self.distress_end: float | None = None
        self.pain_end: float | None = None
        self.predecessor: Relationship | None = None
        self.handover_policy: str | None = None
        self.introduced = False
        self.file_transferred = False
        self.recovery_target: float | None = None
        self.recovered_week: int | None = None
        self.recovered_sessions: int | None = None
        self.handover_outcome: str | None = None
        self.maintenance = False
        self.introduced_to_successor = False
        self.referred_by: str | None = None

    @property
    def alliance(self) -> float:
        """Working alliance: mean of bond, goal and task agreement (0-1)."""
        return (self.bond + self.goal + self.task) / 3.0

    @property
    def active(self) -> bool:
        return self.end_week is None

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
