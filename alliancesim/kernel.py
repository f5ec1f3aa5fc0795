"""The week's sessions, compiled.

:func:`hold_sessions` walks through every session held this week, in order,
and applies the pure functions of :mod:`alliancesim.session` to the rows of
the relationship, client and therapist tables (see :mod:`alliancesim.state`).
It writes one record per session to ``out`` (:data:`SESSION_RECORD`): what
happened, for the session table, and what the Python side of the model must
still do (log events, walk ruptures through the state machine, end or move
relationships).

Random numbers come in as a ``(sessions, len(DRAWS))`` array of uniforms drawn
by the model, one fixed column per decision, so a run is reproducible.
"""

from __future__ import annotations

import math
from collections import namedtuple

import numpy as np
from numba import njit

from . import session as S
from .relationship import ALLOWED, PATH_CAPACITY, RECOVERY_SHARE, TRUST_THRESHOLD, RuptureState

# Rupture state codes (see relationship.RuptureState).
INTACT, RUPTURED, NOTICED, UNNOTICED, THERAPIST_REPAIR, CLIENT_REPAIR, RESOLVED, UNRESOLVED = (
    RuptureState.INTACT.code, RuptureState.RUPTURED.code, RuptureState.NOTICED.code,
    RuptureState.UNNOTICED.code, RuptureState.THERAPIST_REPAIR.code, RuptureState.CLIENT_REPAIR.code,
    RuptureState.RESOLVED.code, RuptureState.UNRESOLVED.code)
#: Session at which a therapist asks whether the pairing fits.
FIT_CHECK_SESSION = 3
#: Alliance below which the pairing is judged a poor fit at the fit check.
FIT_THRESHOLD = 0.38
#: Progress (share of the possible improvement) at which goals count as met.
GOAL_PROGRESS = 0.5
#: A course counts as stalled after this many sessions with progress below STALLED_PROGRESS.
STALLED_AFTER = 6
STALLED_PROGRESS = 0.2
#: A client is satisfied (and may recommend the therapist) at this alliance and progress.
SATISFIED_ALLIANCE = 0.6
SATISFIED_PROGRESS = 0.3
#: Chance per session that a maintenance client decides to stop.
MAINTENANCE_END = 0.012
#: Maintenance clients are loyal: their dropout hazard is scaled down by this.
MAINTENANCE_DROPOUT_SCALE = 0.3
#: Chance of a withdrawal (vs a confrontation) and severity range, by rupture cause code.
WITHDRAW_P = (0.0, 0.6, 0.7, 0.3)
SEVERITY_LO = (0.0, 0.03, 0.10, 0.10)
SEVERITY_HI = (0.0, 0.12, 0.30, 0.25)
#: Rupture cause codes (see relationship.RuptureCause).
NO_RUPTURE, MISATTUNEMENT, COUNTERTRANSFERENCE, BOUNDARY = 0, 1, 2, 3

#: Uniform draws used by one session, one column each.
DRAWS = (
    "topic", "topic_pick", "enact", "incident", "ct_rupture", "incident_rupture", "misattune",
    "kind", "severity", "notice", "therapist_repair", "client_attempt", "client_repair",
    "completeness", "signpost", "fit_check", "maintenance", "maintenance_end", "dropout",
    "word_of_mouth", "cadence",
)
(U_TOPIC, U_TOPIC_PICK, U_ENACT, U_INCIDENT, U_CT_RUPTURE, U_INCIDENT_RUPTURE, U_MISATTUNE,
 U_KIND, U_SEVERITY, U_NOTICE, U_THERAPIST_REPAIR, U_CLIENT_ATTEMPT, U_CLIENT_REPAIR,
 U_COMPLETENESS, U_SIGNPOST, U_FIT_CHECK, U_MAINTENANCE, U_MAINTENANCE_END, U_DROPOUT,
 U_WORD_OF_MOUTH, U_CADENCE) = range(len(DRAWS))

