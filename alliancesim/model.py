"""AllianceModel: a massage clinic, one step per week.

The weekly schedule (:meth:`AllianceModel.step`):

1. **Life**: what was scheduled for this week happens to the people it
   concerns: paused clients come back (:class:`~alliancesim.agents.Client`);
   therapists give notice, start, and leave with a handover
   (:class:`~alliancesim.agents.Therapist`, :mod:`alliancesim.handover`).
   Each client on the books may move, have a setback or pause this week
   (a weekly chance each, :data:`~alliancesim.agents.LIFE_EVENTS`).
2. **Diaries**: each therapist's booked load; who takes new clients.
3. **Arrivals**: newcomers find the clinic by themselves or by word of mouth
   and choose a therapist with room (:mod:`alliancesim.arrivals`).
4. **Sessions**: every client due this week sees their therapist while the
   diary has room, phase by phase (:mod:`alliancesim.week`); the notable ones
   go into the event log.
5. **After the session** the client books again, is signposted or referred,
   meets their goals, stays on for maintenance, or drops out.
6. **End of the week**: burnout builds with strain and eases with lighter
   weeks; a burnt-out therapist gives notice; the week is recorded.

Randomness comes from named streams derived from the seed
(:class:`~alliancesim.streams.Streams`), one per mechanism, so the same
parameters and seed give the same run and a new mechanism leaves the others'
numbers as they were.  Outputs are tables (see :mod:`alliancesim.tables`).
"""

from __future__ import annotations

import functools
import math
import operator
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import mesa
import numpy as np

from . import arrivals, handover
from . import week as W
from .agents import LIFE_EVENTS, Client, Therapist, life_chances
from .engine import ENGINE, direct, pack_params, rows, settle
from .events import EventKind as K
from .events import EventLog
from .metrics import record_headline, summary_metrics
from .network import town_network
from .params import ParameterError, Params, validate
from .relationship import CAUSES, REPAIRERS, Relationship, RuptureLog
from .schema import CLIENT, RELATIONSHIP, RUPTURE, SESSION, SESSION_OUTCOME, THERAPIST, THERAPIST_WEEK, TOPICS
from .state import Table
from .streams import Streams, check_seed
from .week import OPEN_FOR_NEW_BELOW

#: Where out-of-scope clients are signposted, by need code.
SIGNPOSTS = ("physiotherapy", "physiotherapy", "counselling", "physiotherapy")
#: Short notice given by a therapist leaving through burnout (weeks).
BURNOUT_NOTICE_WEEKS = 4
#: The clinic's first clients ask for appointments over this many opening weeks.
OPENING_WEEKS = 8
#: Spread of the starting therapists' years in practice around the mean (normal SD, years).
EXPERIENCE_SD = 4.0
#: Experience lifts skill and self-awareness a little: a therapist is fully seasoned after this many years.
SEASONED_YEARS = 20.0
#: At hiring, skill ranges SKILL_SEASONING below to above the trait mean with experience, self-awareness half that.
SKILL_SEASONING, AWARENESS_SEASONING = 0.1, 0.05
#: Spread of a trigger's intensity around its mean (normal SD), and its lowest value.
TRIGGER_SD, TRIGGER_MIN = 0.15, 0.01

#: Agenda items and the agent method that carries each out.
_CLIENT_EVENTS = {"resume": "resume"}
_THERAPIST_EVENTS = {"successor_starts": "start_work", "notice": "give_notice", "leave": "leave"}
#: Fields of a session outcome record that the event log reads, in this order.
_LOGGED = ("relationship", "session", "topic", "countertransference", "boundary_incident", "in_play",
           "rupture", "confrontation", "noticed", "by_therapist", "by_client", "bond_before", "bond_hurt",
           "bond", "trusted", "recovered")
#: Those fields picked out of a record's tuple (cheaper than selecting fields of the array).
_LOGGED_FIELDS = operator.itemgetter(*(SESSION_OUTCOME.names.index(name) for name in _LOGGED))
#: The order AllianceModel._after_sessions unpacks a decision row in: week.follow_up's (checked below).
_DECISION_ORDER = ("relationship", "session", "signpost", "refer", "goals", "stays", "completes",
                   "ends_maintenance", "drops", "recommends")
