"""The people in the clinic: therapists and their clients.

Agents hold who someone is and where they are; what happens between two
people in a session lives in :mod:`alliancesim.session`, and the pair's shared
history in :mod:`alliancesim.relationship`.

Each agent's numbers live in one row of the model's column tables
(:mod:`alliancesim.state`) so that a week's sessions can be computed together;
the attributes below read and write that row, so ``client.distress`` works as
in any Mesa model.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import mesa
import numpy as np

from . import session as S
from .session import NEEDS
from .state import Column

if TYPE_CHECKING:  # pragma: no cover
    from .relationship import Relationship

#: Topics clients bring to the table (column order of topic matrices).
TOPICS: tuple[str, ...] = (
    "family", "pets", "work", "grief", "relationships", "health", "money", "body image",
)
#: What each need profile tends to bring (weights over TOPICS), by need code.
TOPIC_WEIGHTS: tuple[tuple[float, ...], ...] = (
    (2, 2, 3, 0.5, 1, 3, 1, 1),  # physical
    (2, 1.5, 2, 1, 2, 2, 1, 1.5),  # physical with an emotional part
    (3, 1, 2.5, 2, 3, 1, 1.5, 1),  # overwhelmed by life
)
#: Typical starting distress (PHQ-9 points, mean and SD) and pain (0-10), by need code.
NEED_DISTRESS = ((5.0, 3.5), (10.0, 5.0), (16.0, 5.0))
NEED_PAIN = ((6.0, 1.5), (5.0, 1.5), (3.0, 1.5))

#: Fields of the therapist table: name -> (dtype, fill[, shape]).
THERAPIST_COLUMNS: dict[str, tuple] = {
    "manual_skill": (np.float64, np.nan),
    "warmth": (np.float64, np.nan),
    "boundary_firmness": (np.float64, np.nan),
    "self_awareness": (np.float64, np.nan),
    "talkativeness": (np.float64, np.nan),
    "fixing_stance": (np.float64, np.nan),
    "burnout": (np.float64, 0.0),
    "experience_years": (np.float64, 0.0),
    "load": (np.float64, 0.0),
    "weekly_capacity": (np.int64, 0),
    "site": (np.int64, 0),
    "start_week": (np.int64, 0),
    "left_week": (np.int64, -1),
    "leaving_week": (np.int64, -1),
    "retirement_week": (np.int64, -1),
    "sessions_this_week": (np.int64, 0),
    "stalled_this_week": (np.int64, 0),
    "sessions_given": (np.int64, 0),
    "accepting": (np.bool_, False),
    "triggers": (np.float64, 0.0, (len(TOPICS),)),
}

#: Fields of the client table: name -> (dtype, fill[, shape]).
CLIENT_COLUMNS: dict[str, tuple] = {
    "distress": (np.float64, np.nan),
    "pain": (np.float64, np.nan),
    "distress_baseline": (np.float64, np.nan),
    "pain_baseline": (np.float64, np.nan),
    "distress_floor": (np.float64, np.nan),
    "distress_start": (np.float64, np.nan),
    "pain_start": (np.float64, np.nan),
    "self_care": (np.float64, 0.0),
    "talk_preference": (np.float64, np.nan),
    "trust_propensity": (np.float64, np.nan),
    "cadence_weeks": (np.float64, np.nan),
    "travel_tolerance_km": (np.float64, np.nan),
    "responsiveness": (np.float64, 1.0),
    "home_x": (np.float64, 0.0),
    "home_y": (np.float64, 0.0),
    "updated_week": (np.int64, 0),
    "prior_negative": (np.int64, 0),
    "need": (np.int64, 0),
    "relationship": (np.int64, -1),
    "paused_until": (np.int64, -1),
    "sessions_total": (np.int64, 0),
    "arrived_week": (np.int64, 0),
    "left_week": (np.int64, -1),
    "in_scope": (np.bool_, True),
    "maintenance": (np.bool_, False),
    "goals_met": (np.bool_, False),
    "satisfied": (np.bool_, False),
    "topics": (np.float64, 0.0, (len(TOPICS),)),
}


def _topic_dict(row: np.ndarray) -> dict[str, float]:
    return {TOPICS[i]: float(v) for i, v in enumerate(row) if v > 0}


def _no_step_of_their_own(agent: mesa.Agent) -> None:
    """Agents have no step: the week is scheduled by the model (issue 13 hook)."""
    raise TypeError(f"{type(agent).__name__} agents have no step of their own: the clinic's week runs in "
                    "AllianceModel.step() (call model.step() or model.run()); model.agents and "
                    "model.agents_by_type are for reading and selecting agents")


class Therapist(mesa.Agent):
    """A massage therapist with a room at one of the clinic's sites.

    Traits (0-1 unless stated): ``manual_skill``; ``warmth`` (warmth and
    empathy); ``boundary_firmness`` (0 loose, 1 fenced off); ``self_awareness``;
    ``talkativeness`` (share of a session they fill with talk); ``fixing_stance``
    (0 holds space, 1 must fix); ``triggers`` (topic -> intensity: topics that
    touch their own history); ``weekly_capacity`` (sessions/week);
    ``experience_years``; ``site`` (index of the room's site).

    State: ``burnout`` (0-1); ``caseload`` (relationship id -> Relationship);
    ``sessions_given``; ``retirement_week``, ``leaving_week`` (set on notice),
    ``left_week``; ``successor`` (who takes the room).
    """

    manual_skill = Column()
    warmth = Column()
    boundary_firmness = Column()
    self_awareness = Column()
    talkativeness = Column()
    fixing_stance = Column()
    burnout = Column()
    experience_years = Column()
    weekly_capacity = Column(int)
    site = Column(int)
    start_week = Column(int)
    sessions_given = Column(int)
    sessions_this_week = Column(int)

    step = _no_step_of_their_own

    def __init__(self, model, idx: int, successor_of: str | None = None) -> None:
        super().__init__(model)
        self._table = model.T
        self.idx = idx
        self.label = f"T{idx + 1}"
        self.successor_of = successor_of
        self.successor: Therapist | None = None
        self.leave_reason: str | None = None
        self.caseload: dict[int, Relationship] = {}

    @staticmethod
    def _week_or_none(value: int) -> int | None:
        return None if value < 0 else int(value)

    @property
    def left_week(self) -> int | None:
        return self._week_or_none(self._table.data["left_week"][self.idx])

    @property
    def leaving_week(self) -> int | None:
        return self._week_or_none(self._table.data["leaving_week"][self.idx])

    @property
    def retirement_week(self) -> int | None:
        return self._week_or_none(self._table.data["retirement_week"][self.idx])

    @property
    def triggers(self) -> dict[str, float]:
        """Topics that touch this therapist's own history -> intensity (0-1)."""
        return _topic_dict(self._table.data["triggers"][self.idx])

    @property
    def on_notice(self) -> bool:
        """Has announced leaving and not yet left."""
        return self.leaving_week is not None and self.left_week is None

    @property
    def working(self) -> bool:
        """Started and not yet left."""
        return self.left_week is None and self.start_week <= self.model.week

    @property
    def holding(self) -> float:
        """Holding space: the opposite of a fixing stance."""
        return 1.0 - self.fixing_stance

    @property
    def clarity(self) -> float:
        """How clear this therapist's frame is (see :func:`session.boundary_clarity`)."""
        return S.boundary_clarity(self.boundary_firmness)

    def __repr__(self) -> str:
        return f"Therapist({self.label}, site={self.site}, clients={len(self.caseload)})"


class Client(mesa.Agent):
    """A client of the clinic.

    Traits: ``prior_negative`` (earlier poor massage experiences); ``trust_propensity``
    (0-1); ``need`` (physical / physical_emotional / overwhelmed); ``in_scope``
    (can massage meet the need?); ``talk_preference`` (share of a session they
    like to spend talking); ``topics`` (what they bring: topic -> weight);
    ``cadence_weeks`` (weeks between bookings); ``home`` (x, y in km);
    ``travel_tolerance_km``; ``responsiveness`` (how strongly massage relieves
    this client's distress and pain, 1 typical); ``pronoun``.

    State: ``distress`` (PHQ-9-like, 0-27 points), pulled back towards
    ``distress_baseline`` by life and down towards ``distress_floor`` by
    self-care; ``pain`` (0-10); ``self_care`` (0-1, internalised from
    relationships and kept for life); ``relationship`` (the current one, or
    None); ``maintenance``, ``goals_met``, ``paused_until``.  Distress and pain
    are brought up to date lazily (:meth:`now`), since self-care works every
    week but is only observed at sessions.
    """

    distress = Column()
    pain = Column()
    distress_baseline = Column()
    distress_floor = Column()
    distress_start = Column()
    pain_start = Column()
    self_care = Column()
    talk_preference = Column()
    trust_propensity = Column()
    cadence_weeks = Column()
    travel_tolerance_km = Column()
    responsiveness = Column()
    prior_negative = Column(int)
    sessions_total = Column(int)
    arrived_week = Column(int)
    in_scope = Column(bool)
    maintenance = Column(bool)
    goals_met = Column(bool)

    step = _no_step_of_their_own

    def __init__(self, model, idx: int, person: int, pronoun: str, referred_by: str | None = None) -> None:
        super().__init__(model)
        self._table = model.C
        self.idx = idx
        self.label = f"C{idx + 1}"
        self.person = person
        self.pronoun = pronoun
        self.referred_by = referred_by

    @property
    def need(self) -> str:
        return NEEDS[int(self._table.data["need"][self.idx])]

    @property
    def home(self) -> tuple[float, float]:
        row = self._table.data[self.idx]
        return float(row["home_x"]), float(row["home_y"])

    @property
    def topics(self) -> dict[str, float]:
        return _topic_dict(self._table.data["topics"][self.idx])

    @property
    def relationship(self) -> Relationship | None:
        r = int(self._table.data["relationship"][self.idx])
        return None if r < 0 else self.model.relationships[r]

    @property
    def paused_until(self) -> int | None:
        v = int(self._table.data["paused_until"][self.idx])
        return None if v < 0 else v

    @property
    def left_week(self) -> int | None:
        v = int(self._table.data["left_week"][self.idx])
        return None if v < 0 else v

    def now(self, week: int) -> tuple[float, float]:
        """Distress and pain as they stand in ``week`` (without changing state)."""
        c, p = self._table.data[self.idx], self.model.params
        weeks = week - int(c["updated_week"])
        care = float(c["self_care"])
        return (
            S.drift_between_sessions(float(c["distress"]), float(c["distress_baseline"]), float(c["distress_floor"]),
                                     care, weeks, p.self_care_rate, p.relapse_rate),
            S.drift_between_sessions(float(c["pain"]), float(c["pain_baseline"]), 0.0, care, weeks,
                                     p.self_care_rate, p.relapse_rate),
        )

    def __repr__(self) -> str:
        return f"Client({self.label}, need={self.need}, distress={self.distress:.1f})"
