"""The people in the clinic: therapists and their clients, with what they do.

Agents carry who someone is and the things that happen to a person: a client
moves house, has a setback, pauses and comes back; a therapist gives notice
and leaves.  What happens between two people in a session lives in
:mod:`alliancesim.session` and :mod:`alliancesim.week`, and the pair's shared
history in :mod:`alliancesim.relationship`.

Each agent's numbers live in one row of the model's tables (declared in
:mod:`alliancesim.schema`) so that a week's sessions can be computed together;
the attributes below read and write that row, so ``client.distress`` works as
in any Mesa model.

The model runs the week as one schedule (:meth:`AllianceModel.step`), because
sessions pair two agents and their order matters; an agent's ``step`` is
therefore not a thing to call on its own, and calling it says so.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import mesa
import numpy as np

from . import session as S
from .events import EventKind as K
from .schema import CLIENT, THERAPIST, TOPICS
from .session import NEEDS
from .state import Column, check_columns

if TYPE_CHECKING:  # pragma: no cover
    from .relationship import Relationship

#: What each need profile tends to bring (weights over TOPICS), by need code.
TOPIC_WEIGHTS: tuple[tuple[float, ...], ...] = (
    (2, 2, 3, 0.5, 1, 3, 1, 1),  # physical
    (2, 1.5, 2, 1, 2, 2, 1, 1.5),  # physical with an emotional part
    (3, 1, 2.5, 2, 3, 1, 1.5, 1),  # overwhelmed by life
    (2, 2, 3, 0.5, 1.5, 1.5, 1, 1),  # occasional visitor
)
#: Typical starting distress (PHQ-9 points, mean and SD) and pain (0-10), by need code.
NEED_DISTRESS = ((5.0, 3.5), (10.0, 5.0), (16.0, 5.0), (4.0, 3.0))
NEED_PAIN = ((6.0, 1.5), (5.0, 1.5), (3.0, 1.5), (3.0, 1.5))

#: Weeks in a year: a yearly rate r is a weekly chance r / WEEKS_PER_YEAR.
WEEKS_PER_YEAR = 52


#: What life may bring a client on the books in any week: the :class:`Client` method that lives it,
#: and the random stream that decides whom it befalls (weekly chances: :func:`life_chances`).
LIFE_EVENTS: tuple[tuple[str, str], ...] = (("move_house", "life_move"), ("setback", "life_setback"),
                                            ("pause", "life_pause"))


def life_chances(p) -> np.ndarray:
    """Each client's weekly chance of each of :data:`LIFE_EVENTS`: the registered yearly rate / 52.

    The chances are independent from week to week, so the weeks between, say,
    two moves are geometric.  Shape ``(len(LIFE_EVENTS),)``.
    """
    return np.array((p.move_rate, p.setback_rate, p.pause_rate)) / WEEKS_PER_YEAR


#: A pause lasts between these many weeks (holiday, money, illness).
PAUSE_WEEKS = (4, 16)
#: A setback raises distress by between these many PHQ-9 points; this share of the rise stays.
SETBACK_RISE, SETBACK_LASTING = (2.0, 7.0), 0.5
#: A setback brings one of these topics to the table, with this much weight.
SETBACK_TOPICS = ("grief", "work", "family", "health", "relationships", "money")
SETBACK_TOPIC_WEIGHT = 2.0
#: A client who moves lands anywhere within this many town radii of the centre.
MOVE_RADIUS = 1.5
#: A client who moved keeps coming while distance <= tolerance * (1 + KEEP_TRAVELLING_BOND * bond).
KEEP_TRAVELLING_BOND = 2.0


class _OwnSchedule:
    """Mesa's agent verbs that do not apply: the model runs the week as one schedule."""

    def step(self) -> None:
        raise TypeError(
            f"{type(self).__name__}.step() is not how alliancesim runs: sessions pair a therapist and a client, "
            "so the week is one schedule; call model.step() (or model.run()) instead"
        )


def _topic_dict(row) -> dict[str, float]:
    return {TOPICS[i]: float(v) for i, v in enumerate(row) if v > 0}


def _week_or_none(value) -> int | None:
    return None if value < 0 else int(value)