if W.DECISIONS != _DECISION_ORDER:  # a reordering must never silently mix decisions up
    raise ImportError(f"alliancesim.week.DECISIONS {W.DECISIONS} is not the order "
                      f"AllianceModel._after_sessions unpacks {_DECISION_ORDER}: change both together")


class WeeklyCollector(mesa.DataCollector):
    """Mesa's DataCollector, collecting model attributes that hold plain numbers more cheaply.

    Mesa deep-copies every value it collects (so that a later change to a
    mutable value stays out of earlier weeks) and appends it to its column.
    Numbers cannot change, so here each week's numbers are kept as one row and
    put into the columns (:attr:`model_vars`) when they are read.  Any other
    value, or any other kind of reporter, is collected by Mesa as usual.
    """

    def __init__(self, *args, **kwargs) -> None:
        self._rows: list[tuple] = []
        self._read_row: Callable | None = None
        self._shape: tuple = ()
        self._on_read: Callable[[], object] | None = None
        super().__init__(*args, **kwargs)

    def when_read(self, complete: Callable[[], object]) -> None:
        """Call ``complete()`` (once) before the columns are next read: it may add columns of its own."""
        self._on_read = complete

    @property
    def model_vars(self) -> dict[str, list]:
        """Mesa's columns of model variables (name -> one value per collection)."""
        if self._rows:
            for column, values in zip(self._columns.values(), zip(*self._rows, strict=True), strict=True):
                column.extend(values)
            self._rows.clear()
        if self._on_read is not None:
            complete, self._on_read = self._on_read, None
            complete()
        return self._columns

    @model_vars.setter
    def model_vars(self, columns: dict[str, list]) -> None:
        self._columns = columns

    def collect(self, model) -> None:
        reporters = self.model_reporters
        shape = (tuple(reporters.values()), len(self._columns), len(self.agent_reporters),
                 len(self.agenttype_reporters))
        if self._read_row is None or shape != self._shape:
            # (Re)decide whether every reporter is a model attribute: not on the first collection
            # (Mesa validates the reporters then), nor after reporters or columns were added.
            plain = (self._validated and not self.agent_reporters and not self.agenttype_reporters
                     and list(reporters) == list(self._columns) and all(type(r) is str for r in reporters.values()))
            self._read_row = operator.attrgetter(*reporters.values()) if plain and reporters else None
            self._shape = shape
        values = self._read_row(model) if self._read_row is not None else None
        if type(values) is not tuple or not set(map(type, values)) <= _NUMBERS:
            self.model_vars  # noqa: B018 - earlier rows go into the columns first
            super().collect(model)
            return
        self._collection_steps.append(model.time)
        self._rows.append(values)


#: The random streams of the life events, in the order of LIFE_EVENTS.
_LIFE_STREAMS = tuple(stream for _, stream in LIFE_EVENTS)
#: Values a collector keeps as they are.
_NUMBERS = frozenset({int, float, bool})


