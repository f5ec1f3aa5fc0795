"""The people in the clinic: therapists and their clients.

Agents hold who someone is (traits) and where they are (state); what happens
between them in a session lives in :mod:`alliancesim.session` and the pair's
shared history in :mod:`alliancesim.relationship`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import mesa

from . import session as S

if TYPE_CHECKING:  # pragma: no cover
    from .relationship import Relationship

#: Topics clients bring to the table.
TOPICS: tuple[str, ...] = (
    "family", "pets", "work", "grief", "relationships", "health", "money", "body image",
)
#: What each need profile tends to bring (weights over TOPICS).
TOPIC_WEIGHTS: dict[str, tuple[float, ...]] = {
    "physical": (2, 2, 3, 0.5, 1, 3, 1, 1),
    "physical_emotional": (2, 1.5, 2, 1, 2, 2, 1, 1.5),
    "overwhelmed": (3, 1, 2.5, 2, 3, 1, 1.5, 1),
}
#: Need profiles (Boorman: physical; physical with an emotional part; overwhelmed by life).
NEEDS: tuple[str, ...] = ("physical", "physical_emotional", "overwhelmed")
#: Typical starting distress (PHQ-9 points, mean and SD) and pain (0-10) by need.
NEED_DISTRESS = {"physical": (5.0, 3.5), "physical_emotional": (10.0, 5.0), "overwhelmed": (16.0, 5.0)}
NEED_PAIN = {"physical": (6.0, 1.5), "physical_emotional": (5.0, 1.5), "overwhelmed": (3.0, 1.5)}


class Therapist(mesa.Agent):
    """A massage therapist with a room at one of the clinic's sites.

    Traits (0-1 unless stated): ``manual_skill``, ``warmth`` (warmth/empathy),
    ``boundary_firmness`` (0 loose, 1 fenced off), ``self_awareness``,
    ``talkativeness`` (share of a session they fill with talk), ``fixing_stance``
    (0 holds space, 1 must fix), ``triggers`` (topic -> intensity 0-1: topics
    that touch their own history), ``weekly_capacity`` (sessions/week),
    ``experience_years``, ``retirement_week`` and ``site`` (index of the room's
    site).  State: ``burnout`` (0-1), the ``caseload`` (relationship id ->
    :class:`~alliancesim.relationship.Relationship`), ``sessions_given``.
    """

    def __init__(self, model, label: str, site: int, *, manual_skill: float, warmth: float,
                 boundary_firmness: float, self_awareness: float, talkativeness: float,
                 fixing_stance: float, triggers: dict[str, float], weekly_capacity: int,
                 experience_years: float, retirement_week: int | None, start_week: int = 0,
                 successor_of: str | None = None) -> None:
        super().__init__(model)
        self.label = label
        self.site = site
        self.manual_skill = manual_skill
        self.warmth = warmth
        self.boundary_firmness = boundary_firmness
        self.self_awareness = self_awareness
        self.talkativeness = talkativeness
        self.fixing_stance = fixing_stance
        self.triggers = triggers
        self.weekly_capacity = weekly_capacity
        self.experience_years = experience_years
        self.retirement_week = retirement_week
        self.start_week = start_week
        self.successor_of = successor_of
        self.leaving_week: int | None = None  # set when notice is given
        self.leave_reason: str | None = None
        self.left_week: int | None = None
        self.successor: Therapist | None = None
        self.burnout = 0.0
        self.caseload: dict[int, Relationship] = {}
        self.sessions_given = 0
        self.sessions_this_week = 0
        self.stalled_this_week = 0

    # Derived quantities the session functions use.
    @property
    def clarity(self) -> float:
        """How clear this therapist's frame is (see :func:`session.boundary_clarity`)."""
        return S.boundary_clarity(self.boundary_firmness)

    @property
    def holding(self) -> float:
        """Holding space, the opposite of a fixing stance."""
        return 1.0 - self.fixing_stance

    @property
    def active(self) -> bool:
        return self.left_week is None

    @property
    def on_notice(self) -> bool:
        return self.leaving_week is not None and self.left_week is None

    def expected_load(self) -> float:
        """Sessions per week the current caseload asks for (paused clients excluded)."""
        return sum(1.0 / r.client.current_cadence for r in self.caseload.values()
                   if r.client.paused_until is None)

    def accepts_new_clients(self) -> bool:
        """Open for new clients: not leaving and with room in the diary (under 90 % booked)."""
        return self.active and not self.on_notice and self.expected_load() < 0.9 * self.weekly_capacity

    def learn(self, rate: float, novelty: float, reflected: bool) -> None:
        """Clients as teachers: skill and self-awareness creep up with each session.

        ``skill += rate * novelty * (1 - skill)``; self-awareness grows the same
        way, four times faster after a session in which a rupture was repaired
        (reflecting on a repaired rupture teaches the most).
        """
        self.manual_skill += rate * novelty * (1.0 - self.manual_skill)
        self.self_awareness += rate * (4.0 if reflected else 1.0) * (1.0 - self.self_awareness)

    def end_week(self, burnout_rate: float, burnout_recovery: float) -> None:
        """Weekly strain and recovery (see :func:`session.burnout_step`); resets weekly counters."""
        load = self.sessions_this_week / self.weekly_capacity
        stalled_share = self.stalled_this_week / self.sessions_this_week if self.sessions_this_week else 0.0
        self.burnout = S.burnout_step(self.burnout, load, self.fixing_stance, stalled_share,
                                      burnout_rate, burnout_recovery)
        self.experience_years += 1.0 / 52.0
        self.sessions_this_week = 0
        self.stalled_this_week = 0

    def __repr__(self) -> str:
        return f"Therapist({self.label}, site={self.site}, clients={len(self.caseload)})"