#: What the session kernel needs from the parameters.
KernelParams = namedtuple("KernelParams", [
    "self_care_rate", "relapse_rate", "countertransference_rate", "boundary_loose_below",
    "boundary_rigid_above", "boundary_incident_rate", "misattunement_rate", "client_repair_rate",
    "repair_bond_gain", "distress_effect", "pain_effect", "learning_rate", "dropout_base",
    "maintenance_propensity", "maintenance_cadence_weeks", "word_of_mouth_rate",
])

#: One record per session: the session table's columns, then what the model still has to do.
SESSION_RECORD = np.dtype([
    ("week", "i8"), ("relationship", "i8"), ("session", "i8"),
    ("quality", "f8"), ("bond", "f8"), ("goal", "f8"), ("task", "f8"), ("alliance", "f8"),
    ("separateness", "f8"), ("pleasure", "f8"), ("merging", "f8"), ("internalisation", "f8"),
    ("knowledge", "f8"), ("distress_before", "f8"), ("distress_after", "f8"),
    ("pain_before", "f8"), ("pain_after", "f8"), ("talk_share", "f8"), ("talk_fit", "f8"),
    ("topic", "i8"), ("countertransference", "?"), ("boundary_incident", "?"),
    ("rupture", "i8"), ("repaired", "?"), ("rupture_open", "?"),
    # For the model's bookkeeping:
    ("in_play", "?"), ("episode", "i8"), ("confrontation", "?"), ("noticed", "?"), ("by_therapist", "?"),
    ("client_tries", "?"), ("by_client", "?"), ("bond_before", "f8"), ("bond_hurt", "f8"),
    ("trusted", "?"), ("recovered", "?"), ("signpost", "?"), ("refer", "?"), ("goals", "?"),
    ("stays", "?"), ("ends_maintenance", "?"), ("drops", "?"), ("recommends", "?"),
])
#: One therapist in one week (see :func:`alliancesim.tables.therapist_table`).
THERAPIST_WEEK = np.dtype([("week", "i8"), ("therapist", "i8"), ("caseload", "i8"), ("burnout", "f8"),
                           ("manual_skill", "f8"), ("self_awareness", "f8"), ("start_week", "i8"),
                           ("left_week", "i8"), ("leaving_week", "i8")])
#: Fields of SESSION_RECORD that make up the session table.
SESSION_FIELDS = SESSION_RECORD.names[: SESSION_RECORD.names.index("rupture_open") + 1]


def kernel_params(p) -> KernelParams:
    """The kernel's parameters from a validated :class:`~alliancesim.params.Params`."""
    return KernelParams(*(float(getattr(p, name)) for name in KernelParams._fields))


@njit(cache=True)
def _pick(weights, u: float) -> int:
    """Index drawn in proportion to ``weights`` with uniform ``u``."""
    total = 0.0
    for w in weights:
        total += w
    target = u * total
    acc = 0.0
    for k in range(weights.size):
        acc += weights[k]
        if target < acc:
            return k
    return weights.size - 1


@njit(cache=True)
def _progress(c) -> float:
    """Share of the way from where the client started to where they could be.

    Physical clients judge by pain, overwhelmed clients by distress, the rest by both.
    """
    by_pain = (c.pain_start - c.pain) / c.pain_start if c.pain_start > 0.5 else 0.0
    room = c.distress_start - c.distress_floor
    by_distress = (c.distress_start - c.distress) / room if room > 1.0 else by_pain
    if c.need == S.PHYSICAL:
        return by_pain
    if c.need == S.OVERWHELMED:
        return by_distress
    return 0.5 * (by_pain + by_distress)


_PATH_KEEP = (1 << (3 * (PATH_CAPACITY - 1))) - 1


