"""AllianceModel: a massage clinic, one step per week.

The weekly schedule (:meth:`AllianceModel.step`):

1. **Life**: scheduled life events happen: moves, setbacks, pauses and
   returns, therapists giving notice and leaving (with the handover).
2. **Arrivals**: new clients find the clinic, by themselves (Poisson
   ``arrival_rate``) or by word of mouth along family/friend ties, and choose a
   therapist with room by travel distance.
3. **Sessions**: every client due this week sees their therapist while the
   therapist has capacity left.  The session updates the relationship, the
   client's distress and pain, and the therapist's learning; each equation is a
   pure function in :mod:`alliancesim.session`, applied to the week's sessions
   in one compiled loop (:mod:`alliancesim.kernel`); the log is then written
   for the sessions where something happened.
4. **After the session** the client books again, pauses, drops out, finishes,
   or stays on as a maintenance client; the therapist may refer them on.
5. **Therapists** end the week: burnout builds with strain and eases with
   lighter weeks; a burnt-out therapist gives notice.
6. **Record**: weekly reporters are collected.

All randomness comes from the model's seeded generators (``self.rng`` for the
week's arrays, ``self.random`` for single decisions), so the same parameters
and seed give the same run.  Outputs are tables (see :mod:`alliancesim.tables`).
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterator, Mapping
from typing import Any

import mesa
import numpy as np

from . import kernel as KN
from . import session as S
from .agents import (
    CLIENT_COLUMNS,
    NEED_DISTRESS,
    NEED_PAIN,
    THERAPIST_COLUMNS,
    TOPIC_WEIGHTS,
    TOPICS,
    Client,
    Therapist,
)
from .events import EventKind as K
from .events import EventLog
from .metrics import record_headline
from .network import town_network
from .params import Params, validate
from .relationship import (
    CAUSES,
    RELATIONSHIP_COLUMNS,
    REPAIRERS,
    RUPTURE_COLUMNS,
    TRUST_THRESHOLD,
    Relationship,
    RuptureLog,
)
from .state import Table

#: Where out-of-scope clients are signposted, by need code.
SIGNPOSTS = ("physiotherapy", "physiotherapy", "counselling")
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
#: A therapist takes new clients while the diary is less than this full.
OPEN_FOR_NEW_BELOW = 0.9
#: Cumulative topic weights by need code, for drawing the topics a newcomer brings.
_TOPIC_CUM = [list(np.cumsum(w)) for w in TOPIC_WEIGHTS]


#: Fields of a session record that the event log reads, in this order.
_LOGGED = ("relationship", "session", "topic", "countertransference", "boundary_incident", "in_play",
           "rupture", "confrontation", "noticed", "by_therapist", "by_client", "bond_before", "bond_hurt",
           "bond", "trusted", "recovered")


class AllianceModel(mesa.Model):
    """A clinic of therapists and clients whose relationships form, rupture, repair and hand over.

    Args:
        params: a validated :class:`~alliancesim.params.Params`, a mapping of
            parameter values (missing ones take registry defaults), or a preset's
            name or file (as ``preset``).
        preset: a preset's name or file to start from (``params``, a mapping, and
            ``overrides`` go on top); unknown names raise a one-line error listing them.
        rng: seed (int) or :class:`numpy.random.Generator`; same params and seed
            give identical output.
        record_sessions: keep one row per session (needed for the session table,
            the relationship inspector and the dose-response metrics).
        **overrides: individual parameter values on top of ``params``.

    Time: one step is one week; ``model.week`` counts weeks from 1.  When the run ends,
    ``model.headline`` holds its headline metrics, also collected as ``run_<metric>`` so that
    ``mesa.batch_run`` returns them.
    """

    headline: dict[str, float] | None = None  # set when the run ends (issue 13 hook)

    def __init__(self, params: Params | Mapping[str, Any] | str | None = None, *, preset: str | None = None,
                 rng=None, record_sessions: bool = True, **overrides: Any) -> None:
        super().__init__(rng=rng)
        if isinstance(params, str) or preset is not None:  # issue 13 hook: start from a preset
            from .runner import preset_params

            params = preset_params(params, preset)
        base = params.as_dict() if isinstance(params, Params) else validate(params or {}).as_dict()
        self.params: Params = validate(overrides, base=base)
        self.seed = int(rng) if isinstance(rng, (int, np.integer)) else None
        p = self.params
        self.week = 0
        self.horizon = max(1, round(p.years * 52))
        self.record_sessions = record_sessions

        self.T = Table(THERAPIST_COLUMNS, capacity=max(16, 2 * p.n_therapists))
        self.C = Table(CLIENT_COLUMNS, capacity=max(256, p.initial_clients * 2))
        self.R = Table(RELATIONSHIP_COLUMNS, capacity=max(512, p.initial_clients * 4))
        self.Rup = Table(RUPTURE_COLUMNS, capacity=1024)
        self.therapists_all: list[Therapist] = []
        self.clients_all: list[Client] = []
        self.relationships: list[Relationship] = []
        self.ruptures = RuptureLog(self.Rup)
        self.events = EventLog()
        self.session_chunks: list[np.ndarray] = []
        self._agenda: dict[int, list[tuple]] = {}
        self._pending: dict[int, list[tuple[int, str | None, int]]] = {}
        self.client_weeks = 0

        # The town, its family/friend ties, and the clinic's sites.
        self.people = town_network(p.population, p.town_radius_km, self.rng)
        self.homes = self.people.homes
        self.person_client: dict[int, int] = {}
        self.site_xy = np.array(self._place_sites(p.n_sites, p.town_radius_km))
        self._person_site_km = self._km(self.homes[:, 0:1], self.homes[:, 1:2]).tolist()
        self._homes = [tuple(h) for h in self.homes.tolist()]
        self._engine_ = KN.Engine(p, self.site_xy)  # the compiled steps; see _engine()
        self._bound: tuple = ()
        self._open: list[tuple[int, int]] = []  # (therapist, site) of those taking new clients

        for i in range(p.n_therapists):
            self._hire(site=i % p.n_sites, experience=max(0.0, self.random.gauss(p.experience_years_mean, 4.0)),
                       week=0)
        if p.scheduled_retirement_week > 0:
            self._schedule_departure(self.therapists_all[0], p.scheduled_retirement_week, "retirement")
        # The clinic opens: its first clients ask for appointments over eight weeks.
        for i in range(p.initial_clients):
            self._pending.setdefault(1 + i % 8, []).append((-1, None, -1))

        self._reset_counters()
        self.n_on_books = self.n_maintenance = self.n_open_ruptures = 0
        self.n_therapists_active = p.n_therapists
        self.mean_burnout = 0.0
        self._weekly_means()
        self.datacollector = mesa.DataCollector(model_reporters=dict(WEEKLY_COLUMNS))
        # Therapists by week: a snapshot of their rows (cheaper than per-agent reporters).
        self.therapist_weeks: list[np.ndarray] = []

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
        return min(1.0, max(0.0, self.random.gauss(mean, self.params.trait_sd)))

    def _hire(self, site: int, experience: float, week: int, successor_of: str | None = None) -> Therapist:
        """Hire a therapist: traits drawn around the registry means; experience lifts skill a little."""
        p, rnd = self.params, self.random
        triggers = np.zeros(len(TOPICS))
        for topic in rnd.sample(range(len(TOPICS)), min(self._poisson(p.triggers_mean), len(TOPICS))):
            triggers[topic] = min(1.0, max(0.01, rnd.gauss(p.trigger_intensity_mean, 0.15)))
        seasoned = min(1.0, experience / 20.0)
        retire = week + max(1, round(rnd.uniform(0.0, 2.0 * p.career_years_mean) * 52))
        idx = self.T.add(
            manual_skill=min(1.0, max(0.0, self._trait(p.manual_skill_mean) - 0.1 + 0.2 * seasoned)),
            warmth=self._trait(p.warmth_mean),
            boundary_firmness=self._trait(p.boundary_firmness_mean),
            self_awareness=min(1.0, max(0.0, self._trait(p.self_awareness_mean) - 0.05 + 0.1 * seasoned)),
            talkativeness=self._trait(p.talkativeness_mean),
            fixing_stance=self._trait(p.fixing_stance_mean),
            triggers=triggers,
            weekly_capacity=p.weekly_capacity,
            experience_years=experience,
            site=site,
            start_week=week,
        )
        t = Therapist(self, idx, successor_of=successor_of)
        self.therapists_all.append(t)
        if retire <= self.horizon:
            self._schedule_departure(t, retire, "retirement")
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

    def _next(self, w: int, p_per_week: float) -> int | None:
        """Week in which a weekly-chance event next happens (geometric draw), or None."""
        if p_per_week <= 0.0:
            return None
        if p_per_week >= 1.0:
            return w + 1
        gap = math.log(1.0 - self.random.random()) / math.log1p(-p_per_week)
        return w + 1 + int(gap) if w + gap < self.horizon else None

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
        self._open_diaries(w)
        self._arrivals(w)
        self._sessions(w)
        self._end_week(w)
        self.client_weeks += self.n_on_books
        self.datacollector.collect(self)
        if w >= self.horizon:
            self.running = False
            record_headline(self)  # issue 13 hook: the run's headline metrics, for mesa.batch_run

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

    @property
    def town(self):
        """The town's family and friend ties as a networkx graph (nodes are people)."""
        return self.people.graph()

    # ------------------------------------------------------------- queries
    def active_therapists(self) -> list[Therapist]:
        """Therapists currently seeing clients (started, not yet left)."""
        return [t for t in self.therapists_all if t.working]

    def clients(self) -> Iterator[Client]:
        """Clients on the books (attending or paused), in order of arrival."""
        C = self.C
        for i in np.flatnonzero(C.used("relationship") >= 0).tolist():
            yield self.clients_all[i]

    def _km(self, x, y) -> np.ndarray:
        """Distance (km) from home(s) at ``x, y`` to each site."""
        return np.hypot(self.site_xy[:, 0] - x, self.site_xy[:, 1] - y)

    def _client_km(self, i: int) -> np.ndarray:
        return self._km(float(self.C.home_x[i]), float(self.C.home_y[i]))

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
        i: int = who
        C, p = self.C, self.params
        if C.left_week[i] >= 0:
            return
        r = self.relationships[int(C.relationship[i])]
        if kind == "move":
            self._move(w, i, r)
            self._schedule(self._next(w, p.move_rate / 52), "move", i)
        elif kind == "setback":
            self._setback(w, i, r)
            self._schedule(self._next(w, p.setback_rate / 52), "setback", i)
        elif kind == "pause":
            if C.paused_until[i] < 0 and not r.therapist.on_notice:
                weeks = self.random.randint(4, 16)
                C.paused_until[i] = w + weeks
                self.R.next_week[r.idx] = -1
                self.events.add(w, K.PAUSED, r.client.label, r.therapist.label, weeks=weeks)
                self._schedule(w + weeks, "resume", i)
            self._schedule(self._next(w, p.pause_rate / 52), "pause", i)
        elif kind == "resume" and C.paused_until[i] == w:
            C.paused_until[i] = -1
            self.R.next_week[r.idx] = w
            self.events.add(w, K.RESUMED, r.client.label, r.therapist.label)

    def _move(self, w: int, i: int, r: Relationship) -> None:
        """The client moves house; they keep coming if the relationship outweighs the distance.

        They stay while ``distance <= tolerance * (1 + 2 * bond)``: people kept
        travelling "because of our therapeutic relationship".
        """
        C, p = self.C, self.params
        radius = 1.5 * p.town_radius_km * math.sqrt(self.random.random())
        a = 2 * math.pi * self.random.random()
        C.home_x[i], C.home_y[i] = radius * math.cos(a), radius * math.sin(a)
        km = float(self._client_km(i)[r.therapist.site])
        tolerance = float(C.travel_tolerance_km[i])
        if km <= tolerance * (1.0 + 2.0 * r.bond):
            if km > tolerance:
                self.events.add(w, K.KEPT_TRAVELLING, r.client.label, r.therapist.label, km=round(km, 1))
            return
        self.events.add(w, K.MOVED_AWAY, r.client.label, r.therapist.label, km=round(km, 1))
        self.moved_away += 1
        self._end(r, w, "moved_away")

    def _setback(self, w: int, i: int, r: Relationship) -> None:
        """A life event: distress jumps and half of the rise stays; it brings a new topic."""
        C, p = self.C, self.params
        rise = self.random.uniform(2.0, 7.0)
        topic = self.random.choice(("grief", "work", "family", "health", "relationships", "money"))
        self._bring_up_to(i, w)
        C.distress[i] = min(27.0, C.distress[i] + rise)
        C.distress_baseline[i] = min(27.0, C.distress_baseline[i] + 0.5 * rise)
        C.topics[i, TOPICS.index(topic)] += 2.0
        self.events.add(w, K.SETBACK, r.client.label, r.therapist.label, topic=topic,
                        rise=round(rise, 1), pronoun=r.client.pronoun)

    def _engine(self) -> KN.Engine:
        """The compiled engine, with fresh views of the tables if one of them grew."""
        R, C, T, Rup = self.R.data, self.C.data, self.T.data, self.Rup.data
        bound = self._bound
        if not bound or R is not bound[0] or C is not bound[1] or T is not bound[2] or Rup is not bound[3]:
            self._engine_.bind(R, C, T, Rup)
            self._bound = (R, C, T, Rup)
        return self._engine_

    def _bring_up_to(self, i: int, w: int) -> None:
        """Between-session drift of client ``i``'s distress and pain up to week ``w``.

        Internalised self-care keeps working between sessions; without it, life
        pulls distress and pain back to where they started
        (:func:`session.drift_between_sessions`).
        """
        self._engine().bring_up_to(i, w)

    # ------------------------------------------------------------- arrivals
    def _open_diaries(self, w: int) -> None:
        """Each therapist's booked sessions per week, and whether they take new clients."""
        T = self.T
        self._engine().open_diaries(w, T.n, self.R.n, OPEN_FOR_NEW_BELOW)
        open_now = np.flatnonzero(T.used("accepting"))
        self._open = list(zip(open_now.tolist(), T.site[open_now].tolist(), strict=True))

    def _arrivals(self, w: int) -> None:
        wanted = self._pending.pop(w, [])
        wanted.extend((-1, None, -1) for _ in range(self._poisson(self.params.arrival_rate)))
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

    def _arrive(self, w: int, person: int, referrer: str | None, via: int) -> None:
        """A person asks for an appointment: find them a therapist, then draw who they are."""
        p, rnd, C = self.params, self.random, self.C
        hx, hy = self._homes[person]
        site_km = self._person_site_km[person]
        tolerance = p.travel_tolerance_km * rnd.lognormvariate(0.0, 0.4)
        t = self._choose_therapist(site_km, tolerance, prefer=via)
        if t < 0:
            self.turned_away += 1
            self.events.add(w, K.TURNED_AWAY, f"P{person}", None)
            return
        u = rnd.random()
        need = 0 if u < p.share_physical else 2 if u < p.share_physical + p.share_overwhelmed else 1
        topics = [0.0] * len(TOPICS)
        cum = _TOPIC_CUM[need]
        for _ in range(rnd.randint(1, 3)):
            topics[bisect.bisect(cum, rnd.random() * cum[-1])] += 1.0
        distress = min(27.0, max(0.0, rnd.gauss(*NEED_DISTRESS[need])))
        pain = min(10.0, max(0.0, rnd.gauss(*NEED_PAIN[need])))
        i = C.add(
            need=need, in_scope=rnd.random() >= p.share_out_of_scope,
            prior_negative=self._poisson(p.prior_negative_mean),
            trust_propensity=min(1.0, max(0.0, rnd.gauss(p.trust_propensity_mean, 0.15))),
            talk_preference=min(1.0, max(0.0, rnd.gauss(p.talk_preference_mean, 0.2))),
            topics=topics,
            cadence_weeks=min(12.0, max(1.0, rnd.gauss(p.cadence_weeks_mean, 0.7))),
            travel_tolerance_km=tolerance,
            responsiveness=rnd.lognormvariate(0.0, p.responsiveness_sd),
            distress=distress, distress_start=distress, distress_baseline=distress,
            distress_floor=min(distress, 3.0),
            pain=pain, pain_start=pain, pain_baseline=pain,
            home_x=hx, home_y=hy, arrived_week=w, updated_week=w,
        )
        u = rnd.random()
        c = Client(self, i, person, "she" if u < 0.62 else "he" if u < 0.95 else "they", referrer)
        self.clients_all.append(c)
        self.person_client[person] = i
        self.new_clients += 1
        if referrer is not None:
            self.word_of_mouth_arrivals += 1
        r = self._start(i, t, w, first_session=w + 1 + (1 if rnd.random() < 0.3 else 0))
        r.referred_by = referrer
        self.events.add(w, K.ARRIVAL, c.label, r.therapist.label, referrer=referrer)
        self._schedule(self._next(w, p.move_rate / 52), "move", i)
        self._schedule(self._next(w, p.setback_rate / 52), "setback", i)
        self._schedule(self._next(w, p.pause_rate / 52), "pause", i)

    def _choose_therapist(self, site_km: np.ndarray, tolerance: float, prefer: int = -1,
                          exclude: int = -1, fit_for: int = -1) -> int:
        """Pick a therapist with room by travel distance (logit over ``-distance/tolerance``).

        A therapist recommended by word of mouth gets a bonus of 1.5; for a
        referral (``fit_for`` a client index), fit to the client's needs counts
        too.  Nobody farther than three times the tolerance is considered.
        Returns a therapist index, or -1 if nobody has room.
        """
        options: list[int] = []
        utils: list[float] = []
        limit = 3.0 * tolerance
        need = int(self.C.need[fit_for]) if fit_for >= 0 else -1
        T = self.T
        for t, site in self._open:
            km = site_km[site]
            if t == exclude or km > limit:
                continue
            u = -km / tolerance
            if t == prefer:
                u += 1.5
            if need >= 0:
                u += 3.0 * S.need_fit(need, float(T.manual_skill[t]), float(T.warmth[t]), float(T.fixing_stance[t]),
                                      True)
            options.append(t)
            utils.append(u)
        if not options:
            return -1
        return options[S.logit_choice(utils, self.random.random())]

    # ---------------------------------------------------------- relationships
    def _start(self, ci: int, ti: int, w: int, bond: float | None = None, first_session: int = -1) -> Relationship:
        """Open a relationship between client row ``ci`` and therapist row ``ti``.

        ``bond`` is trust carried over by a warm introduction; ``first_session``
        the week of the first booking (-1: not booked yet).
        """
        ri = self.R.add(client=ci, therapist=ti)
        if not self._engine().start(ri, w, -1.0 if bond is None else bond, first_session, OPEN_FOR_NEW_BELOW):
            self._open = [x for x in self._open if x[0] != ti]
        r = Relationship(self.R, ri, self.clients_all[ci], self.therapists_all[ti], self.ruptures)
        self.relationships.append(r)
        r.therapist.caseload[r.rid] = r
        return r

    def _end(self, r: Relationship, w: int, reason: str, client_leaves: bool = True) -> None:
        """Close a relationship; the client leaves the clinic unless they continue elsewhere."""
        self._engine().end(r.idx, w, client_leaves)
        r.end_reason = reason
        del r.therapist.caseload[r.rid]
        if client_leaves:
            r.client.remove()

    # -------------------------------------------------------------- sessions
    def _sessions(self, w: int) -> None:
        """Hold all of this week's sessions, then do what they set in motion."""
        R, Rup = self.R, self.Rup
        engine = self._engine()
        due = engine.due(w, R.n)
        if due.size == 0:
            return
        # Who rings first gets the slot; the rest are booked for next week.
        idx, postponed = engine.fit_into_diaries(w, due[self.rng.permutation(due.size)])
        self.postponed += postponed
        out = np.zeros(idx.size, dtype=KN.SESSION_RECORD)
        rows = np.empty(idx.size, dtype=KN.SESSION_ROW)
        u = self.rng.random((idx.size, len(KN.DRAWS)))
        Rup.reserve(idx.size)
        (Rup.n, ruptures, repairs, enactments, incidents, alliance, quality,
         distress) = self._engine().hold_sessions(w, idx, u, Rup.n, rows, out)
        self.sessions += int(idx.size)
        self.ruptures_this_week += ruptures
        self.repairs += repairs
        self.countertransference += enactments
        self.boundary_incidents += incidents
        self._sum_alliance += alliance
        self._sum_quality += quality
        self._sum_distress += distress
        if self.record_sessions:
            self.session_chunks.append(rows)
        self._log_sessions(w, out)
        self._after_sessions(w, out)

    def _log_sessions(self, w: int, out: np.ndarray) -> None:
        """Write the week's notable sessions to the event log, in session order."""
        notable = ((out["session"] == 1) | out["countertransference"] | out["boundary_incident"]
                   | out["in_play"] | out["trusted"] | out["recovered"])
        if not notable.any():
            return
        logged = out[notable][list(_LOGGED)].tolist()
        rels, R = self.relationships, self.R
        add = self.events.add
        for (ri, n, topic, enacted, incident, in_play, rupture, confrontation, noticed, by_therapist,
             by_client, before, hurt, bond, trusted, recovered) in logged:
            r = rels[ri]
            c, t = r.client.label, r.therapist.label
            if n == 1:
                add(w, K.FIRST_SESSION, c, t)
            if enacted and rupture != 2:
                add(w, K.COUNTERTRANSFERENCE, c, t, topic=TOPICS[topic], pronoun=r.client.pronoun)
            if incident:
                add(w, K.BOUNDARY_INCIDENT, c, t)
            if rupture:
                # One sentence per rupture: its cause and what became of it in the session.
                add(w, K.RUPTURE, c, t, cause=CAUSES[rupture].value,
                    kind="confrontation" if confrontation else "withdrawal",
                    topic=TOPICS[topic] if topic >= 0 else None, pronoun=r.client.pronoun, noticed=noticed,
                    outcome=REPAIRERS[1 if by_therapist else 2 if by_client else 0],
                    bond_before=before, bond_after=bond if (by_therapist or by_client) else hurt)
            elif by_therapist or by_client:
                add(w, K.REPAIR, c, t, by=REPAIRERS[1 if by_therapist else 2], noticed=noticed,
                    bond_before=before, bond_after=bond)
            if trusted:
                add(w, K.TRUST_REACHED, c, t, sessions=n)
            if recovered:
                add(w, K.ALLIANCE_RECOVERED, c, t, weeks=int(R.recovery_weeks[ri]))

    def _after_sessions(self, w: int, out: np.ndarray) -> None:
        """After the session: signposting, referral, goals, maintenance, dropout, or the next booking.

        The kernel drew every decision; here they are applied in order of
        precedence, for the few sessions that end or move a relationship.
        """
        R, C, p = self.R, self.C, self.params
        if p.handover_policy == "file_and_introduction":
            # During a notice period the successor is introduced in the room.
            rel = out["relationship"]
            meets = (self.T.leaving_week[R.therapist[rel]] >= 0) & ~R.introduced_to_successor[rel]
            for ri in rel[meets].tolist():
                r = self.relationships[ri]
                R.introduced_to_successor[ri] = True
                self.events.add(w, K.INTRODUCED, r.client.label, r.therapist.label,
                                successor=r.therapist.successor.label)
        todo = out["signpost"] | out["refer"] | out["goals"] | out["ends_maintenance"] | out["drops"] | out["recommends"]
        if not todo.any():
            return
        fields = ["relationship", "session", "signpost", "refer", "goals", "stays", "ends_maintenance", "drops",
                  "recommends"]
        for ri, n, signpost, refer, goals, stays, ends_maintenance, drops, recommends in out[todo][fields].tolist():
            r = self.relationships[ri]
            c, t = r.client, r.therapist
            if signpost:
                self.referrals_out += 1
                self.events.add(w, K.REFERRED_OUT, c.label, t.label, to=SIGNPOSTS[int(C.need[c.idx])])
                self._end(r, w, "referred_out")
                continue
            if refer and self._refer(w, r):
                continue
            if goals:
                C.goals_met[c.idx] = True
                self.events.add(w, K.GOALS_MET, c.label, t.label, pronoun=c.pronoun)
                if stays:
                    C.maintenance[c.idx] = R.maintenance[r.idx] = True
                    self.events.add(w, K.MAINTENANCE, c.label, t.label)
                else:
                    self.finished += 1
                    self.events.add(w, K.FINISHED, c.label, t.label, sessions=n)
                    self._end(r, w, "finished")
                    continue
            if ends_maintenance:
                self.maintenance_ended += 1
                self.events.add(w, K.MAINTENANCE_ENDED, c.label, t.label, pronoun=c.pronoun, sessions=n)
                self._end(r, w, "maintenance_ended")
                continue
            if drops:
                self.dropouts += 1
                self.events.add(w, K.DROPOUT, c.label, t.label, sessions=n)
                self._end(r, w, "dropout")
                continue
            if recommends:
                self._word_of_mouth(w, r)

    def _refer(self, w: int, r: Relationship) -> bool:
        """Refer a poorly fitting client to the colleague who suits them best; False if nobody has room."""
        C, ci = self.C, r.client.idx
        colleague = self._choose_therapist(self._client_km(ci).tolist(), float(C.travel_tolerance_km[ci]),
                                           exclude=r.therapist.idx, fit_for=ci)
        if colleague < 0:
            return False
        to = self.therapists_all[colleague]
        self.referrals_colleague += 1
        self.events.add(w, K.REFERRED_COLLEAGUE, r.client.label, r.therapist.label, to=to.label,
                        pronoun=r.client.pronoun)
        self._end(r, w, "referred_to_colleague", client_leaves=False)
        new = self._start(ci, colleague, w, first_session=w + max(1, round(float(C.cadence_weeks[ci]))))
        self._pass_file(r, new)  # same clinic, same records
        new.predecessor = r
        return True

    def _pass_file(self, old: Relationship, new: Relationship) -> None:
        """The new therapist reads the file: a share of what the old one knew, and the topics."""
        R, carry = self.R, self.params.file_knowledge_carry
        R.knowledge[new.idx] = carry * R.knowledge[old.idx]
        R.sore_areas_known[new.idx] = carry * R.sore_areas_known[old.idx]
        R.topics_known[new.idx] = R.topics_known[old.idx]
        R.file_transferred[new.idx] = True

    def _word_of_mouth(self, w: int, r: Relationship) -> None:
        """A satisfied client tells a family member or friend who has not been a client."""
        ties = [x for x in self.people.ties_of(r.client.person) if x[0] not in self.person_client]
        if not ties:
            return
        family = [x for x in ties if x[1] == "family"]
        person, tie = self.random.choice(family if family and self.random.random() < 0.5 else ties)
        self.events.add(w, K.WORD_OF_MOUTH, r.client.label, r.therapist.label, tie=tie)
        self._pending.setdefault(w + 1 + self.random.randint(0, 3), []).append(
            (person, r.client.label, r.therapist.idx))

    # ---------------------------------------------------------- end of week
    def _end_week(self, w: int) -> None:
        """Burnout and recovery for every working therapist, the week's tallies; a burnt-out therapist gives notice."""
        T, R, p = self.T, self.R, self.params
        snapshot = np.zeros(T.n, dtype=KN.THERAPIST_WEEK)
        (self.n_on_books, self.n_maintenance, self.n_open_ruptures, self.n_therapists_active,
         self.mean_burnout) = self._engine().end_week(w, T.n, R.n, snapshot)
        self.therapist_weeks.append(snapshot)
        self._weekly_means()
        spent = ((T.used("left_week") < 0) & (T.used("leaving_week") < 0)
                 & (T.used("burnout") >= p.burnout_leave_threshold))
        for i in np.flatnonzero(spent).tolist():
            last = w + max(1, min(BURNOUT_NOTICE_WEEKS, p.notice_weeks))
            self._give_notice(w, self.therapists_all[i], "burnout", last)

    # ------------------------------------------------- retirement and handover
    def _schedule_departure(self, t: Therapist, last_week: int, reason: str) -> None:
        """Schedule notice ``notice_weeks`` ahead of the last day (a later schedule replaces an earlier one)."""
        self.T.retirement_week[t.idx] = last_week
        self._schedule(max(1, last_week - self.params.notice_weeks), "notice", t, reason, last_week)

    def _give_notice(self, w: int, t: Therapist, reason: str, last_week: int) -> None:
        if t.on_notice or t.left_week is not None:
            return
        if reason == "retirement" and last_week != t.retirement_week:
            return  # superseded, e.g. by the scheduled retirement of T1
        T = self.T
        T.leaving_week[t.idx] = last_week
        T.accepting[t.idx] = False
        self._open = [x for x in self._open if x[0] != t.idx]
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
        p, R, C, T = self.params, self.R, self.C, self.T
        policy = p.handover_policy
        succ = t.successor
        self.therapist_departures += 1
        self.events.add(w, K.THERAPIST_LEFT, None, t.label, reason=t.leave_reason)
        T.left_week[t.idx] = w
        self._open_diaries(w)
        open_for_new = T.used("accepting").copy()
        open_for_new[succ.idx] = False
        for r in sorted(t.caseload.values(), key=lambda x: x.rid):
            c, ci = r.client, r.client.idx
            tol = float(C.travel_tolerance_km[ci])
            km = self._client_km(ci)[T.used("site")]
            here = float(km[t.idx])
            carry = p.introduction_trust_carry * r.bond if R.introduced_to_successor[r.idx] else 0.0
            file_k = p.file_knowledge_carry * r.knowledge if policy != "none" else 0.0
            options: list[tuple[str, int]] = [("successor", succ.idx)]
            utils = [SAME_ROOM_UTILITY + CARRY_UTILITY * carry + FILE_UTILITY * file_k - here / tol]
            nearer = np.flatnonzero(open_for_new & (km < here))
            if nearer.size:
                best = int(nearer[np.argmin(km[nearer])])
                options.append(("colleague", best))
                utils.append(-float(km[best]) / tol)
            options.append(("left", -1))
            utils.append(LEAVE_UTILITY + LEAVE_IF_GOALS_MET * bool(C.goals_met[ci]))
            choice, to = options[S.logit_choice(utils, self.random.random(), HANDOVER_TEMPERATURE)]
            r.handover_outcome = {"successor": "stayed_with_successor", "colleague": "moved_to_colleague",
                                  "left": "left"}[choice]
            next_week = int(R.next_week[r.idx])
            if choice == "left":
                self.handover_left += 1
                self.events.add(w, K.LEFT_AT_HANDOVER, c.label, t.label)
                self._end(r, w, "therapist_left")
                continue
            self._end(r, w, "therapist_left", client_leaves=False)
            booked = max(next_week, w + 1) if next_week >= 0 or C.paused_until[ci] < 0 else -1
            new = self._start(ci, to, w, bond=carry if choice == "successor" else None, first_session=booked)
            new.predecessor = r
            new.handover_policy = policy
            R.recovery_target[new.idx] = R.alliance_end[r.idx]
            if choice == "successor":
                self.handover_stayed += 1
                R.introduced[new.idx] = R.introduced_to_successor[r.idx]
                if policy != "none":
                    self._pass_file(r, new)
                    R.goal[new.idx] = 0.5 * R.goal[r.idx]
                    self.events.add(w, K.FILE_TRANSFERRED, c.label, t.label, successor=succ.label)
                self.events.add(w, K.STAYED_WITH_SUCCESSOR, c.label, succ.label)
            else:
                self.handover_moved += 1
                self.events.add(w, K.MOVED_TO_COLLEAGUE, c.label, self.therapists_all[to].label)
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
