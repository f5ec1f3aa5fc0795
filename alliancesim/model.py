"""AllianceModel: a massage clinic, one step per week.

The weekly schedule (:meth:`AllianceModel.step`):

1. **Life**: scheduled life events happen: moves, setbacks, pauses and
   returns, therapists giving notice and leaving (with the handover).
2. **Arrivals**: new clients find the clinic, by themselves (Poisson
   ``arrival_rate``) or by word of mouth along family/friend ties, and choose a
   therapist with room by travel distance.
3. **Sessions**: every client due this week sees their therapist, while the
   therapist has capacity left; the session updates the relationship, the
   client's distress and pain, and the therapist's learning
   (:mod:`alliancesim.session` holds each equation).  After the session the
   client books again, pauses, drops out, finishes or stays on as a
   maintenance client; the therapist may refer them on.
4. **Therapists** end the week: burnout builds with strain and eases with
   lighter weeks; a burnt-out therapist gives notice.
5. **Record**: weekly reporters are collected.

Outputs are tables (see :mod:`alliancesim.tables`): weekly model table,
therapists by week, relationships, sessions, ruptures and the event log.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from typing import Any

import mesa
import numpy as np

from . import session as S
from .agents import NEED_DISTRESS, NEED_PAIN, NEEDS, TOPIC_WEIGHTS, TOPICS, Client, Therapist
from .events import EventKind as K
from .events import EventLog
from .network import town_network
from .params import Params, validate
from .relationship import (
    RECOVERY_SHARE,
    TRUST_THRESHOLD,
    ClientFile,
    Relationship,
    Rupture,
    RuptureCause,
    RuptureKind,
    RuptureState,
)

#: Session at which a therapist asks whether the pairing fits.
FIT_CHECK_SESSION = 3
#: Alliance below which the pairing is judged a poor fit at the fit check.
FIT_THRESHOLD = 0.38
#: Progress (share of the possible improvement) at which goals count as met.
GOAL_PROGRESS = 0.5
#: A course counts as stalled after this many sessions with progress below STALLED_PROGRESS.
STALLED_AFTER, STALLED_PROGRESS = 6, 0.2
#: Chance per session that a maintenance client decides to stop.
MAINTENANCE_END = 0.012
#: Maintenance clients are loyal: their dropout hazard is scaled down by this.
MAINTENANCE_DROPOUT_SCALE = 0.3
#: Where out-of-scope clients are signposted.
SIGNPOSTS = {"physical": "physiotherapy", "physical_emotional": "physiotherapy",
             "overwhelmed": "counselling"}
#: Utility of staying with the successor in the same familiar room.
SAME_ROOM_UTILITY = 0.5
#: Utility weights of carried trust and of a transferred file in the handover choice.
CARRY_UTILITY, FILE_UTILITY = 1.5, 1.0
#: Spread of individual taste in the handover choice (logit temperature).
HANDOVER_TEMPERATURE = 1.0
#: Utility of stopping altogether at a handover (higher once goals are met).
LEAVE_UTILITY, LEAVE_IF_GOALS_MET = -0.7, 0.4
#: Short notice given by a therapist leaving through burnout (weeks).
BURNOUT_NOTICE_WEEKS = 4


class AllianceModel(mesa.Model):
    """A clinic of therapists and clients whose relationships form, rupture, repair and hand over.

    Args:
        params: a validated :class:`~alliancesim.params.Params`, or a mapping of
            parameter values; missing ones take registry defaults.
        rng: seed (int) or :class:`numpy.random.Generator`; same params and seed
            give identical output.
        record_sessions: keep one row per session (needed for the session table,
            the relationship inspector and several calibration metrics).
        **overrides: individual parameter values on top of ``params``.

    Time: one step is one week; ``model.week`` counts weeks from 1.
    """

    def __init__(self, params: Params | Mapping[str, Any] | None = None, *, rng=None,
                 record_sessions: bool = True, **overrides: Any) -> None:
        super().__init__(rng=rng)
        if isinstance(params, Params):
            base = params.as_dict()
        else:
            base = validate(params or {}).as_dict()
        self.params: Params = validate(overrides, base=base)
        self.seed = rng if isinstance(rng, (int, np.integer)) else None
        p = self.params
        self.week = 0
        self.horizon = max(1, round(p.years * 52))
        self.record_sessions = record_sessions

        self.events = EventLog()
        self.relationships: list[Relationship] = []
        self.ruptures: list[Rupture] = []
        self.session_rows: list[tuple] = []
        self._agenda: dict[int, list[tuple]] = {}
        self._due: dict[int, list[Client]] = {}
        self._pending: dict[int, list[tuple[int, str | None, Therapist | None]]] = {}
        self._n_therapists = 0
        self._n_clients = 0
        self.n_on_books = 0  # clients with an open relationship (attending or paused)
        self.n_maintenance = 0  # of whom maintenance clients
        self.n_open_ruptures = 0  # relationships with an unresolved rupture
        self.client_weeks = 0
        self.therapists_all: list[Therapist] = []

        # The town and the clinic's sites.
        self.town, self.homes = town_network(p.population, p.town_radius_km, self.rng)
        self._homes = [(float(x), float(y)) for x, y in self.homes]
        self.person_client: dict[int, Client] = {}
        self.site_xy = self._place_sites(p.n_sites, p.town_radius_km)

        for i in range(p.n_therapists):
            self._hire(site=i % p.n_sites, experience=self._draw_experience(), week=0)
        if p.scheduled_retirement_week > 0:
            self._schedule_departure(self.therapists_all[0], p.scheduled_retirement_week, "retirement")

        # The clinic opens: its first clients ask for appointments over eight weeks.
        for i in range(p.initial_clients):
            self._pending.setdefault(1 + i % 8, []).append((-1, None, None))

        self._reset_counters()
        self.datacollector = mesa.DataCollector(
            model_reporters=dict(WEEKLY_COLUMNS),
            agenttype_reporters={Therapist: {
                "label": "label",
                "site": "site",
                "caseload": lambda t: len(t.caseload),
                "burnout": "burnout",
                "manual_skill": "manual_skill",
                "self_awareness": "self_awareness",
                "on_notice": "on_notice",
                "working": lambda t: t.start_week <= t.model.week and t.left_week is None,
            }},
        )

    # ------------------------------------------------------------------ setup
    @staticmethod
    def _place_sites(n: int, radius: float) -> list[tuple[float, float]]:
        """Site 0 in the town centre, the others evenly around a ring at half the radius."""
        sites = [(0.0, 0.0)]
        for k in range(1, n):
            a = 2 * math.pi * (k - 1) / max(1, n - 1)
            sites.append((0.5 * radius * math.cos(a), 0.5 * radius * math.sin(a)))
        return sites

    def _trait(self, mean: float) -> float:
        return S.clip01(self.random.gauss(mean, self.params.trait_sd))

    def _draw_experience(self) -> float:
        return max(0.0, self.random.gauss(self.params.experience_years_mean, 4.0))

    def _hire(self, site: int, experience: float, week: int, successor_of: str | None = None) -> Therapist:
        """Hire a therapist: traits drawn around the registry means; experience lifts skill a little."""
        p, rnd = self.params, self.random
        self._n_therapists += 1
        n_triggers = self._poisson(p.triggers_mean)
        topics = rnd.sample(TOPICS, min(n_triggers, len(TOPICS)))
        triggers = {t: S.clip01(rnd.gauss(p.trigger_intensity_mean, 0.15)) for t in topics}
        seasoned = min(1.0, experience / 20.0)
        career = rnd.uniform(0.0, 2.0 * p.career_years_mean)
        retire = week + max(1, round(career * 52))
        t = Therapist(
            self, f"T{self._n_therapists}", site,
            manual_skill=S.clip01(self._trait(p.manual_skill_mean) - 0.1 + 0.2 * seasoned),
            warmth=self._trait(p.warmth_mean),
            boundary_firmness=self._trait(p.boundary_firmness_mean),
            self_awareness=S.clip01(self._trait(p.self_awareness_mean) - 0.05 + 0.1 * seasoned),
            talkativeness=self._trait(p.talkativeness_mean),
            fixing_stance=self._trait(p.fixing_stance_mean),
            triggers=triggers,
            weekly_capacity=p.weekly_capacity,
            experience_years=experience,
            retirement_week=retire if retire <= self.horizon else None,
            start_week=week,
            successor_of=successor_of,
        )
        self.therapists_all.append(t)
        if t.retirement_week is not None:
            self._schedule_departure(t, t.retirement_week, "retirement")
        return t

    def _poisson(self, lam: float) -> int:
        """Poisson draw with the model's Python RNG (Knuth; lam is small here)."""
        if lam <= 0:
            return 0
        if lam > 30:
            return max(0, round(self.random.gauss(lam, math.sqrt(lam))))
        limit, k, prod = math.exp(-lam), 0, self.random.random()
        while prod > limit:
            k += 1
            prod *= self.random.random()
        return k

    def _after(self, p_per_week: float) -> int | None:
        """Weeks until a weekly-chance event next happens (geometric draw), or None."""
        if p_per_week <= 0.0:
            return None
        if p_per_week >= 1.0:
            return 1
        u = self.random.random()
        return 1 + int(math.log(1.0 - u) / math.log(1.0 - p_per_week))

    def _schedule(self, week: int | None, *item) -> None:
        if week is not None and week <= self.horizon:
            self._agenda.setdefault(week, []).append(item)

    # ------------------------------------------------------------------ step
    def step(self) -> None:
        """One week in the clinic."""
        self.week = w = self.steps
        self._reset_counters()
        for item in self._agenda.pop(w, ()):
            self._happen(w, *item)
        self._arrivals(w)
        self._sessions(w)
        p = self.params
        for t in self.active_therapists():
            t.end_week(p.burnout_rate, p.burnout_recovery)
            if t.burnout >= p.burnout_leave_threshold and not t.on_notice:
                self._schedule_departure(t, w + max(1, min(BURNOUT_NOTICE_WEEKS, p.notice_weeks)),
                                         "burnout", announce_now=True)
        self.client_weeks += self.n_on_books
        self._weekly_means()
        self.datacollector.collect(self)
        if w >= self.horizon:
            self.running = False

    def run(self, weeks: int | None = None, progress=None) -> AllianceModel:
        """Run ``weeks`` weeks (default: to the end of ``years``); ``progress(week)`` is called each week."""
        end = self.horizon if weeks is None else min(self.horizon, self.week + weeks)
        while self.running and self.week < end:
            self.step()
            if progress is not None:
                progress(self.week)
        return self

    def _reset_counters(self) -> None:
        for name in WEEKLY_COUNTS:
            setattr(self, name, 0)
        self._sum_alliance = self._sum_quality = self._sum_distress = 0.0

    def _weekly_means(self) -> None:
        n = self.sessions
        self.mean_alliance = self._sum_alliance / n if n else float("nan")
        self.mean_quality = self._sum_quality / n if n else float("nan")
        self.mean_distress = self._sum_distress / n if n else float("nan")
        active = self.active_therapists()
        self.n_therapists_active = len(active)
        self.mean_burnout = sum(t.burnout for t in active) / len(active) if active else float("nan")

    # ------------------------------------------------------------- queries
    def active_therapists(self) -> list[Therapist]:
        """Therapists currently seeing clients (started, not yet left)."""
        w = self.week
        return [t for t in self.therapists_all if t.left_week is None and t.start_week <= w]

    def clients(self) -> Iterator[Client]:
        """Clients with an open relationship (attending or paused)."""
        for t in self.therapists_all:
            for r in t.caseload.values():
                yield r.client

    @staticmethod
    def distance(a: tuple[float, float], b: tuple[float, float]) -> float:
        return math.hypot(a[0] - b[0], a[1] - b[1])

    # ---------------------------------------------------------- life events
    def _happen(self, w: int, kind: str, who, *extra) -> None:
        if kind == "arrive_therapist":
            self.events.add(w, K.SUCCESSOR_STARTED, None, who.label, predecessor=who.successor_of)
            return
        if kind in ("notice", "leave"):
            if who.left_week is not None:
                return
            if kind == "notice":
                self._give_notice(w, who, *extra)
            elif who.leaving_week == w:
                self._therapist_leaves(w, who)
            return
        c: Client = who
        if c.left_week is not None:
            return
        p = self.params
        if kind == "move":
            self._move(w, c)
            self._schedule(self._next(w, p.move_rate / 52), "move", c)
        elif kind == "setback":
            self._setback(w, c)
            self._schedule(self._next(w, p.setback_rate / 52), "setback", c)
        elif kind == "pause":
            if c.paused_until is None and not c.relationship.therapist.on_notice:
                weeks = self.random.randint(4, 16)
                c.paused_until = w + weeks
                c.next_week = None
                self.events.add(w, K.PAUSED, c.label, c.relationship.therapist.label, weeks=weeks)
                self._schedule(w + weeks, "resume", c)
            self._schedule(self._next(w, p.pause_rate / 52), "pause", c)
        elif kind == "resume":
            if c.paused_until == w:
                c.paused_until = None
                self.events.add(w, K.RESUMED, c.label, c.relationship.therapist.label)
                self._book(c, w)

    def _next(self, w: int, p_week: float) -> int | None:
        gap = self._after(p_week)
        return None if gap is None else w + gap

    def _move(self, w: int, c: Client) -> None:
        """The client moves house; they keep coming if the relationship outweighs the distance.

        They stay while ``distance <= tolerance * (1 + 2 * bond)``: people kept
        travelling "because of our therapeutic relationship".
        """
        p, r = self.params, c.relationship
        radius = 1.5 * p.town_radius_km * math.sqrt(self.random.random())
        a = 2 * math.pi * self.random.random()
        c.home = (radius * math.cos(a), radius * math.sin(a))
        km = self.distance(c.home, self.site_xy[r.therapist.site])
        if km <= c.travel_tolerance_km * (1.0 + 2.0 * r.bond):
            if km > c.travel_tolerance_km:
                self.events.add(w, K.KEPT_TRAVELLING, c.label, r.therapist.label, km=round(km, 1))
            return
        self.events.add(w, K.MOVED_AWAY, c.label, r.therapist.label, km=round(km, 1))
        self.moved_away += 1
        self._end(r, w, "moved_away")

    def _setback(self, w: int, c: Client) -> None:
        """A life event: distress jumps and part of the rise stays; it brings a new topic."""
        rise = self.random.uniform(2.0, 7.0)
        topic = self.random.choice(("grief", "work", "family", "health", "relationships", "money"))
        c.bring_up_to(w, self.params.self_care_rate, self.params.relapse_rate)
        c.distress = min(27.0, c.distress + rise)
        c.distress_baseline = min(27.0, c.distress_baseline + 0.5 * rise)
        c.topics[topic] = c.topics.get(topic, 0.0) + 2.0
        self.events.add(w, K.SETBACK, c.label, c.relationship.therapist.label, topic=topic,
                        rise=round(rise, 1), pronoun=c.pronoun)

    # ------------------------------------------------------------- arrivals
    def _arrivals(self, w: int) -> None:
        p = self.params
        wanted = self._pending.pop(w, [])
        for _ in range(self._poisson(p.arrival_rate)):
            wanted.append((-1, None, None))
        for person, referrer, via in wanted:
            if person < 0:
                person = self._stranger()
                if person is None:
                    continue
            elif person in self.person_client:
                continue
            self._arrive(w, person, referrer, via)

    def _stranger(self) -> int | None:
        """Someone in town who has never been a client (a few tries, then give up)."""
        for _ in range(20):
            person = self.random.randrange(self.params.population)
            if person not in self.person_client:
                return person
        return None

    def _arrive(self, w: int, person: int, referrer: str | None, via: Therapist | None) -> None:
        """A person asks for an appointment: draw who they are, then find them a therapist."""
        p, rnd = self.params, self.random
        home = self._homes[person]
        therapist = self._choose_therapist(home, p.travel_tolerance_km, prefer=via)
        if therapist is None:
            self.turned_away += 1
            self.events.add(w, K.TURNED_AWAY, f"P{person}", None)
            return
        u = rnd.random()
        need = ("physical" if u < p.share_physical else
                "overwhelmed" if u < p.share_physical + p.share_overwhelmed else "physical_emotional")
        weights = TOPIC_WEIGHTS[need]
        topics: dict[str, float] = {}
        for _ in range(rnd.randint(1, 3)):
            topic = rnd.choices(TOPICS, weights)[0]
            topics[topic] = topics.get(topic, 0.0) + 1.0
        dm, ds = NEED_DISTRESS[need]
        pm, ps = NEED_PAIN[need]
        self._n_clients += 1
        c = Client(
            self, f"C{self._n_clients}", person, home,
            need=need,
            in_scope=rnd.random() >= p.share_out_of_scope,
            prior_negative=self._poisson(p.prior_negative_mean),
            trust_propensity=S.clip01(rnd.gauss(p.trust_propensity_mean, 0.15)),
            talk_preference=S.clip01(rnd.gauss(p.talk_preference_mean, 0.2)),
            topics=topics,
            cadence_weeks=min(12.0, max(1.0, rnd.gauss(p.cadence_weeks_mean, 0.7))),
            travel_tolerance_km=p.travel_tolerance_km * rnd.lognormvariate(0.0, 0.4),
            distress=min(27.0, max(0.0, rnd.gauss(dm, ds))),
            pain=min(10.0, max(0.0, rnd.gauss(pm, ps))),
            pronoun=rnd.choices(("she", "he", "they"), (0.62, 0.33, 0.05))[0],
            arrived_week=w,
            referred_by=referrer,
        )
        self.person_client[person] = c
        self.new_clients += 1
        if referrer is not None:
            self.word_of_mouth_arrivals += 1
        r = self._start(c, therapist, w)
        r.referred_by = referrer
        self.events.add(w, K.ARRIVAL, c.label, therapist.label, referrer=referrer)
        self._book(c, w + 1 + (1 if rnd.random() < 0.3 else 0))
        self._schedule(self._next(w, p.move_rate / 52), "move", c)
        self._schedule(self._next(w, p.setback_rate / 52), "setback", c)
        self._schedule(self._next(w, p.pause_rate / 52), "pause", c)

    def _choose_therapist(self, home, tolerance: float, prefer: Therapist | None = None,
                          exclude: Therapist | None = None, fit_for: Client | None = None) -> Therapist | None:
        """Pick a therapist with room by travel distance (logit over ``-distance/tolerance``).

        A therapist recommended by word of mouth gets a bonus of 1.5; when
        ``fit_for`` is given (a referral), fit to the client's needs counts too.
        Nobody farther than three times the tolerance is considered.
        """
        options, utils = [], []
        for t in self.therapists_all:
            if t is exclude or not t.accepts_new_clients() or t.start_week > self.week:
                continue
            km = self.distance(home, self.site_xy[t.site])
            if km > 3.0 * tolerance:
                continue
            u = -km / tolerance
            if t is prefer:
                u += 1.5
            if fit_for is not None:
                u += 3.0 * S.need_fit(fit_for.need, t.manual_skill, t.warmth, t.fixing_stance, True)
            options.append(t)
            utils.append(u)
        if not options:
            return None
        return options[S.logit_choice(utils, self.random.random())]

    # ---------------------------------------------------------- relationships
    def _start(self, c: Client, t: Therapist, w: int, bond: float | None = None) -> Relationship:
        """Open a relationship between ``c`` and ``t``."""
        p = self.params
        fit = S.need_fit(c.need, t.manual_skill, t.warmth, t.fixing_stance, c.in_scope)
        rate = S.trust_rate(p.trust_growth_rate, c.trust_propensity, c.prior_negative, p.prior_negative_slowdown)
        b0 = S.starting_trust(c.trust_propensity, c.prior_negative)
        r = Relationship(len(self.relationships) + 1, c, t, w, b0 if bond is None else max(b0, bond), fit, rate)
        # The intake: goals are agreed in part and the way of working sketched.
        r.goal, r.task = S.INTAKE_GOAL * fit, S.INTAKE_TASK
        self.relationships.append(r)
        t.caseload[r.rid] = r
        if c.relationship is None:
            self.n_on_books += 1
        c.relationship = r
        return r

    def _end(self, r: Relationship, w: int, reason: str, client_leaves: bool = True) -> None:
        """Close a relationship; the client leaves the clinic unless they continue elsewhere."""
        c = r.client
        r.end_week = w
        r.end_reason = reason
        r.alliance_end = r.alliance
        c.bring_up_to(w, self.params.self_care_rate, self.params.relapse_rate)
        r.distress_end = c.distress
        r.pain_end = c.pain
        r.unresolved_at_end = r.open_rupture is not None
        if r.unresolved_at_end:
            self.n_open_ruptures -= 1
        del r.therapist.caseload[r.rid]
        if c.relationship is r:
            c.relationship = None
            self.n_on_books -= 1
            if c.maintenance and client_leaves:
                self.n_maintenance -= 1
        if client_leaves:
            c.left_week = w
            c.next_week = None
            c.remove()

    def _book(self, c: Client, week: int) -> None:
        c.next_week = week
        self._due.setdefault(week, []).append(c)

    # -------------------------------------------------------------- sessions
    def _sessions(self, w: int) -> None:
        due = self._due.pop(w, [])
        self.random.shuffle(due)
        for c in due:
            if c.next_week != w or c.left_week is not None or c.paused_until is not None:
                continue
            r = c.relationship
            t = r.therapist
            if t.sessions_this_week >= t.weekly_capacity:
                self.postponed += 1
                self._book(c, w + 1)
                continue
            self._session(c, r, t, w)

    def _session(self, c: Client, r: Relationship, t: Therapist, w: int) -> None:
        """One session between therapist ``t`` and client ``c`` in week ``w``."""
        p = self.params
        rand = self.random.random
        c.bring_up_to(w, p.self_care_rate, p.relapse_rate)
        distress_before, pain_before = c.distress, c.pain
        r.sessions += 1
        n = r.sessions
        c.sessions_total += 1
        t.sessions_given += 1
        t.sessions_this_week += 1
        self.sessions += 1
        if n == 1:
            self.events.add(w, K.FIRST_SESSION, c.label, t.label)

        # Talk, and what it brings up.
        talk = S.talk_share(t.talkativeness, c.talk_preference)
        fit = S.talk_fit(t.talkativeness, c.talk_preference, r.pleasure)
        topic = None
        enacted = False
        if rand() < S.topic_raised_probability(talk):
            topic = self.random.choices(list(c.topics), list(c.topics.values()))[0] if len(c.topics) > 1 \
                else next(iter(c.topics))
            r.file.topics[topic] = r.file.topics.get(topic, 0) + 1
            intensity = t.triggers.get(topic)
            if intensity is not None and rand() < S.enactment_probability(
                    intensity, t.self_awareness, p.countertransference_rate):
                enacted = True
                r.enactments += 1
                self.countertransference += 1
                self.events.add(w, K.COUNTERTRANSFERENCE, c.label, t.label, topic=topic, pronoun=c.pronoun)
        incident = (t.boundary_firmness < p.boundary_loose_below and rand() < S.boundary_incident_probability(
            t.boundary_firmness, p.boundary_loose_below, p.boundary_incident_rate))
        if incident:
            r.boundary_incidents += 1
            r.separateness *= 0.7
            self.boundary_incidents += 1
            self.events.add(w, K.BOUNDARY_INCIDENT, c.label, t.label)

        open_before = r.open_rupture is not None
        q = S.session_quality(t.manual_skill, t.warmth, t.burnout, talk, fit, r.file.knowledge,
                              r.pleasure, r.merging, enacted, open_before)
        r.bond = S.grow_bond(r.bond, q, r.trust_rate)

        # Ruptures: a new one, or another chance to repair an old one.
        cause = None
        if enacted and rand() < S.ENACTMENT_RUPTURE:
            cause = RuptureCause.COUNTERTRANSFERENCE
        elif incident and rand() < S.INCIDENT_RUPTURE:
            cause = RuptureCause.BOUNDARY
        elif rand() < S.misattunement_probability(q, p.misattunement_rate):
            cause = RuptureCause.MISATTUNEMENT
        ruptured = repaired = False
        if open_before:
            # An unresolved rupture gets another chance; a fresh hurt deepens it first.
            if cause is not None:
                r.bond = S.bond_after_rupture(r.bond, self.random.uniform(0.03, 0.12))
            rupture = r.open_rupture
            rupture.advance(RuptureState.NOTICED if rand() < min(1.0, 1.5 * S.notice_probability(
                t.self_awareness, rupture.kind is RuptureKind.CONFRONTATION, talk)) else RuptureState.UNNOTICED)
            repaired = self._work_through(c, r, t, w, rupture)
        elif cause is not None:
            ruptured = True
            self._rupture(c, r, t, w, cause, topic, talk)
            repaired = self._work_through(c, r, t, w, r.open_rupture)

        # The relationship grows.
        openness = S.merging_openness(t.boundary_firmness, p.boundary_rigid_above)
        r.separateness, r.pleasure, r.merging, r.internalisation = S.update_themes(
            r.separateness, r.pleasure, r.merging, r.internalisation, q, t.clarity, openness,
            t.warmth, t.holding)
        if enacted:
            r.merging *= 0.8  # empathy falters
        r.file.knowledge = S.grow_knowledge(r.file.knowledge, r.bond, openness)
        r.file.sore_areas_known = S.grow_knowledge(r.file.sore_areas_known, 1.0, 1.0)
        r.file.knows_talk_preference = r.file.knows_talk_preference or n >= 2
        r.file.sessions_recorded += 1
        r.goal, r.task = S.update_goal_task(r.goal, r.task, r.need_fit, r.file.knowledge, q)
        alliance = r.alliance
        if n == 1:
            r.alliance_start = alliance

        # Outcomes.
        c.distress = S.distress_after_session(c.distress, c.distress_floor, alliance, q,
                                              p.distress_effect, c.in_scope)
        c.pain = S.pain_after_session(c.pain, t.manual_skill, q, p.pain_effect, t.fixing_stance,
                                      enacted, c.in_scope)
        if r.internalisation > c.self_care:
            c.self_care = r.internalisation
        t.learn(p.learning_rate, 1.5 if (c.need == "overwhelmed" or not c.in_scope) else 1.0,
                reflected=repaired)

        if r.sessions_to_trust is None and r.bond >= TRUST_THRESHOLD:
            r.sessions_to_trust = n
            self.events.add(w, K.TRUST_REACHED, c.label, t.label, sessions=n)
        if r.recovery_target is not None and r.recovered_week is None \
                and alliance >= RECOVERY_SHARE * r.recovery_target:
            r.recovered_week = w - r.start_week
            r.recovered_sessions = n
            self.events.add(w, K.ALLIANCE_RECOVERED, c.label, t.label, weeks=r.recovered_week)
        if t.on_notice and p.handover_policy == "file_and_introduction" and not r.introduced_to_successor \
                and t.successor is not None:
            r.introduced_to_successor = True
            self.events.add(w, K.INTRODUCED, c.label, t.label, successor=t.successor.label)

        self._sum_alliance += alliance
        self._sum_quality += q
        self._sum_distress += distress_before
        if self.record_sessions:
            self.session_rows.append((
                w, r.rid, n, c.label, t.label, q, r.bond, r.goal, r.task, alliance,
                r.separateness, r.pleasure, r.merging, r.internalisation, r.file.knowledge,
                distress_before, c.distress, pain_before, c.pain, talk, fit, topic or "", enacted,
                incident, cause.value if ruptured else "", repaired, r.open_rupture is not None,
            ))
        self._after_session(c, r, t, w)

    def _rupture(self, c: Client, r: Relationship, t: Therapist, w: int, cause: RuptureCause,
                 topic: str | None, talk: float) -> None:
        """Open a rupture episode: the bond drops and the state machine starts."""
        rnd = self.random
        if cause is RuptureCause.COUNTERTRANSFERENCE:
            withdrawal = rnd.random() < 0.7
            severity = rnd.uniform(0.1, 0.3) * (0.5 + t.triggers.get(topic, 0.5))
        elif cause is RuptureCause.BOUNDARY:
            withdrawal = rnd.random() < 0.3
            severity = rnd.uniform(0.1, 0.25)
        else:
            withdrawal = rnd.random() < 0.6
            severity = rnd.uniform(0.03, 0.12)
        kind = RuptureKind.WITHDRAWAL if withdrawal else RuptureKind.CONFRONTATION
        before = r.bond
        r.bond = S.bond_after_rupture(r.bond, min(0.9, severity))
        rupture = Rupture(len(self.ruptures) + 1, r.rid, w, r.sessions, kind, cause, topic, before, r.bond)
        self.ruptures.append(rupture)
        r.open_rupture = rupture
        self.n_open_ruptures += 1
        r.ruptures += 1
        self.ruptures_this_week += 1
        self.events.add(w, K.RUPTURE, c.label, t.label, cause=cause.value, kind=kind.value,
                        topic=topic, pronoun=c.pronoun, bond_before=round(before, 3),
                        bond_after=round(r.bond, 3))
        rupture.advance(RuptureState.NOTICED if rnd.random() < S.notice_probability(
            t.self_awareness, not withdrawal, talk) else RuptureState.UNNOTICED)

    def _work_through(self, c: Client, r: Relationship, t: Therapist, w: int, rupture: Rupture) -> bool:
        """Repair attempts in this session; returns True if the rupture is resolved."""
        p, rnd = self.params, self.random
        if rupture.state is RuptureState.NOTICED:
            if rupture.sessions_open == 0:
                self.events.add(w, K.RUPTURE_NOTICED, c.label, t.label)
            rupture.advance(RuptureState.THERAPIST_REPAIR)
            if rnd.random() < S.therapist_repair_probability(t.self_awareness, t.warmth):
                return self._resolve(c, r, t, w, rupture, "therapist")
        elif rupture.sessions_open == 0:
            self.events.add(w, K.RUPTURE_MISSED, c.label, t.label)
        if rnd.random() < S.client_repair_probability(r.bond, p.client_repair_rate):
            rupture.advance(RuptureState.CLIENT_REPAIR)
            if rnd.random() < 0.5 + 0.5 * t.warmth:
                return self._resolve(c, r, t, w, rupture, "client")
        rupture.advance(RuptureState.UNRESOLVED)
        if rupture.sessions_open == 0:
            self.events.add(w, K.REPAIR_FAILED, c.label, t.label)
        rupture.sessions_open += 1
        return False

    def _resolve(self, c: Client, r: Relationship, t: Therapist, w: int, rupture: Rupture, by: str) -> bool:
        completeness = self.random.uniform(0.5, 1.0)
        r.bond = S.bond_after_repair(rupture.bond_before, r.bond, completeness, self.params.repair_bond_gain)
        rupture.advance(RuptureState.RESOLVED)
        rupture.advance(RuptureState.INTACT)
        rupture.repaired_by = by
        rupture.resolved_week = w
        rupture.resolved_session = r.sessions
        rupture.bond_after = r.bond
        r.open_rupture = None
        self.n_open_ruptures -= 1
        r.repairs += 1
        if by == "client":
            r.repairs_by_client += 1
        else:
            r.repairs_by_therapist += 1
        self.repairs += 1
        self.events.add(w, K.REPAIR, c.label, t.label, by=by, bond_before=round(rupture.bond_before, 3),
                        bond_after=round(r.bond, 3))
        return True

    def _after_session(self, c: Client, r: Relationship, t: Therapist, w: int) -> None:
        """What happens after the session: referral, goals, dropout, or the next booking."""
        p, rnd = self.params, self.random
        n = r.sessions
        progress = c.progress()
        stalled = n >= STALLED_AFTER and progress < STALLED_PROGRESS
        if stalled:
            t.stalled_this_week += 1
        c.satisfied = r.alliance >= 0.6 and progress >= 0.3

        # Signposting: needs beyond massage, recognised sooner by a self-aware therapist.
        if not c.in_scope and n <= FIT_CHECK_SESSION and rnd.random() < 0.25 + 0.5 * t.self_awareness:
            where = SIGNPOSTS[c.need]
            self.referrals_out += 1
            self.events.add(w, K.REFERRED_OUT, c.label, t.label, to=where)
            self._end(r, w, "referred_out")
            return
        # Not every pairing fits: "you know you've made it when you fire a patient".
        if n == FIT_CHECK_SESSION and r.alliance < FIT_THRESHOLD and rnd.random() < 0.2 + 0.6 * t.self_awareness:
            colleague = self._choose_therapist(c.home, c.travel_tolerance_km, exclude=t, fit_for=c)
            if colleague is not None:
                self.referrals_colleague += 1
                self.events.add(w, K.REFERRED_COLLEAGUE, c.label, t.label, to=colleague.label,
                                pronoun=c.pronoun)
                self._end(r, w, "referred_to_colleague", client_leaves=False)
                new = self._start(c, colleague, w)
                new.file = r.file.transferred(p.file_knowledge_carry)  # same clinic, same records
                new.predecessor = r
                self._book(c, w + max(1, round(c.cadence_weeks)))
                return
        if not c.goals_met and n >= 4 and progress >= GOAL_PROGRESS:
            c.goals_met = True
            self.events.add(w, K.GOALS_MET, c.label, t.label, pronoun=c.pronoun)
            if rnd.random() < p.maintenance_propensity * r.bond:
                c.maintenance = r.maintenance = True
                self.n_maintenance += 1
                self.events.add(w, K.MAINTENANCE, c.label, t.label)
            else:
                self.finished += 1
                self.events.add(w, K.FINISHED, c.label, t.label, sessions=n)
                self._end(r, w, "finished")
                return
        if c.maintenance and rnd.random() < MAINTENANCE_END:
            self.maintenance_ended += 1
            self.events.add(w, K.MAINTENANCE_ENDED, c.label, t.label, pronoun=c.pronoun, sessions=n)
            self._end(r, w, "maintenance_ended")
            return
        km = self.distance(c.home, self.site_xy[t.site])
        h = S.dropout_probability(p.dropout_base, r.alliance, n, r.open_rupture is not None, stalled,
                                  km / c.travel_tolerance_km)
        if c.maintenance:
            h *= MAINTENANCE_DROPOUT_SCALE
        if rnd.random() < h:
            self.dropouts += 1
            self.events.add(w, K.DROPOUT, c.label, t.label, sessions=n)
            self._end(r, w, "dropout")
            return
        gap = c.current_cadence
        weeks = int(gap) + (1 if rnd.random() < gap - int(gap) else 0)
        if c.satisfied and rnd.random() < 1.0 - (1.0 - p.word_of_mouth_rate) ** weeks:
            self._word_of_mouth(c, t, w)
        self._book(c, w + max(1, weeks))

    def _word_of_mouth(self, c: Client, t: Therapist, w: int) -> None:
        """A satisfied client tells a family member or friend who has not been a client."""
        ties = [(n, d["tie"]) for n, d in self.town.adj[c.person].items() if n not in self.person_client]
        if not ties:
            return
        family = [x for x in ties if x[1] == "family"]
        person, tie = self.random.choice(family if family and self.random.random() < 0.5 else ties)
        self.events.add(w, K.WORD_OF_MOUTH, c.label, t.label, tie=tie)
        self._pending.setdefault(w + 1 + self.random.randint(0, 3), []).append((person, c.label, t))

    # ------------------------------------------------- retirement and handover
    def _schedule_departure(self, t: Therapist, last_week: int, reason: str, announce_now: bool = False) -> None:
        """Schedule notice (``notice_weeks`` ahead, or now) and the last day."""
        if announce_now:
            self._give_notice(self.week, t, reason, last_week)
            return
        # A departure replaces any earlier scheduled one.
        t.retirement_week = last_week
        notice = max(1, last_week - self.params.notice_weeks)
        self._schedule(notice, "notice", t, reason, last_week)

    def _give_notice(self, w: int, t: Therapist, reason: str, last_week: int) -> None:
        if t.on_notice or t.left_week is not None:
            return
        if reason == "retirement" and last_week != t.retirement_week:
            return  # superseded by a later schedule (e.g. the scheduled retirement of T1)
        t.leaving_week = last_week
        t.leave_reason = reason
        # The successor is found now so clients can be introduced during the notice period.
        t.successor = self._hire(site=t.site, experience=self.params.successor_experience_years,
                                 week=last_week, successor_of=t.label)
        self._schedule(last_week, "arrive_therapist", t.successor)
        self._schedule(last_week, "leave", t)
        self.events.add(w, K.NOTICE_GIVEN, None, t.label, reason=reason, last_week=last_week)

    def _therapist_leaves(self, w: int, t: Therapist) -> None:
        """Last day: each client stays with the successor, moves to a colleague nearer home, or leaves.

        Multinomial logit over three options (see docs/odd.md, *Handover*)::

            u_successor = SAME_ROOM_UTILITY + CARRY_UTILITY * carried_trust
                          + FILE_UTILITY * file_knowledge - distance / tolerance
            u_colleague = -distance_to_nearest_colleague / tolerance   (only if nearer than the room)
            u_leave     = LEAVE_UTILITY + LEAVE_IF_GOALS_MET * goals_met
        """
        p = self.params
        policy = p.handover_policy
        succ = t.successor
        self.therapist_departures += 1
        self.events.add(w, K.THERAPIST_LEFT, None, t.label, reason=t.leave_reason)
        for r in sorted(t.caseload.values(), key=lambda x: x.rid):
            c = r.client
            tol = c.travel_tolerance_km
            here = self.distance(c.home, self.site_xy[t.site])
            carry = p.introduction_trust_carry * r.bond if r.introduced_to_successor else 0.0
            file_k = p.file_knowledge_carry * r.file.knowledge if policy != "none" else 0.0
            options: list[tuple[str, Therapist | None]] = [("successor", succ)]
            utils = [SAME_ROOM_UTILITY + CARRY_UTILITY * carry + FILE_UTILITY * file_k - here / tol]
            nearer = [x for x in self.therapists_all if x is not t and x is not succ and x.accepts_new_clients()
                      and self.distance(c.home, self.site_xy[x.site]) < here]
            if nearer:
                best = min(nearer, key=lambda x: (self.distance(c.home, self.site_xy[x.site]), x.label))
                options.append(("colleague", best))
                utils.append(-self.distance(c.home, self.site_xy[best.site]) / tol)
            options.append(("left", None))
            utils.append(LEAVE_UTILITY + LEAVE_IF_GOALS_MET * c.goals_met)
            choice, new_t = options[S.logit_choice(utils, self.random.random(), HANDOVER_TEMPERATURE)]
            r.handover_outcome = {"successor": "stayed_with_successor", "colleague": "moved_to_colleague",
                                  "left": "left"}[choice]
            if choice == "left":
                self.handover_left += 1
                self.events.add(w, K.LEFT_AT_HANDOVER, c.label, t.label)
                self._end(r, w, "therapist_left")
                continue
            self._end(r, w, "therapist_left", client_leaves=False)
            new = self._start(c, new_t, w, bond=carry if choice == "successor" else None)
            new.predecessor = r
            new.handover_policy = policy
            new.recovery_target = r.alliance_end
            if choice == "successor":
                self.handover_stayed += 1
                new.introduced = r.introduced_to_successor
                if policy != "none":
                    new.file = r.file.transferred(p.file_knowledge_carry)
                    new.file_transferred = True
                    new.goal = 0.5 * r.goal
                    self.events.add(w, K.FILE_TRANSFERRED, c.label, t.label, successor=succ.label)
                self.events.add(w, K.STAYED_WITH_SUCCESSOR, c.label, succ.label)
            else:
                self.handover_moved += 1
                self.events.add(w, K.MOVED_TO_COLLEAGUE, c.label, new_t.label)
            if c.next_week is not None and c.next_week <= w:
                self._book(c, w + 1)
        t.left_week = w
        t.remove()


#: Weekly counters reset at the start of each week.
WEEKLY_COUNTS: tuple[str, ...] = (
    "sessions", "new_clients", "word_of_mouth_arrivals", "turned_away", "postponed",
    "ruptures_this_week", "repairs", "countertransference", "boundary_incidents",
    "dropouts", "finished", "maintenance_ended", "referrals_colleague", "referrals_out",
    "moved_away", "therapist_departures", "handover_stayed", "handover_moved", "handover_left",
)
#: Columns of the weekly model table (column -> model attribute), in order.
WEEKLY_COLUMNS: dict[str, str] = {
    "therapists": "n_therapists_active",
    "clients_on_books": "n_on_books",
    "maintenance_clients": "n_maintenance",
    "open_ruptures": "n_open_ruptures",
    "mean_alliance": "mean_alliance",
    "mean_quality": "mean_quality",
    "mean_distress": "mean_distress",
    "mean_burnout": "mean_burnout",
    **{("ruptures" if n == "ruptures_this_week" else n): n for n in WEEKLY_COUNTS},
}