@njit(cache=True)
def _move(episode, to):
    """Move a rupture episode to state ``to`` along an edge of the state machine, recording the step."""
    if not ALLOWED[episode.state, to]:
        raise RuntimeError("rupture state machine: illegal transition")
    episode.state = to
    # Keep the most recent PATH_CAPACITY states, 3 bits each.
    episode.path = ((episode.path & _PATH_KEEP) << 3) | to
    episode.path_length += 1


@njit(cache=True)
def hold_sessions(week, idx, u, rels, clients, therapists, ruptures, n_ruptures, site_xy, p, out):
    """Hold the sessions of relationships ``idx`` (in this order) in ``week``; fill ``out``.

    New rupture episodes are appended to ``ruptures`` from row ``n_ruptures``
    (the caller leaves room for one per session); returns the new row count.
    """
    for j in range(idx.size):
        ri = idx[j]
        r = rels[ri]
        c = clients[r.client]
        t = therapists[r.therapist]
        uj = u[j]
        o = out[j]

        # Since the last session, self-care has worked and life has pulled back.
        gap = week - c.updated_week
        c.distress = S.drift_between_sessions(c.distress, c.distress_baseline, c.distress_floor, c.self_care,
                                              gap, p.self_care_rate, p.relapse_rate)
        c.pain = S.drift_between_sessions(c.pain, c.pain_baseline, 0.0, c.self_care, gap,
                                          p.self_care_rate, p.relapse_rate)
        c.updated_week = week
        o.distress_before = c.distress
        o.pain_before = c.pain
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
        if uj[U_TOPIC] < S.topic_raised_probability(talk):
            topic = _pick(c.topics, uj[U_TOPIC_PICK])
            r.topics_known[topic] += 1
            intensity = t.triggers[topic]
            enacted = intensity > 0.0 and uj[U_ENACT] < S.enactment_probability(
                intensity, t.self_awareness, p.countertransference_rate)
        incident = uj[U_INCIDENT] < S.boundary_incident_probability(
            t.boundary_firmness, p.boundary_loose_below, p.boundary_incident_rate)
        if incident:
            r.separateness *= 0.7  # the frame slips

        open_before = r.open
        q = S.session_quality(t.manual_skill, t.warmth, t.burnout, talk, fit, r.knowledge, r.pleasure,
                              r.merging, enacted, open_before)
        grown = S.grow_bond(r.bond, q, r.trust_rate)

        # Ruptures: causes in order of precedence; one open rupture per relationship at a time.
        cause = NO_RUPTURE
        if enacted and uj[U_CT_RUPTURE] < S.ENACTMENT_RUPTURE:
            cause = COUNTERTRANSFERENCE
        elif incident and uj[U_INCIDENT_RUPTURE] < S.INCIDENT_RUPTURE:
            cause = BOUNDARY
        elif uj[U_MISATTUNE] < S.misattunement_probability(q, p.misattunement_rate):
            cause = MISATTUNEMENT
        new = cause != NO_RUPTURE and not open_before
        in_play = new or open_before
        if new:
            confrontation = uj[U_KIND] >= WITHDRAW_P[cause]
            severity = SEVERITY_LO[cause] + (SEVERITY_HI[cause] - SEVERITY_LO[cause]) * uj[U_SEVERITY]
            if cause == COUNTERTRANSFERENCE:
                severity *= 0.5 + intensity
            hurt = S.bond_after_rupture(grown, min(severity, 0.9))
            r.episode_bond_before = grown
            r.ruptures += 1
        else:
            confrontation = r.open_confrontation
            # A fresh hurt on an open rupture deepens it (a misattunement-sized loss).
            hurt = S.bond_after_rupture(grown, 0.03 + 0.09 * uj[U_SEVERITY]) if cause != NO_RUPTURE else grown
        noticed = by_therapist = client_tries = by_client = False
        bond = hurt
        episode = -1
        if in_play:
            if new:
                episode = n_ruptures
                n_ruptures += 1
                e = ruptures[episode]
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
                e = ruptures[episode]
            notice_p = S.notice_probability(t.self_awareness, confrontation, talk)
            if open_before:
                notice_p = min(1.0, 1.5 * notice_p)  # a rupture left open is harder to miss
            noticed = uj[U_NOTICE] < notice_p
            by_therapist = noticed and uj[U_THERAPIST_REPAIR] < S.therapist_repair_probability(
                t.self_awareness, t.warmth)
            client_tries = not by_therapist and uj[U_CLIENT_ATTEMPT] < S.client_repair_probability(
                hurt, p.client_repair_rate)
            by_client = client_tries and uj[U_CLIENT_REPAIR] < 0.5 + 0.5 * t.warmth
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
                bond = S.bond_after_repair(r.episode_bond_before, hurt, 0.5 + 0.5 * uj[U_COMPLETENESS],
                                           p.repair_bond_gain)
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
        openness = S.merging_openness(t.boundary_firmness, p.boundary_rigid_above)
        sep, ple, mer, inte = S.update_themes(r.separateness, r.pleasure, r.merging, r.internalisation, q,
                                              S.boundary_clarity(t.boundary_firmness), openness, t.warmth,
                                              1.0 - t.fixing_stance)
        if enacted:
            mer *= 0.8  # empathy falters
        r.separateness, r.pleasure, r.merging, r.internalisation = sep, ple, mer, inte
        r.knowledge = S.grow_knowledge(r.knowledge, bond, openness)
        r.sore_areas_known = S.grow_knowledge(r.sore_areas_known, 1.0, 1.0)
        r.goal, r.task = S.update_goal_task(r.goal, r.task, r.need_fit, r.knowledge, q, sep)
        alliance = (bond + r.goal + r.task) / 3.0
        if n == 1:
            r.alliance_start = alliance

        # Outcomes, and what the client takes home.
        c.distress = S.distress_after_session(c.distress, c.distress_floor, alliance, q,
                                              p.distress_effect * c.responsiveness, c.in_scope)
        c.pain = S.pain_after_session(c.pain, t.manual_skill, q, p.pain_effect * c.responsiveness,
                                      t.fixing_stance, enacted, c.in_scope)
        if inte > c.self_care:
            c.self_care = inte

        # Clients as teachers (Boorman): skill and self-awareness creep up with each client.
        novelty = 1.5 if (c.need == S.OVERWHELMED or not c.in_scope) else 1.0
        t.manual_skill += p.learning_rate * novelty * (1.0 - t.manual_skill)
        t.self_awareness += p.learning_rate * (4.0 if resolved else 1.0) * (1.0 - t.self_awareness)

        trusted = r.sessions_to_trust < 0 and bond >= TRUST_THRESHOLD
        if trusted:
            r.sessions_to_trust = n
        recovered = (r.recovered_week < 0 and not math.isnan(r.recovery_target)
                     and alliance >= RECOVERY_SHARE * r.recovery_target)
        if recovered:
            r.recovered_week = week - r.start_week
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
                      and uj[U_SIGNPOST] < 0.25 + 0.5 * t.self_awareness)
        # "You know you've made it when you fire a patient": a poor fit is referred on.
        o.refer = (n == FIT_CHECK_SESSION and alliance < FIT_THRESHOLD
                   and uj[U_FIT_CHECK] < 0.2 + 0.6 * t.self_awareness)
        goals = not c.goals_met and n >= 4 and progress >= GOAL_PROGRESS
        stays = goals and uj[U_MAINTENANCE] < p.maintenance_propensity * bond
        regular = c.maintenance or stays
        dx = c.home_x - site_xy[t.site, 0]
        dy = c.home_y - site_xy[t.site, 1]
        travel = math.sqrt(dx * dx + dy * dy) / c.travel_tolerance_km
        hazard = S.dropout_probability(p.dropout_base, alliance, n, r.open, stalled, travel)
        if regular:
            hazard *= MAINTENANCE_DROPOUT_SCALE
        o.goals = goals
        o.stays = stays
        o.ends_maintenance = c.maintenance and uj[U_MAINTENANCE_END] < MAINTENANCE_END
        o.drops = uj[U_DROPOUT] < hazard
        cadence = p.maintenance_cadence_weeks if regular else c.cadence_weeks
        whole = math.floor(cadence)
        weeks = max(1, int(whole) + (1 if uj[U_CADENCE] < cadence - whole else 0))
        o.recommends = satisfied and uj[U_WORD_OF_MOUTH] < 1.0 - (1.0 - p.word_of_mouth_rate) ** weeks
        r.next_week = week + weeks

        o.week = week
        o.relationship = ri
        o.session = n
        o.quality = q
        o.bond = bond
        o.goal = r.goal
        o.task = r.task
        o.alliance = alliance
        o.separateness = sep
        o.pleasure = ple
        o.merging = mer
        o.internalisation = inte
        o.knowledge = r.knowledge
        o.distress_after = c.distress
        o.pain_after = c.pain
        o.talk_share = talk
        o.talk_fit = fit
        o.topic = topic
        o.countertransference = enacted
        o.boundary_incident = incident
        o.rupture = cause if new else NO_RUPTURE
        o.repaired = resolved
        o.rupture_open = r.open
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
    return n_ruptures