class Therapist(_OwnSchedule, mesa.Agent):
    """A massage therapist with a room at one of the clinic's sites.

    Traits (0-1 unless stated): ``manual_skill``; ``warmth`` (warmth and
    empathy); ``boundary_firmness`` (0 loose, 1 fenced off); ``self_awareness``;
    ``talkativeness`` (share of a session they fill with talk); ``fixing_stance``
    (0 holds space, 1 must fix); ``triggers`` (topic -> intensity: topics that
    touch their own history); ``weekly_capacity`` (sessions/week);
    ``experience_years``; ``site`` (index of the room's site).

    State: ``burnout`` (0-1); ``caseload`` (relationship id -> Relationship);
    ``retirement_week``, ``leaving_week`` (set on notice), ``left_week``;
    ``successor`` (who takes the room).
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
    sessions_this_week = Column(int)

    def __init__(self, model, idx: int, successor_of: str | None = None) -> None:
        super().__init__(model)
        self._table = model.T
        self.idx = idx
        self.label = f"T{idx + 1}"
        self.successor_of = successor_of
        self.successor: Therapist | None = None
        self.leave_reason: str | None = None
        self.caseload: dict[int, Relationship] = {}

    @property
    def left_week(self) -> int | None:
        return _week_or_none(self._table.left_week[self.idx])

    @property
    def leaving_week(self) -> int | None:
        return _week_or_none(self._table.leaving_week[self.idx])

    @property
    def retirement_week(self) -> int | None:
        return _week_or_none(self._table.retirement_week[self.idx])

    @property
    def triggers(self) -> dict[str, float]:
        """Topics that touch this therapist's own history -> intensity (0-1)."""
        return _topic_dict(self._table.triggers[self.idx])

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

    # ------------------------------------------------------------------ what a therapist does
    def give_notice(self, week: int, reason: str, last_week: int) -> None:
        """Announce leaving on ``last_week``; a successor for the room is found now.

        A later retirement date set for this therapist supersedes an earlier
        one; a therapist on notice does not give notice twice.
        """
        if self.on_notice or self.left_week is not None:
            return
        if reason == "retirement" and last_week != self.retirement_week:
            return  # superseded, e.g. by the scheduled retirement of T1
        model = self.model
        self._table.leaving_week[self.idx] = last_week
        self._table.accepting[self.idx] = False
        model.close_diary(self.idx)
        self.leave_reason = reason
        # The successor is found now so clients can be introduced during the notice period.
        self.successor = model.hire(site=self.site, experience=model.params.successor_experience_years,
                                    week=last_week, successor_of=self.label)
        model.schedule(last_week, "successor_starts", self.successor)
        model.schedule(last_week, "leave", self)
        model.events.add(week, K.NOTICE_GIVEN, None, self.label, reason=reason, last_week=last_week)

    def leave(self, week: int) -> None:
        """Last day: the clients are handed over (:func:`alliancesim.handover.hand_over`)."""
        from .handover import hand_over

        if self.left_week is not None or self.leaving_week != week:
            return
        hand_over(self.model, self, week)
        self.remove()

    def start_work(self, week: int) -> None:
        """A successor's first day in the room."""
        self.model.events.add(week, K.SUCCESSOR_STARTED, None, self.label, predecessor=self.successor_of)

    def __repr__(self) -> str:
        return f"Therapist({self.label}, site={self.site}, clients={len(self.caseload)})"