class AllianceModel(mesa.Model):
    """A clinic of therapists and clients whose relationships form, rupture, repair and hand over.

    Parameters
    ----------
    params : Params, mapping or None
        A validated :class:`~alliancesim.params.Params`, or a mapping of
        parameter values (missing ones take registry defaults).
    preset : str or None
        A preset's name or file to start from; ``params`` (a mapping) and
        ``overrides`` go on top.  ``mesa.batch_run`` can vary it like any parameter.
    rng : int, numpy.random.SeedSequence, numpy.random.Generator or None
        The seed: the same parameters and seed give identical output.  ``None``
        draws a fresh seed (recorded as :attr:`seed`).
    record_sessions : bool
        Keep one record per session (needed for the session table, the
        relationship inspector and the dose-response metrics).
    **overrides
        Individual parameter values on top of ``params``.

    Raises
    ------
    ParameterError
        For an unknown parameter, a value out of range, an impossible
        combination, or a bad seed (the message names it and what is allowed).

    Notes
    -----
    One step is one week; :attr:`week` counts weeks from 1 and the run ends at
    :attr:`horizon` (``years * 52``); stepping past it raises ``RuntimeError``.
    When the run ends, :attr:`headline` holds its headline metrics, also collected
    as ``run_<metric>`` so that ``mesa.batch_run`` returns them (both are
    computed when first read, so a run nobody asks for them does not pay).
    """

    def __init__(self, params: Params | Mapping[str, Any] | None = None, *, preset: str | None = None,
                 rng=None, record_sessions: bool = True, **overrides: Any) -> None:
        if isinstance(params, str):
            raise ParameterError(
                f"AllianceModel({params!r}): a preset name is not parameters; use "
                f"AllianceModel(preset={params!r}) or alliancesim.simulate({params!r})"
            )
        if preset is not None:  # issue 13 hook: start from a preset
            from .runner import preset_params

            params = preset_params(params, preset)
        if "seed" in overrides:
            raise ParameterError("AllianceModel takes the seed as rng=SEED (Mesa's name); seed= is not a parameter")
        if params is not None and not isinstance(params, (Params, Mapping)):
            raise ParameterError(f"params={params!r} is not parameters: give a Params, a mapping of parameter "
                                 "values, or preset='NAME'")
        base = params.as_dict() if isinstance(params, Params) else validate(params or {}).as_dict()
        seed = check_seed(rng)
        super().__init__(rng=int(seed.generate_state(1, np.uint32)[0]) if isinstance(seed, np.random.SeedSequence)
                         else seed)
        self.params: Params = validate(overrides, base=base)
        self.seed = seed if isinstance(seed, int) else None
        self.streams = Streams(seed)
        self.engine = ENGINE
        p = self.params
        self.week = 0
        self.horizon = max(1, round(p.years * 52))
        if not isinstance(record_sessions, bool):  # 'no' is truthy: refuse it rather than guess
            raise ParameterError(f"record_sessions={record_sessions!r} is not true/false")
        self.record_sessions = record_sessions

        self.T = Table(THERAPIST, capacity=max(16, 2 * p.n_therapists))
        self.C = Table(CLIENT, capacity=max(256, p.initial_clients * 2))
        self.R = Table(RELATIONSHIP, capacity=max(512, p.initial_clients * 4))
        self.Rup = Table(RUPTURE, capacity=1024)
        self.P = pack_params(p)
        self._views: tuple = ()
        self.therapists_all: list[Therapist] = []
        self.clients_all: list[Client] = []
        self.relationships: list[Relationship] = []
        self.ruptures = RuptureLog(self.Rup)
        self.events = EventLog()
        self.session_chunks: list[np.ndarray] = []
        self.therapist_weeks: list[np.ndarray] = []
        self._agenda: dict[int, list[tuple]] = {}
        self.pending: dict[int, list[tuple[int, str | None, int]]] = {}
        self._moved_on: list[int] = []  # people whose time as clients ended this week
        self._renewals: dict[int, list[int]] = {}  # week -> people whose place in town someone new takes
        self._life_chances = life_chances(p)
        self.client_weeks = 0

        # The town, its family/friend ties, and the clinic's sites.
        self.people = town_network(p.population, p.town_radius_km, self.streams.numpy("town"))
        self.site_xy = np.array(self._place_sites(p.n_sites, p.town_radius_km))
        #: Distance (km) from each person's home to each site, shape (population, n_sites).
        self.person_site_km = self.km_from(self.people.homes[:, 0:1], self.people.homes[:, 1:2])
        #: Client row of each person in town (-1: not a client, or someone new lives there now).
        self.person_client = np.full(p.population, -1, dtype=np.int64)

        hiring = self.streams.python("hiring")
        for i in range(p.n_therapists):
            self.hire(site=i % p.n_sites, experience=max(0.0, hiring.gauss(p.experience_years_mean, EXPERIENCE_SD)),
                      week=0)
        if p.scheduled_retirement_week > 0:
            self.schedule_departure(self.therapists_all[0], p.scheduled_retirement_week, "retirement")
        # The clinic opens: its first clients ask for appointments over the opening weeks.
        for i in range(p.initial_clients):
            self.pending.setdefault(1 + i % OPENING_WEEKS, []).append((-1, None, -1))

        self._reset_counters()
        self.n_on_books = self.n_maintenance = self.n_open_ruptures = 0
        self.n_therapists_active = p.n_therapists
        self.mean_burnout = 0.0
        self._weekly_means()
        self.datacollector = WeeklyCollector(model_reporters=dict(WEEKLY_COLUMNS))

    # ------------------------------------------------------------------ setup
    @staticmethod
    def _place_sites(n: int, radius: float) -> list[tuple[float, float]]:
        """Site 0 in the town centre, the others evenly around a ring at half the radius."""
        sites = [(0.0, 0.0)]
        for k in range(1, n):
            a = 2 * math.pi * (k - 1) / max(1, n - 1)
            sites.append((0.5 * radius * math.cos(a), 0.5 * radius * math.sin(a)))
        return sites

    def hire(self, site: int, experience: float, week: int, successor_of: str | None = None) -> Therapist:
        """Hire a therapist: traits drawn around the registry means; experience lifts skill a little."""
        p, rnd = self.params, self.streams.python("hiring")

        def trait(mean: float) -> float:
            return min(1.0, max(0.0, rnd.gauss(mean, p.trait_sd)))

        triggers = np.zeros(len(TOPICS))
        for topic in rnd.sample(range(len(TOPICS)), min(arrivals.poisson(rnd, p.triggers_mean), len(TOPICS))):
            triggers[topic] = min(1.0, max(TRIGGER_MIN, rnd.gauss(p.trigger_intensity_mean, TRIGGER_SD)))
        seasoned = min(1.0, experience / SEASONED_YEARS)
        retire = week + max(1, round(rnd.uniform(0.0, 2.0 * p.career_years_mean) * 52))
        idx = self.T.add(
            manual_skill=min(1.0, max(0.0, trait(p.manual_skill_mean) - SKILL_SEASONING
                                      + 2 * SKILL_SEASONING * seasoned)),
            warmth=trait(p.warmth_mean),
            boundary_firmness=trait(p.boundary_firmness_mean),
            self_awareness=min(1.0, max(0.0, trait(p.self_awareness_mean) - AWARENESS_SEASONING
                                        + 2 * AWARENESS_SEASONING * seasoned)),
            talkativeness=trait(p.talkativeness_mean),
            fixing_stance=trait(p.fixing_stance_mean),
            triggers=triggers,
            weekly_capacity=p.weekly_capacity,
            experience_years=experience,
            site=site,
            start_week=week,
        )
        t = Therapist(self, idx, successor_of=successor_of)
        self.therapists_all.append(t)
        if retire <= self.horizon:
            self.schedule_departure(t, retire, "retirement")
        return t

    # ------------------------------------------------------------------ the agenda
    def schedule(self, week: int | None, kind: str, who, *extra) -> None:
        """Put ``who.<kind>`` on the agenda of ``week`` (ignored when None or after the run)."""
        if week is not None and week <= self.horizon:
            self._agenda.setdefault(week, []).append((kind, who, *extra))

    def schedule_departure(self, t: Therapist, last_week: int, reason: str) -> None:
        """Schedule notice ``notice_weeks`` ahead of the last day (a later schedule replaces an earlier one)."""
        self.T.retirement_week[t.idx] = last_week
        self.schedule(max(1, last_week - self.params.notice_weeks), "notice", t, reason, last_week)

    def _happen(self, week: int, kind: str, who, *extra) -> None:
        """One agenda item: the person it concerns does it (if they are still here)."""
        if kind in _CLIENT_EVENTS:
            if self.C.left_week[who.idx] < 0:
                getattr(who, _CLIENT_EVENTS[kind])(week)
        else:
            getattr(who, _THERAPIST_EVENTS[kind])(week, *extra)

    # ------------------------------------------------------------------ step
    def step(self) -> None:
        """One week in the clinic.

        Raises
        ------
        RuntimeError
            When the run has already reached its horizon (``years * 52`` weeks).
        """
        if self.week >= self.horizon:
            self.running = False
            raise RuntimeError(f"the run ended at week {self.horizon} (years={self.params.years:g}); "
                               "it does not step past its horizon")
        self.week = w = self.week + 1
        self._reset_counters()
        for item in self._agenda.pop(w, ()):
            self._happen(w, *item)
        renewed = self._renewals.pop(w, None)
        if renewed:
            self.person_client[renewed] = -1  # someone new lives there now
        self._life_events(w)
        self.open_diaries(w)
        arrivals.arrivals(self, w)
        self._sessions(w)
        self._end_week(w)
        self.client_weeks += self.n_on_books
        self.datacollector.collect(self)
        if w >= self.horizon:
            self.running = False
            # Issue 13 hook: the run's headline metrics join the collected columns, for mesa.batch_run.
            self.datacollector.when_read(functools.partial(record_headline, self))

    def _life_events(self, week: int) -> None:
        """This week's chance of each life event (:data:`~alliancesim.agents.LIFE_EVENTS`) for every client
        on the books; those it befalls live it, client by client (while they are still here)."""
        C = self.C
        on_books = direct(W.on_books)(self.tables()[1], C.n)
        u = self.streams.uniforms(_LIFE_STREAMS, on_books.size)
        # Client by client, and for each client in the order of LIFE_EVENTS.
        who, what = direct(W.befall)(on_books, u, self._life_chances)
        left, clients = C.left_week, self.clients_all
        for ci, k in zip(who.tolist(), what.tolist(), strict=True):
            if left[ci] < 0:
                getattr(clients[ci], LIFE_EVENTS[k][0])(week)

    def run(self, weeks: int | None = None, progress=None) -> AllianceModel:
        """Run ``weeks`` weeks (default: to the end of ``years``); ``progress(week)`` is called each week."""
        end = self.horizon if weeks is None else min(self.horizon, self.week + weeks)
        while self.running and self.week < end:
            self.step()
            if progress is not None:
                progress(self.week)
        return self

    def _reset_counters(self) -> None:
        self.__dict__.update(_FRESH_COUNTS)  # plain attributes (none is a property): one update

    def _weekly_means(self) -> None:
        n = self.sessions
        self.mean_alliance = self._sum_alliance / n if n else float("nan")
        self.mean_quality = self._sum_quality / n if n else float("nan")
        self.mean_distress = self._sum_distress / n if n else float("nan")

    # ------------------------------------------------------------- queries
    @property
    def headline(self) -> dict[str, float] | None:
        """The run's headline metrics (:func:`~alliancesim.metrics.summary_metrics`) once it has reached its
        horizon; None before."""
        return summary_metrics(self) if self.week >= self.horizon else None

    @property
    def town(self):
        """The town's family and friend ties as a networkx graph (nodes are people)."""
        return self.people.graph()

    @property
    def agents(self):
        """Mesa's set of all agents: the therapists and every client on the books (see :meth:`Client.join`)."""
        self._join_clients()
        return super().agents

    @property
    def agents_by_type(self):
        """Mesa's agent sets by type (see :attr:`agents`)."""
        self._join_clients()
        return super().agents_by_type

    @property
    def agent_types(self) -> list[type]:
        self._join_clients()
        return super().agent_types

    def _join_clients(self) -> None:
        """Every client on the books joins the model's Mesa agents (a client's agent registers when first needed)."""
        clients = self.clients_all
        for ci in np.flatnonzero(self.C.used("left_week") < 0).tolist():
            clients[ci].join()

    def active_therapists(self) -> list[Therapist]:
        """Therapists currently seeing clients (started, not yet left)."""
        return [t for t in self.therapists_all if t.working]

    def clients(self) -> Iterator[Client]:
        """Clients on the books (attending or paused), in order of arrival."""
        for i in np.flatnonzero(self.C.used("relationship") >= 0).tolist():
            yield self.clients_all[i]

    def km_from(self, x, y) -> np.ndarray:
        """Distance (km) from home(s) at ``x, y`` to each site."""
        return np.hypot(self.site_xy[:, 0] - x, self.site_xy[:, 1] - y)

    # ------------------------------------------------------------- the session code's view of the tables
    def tables(self) -> tuple:
        """The relationship, client, therapist and rupture tables as the session code reads them."""
        R, C, T, Rup = self.R.data, self.C.data, self.T.data, self.Rup.data
        v = self._views
        if not v or v[0] is not R or v[1] is not C or v[2] is not T or v[3] is not Rup:
            # A table grew (its array was replaced): take fresh views.
            self._views = v = (R, C, T, Rup, (rows(R), rows(C), rows(T), rows(Rup)))
        return v[4]

    def bring_up_to(self, ci: int, week: int) -> None:
        """Between-session drift of client row ``ci``'s distress and pain up to ``week``."""
        direct(W.client_up_to)(self.tables()[1], ci, week, self.P)

    def open_diaries(self, week: int) -> None:
        """Each therapist's booked sessions per week, and whether they take new clients."""
        rels, clients, therapists, _ = self.tables()
        direct(W.open_diaries)(rels, clients, therapists, self.T.n, self.R.n, week, OPEN_FOR_NEW_BELOW, self.P)

    def close_diary(self, ti: int) -> None:
        """Therapist row ``ti`` takes no more new clients this week."""
        self.T.accepting[ti] = False

    # ---------------------------------------------------------- relationships
    def start_relationship(self, ci: int, ti: int, week: int, bond: float | None = None,
                           first_session: int = -1) -> Relationship:
        """Open a relationship between client row ``ci`` and therapist row ``ti``.

        ``bond`` is trust carried over by a warm introduction; ``first_session``
        the week of the first booking (-1: not booked yet).
        """
        ri = self.R.add(client=ci, therapist=ti)
        rels, clients, therapists, _ = self.tables()
        direct(W.start)(rels, clients, therapists, ri, week, -1.0 if bond is None else bond, first_session,
                OPEN_FOR_NEW_BELOW, self.P)  # a full diary closes to new clients
        return self.adopt_relationship(ri, ci, ti)

    def adopt_relationship(self, ri: int, ci: int, ti: int) -> Relationship:
        """The :class:`Relationship` of relationship row ``ri`` just started between client row ``ci`` and
        therapist row ``ti``, on the therapist's caseload."""
        therapist = self.therapists_all[ti]
        r = Relationship(self.R, ri, self.clients_all[ci], therapist, self.ruptures)
        self.relationships.append(r)
        therapist.caseload[ri + 1] = r
        return r

    def end_relationship(self, r: Relationship, week: int, reason: str, client_leaves: bool = True) -> None:
        """Close a relationship; the client leaves the clinic unless they continue elsewhere."""
        rels, clients, therapists, _ = self.tables()
        direct(W.end)(rels, clients, therapists, r.idx, week, client_leaves, self.P)
        self._ended(r, reason, client_leaves)

    def _ended(self, r: Relationship, reason: str, client_leaves: bool) -> None:
        """What a relationship's end means outside its table rows: the caseload, the client's agent, the town."""
        r.end_reason = reason
        del r.therapist.caseload[r.rid]
        if client_leaves:
            r.client.remove()
            self._moved_on.append(r.client.person)  # in time someone new takes their place (see _end_week)

    def refer(self, week: int, r: Relationship) -> bool:
        """Refer a poorly fitting client to the colleague who suits them best; False if nobody has room."""
        C, ci = self.C, r.client.idx
        colleague = direct(arrivals.choose_therapist)(self.tables()[2], self.T.n, self.km_from(C.home_x[ci], C.home_y[ci]),
                                              float(C.travel_tolerance_km[ci]),
                                              self.streams.python("referral").random(), -1, r.therapist.idx,
                                              int(C.need[ci]))
        if colleague < 0:
            return False
        to = self.therapists_all[colleague]
        self.referrals_colleague += 1
        self.events.add(week, K.REFERRED_COLLEAGUE, r.client.label, r.therapist.label, to=to.label,
                        pronoun=r.client.pronoun)
        self.end_relationship(r, week, "referred_to_colleague", client_leaves=False)
        new = self.start_relationship(ci, colleague, week,
                                      first_session=week + max(1, round(float(C.cadence_weeks[ci]))))
        handover.pass_file(self, r, new)  # same clinic, same records
        new.predecessor = r
        return True

    # -------------------------------------------------------------- sessions
    def _sessions(self, w: int) -> None:
        """Hold all of this week's sessions, then do what they set in motion."""
        R, Rup = self.R, self.Rup
        rels, clients, therapists, _ = self.tables()
        due = direct(W.due)(rels, R.n, w)
        if due.size == 0:
            return
        # Who rings first gets the slot; the rest are booked for next week.
        order = self.streams.numpy("booking").permutation(due.size)
        idx, postponed = direct(W.fit_into_diaries)(rels, therapists, self.T.n, w, due[order])
        self.postponed += postponed
        record = np.zeros(idx.size, dtype=SESSION.dtype)
        out = np.zeros(idx.size, dtype=SESSION_OUTCOME.dtype)
        u = self.streams.uniforms(W.DRAWS, idx.size)
        Rup.reserve(idx.size)
        rels, clients, therapists, episodes = self.tables()
        (Rup.n, ruptures, repairs, enactments, incidents, alliance, quality, distress) = direct(W.hold_sessions)(
            w, idx, u, Rup.n, rels, clients, therapists, episodes, self.site_xy, self.P, rows(record), rows(out))
        self.sessions += int(idx.size)
        self.ruptures_this_week += ruptures
        self.repairs += repairs
        self.countertransference += enactments
        self.boundary_incidents += incidents
        self._sum_alliance += alliance
        self._sum_quality += quality
        self._sum_distress += distress
        if self.record_sessions:
            self.session_chunks.append(record)
        notable, decisions = direct(W.follow_up)(rows(out))
        self._log_sessions(w, out[notable])
        if self.params.handover_policy == "file_and_introduction":
            handover.introduce_successors(self, w, out["relationship"])
        self._after_sessions(w, decisions)

    def _log_sessions(self, w: int, notable: np.ndarray) -> None:
        """Put the week's notable sessions (session outcome records) in the event log, in session order
        (written out when the log is read)."""
        if notable.size:
            self.events.defer(functools.partial(self._session_events, w, notable))

    def _session_events(self, w: int, out: np.ndarray) -> list[tuple]:
        """The event-log rows of week ``w``'s notable sessions ``out`` (session outcome records)."""
        rels, R, rows = self.relationships, self.R, []
        add = rows.append
        for (ri, n, topic, enacted, incident, in_play, rupture, confrontation, noticed, by_therapist,
             by_client, before, hurt, bond, trusted, recovered) in map(_LOGGED_FIELDS, out.tolist()):
            r = rels[ri]
            c, t = r.client.label, r.therapist.label
            if n == 1:
                add((w, K.FIRST_SESSION, c, t, {}))
            if enacted and rupture != W.COUNTERTRANSFERENCE:
                add((w, K.COUNTERTRANSFERENCE, c, t, {"topic": TOPICS[topic], "pronoun": r.client.pronoun}))
            if incident:
                add((w, K.BOUNDARY_INCIDENT, c, t, {}))
            if rupture:
                # One sentence per rupture: its cause and what became of it in the session.
                add((w, K.RUPTURE, c, t, {
                    "cause": CAUSES[rupture].value, "kind": "confrontation" if confrontation else "withdrawal",
                    "topic": TOPICS[topic] if topic >= 0 else None, "pronoun": r.client.pronoun, "noticed": noticed,
                    "outcome": REPAIRERS[1 if by_therapist else 2 if by_client else 0],
                    "bond_before": before, "bond_after": bond if (by_therapist or by_client) else hurt}))
            elif by_therapist or by_client:
                add((w, K.REPAIR, c, t, {"by": REPAIRERS[1 if by_therapist else 2], "noticed": noticed,
                                         "bond_before": before, "bond_after": bond}))
            if trusted:
                add((w, K.TRUST_REACHED, c, t, {"sessions": n}))
            if recovered:
                add((w, K.ALLIANCE_RECOVERED, c, t, {"weeks": int(R.recovery_weeks[ri])}))
        return rows

    def _after_sessions(self, w: int, decisions: np.ndarray) -> None:
        """After the session: signposting, referral, goals, the planned course done, maintenance, dropout,
        or word of mouth.

        The session code drew every decision; here they are applied in order of
        precedence, for the few sessions that end or move a relationship (``decisions``: one row of
        :data:`~alliancesim.week.DECISIONS` per session, from :func:`~alliancesim.week.follow_up`).
        Relationships that end with the client leaving are closed in the tables together, at the end.
        """
        C = self.C
        leaving: list[int] = []

        def end(r: Relationship, reason: str) -> None:
            leaving.append(r.idx)
            self._ended(r, reason, True)

        for ri, n, signpost, refer, goals, stays, completes, ends_maintenance, drops, recommends in \
                decisions.tolist():
            r = self.relationships[ri]
            c, t = r.client, r.therapist
            if signpost:
                self.referrals_out += 1
                self.events.add(w, K.REFERRED_OUT, c.label, t.label, to=SIGNPOSTS[int(C.need[c.idx])])
                end(r, "referred_out")
                continue
            if refer and self.refer(w, r):
                continue
            if goals:
                C.goals_met[c.idx] = True
                self.events.add(w, K.GOALS_MET, c.label, t.label, pronoun=c.pronoun)
                if not stays:
                    self.finished += 1
                    self.events.add(w, K.FINISHED, c.label, t.label, sessions=n)
                    end(r, "finished")
                    continue
            if stays:  # at the end of the course the client stays on for maintenance
                C.maintenance[c.idx] = self.R.maintenance[r.idx] = True
                self.events.add(w, K.MAINTENANCE, c.label, t.label)
            if completes:
                self.completed += 1
                self.events.add(w, K.COMPLETED, c.label, t.label, pronoun=c.pronoun, sessions=int(C.sessions[c.idx]))
                end(r, "completed")
                continue
            if ends_maintenance:
                self.maintenance_ended += 1
                self.events.add(w, K.MAINTENANCE_ENDED, c.label, t.label, pronoun=c.pronoun, sessions=n)
                end(r, "maintenance_ended")
                continue
            if drops:
                self.dropouts += 1
                self.events.add(w, K.DROPOUT, c.label, t.label, sessions=n)
                end(r, "dropout")
                continue
            if recommends:
                arrivals.word_of_mouth(self, w, r)
        if leaving:
            rels, clients, therapists, _ = self.tables()
            direct(W.end_all)(rels, clients, therapists, np.array(leaving, dtype=np.int64), w, self.P)

    # ---------------------------------------------------------- end of week
    def _town_turnover(self, w: int) -> None:
        """Where a client left the clinic this week, someone new comes to live in town in time (a move, a child
        grown up): each week with chance ``town_turnover_rate / 52``, so after a geometric number of weeks."""
        chance = self.params.town_turnover_rate / 52
        if self._moved_on and chance > 0.0:
            weeks = self.streams.numpy("town_turnover").geometric(min(chance, 1.0), len(self._moved_on))
            for person, later in zip(self._moved_on, weeks.tolist(), strict=True):
                if w + later <= self.horizon:
                    self._renewals.setdefault(w + later, []).append(person)
        self._moved_on.clear()

    def _end_week(self, w: int) -> None:
        """Burnout and recovery for every working therapist, the week's tallies; a burnt-out therapist gives notice."""
        T, p = self.T, self.params
        snapshot = np.zeros(T.n, dtype=THERAPIST_WEEK.dtype)
        rels, clients, therapists, _ = self.tables()
        (self.n_on_books, self.n_maintenance, self.n_open_ruptures, self.n_therapists_active,
         self.mean_burnout, highest) = direct(W.end_week)(rels, clients, therapists, T.n, self.R.n, w, self.P,
                                                          rows(snapshot))
        self.therapist_weeks.append(snapshot)
        self._town_turnover(w)
        self._weekly_means()
        if highest < p.burnout_leave_threshold:
            return  # nobody is burnt out (most weeks)
        spent = ((T.used("left_week") < 0) & (T.used("leaving_week") < 0)
                 & (T.used("burnout") >= p.burnout_leave_threshold))
        for i in np.flatnonzero(spent).tolist():
            last = w + max(1, min(BURNOUT_NOTICE_WEEKS, p.notice_weeks))
            self.therapists_all[i].give_notice(w, "burnout", last)