class Client(mesa.Agent):
    """A client of the clinic.

    Traits: ``prior_negative`` (count of earlier poor massage experiences),
    ``trust_propensity`` (0-1), ``need`` (one of :data:`NEEDS`), ``in_scope``
    (whether massage can meet the need), ``talk_preference`` (share of a session
    they like to spend talking), ``topics`` (what they bring: topic -> weight),
    ``cadence_weeks`` (weeks between bookings), ``home`` (x, y in km),
    ``travel_tolerance_km``, ``pronoun``.

    State: ``distress`` (PHQ-9-like, 0-27 points) with its ``distress_baseline``
    (where life pulls it back to) and ``distress_floor``; ``pain`` (0-10);
    ``self_care`` (0-1, internalised from relationships, kept for life);
    ``relationship`` (the current one), ``paused_until``, ``next_week``.
    """

    def __init__(self, model, label: str, person: int, home: tuple[float, float], *,
                 need: str, in_scope: bool, prior_negative: int, trust_propensity: float,
                 talk_preference: float, topics: dict[str, float], cadence_weeks: float,
                 travel_tolerance_km: float, distress: float, pain: float, pronoun: str,
                 arrived_week: int, referred_by: str | None = None) -> None:
        super().__init__(model)
        self.label = label
        self.person = person
        self.home = home
        self.need = need
        self.in_scope = in_scope
        self.prior_negative = prior_negative
        self.trust_propensity = trust_propensity
        self.talk_preference = talk_preference
        self.topics = topics
        self.cadence_weeks = cadence_weeks
        self.travel_tolerance_km = travel_tolerance_km
        self.distress = distress
        self.distress_start = distress
        self.distress_baseline = distress
        self.distress_floor = min(distress, 3.0)
        self.pain = pain
        self.pain_start = pain
        self.pain_baseline = pain
        self.pronoun = pronoun
        self.arrived_week = arrived_week
        self.referred_by = referred_by
        self.self_care = 0.0
        self.relationship: Relationship | None = None
        self.maintenance = False
        self.goals_met = False
        self.paused_until: int | None = None
        self.next_week: int | None = None
        self.updated_week = arrived_week
        self.sessions_total = 0
        self.left_week: int | None = None
        self.introduced_to: Therapist | None = None
        self.satisfied = False

    @property
    def current_cadence(self) -> float:
        """Weeks between sessions now (longer once on maintenance)."""
        return self.model.params.maintenance_cadence_weeks if self.maintenance else self.cadence_weeks

    @property
    def on_books(self) -> bool:
        return self.relationship is not None

    def bring_up_to(self, week: int, self_care_rate: float, relapse_rate: float) -> None:
        """Apply between-session drift of distress and pain up to ``week``.

        Internalised self-care keeps working between sessions; without it life
        pulls distress and pain back towards where they started
        (:func:`session.drift_between_sessions`).
        """
        weeks = week - self.updated_week
        if weeks > 0:
            self.distress = S.drift_between_sessions(
                self.distress, self.distress_baseline, self.distress_floor, self.self_care,
                weeks, self_care_rate, relapse_rate)
            self.pain = S.drift_between_sessions(
                self.pain, self.pain_baseline, 0.0, self.self_care, weeks, self_care_rate, relapse_rate)
            self.updated_week = week

    def now(self, week: int) -> tuple[float, float]:
        """Distress and pain as they stand in ``week`` (without changing state)."""
        p = self.model.params
        weeks = week - self.updated_week
        if weeks <= 0:
            return self.distress, self.pain
        return (
            S.drift_between_sessions(self.distress, self.distress_baseline, self.distress_floor,
                                     self.self_care, weeks, p.self_care_rate, p.relapse_rate),
            S.drift_between_sessions(self.pain, self.pain_baseline, 0.0, self.self_care, weeks,
                                     p.self_care_rate, p.relapse_rate),
        )

    def progress(self) -> float:
        """Share of the way from where they started to where they could be (can be negative).

        Physical clients judge by pain, overwhelmed clients by distress, the rest by both.
        """
        dp = (self.pain_start - self.pain) / self.pain_start if self.pain_start > 0.5 else 0.0
        room = self.distress_start - self.distress_floor
        dd = (self.distress_start - self.distress) / room if room > 1.0 else 0.0
        if self.need == "physical":
            return dp
        if self.need == "overwhelmed":
            return dd
        return 0.5 * (dp + dd)

    def __repr__(self) -> str:
        return f"Client({self.label}, need={self.need}, distress={self.distress:.1f})"