class Client(_OwnSchedule, mesa.Agent):
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
    in_scope = Column(bool)
    maintenance = Column(bool)
    goals_met = Column(bool)

    def __init__(self, model, idx: int, person: int, pronoun: str, referred_by: str | None = None) -> None:
        # A long run has thousands of clients, and registering each one with Mesa costs more than
        # the rest of their arrival: a client joins the model's Mesa agents when somebody looks at
        # them there (AllianceModel.agents, :meth:`join`).  Until then these are the attributes
        # mesa.Agent.__init__ would set.
        self.model = model
        self.unique_id: int | None = None
        self.pos = None
        self._table = model.C
        self.idx = idx
        self.label = f"C{idx + 1}"
        self.person = person
        self.pronoun = pronoun
        self.referred_by = referred_by

    def join(self) -> None:
        """Register with the model as a Mesa agent, once (what ``mesa.Agent.__init__`` does, Mesa 3.5)."""
        if self.unique_id is None:
            self.model.register_agent(self)
            for dataset in self._datasets:
                self.model.data_registry[dataset].add_agent(self)

    def remove(self) -> None:
        """Leave the model's Mesa agents (if the client had joined them)."""
        if self.unique_id is not None:
            super().remove()

    @property
    def need(self) -> str:
        return NEEDS[int(self._table.need[self.idx])]

    @property
    def home(self) -> tuple[float, float]:
        row = self._table.data[self.idx]
        return float(row["home_x"]), float(row["home_y"])

    @property
    def topics(self) -> dict[str, float]:
        return _topic_dict(self._table.topics[self.idx])

    @property
    def relationship(self) -> Relationship | None:
        r = int(self._table.relationship[self.idx])
        return None if r < 0 else self.model.relationships[r]

    @property
    def paused_until(self) -> int | None:
        return _week_or_none(self._table.paused_until[self.idx])

    @property
    def left_week(self) -> int | None:
        return _week_or_none(self._table.left_week[self.idx])

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

    # ------------------------------------------------------------------ life events (see LIFE_EVENTS)
    def move_house(self, week: int) -> None:
        """The client moves; they keep coming if the relationship outweighs the distance.

        They stay while ``distance <= tolerance * (1 + KEEP_TRAVELLING_BOND * bond)``:
        people kept travelling "because of our therapeutic relationship".
        """
        model, C, p = self.model, self._table, self.model.params
        rnd = model.streams.python("life_events")
        r = self.relationship
        radius = MOVE_RADIUS * p.town_radius_km * math.sqrt(rnd.random())
        a = 2 * math.pi * rnd.random()
        C.home_x[self.idx], C.home_y[self.idx] = radius * math.cos(a), radius * math.sin(a)
        km = float(model.km_from(*self.home)[r.therapist.site])
        tolerance = self.travel_tolerance_km
        if km <= tolerance * (1.0 + KEEP_TRAVELLING_BOND * r.bond):
            if km > tolerance:
                model.events.add(week, K.KEPT_TRAVELLING, self.label, r.therapist.label, km=round(km, 1))
            return
        model.events.add(week, K.MOVED_AWAY, self.label, r.therapist.label, km=round(km, 1))
        model.moved_away += 1
        model.end_relationship(r, week, "moved_away")

    def setback(self, week: int) -> None:
        """A life event: distress jumps and part of the rise stays; it brings a new topic."""
        model, C = self.model, self._table
        rnd = model.streams.python("life_events")
        r = self.relationship
        rise = rnd.uniform(*SETBACK_RISE)
        topic = rnd.choice(SETBACK_TOPICS)
        model.bring_up_to(self.idx, week)
        C.distress[self.idx] = min(27.0, C.distress[self.idx] + rise)
        C.distress_baseline[self.idx] = min(27.0, C.distress_baseline[self.idx] + SETBACK_LASTING * rise)
        C.topics[self.idx, TOPICS.index(topic)] += SETBACK_TOPIC_WEIGHT
        model.events.add(week, K.SETBACK, self.label, r.therapist.label, topic=topic, rise=round(rise, 1),
                         pronoun=self.pronoun)

    def pause(self, week: int) -> None:
        """The client pauses sessions for a few weeks (not while their therapist is on notice)."""
        model, C = self.model, self._table
        r = self.relationship
        if C.paused_until[self.idx] < 0 and not r.therapist.on_notice:
            weeks = model.streams.python("life_events").randint(*PAUSE_WEEKS)
            C.paused_until[self.idx] = week + weeks
            model.R.next_week[r.idx] = -1
            model.events.add(week, K.PAUSED, self.label, r.therapist.label, weeks=weeks)
            model.schedule(week + weeks, "resume", self)

    def resume(self, week: int) -> None:
        """The pause is over: the client books again this week."""
        C = self._table
        if C.paused_until[self.idx] != week:
            return
        r = self.relationship
        C.paused_until[self.idx] = -1
        self.model.R.next_week[r.idx] = week
        self.model.events.add(week, K.RESUMED, self.label, r.therapist.label)

    def __repr__(self) -> str:
        return f"Client({self.label}, need={self.need}, distress={self.distress:.1f})"


check_columns(Therapist, THERAPIST)
check_columns(Client, CLIENT)