#: Weeks of the throwaway clinic that loads the compiled code once per process (see engine.settle).
WARM_UP_WEEKS = 8


def _warm_up() -> None:
    """A few weeks of a throwaway default clinic: loads the session code of this process's engine."""
    AllianceModel(rng=0, years=WARM_UP_WEEKS / 52).run()


def settle_process() -> None:
    """Load the compiled session code, then keep it, the imported libraries and everything else alive
    now out of every later full garbage collection (:func:`alliancesim.engine.settle`).

    For processes that exist to run models, before their first model: sweep and calibration
    workers call it as they start, the command line when it runs the models itself.  A script or
    notebook that runs many models may call it first, before it makes objects it wants collected
    later (``python benchmarks/gc_settle.py`` shows the gain).  Once per process.
    """
    settle(_warm_up)


#: Weekly counters reset at the start of each week.
WEEKLY_COUNTS: tuple[str, ...] = (
    "sessions", "new_clients", "word_of_mouth_arrivals", "turned_away", "postponed",
    "ruptures_this_week", "repairs", "countertransference", "boundary_incidents",
    "dropouts", "finished", "completed", "maintenance_ended", "referrals_colleague", "referrals_out",
    "moved_away", "therapist_departures", "handover_stayed", "handover_moved", "handover_left",
)
#: The weekly counters and sums as each week begins.
_FRESH_COUNTS: dict[str, float] = {**dict.fromkeys(WEEKLY_COUNTS, 0),
                                   **dict.fromkeys(("_sum_alliance", "_sum_quality", "_sum_distress"), 0.0)}
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
