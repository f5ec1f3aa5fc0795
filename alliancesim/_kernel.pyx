# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""The compiled weekly loop of alliancesim (see kernel.py for what it does and why).

This is the only Cython source: it walks the week's sessions over the record
tables and calls the session functions of session.py (compiled through
session.pxd) in the documented order.  Each struct below mirrors one record
dtype field for field; a mismatch is refused when the loop is first called.
"""

from libc.math cimport floor, isnan, sqrt, NAN

import numpy as np

cimport alliancesim.session as S

from alliancesim import kernel as _K
from alliancesim.relationship import ALLOWED as _ALLOWED, PATH_CAPACITY as _PATH_CAPACITY, RuptureState

# Record layouts: each mirrors a record dtype of the Python side, field for field.
cdef packed struct Therapist:
    double manual_skill
    double warmth
    double boundary_firmness
    double self_awareness
    double talkativeness
    double fixing_stance
    double burnout
    double experience_years
    double load
    long long weekly_capacity
    long long site
    long long start_week
    long long left_week
    long long leaving_week
    long long retirement_week
    long long sessions_this_week
    long long stalled_this_week
    long long sessions_given
    char accepting
    double triggers[8]

cdef packed struct Client:
    double distress
    double pain
    double distress_baseline
    double pain_baseline
    double distress_floor
    double distress_start
    double pain_start
    double self_care
    double talk_preference
    double trust_propensity
    double cadence_weeks
    double travel_tolerance_km
    double responsiveness
    double home_x
    double home_y
    long long updated_week
    long long prior_negative
    long long need
    long long relationship
    long long paused_until
    long long sessions_total
    long long arrived_week
    long long left_week
    char in_scope
    char maintenance
    char goals_met
    char satisfied
    double topics[8]

cdef packed struct Rel:
    double bond
    double goal
    double task
    double separateness
    double pleasure
    double merging
    double internalisation
    double knowledge
    double sore_areas_known
    double need_fit
    double trust_rate
    double bond_start
    double alliance_start
    double alliance_end
    double distress_start
    double distress_end
    double pain_start
    double pain_end
    double recovery_target
    double episode_bond_before
    long long open_episode
    long long client
    long long therapist
    long long sessions
    long long start_week
    long long end_week
    long long next_week
    long long ruptures
    long long repairs
    long long repairs_by_therapist
    long long repairs_by_client
    long long enactments
    long long boundary_incidents
    long long sessions_to_trust
    long long recovery_weeks
    long long recovered_sessions
    char active
    char open
    char open_confrontation
    char introduced_to_successor
    char introduced
    char file_transferred
    char maintenance
    char unresolved_at_end
    long long topics_known[8]

cdef packed struct Episode:
    long long relationship
    long long week
    long long session
    char confrontation
    long long cause
    long long topic
    double bond_before
    double bond_at_rupture
    char noticed
    char client_tried
    long long attempts
    long long repaired_by
    long long resolved_week
    long long resolved_session
    double bond_after
    long long state
    long long path
    long long path_length

cdef packed struct Row:
    long long week
    long long relationship
    long long session
    double quality
    double bond
    double goal
    double task
    double alliance
    double separateness
    double pleasure
    double merging
    double internalisation
    double knowledge
    double distress_before
    double distress_after
    double pain_before
    double pain_after
    double talk_share
    double talk_fit
    long long topic
    char countertransference
    char boundary_incident
    long long rupture
    char repaired
    char rupture_open

cdef packed struct Out:
    long long relationship
    long long session
    long long topic
    char countertransference
    char boundary_incident
    long long rupture
    char in_play
    long long episode
    char confrontation
    char noticed
    char by_therapist
    char client_tries
    char by_client
    double bond_before
    double bond_hurt
    double bond
    char trusted
    char recovered
    char signpost
    char refer
    char goals
    char stays
    char ends_maintenance
    char drops
    char recommends

cdef packed struct TherapistWeek:
    long long week
    long long therapist
    long long caseload
    double burnout
    double manual_skill
    double self_awareness
    long long start_week
    long long left_week
    long long leaving_week


# Constants, read once from kernel.py and relationship.py (their single home).
cdef double TRUST_THRESHOLD = _K.TRUST_THRESHOLD
cdef double RECOVERY_SHARE = _K.RECOVERY_SHARE
cdef long long FIT_CHECK_SESSION = _K.FIT_CHECK_SESSION
cdef double FIT_THRESHOLD = _K.FIT_THRESHOLD
cdef double GOAL_PROGRESS = _K.GOAL_PROGRESS
cdef long long STALLED_AFTER = _K.STALLED_AFTER
cdef double STALLED_PROGRESS = _K.STALLED_PROGRESS
cdef double SATISFIED_ALLIANCE = _K.SATISFIED_ALLIANCE
cdef double SATISFIED_PROGRESS = _K.SATISFIED_PROGRESS
cdef double MAINTENANCE_END = _K.MAINTENANCE_END
cdef double MAINTENANCE_DROPOUT_SCALE = _K.MAINTENANCE_DROPOUT_SCALE
cdef double ENACTMENT_RUPTURE = S.ENACTMENT_RUPTURE
cdef double INCIDENT_RUPTURE = S.INCIDENT_RUPTURE
cdef long long PHYSICAL = S.PHYSICAL
cdef long long OVERWHELMED = S.OVERWHELMED
cdef double WITHDRAW_P[4]
cdef double SEVERITY_LO[4]
cdef double SEVERITY_HI[4]
for _i in range(4):
    WITHDRAW_P[_i] = _K.WITHDRAW_P[_i]
    SEVERITY_LO[_i] = _K.SEVERITY_LO[_i]
    SEVERITY_HI[_i] = _K.SEVERITY_HI[_i]
cdef long long NO_RUPTURE = _K.NO_RUPTURE, MISATTUNEMENT = _K.MISATTUNEMENT
cdef long long COUNTERTRANSFERENCE = _K.COUNTERTRANSFERENCE, BOUNDARY = _K.BOUNDARY
cdef long long U_TOPIC = _K.U_TOPIC, U_TOPIC_PICK = _K.U_TOPIC_PICK, U_ENACT = _K.U_ENACT
cdef long long U_INCIDENT = _K.U_INCIDENT, U_CT_RUPTURE = _K.U_CT_RUPTURE
cdef long long U_INCIDENT_RUPTURE = _K.U_INCIDENT_RUPTURE, U_MISATTUNE = _K.U_MISATTUNE
cdef long long U_KIND = _K.U_KIND, U_SEVERITY = _K.U_SEVERITY, U_NOTICE = _K.U_NOTICE
cdef long long U_THERAPIST_REPAIR = _K.U_THERAPIST_REPAIR, U_CLIENT_ATTEMPT = _K.U_CLIENT_ATTEMPT
cdef long long U_CLIENT_REPAIR = _K.U_CLIENT_REPAIR, U_COMPLETENESS = _K.U_COMPLETENESS
cdef long long U_SIGNPOST = _K.U_SIGNPOST, U_FIT_CHECK = _K.U_FIT_CHECK, U_MAINTENANCE = _K.U_MAINTENANCE
cdef long long U_MAINTENANCE_END = _K.U_MAINTENANCE_END, U_DROPOUT = _K.U_DROPOUT
cdef long long U_WORD_OF_MOUTH = _K.U_WORD_OF_MOUTH, U_CADENCE = _K.U_CADENCE

# The rupture state machine (relationship.TRANSITIONS) as codes and an allowed-step matrix.
cdef long long INTACT = RuptureState.INTACT.code, RUPTURED = RuptureState.RUPTURED.code
cdef long long NOTICED = RuptureState.NOTICED.code, UNNOTICED = RuptureState.UNNOTICED.code
cdef long long THERAPIST_REPAIR = RuptureState.THERAPIST_REPAIR.code
cdef long long CLIENT_REPAIR = RuptureState.CLIENT_REPAIR.code
cdef long long RESOLVED = RuptureState.RESOLVED.code, UNRESOLVED = RuptureState.UNRESOLVED.code
cdef char ALLOWED[8][8]
for _a in range(8):
    for _b in range(8):
        ALLOWED[_a][_b] = bool(_ALLOWED[_a, _b])
# Keep the most recent PATH_CAPACITY states, 3 bits each.
cdef long long PATH_KEEP = (1 << (3 * (_PATH_CAPACITY - 1))) - 1


cdef int _move(Episode* e, long long to) except -1:
    """Move a rupture episode to state ``to`` along an edge of the state machine, recording the step."""
    if not ALLOWED[e.state][to]:
        raise RuntimeError(f"rupture state machine: illegal transition {e.state} -> {to}")
    e.state = to
    e.path = ((e.path & PATH_KEEP) << 3) | to
    e.path_length += 1
    return 0


def move_episode(Episode[::1] episodes, Py_ssize_t i, long long to):
    """Move episode ``i`` to state code ``to`` (raises RuntimeError for an illegal step)."""
    _move(&episodes[i], to)


cdef long long _pick(double* weights, long long n, double u) noexcept:
    """Index drawn in proportion to ``weights`` with uniform ``u``."""
    cdef double total = 0.0, acc = 0.0, target
    cdef long long k
    for k in range(n):
        total += weights[k]
    target = u * total
    for k in range(n):
        acc += weights[k]
        if target < acc:
            return k
    return n - 1


cdef double _progress(Client* c) noexcept:
    """Share of the way from where the client started to where they could be.

    Physical clients judge by pain, overwhelmed clients by distress, the rest by both.
    """
    cdef double by_pain = (c.pain_start - c.pain) / c.pain_start if c.pain_start > 0.5 else 0.0
    cdef double room = c.distress_start - c.distress_floor
    cdef double by_distress = (c.distress_start - c.distress) / room if room > 1.0 else by_pain
    if c.need == PHYSICAL:
        return by_pain
    if c.need == OVERWHELMED:
        return by_distress
    return 0.5 * (by_pain + by_distress)


cdef class Engine:
    """The model's record tables as typed views, and the compiled steps of its week.

    The views are taken once (:meth:`bind`) and again only when a table grows,
    so each call below costs little more than the work it does.
    """

    cdef Rel[::1] rels
    cdef Client[::1] clients
    cdef Therapist[::1] therapists
    cdef Episode[::1] episodes
    cdef const double[:, ::1] site_xy
    cdef double self_care_rate, relapse_rate, countertransference_rate, loose_below, rigid_above
    cdef double incident_rate, misattunement_rate, client_repair_rate, repair_gain, distress_effect
    cdef double pain_effect, learning_rate, dropout_base, maintenance_propensity, maintenance_cadence
    cdef double wom_rate, burnout_rate, burnout_recovery, trust_growth_rate, prior_negative_slowdown

    def __init__(self, params, const double[:, ::1] site_xy):
        """``params`` is the model's validated Params; ``site_xy`` the sites' coordinates (km)."""
        self.site_xy = site_xy
        self.self_care_rate = params.self_care_rate
        self.relapse_rate = params.relapse_rate
        self.countertransference_rate = params.countertransference_rate
        self.loose_below = params.boundary_loose_below
        self.rigid_above = params.boundary_rigid_above
        self.incident_rate = params.boundary_incident_rate
        self.misattunement_rate = params.misattunement_rate
        self.client_repair_rate = params.client_repair_rate
        self.repair_gain = params.repair_bond_gain
        self.distress_effect = params.distress_effect
        self.pain_effect = params.pain_effect
        self.learning_rate = params.learning_rate
        self.dropout_base = params.dropout_base
        self.maintenance_propensity = params.maintenance_propensity
        self.maintenance_cadence = params.maintenance_cadence_weeks
        self.wom_rate = params.word_of_mouth_rate
        self.burnout_rate = params.burnout_rate
        self.burnout_recovery = params.burnout_recovery
        self.trust_growth_rate = params.trust_growth_rate
        self.prior_negative_slowdown = params.prior_negative_slowdown

    def bind(self, Rel[::1] rels, Client[::1] clients, Therapist[::1] therapists, Episode[::1] episodes):
        """Take typed views of the four tables (again after one of them grew)."""
        self.rels = rels
        self.clients = clients
        self.therapists = therapists
        self.episodes = episodes

    cpdef void bring_up_to(self, Py_ssize_t ci, long long week) noexcept:
        """Between-session drift of client ``ci``'s distress and pain up to ``week``."""
        cdef Client* c = &self.clients[ci]
        cdef long long weeks = week - c.updated_week
        if weeks > 0:
            c.distress = S.drift_between_sessions(c.distress, c.distress_baseline, c.distress_floor, c.self_care,
                                                  weeks, self.self_care_rate, self.relapse_rate)
            c.pain = S.drift_between_sessions(c.pain, c.pain_baseline, 0.0, c.self_care, weeks,
                                              self.self_care_rate, self.relapse_rate)
            c.updated_week = week

    def start(self, Py_ssize_t ri, long long week, double carried_bond, long long first_session,
              double open_below):
        """Set up relationship ``ri`` (its client and therapist already set): the intake.

        The client brings their starting trust, or ``carried_bond`` if that is
        higher (a warm introduction); goals are agreed in part and the way of
        working sketched.  The first session is booked for ``first_session``
        (-1: not yet) and counted in the therapist's diary, which closes to new
        clients at ``open_below`` of capacity.  Returns whether the therapist
        still takes new clients.
        """
        cdef Rel* r = &self.rels[ri]
        cdef Client* c = &self.clients[r.client]
        cdef Therapist* t = &self.therapists[r.therapist]
        self.bring_up_to(r.client, week)
        cdef double fit = S.need_fit(c.need, t.manual_skill, t.warmth, t.fixing_stance, c.in_scope)
        cdef double b0 = max(S.starting_trust(c.trust_propensity, c.prior_negative), carried_bond)
        r.start_week = week
        r.active = True
        r.next_week = -1
        r.bond = b0
        r.bond_start = b0
        r.need_fit = fit
        r.goal = S.INTAKE_GOAL * fit
        r.task = S.INTAKE_TASK
        r.trust_rate = S.trust_rate(self.trust_growth_rate, c.trust_propensity, c.prior_negative,
                                    self.prior_negative_slowdown)
        r.internalisation = c.self_care
        r.distress_start = c.distress
        r.pain_start = c.pain
        r.sessions_to_trust = 0 if b0 >= TRUST_THRESHOLD else -1
        c.relationship = ri
        r.next_week = first_session
        if first_session >= 0:
            t.load += 1.0 / (self.maintenance_cadence if c.maintenance else c.cadence_weeks)
            if t.load >= open_below * t.weekly_capacity:
                t.accepting = False
        return bool(t.accepting)

    def end(self, Py_ssize_t ri, long long week, bint client_leaves):
        """Close relationship ``ri``: record how it ended; the client leaves unless they move on."""
        cdef Rel* r = &self.rels[ri]
        cdef Client* c = &self.clients[r.client]
        self.bring_up_to(r.client, week)
        r.active = False
        r.end_week = week
        r.next_week = -1
        r.alliance_end = (r.bond + r.goal + r.task) / 3.0
        r.distress_end = c.distress
        r.pain_end = c.pain
        r.unresolved_at_end = r.open
        r.open = False
        r.open_episode = -1
        if c.relationship == ri:
            c.relationship = -1
        if client_leaves:
            c.left_week = week
            c.paused_until = -1

    def due(self, long long week, Py_ssize_t n_rels):
        """Relationships with a session booked in ``week`` (row indices, in table order)."""
        cdef Py_ssize_t i, k = 0
        for i in range(n_rels):
            if self.rels[i].next_week == week:
                k += 1
        out = np.empty(k, dtype=np.int64)
        cdef long long[::1] view = out
        k = 0
        for i in range(n_rels):
            if self.rels[i].next_week == week:
                view[k] = i
                k += 1
        return out

    def fit_into_diaries(self, long long week, const long long[::1] asking):
        """Give sessions in the order clients ask, while their therapist has room.

        Those who find the diary full are booked for next week.  Returns the
        relationships seen this week, in table order, and how many were put off.
        """
        cdef Py_ssize_t j, k = 0
        cdef long long ri, postponed = 0
        cdef Therapist* t
        counts_arr = np.zeros(self.therapists.shape[0], dtype=np.int64)
        cdef long long[::1] counts = counts_arr
        seen = np.empty(asking.shape[0], dtype=np.int64)
        cdef long long[::1] view = seen
        for j in range(asking.shape[0]):
            ri = asking[j]
            t = &self.therapists[self.rels[ri].therapist]
            if t.sessions_this_week + counts[self.rels[ri].therapist] < t.weekly_capacity:
                view[k] = ri
                k += 1
                counts[self.rels[ri].therapist] += 1
            else:
                self.rels[ri].next_week = week + 1
                postponed += 1
        seen = np.sort(seen[:k])
        return seen, postponed

    def hold_sessions(self, long long week, const long long[::1] idx, const double[:, ::1] u,
                      long long n_ruptures, Row[::1] rows, Out[::1] out):
        """Hold the sessions of relationships ``idx`` (in this order) in ``week``.

        Writes one session-table row per session to ``rows`` and what the model
        must still do to ``out``.  New rupture episodes are appended to the
        rupture table from row ``n_ruptures`` (the caller leaves room for one per
        session).  Returns the new rupture count and the week's tallies: new
        ruptures, repairs, enactments, boundary incidents, and the sums of
        alliance, quality and distress at the start of the sessions.
        """
        cdef Rel[::1] rels = self.rels
        cdef Client[::1] clients = self.clients
        cdef Therapist[::1] therapists = self.therapists
        cdef Episode[::1] ruptures = self.episodes
        cdef const double[:, ::1] site_xy = self.site_xy
        cdef double self_care_rate = self.self_care_rate, relapse_rate = self.relapse_rate
        cdef double countertransference_rate = self.countertransference_rate
        cdef double loose_below = self.loose_below, rigid_above = self.rigid_above
        cdef double incident_rate = self.incident_rate, misattunement_rate = self.misattunement_rate
        cdef double client_repair_rate = self.client_repair_rate, repair_gain = self.repair_gain
        cdef double distress_effect = self.distress_effect, pain_effect = self.pain_effect
        cdef double learning_rate = self.learning_rate, dropout_base = self.dropout_base
        cdef double maintenance_propensity = self.maintenance_propensity
        cdef double maintenance_cadence = self.maintenance_cadence, wom_rate = self.wom_rate

        cdef Py_ssize_t j
        cdef long long ri, n, gap, topic, cause, episode, weeks
        cdef Rel* r
        cdef Client* c
        cdef Therapist* t
        cdef Out* o
        cdef Row* w
        cdef Episode* e
        cdef long long new_ruptures = 0, repairs = 0, enactments = 0, incidents = 0
        cdef double sum_alliance = 0.0, sum_quality = 0.0, sum_distress = 0.0
        cdef double talk, fit, intensity, q, grown, severity, hurt, bond, notice_p, openness
        cdef double sep, ple, mer, inte, alliance, novelty, progress, hazard, cadence, whole, dx, dy, travel
        cdef bint enacted, incident, open_before, new, in_play, confrontation, noticed, by_therapist
        cdef bint client_tries, by_client, resolved, trusted, recovered, stalled, satisfied, goals, stays, regular

        for j in range(idx.shape[0]):
            ri = idx[j]
            r = &rels[ri]
            c = &clients[r.client]
            t = &therapists[r.therapist]
            o = &out[j]
            w = &rows[j]

            # Since the last session, self-care has worked and life has pulled back.
            gap = week - c.updated_week
            c.distress = S.drift_between_sessions(c.distress, c.distress_baseline, c.distress_floor, c.self_care,
                                                  gap, self_care_rate, relapse_rate)
            c.pain = S.drift_between_sessions(c.pain, c.pain_baseline, 0.0, c.self_care, gap,
                                              self_care_rate, relapse_rate)
            c.updated_week = week
            w.distress_before = c.distress
            w.pain_before = c.pain
            r.sessions += 1
            n = r.sessions
            c.sessions_total += 1
            t.sessions_this_week += 1
            t.sessions_given += 1

            # Talk, and what it brings up.
            talk = S.talk_share(t.talkativeness, c.talk_preference)
            fit = S.talk_fit(t.talkativeness, c.talk_preference, r.pleasure)
            topic = -1
            intensity = 0.0
            enacted = False
            if u[j, U_TOPIC] < S.topic_raised_probability(talk):
                topic = _pick(c.topics, 8, u[j, U_TOPIC_PICK])
                r.topics_known[topic] += 1
                intensity = t.triggers[topic]
                enacted = intensity > 0.0 and u[j, U_ENACT] < S.enactment_probability(
                    intensity, t.self_awareness, countertransference_rate)
            incident = u[j, U_INCIDENT] < S.boundary_incident_probability(t.boundary_firmness, loose_below,
                                                                           incident_rate)
            if incident:
                r.separateness *= 0.7  # the frame slips

            open_before = r.open
            q = S.session_quality(t.manual_skill, t.warmth, t.burnout, talk, fit, r.knowledge, r.pleasure,
                                  r.merging, enacted, open_before)
            grown = S.grow_bond(r.bond, q, r.trust_rate)

            # Ruptures: causes in order of precedence; one open rupture per relationship at a time.
            cause = NO_RUPTURE
            if enacted and u[j, U_CT_RUPTURE] < ENACTMENT_RUPTURE:
                cause = COUNTERTRANSFERENCE
            elif incident and u[j, U_INCIDENT_RUPTURE] < INCIDENT_RUPTURE:
                cause = BOUNDARY
            elif u[j, U_MISATTUNE] < S.misattunement_probability(q, misattunement_rate):
                cause = MISATTUNEMENT
            new = cause != NO_RUPTURE and not open_before
            in_play = new or open_before
            if new:
                confrontation = u[j, U_KIND] >= WITHDRAW_P[cause]
                severity = SEVERITY_LO[cause] + (SEVERITY_HI[cause] - SEVERITY_LO[cause]) * u[j, U_SEVERITY]
                if cause == COUNTERTRANSFERENCE:
                    severity *= 0.5 + intensity
                hurt = S.bond_after_rupture(grown, min(severity, 0.9))
                r.episode_bond_before = grown
                r.ruptures += 1
            else:
                confrontation = r.open_confrontation
                # A fresh hurt on an open rupture deepens it (a misattunement-sized loss).
                hurt = S.bond_after_rupture(grown, 0.03 + 0.09 * u[j, U_SEVERITY]) if cause != NO_RUPTURE else grown
            noticed = by_therapist = client_tries = by_client = False
            bond = hurt
            episode = -1
            if in_play:
                if new:
                    episode = n_ruptures
                    n_ruptures += 1
                    e = &ruptures[episode]
                    e.relationship = ri
                    e.week = week
                    e.session = n
                    e.confrontation = confrontation
                    e.cause = cause
                    e.topic = topic
                    e.bond_before = grown
                    e.bond_at_rupture = hurt
                    e.state = RUPTURED
                    e.path = RUPTURED
                    e.path_length = 1
                    r.open_episode = episode
                else:
                    episode = r.open_episode
                    e = &ruptures[episode]
                notice_p = S.notice_probability(t.self_awareness, confrontation, talk)
                if open_before:
                    notice_p = min(1.0, 1.5 * notice_p)  # a rupture left open is harder to miss
                noticed = u[j, U_NOTICE] < notice_p
                by_therapist = noticed and u[j, U_THERAPIST_REPAIR] < S.therapist_repair_probability(
                    t.self_awareness, t.warmth)
                client_tries = not by_therapist and u[j, U_CLIENT_ATTEMPT] < S.client_repair_probability(
                    hurt, client_repair_rate)
                by_client = client_tries and u[j, U_CLIENT_REPAIR] < 0.5 + 0.5 * t.warmth
                # This session's walk through the state machine.
                if e.attempts == 0:
                    e.noticed = noticed
                e.attempts += 1
                if noticed:
                    _move(e, NOTICED)
                    _move(e, THERAPIST_REPAIR)
                else:
                    _move(e, UNNOTICED)
                if client_tries:
                    _move(e, CLIENT_REPAIR)
                    e.client_tried = True
                if by_therapist or by_client:
                    bond = S.bond_after_repair(r.episode_bond_before, hurt, 0.5 + 0.5 * u[j, U_COMPLETENESS],
                                               repair_gain)
                    _move(e, RESOLVED)
                    _move(e, INTACT)
                    e.repaired_by = 1 if by_therapist else 2
                    e.resolved_week = week
                    e.resolved_session = n
                    e.bond_after = bond
                    r.open_episode = -1
                    r.repairs += 1
                    if by_therapist:
                        r.repairs_by_therapist += 1
                    else:
                        r.repairs_by_client += 1
                else:
                    _move(e, UNRESOLVED)
            resolved = by_therapist or by_client
            r.open = in_play and not resolved
            r.open_confrontation = r.open and confrontation
            r.bond = bond
            if enacted:
                r.enactments += 1
            if incident:
                r.boundary_incidents += 1

            # The relationship grows: the four themes, the file, goal and task.
            openness = S.merging_openness(t.boundary_firmness, rigid_above)
            sep, ple, mer, inte = S.update_themes(r.separateness, r.pleasure, r.merging, r.internalisation, q,
                                                  S.boundary_clarity(t.boundary_firmness), openness, t.warmth,
                                                  1.0 - t.fixing_stance)
            if enacted:
                mer *= 0.8  # empathy falters
            r.separateness = sep
            r.pleasure = ple
            r.merging = mer
            r.internalisation = inte
            r.knowledge = S.grow_knowledge(r.knowledge, bond, openness)
            r.sore_areas_known = S.grow_knowledge(r.sore_areas_known, 1.0, 1.0)
            r.goal, r.task = S.update_goal_task(r.goal, r.task, r.need_fit, r.knowledge, q, sep)
            alliance = (bond + r.goal + r.task) / 3.0
            if n == 1:
                r.alliance_start = alliance

            # Outcomes, and what the client takes home.
            c.distress = S.distress_after_session(c.distress, c.distress_floor, alliance, q,
                                                  distress_effect * c.responsiveness, c.in_scope)
            c.pain = S.pain_after_session(c.pain, t.manual_skill, q, pain_effect * c.responsiveness,
                                          t.fixing_stance, enacted, c.in_scope)
            if inte > c.self_care:
                c.self_care = inte

            # Clients as teachers (Boorman): skill and self-awareness creep up with each client.
            novelty = 1.5 if (c.need == OVERWHELMED or not c.in_scope) else 1.0
            t.manual_skill += learning_rate * novelty * (1.0 - t.manual_skill)
            t.self_awareness += learning_rate * (4.0 if resolved else 1.0) * (1.0 - t.self_awareness)

            trusted = r.sessions_to_trust < 0 and bond >= TRUST_THRESHOLD
            if trusted:
                r.sessions_to_trust = n
            recovered = (r.recovery_weeks < 0 and not isnan(r.recovery_target)
                         and alliance >= RECOVERY_SHARE * r.recovery_target)
            if recovered:
                r.recovery_weeks = week - r.start_week
                r.recovered_sessions = n

            # After the session: decisions drawn now, applied by the model in order of precedence.
            progress = _progress(c)
            stalled = n >= STALLED_AFTER and progress < STALLED_PROGRESS
            if stalled:
                t.stalled_this_week += 1
            satisfied = alliance >= SATISFIED_ALLIANCE and progress >= SATISFIED_PROGRESS
            c.satisfied = satisfied
            # Needs beyond massage are recognised sooner by a self-aware therapist.
            o.signpost = (not c.in_scope and n <= FIT_CHECK_SESSION
                          and u[j, U_SIGNPOST] < 0.25 + 0.5 * t.self_awareness)
            # "You know you've made it when you fire a patient": a poor fit is referred on.
            o.refer = (n == FIT_CHECK_SESSION and alliance < FIT_THRESHOLD
                       and u[j, U_FIT_CHECK] < 0.2 + 0.6 * t.self_awareness)
            goals = not c.goals_met and n >= 4 and progress >= GOAL_PROGRESS
            stays = goals and u[j, U_MAINTENANCE] < maintenance_propensity * bond
            regular = c.maintenance or stays
            dx = c.home_x - site_xy[t.site, 0]
            dy = c.home_y - site_xy[t.site, 1]
            travel = sqrt(dx * dx + dy * dy) / c.travel_tolerance_km
            hazard = S.dropout_probability(dropout_base, alliance, n, r.open, stalled, travel)
            if regular:
                hazard *= MAINTENANCE_DROPOUT_SCALE
            o.goals = goals
            o.stays = stays
            o.ends_maintenance = c.maintenance and u[j, U_MAINTENANCE_END] < MAINTENANCE_END
            o.drops = u[j, U_DROPOUT] < hazard
            cadence = maintenance_cadence if regular else c.cadence_weeks
            whole = floor(cadence)
            weeks = max(1, <long long>whole + (1 if u[j, U_CADENCE] < cadence - whole else 0))
            o.recommends = satisfied and u[j, U_WORD_OF_MOUTH] < 1.0 - (1.0 - wom_rate) ** weeks
            r.next_week = week + weeks

            w.week = week
            w.relationship = ri
            w.session = n
            w.quality = q
            w.bond = bond
            w.goal = r.goal
            w.task = r.task
            w.alliance = alliance
            w.separateness = sep
            w.pleasure = ple
            w.merging = mer
            w.internalisation = inte
            w.knowledge = r.knowledge
            w.distress_after = c.distress
            w.pain_after = c.pain
            w.talk_share = talk
            w.talk_fit = fit
            w.topic = topic
            w.countertransference = enacted
            w.boundary_incident = incident
            w.rupture = cause if new else NO_RUPTURE
            w.repaired = resolved
            w.rupture_open = r.open
            o.relationship = ri
            o.session = n
            o.topic = topic
            o.countertransference = enacted
            o.boundary_incident = incident
            o.rupture = w.rupture
            o.bond = bond
            new_ruptures += new
            repairs += resolved
            enactments += enacted
            incidents += incident
            sum_alliance += alliance
            sum_quality += q
            sum_distress += w.distress_before
            o.in_play = in_play
            o.episode = episode
            o.confrontation = confrontation
            o.noticed = noticed
            o.by_therapist = by_therapist
            o.client_tries = client_tries
            o.by_client = by_client
            o.bond_before = r.episode_bond_before if in_play else grown
            o.bond_hurt = hurt
            o.trusted = trusted
            o.recovered = recovered
        return (n_ruptures, new_ruptures, repairs, enactments, incidents, sum_alliance, sum_quality,
                sum_distress)



    def open_diaries(self, long long week, Py_ssize_t n_therapists, Py_ssize_t n_rels, double open_below):
        """Each therapist's booked sessions per week, and whether they take new clients.

        A therapist takes new clients while started, not on notice and booked
        below ``open_below`` of their weekly capacity.
        """
        cdef Therapist[::1] therapists = self.therapists
        cdef Rel[::1] rels = self.rels
        cdef Client[::1] clients = self.clients
        cdef double maintenance_cadence = self.maintenance_cadence
        cdef Py_ssize_t i
        cdef Rel* r
        cdef Client* c
        cdef Therapist* t
        for i in range(n_therapists):
            therapists[i].load = 0.0
        for i in range(n_rels):
            r = &rels[i]
            if r.active and r.next_week >= 0:
                c = &clients[r.client]
                therapists[r.therapist].load += 1.0 / (maintenance_cadence if c.maintenance else c.cadence_weeks)
        for i in range(n_therapists):
            t = &therapists[i]
            t.accepting = (t.left_week < 0 and t.leaving_week < 0 and t.start_week <= week
                           and t.load < open_below * t.weekly_capacity)



    def end_week(self, long long week, Py_ssize_t n_therapists, Py_ssize_t n_rels, TherapistWeek[::1] snapshot):
        """Close the week: burnout and recovery for every working therapist, and the week's tallies.

        Fills ``snapshot`` (one row per therapist) and returns ``(clients on the
        books, maintenance clients, open ruptures, working therapists, mean burnout)``.
        """
        cdef Therapist[::1] therapists = self.therapists
        cdef Rel[::1] rels = self.rels
        cdef Client[::1] clients = self.clients
        cdef double burnout_rate = self.burnout_rate, burnout_recovery = self.burnout_recovery
        cdef long long on_books = 0, maintenance = 0, open_ruptures = 0, working = 0
        cdef double burnout_sum = 0.0, load, stalled
        cdef Py_ssize_t i
        cdef Rel* r
        cdef Therapist* t
        cdef TherapistWeek* row
        for i in range(n_therapists):
            snapshot[i].caseload = 0
        for i in range(n_rels):
            r = &rels[i]
            if r.active:
                on_books += 1
                if clients[r.client].maintenance:
                    maintenance += 1
                if r.open:
                    open_ruptures += 1
                snapshot[r.therapist].caseload += 1
        for i in range(n_therapists):
            t = &therapists[i]
            if t.left_week < 0 and t.start_week <= week:
                load = <double>t.sessions_this_week / t.weekly_capacity
                stalled = <double>t.stalled_this_week / t.sessions_this_week if t.sessions_this_week > 0 else 0.0
                t.burnout = S.burnout_step(t.burnout, load, t.fixing_stance, stalled, burnout_rate, burnout_recovery)
                t.experience_years += 1.0 / 52.0
                working += 1
                burnout_sum += t.burnout
            t.sessions_this_week = 0
            t.stalled_this_week = 0
            row = &snapshot[i]
            row.week = week
            row.therapist = i
            row.burnout = t.burnout
            row.manual_skill = t.manual_skill
            row.self_awareness = t.self_awareness
            row.start_week = t.start_week
            row.left_week = t.left_week
            row.leaving_week = t.leaving_week
        return on_books, maintenance, open_ruptures, working, (burnout_sum / working if working > 0 else NAN)