@njit(cache=True)
def open_diaries(week, therapists, n_therapists, rels, n_rels, clients, maintenance_cadence, open_below):
    """Each therapist's booked sessions per week, and whether they take new clients.

    A therapist takes new clients while started, not on notice and booked
    below ``open_below`` of their weekly capacity.
    """
    for i in range(n_therapists):
        therapists[i].load = 0.0
    for i in range(n_rels):
        r = rels[i]
        if r.active and r.next_week >= 0:
            c = clients[r.client]
            therapists[r.therapist].load += 1.0 / (maintenance_cadence if c.maintenance else c.cadence_weeks)
    for i in range(n_therapists):
        t = therapists[i]
        t.accepting = (t.left_week < 0 and t.leaving_week < 0 and t.start_week <= week
                       and t.load < open_below * t.weekly_capacity)


@njit(cache=True)
def end_week(week, therapists, n_therapists, rels, n_rels, clients, burnout_rate, burnout_recovery, snapshot):
    """Close the week: burnout and recovery for every working therapist, and the week's tallies.

    Fills ``snapshot`` (one row per therapist) and returns ``(clients on the
    books, maintenance clients, open ruptures, working therapists, mean burnout)``.
    """
    on_books = maintenance = open_ruptures = 0
    for i in range(n_therapists):
        snapshot[i].caseload = 0
    for i in range(n_rels):
        r = rels[i]
        if r.active:
            on_books += 1
            if clients[r.client].maintenance:
                maintenance += 1
            if r.open:
                open_ruptures += 1
            snapshot[r.therapist].caseload += 1
    working = 0
    burnout_sum = 0.0
    for i in range(n_therapists):
        t = therapists[i]
        if t.left_week < 0 and t.start_week <= week:
            load = t.sessions_this_week / t.weekly_capacity
            stalled = t.stalled_this_week / t.sessions_this_week if t.sessions_this_week > 0 else 0.0
            t.burnout = S.burnout_step(t.burnout, load, t.fixing_stance, stalled, burnout_rate, burnout_recovery)
            t.experience_years += 1.0 / 52.0
            working += 1
            burnout_sum += t.burnout
        t.sessions_this_week = 0
        t.stalled_this_week = 0
        row = snapshot[i]
        row.week = week
        row.therapist = i
        row.burnout = t.burnout
        row.manual_skill = t.manual_skill
        row.self_awareness = t.self_awareness
        row.start_week = t.start_week
        row.left_week = t.left_week
        row.leaving_week = t.leaving_week
    mean_burnout = burnout_sum / working if working > 0 else np.nan
    return on_books, maintenance, open_ruptures, working, mean_burnout
