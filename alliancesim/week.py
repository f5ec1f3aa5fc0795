"""The week's sessions, phase by phase, over the model's record tables.

:func:`hold_sessions` takes every session held this week, in order, and runs
it through the phases of a session; each phase is a small function that reads
the relationship ``r``, the client ``c`` and the therapist ``t`` (rows of the
tables declared in :mod:`alliancesim.schema`), applies the equations of
:mod:`alliancesim.session`, and writes what happened to the session's record
``w`` (a row of the session table) and ``o`` (what the model must still do):

1. :func:`attend`: distress and pain drift since the last session; the client comes in;
2. :func:`talk_and_topics`: how much talk fills the session, how well it suits
   the client, and which topic the client brings;
3. :func:`countertransference`: the topic touches the therapist's own history
   and is acted out, or not; a boundary incident (:func:`boundary_incident`);
4. :func:`quality`: session quality as the client experiences it;
5. :func:`ruptures_and_repair`: a rupture opens (or an open one is in play);
   the therapist notices and repairs it, or the client does, or it stays open;
6. :func:`relationship_growth`: the four themes, the file, goal and task;
7. :func:`outcome`: distress and pain fall; the therapist learns from the client;
8. :func:`next_booking`: what the client does next (signposted, referred,
   goals met, maintenance, dropout, recommendation) and the next booking.

This is ordinary Python: the python engine runs it as written and the numba
engine compiles this very source (:mod:`alliancesim.engine`), so the two give
identical results.  The random numbers come in as ``u``, one row per named
draw (:data:`DRAWS`) and one column per session; each draw has its own random
stream, so a new draw leaves every other draw's numbers as they were.

The parameters arrive as ``P`` (:func:`alliancesim.engine.pack_params`), one
field per registered parameter (entry points take them as a one-element array
``PA``, which Numba receives faster than a lone record).  The numbers below are the fixed shape of the
decisions; the strengths a user may vary are in the registry.
"""

from __future__ import annotations

import math

import numpy as np

from . import session as S
from .engine import compiled
from .relationship import ALLOWED, PATH_CAPACITY, RECOVERY_SHARE, TRUST_THRESHOLD, RuptureState

# --- diaries -------------------------------------------------------------------------------------
#: A therapist takes new clients while the diary is less than this full.
OPEN_FOR_NEW_BELOW = 0.9

# --- decisions after a session ------------------------------------------------------------------
#: Session at which a therapist asks whether the pairing fits.
FIT_CHECK_SESSION = 3
#: Alliance below which the pairing is judged a poor fit at the fit check.
FIT_THRESHOLD = 0.38
#: Chance a therapist acts on a poor fit: ``FIT_ACT_BASE + FIT_ACT_AWARENESS * self_awareness``.
FIT_ACT_BASE, FIT_ACT_AWARENESS = 0.2, 0.6
#: Chance needs beyond massage are recognised (by the fit check): base + slope * self_awareness.
SIGNPOST_BASE, SIGNPOST_AWARENESS = 0.25, 0.5
#: Progress (share of the possible improvement) at which goals count as met, and the first session it can.
GOAL_PROGRESS, GOAL_EARLIEST_SESSION = 0.5, 4
#: A course counts as stalled after this many sessions with progress below STALLED_PROGRESS.
STALLED_AFTER, STALLED_PROGRESS = 6, 0.2
#: A client is satisfied (and may recommend the therapist) at this alliance and progress.
SATISFIED_ALLIANCE, SATISFIED_PROGRESS = 0.6, 0.3
#: Chance per session that a maintenance client decides to stop.
MAINTENANCE_END = 0.012
#: Maintenance clients are loyal: their dropout hazard is scaled down by this.
MAINTENANCE_DROPOUT_SCALE = 0.3

# --- ruptures -----------------------------------------------------------------------------------
#: Rupture cause codes (see relationship.RuptureCause).
NO_RUPTURE, MISATTUNEMENT, COUNTERTRANSFERENCE, BOUNDARY = 0, 1, 2, 3
#: By cause code: chance a rupture shows as a withdrawal (else a confrontation), and its severity range.
WITHDRAW_P = np.array((0.0, 0.6, 0.7, 0.3))
SEVERITY_LO = np.array((0.0, 0.03, 0.10, 0.10))
SEVERITY_HI = np.array((0.0, 0.12, 0.30, 0.25))
#: Severity of an acted-out countertransference scales with the trigger: ``* (CT_SEVERITY_BASE + intensity)``.
CT_SEVERITY_BASE = 0.5
#: Deepest a single rupture cuts (share of the bond).
MAX_SEVERITY = 0.9
#: A fresh hurt on an already open rupture deepens it by a misattunement-sized loss.
DEEPEN_LO, DEEPEN_HI = 0.03, 0.12
#: An open rupture whose chance of repair has fallen below this share sinks out of reach unrepaired.
SEAL_REACH = 0.25
#: A repair heals part of the lasting cost of ruptures: the scar is multiplied by this.
REPAIR_SCAR_KEEP = 0.5
#: Distress (PHQ-9 points) a lasting cost of 1 adds (a rupture left open stays with the client).
LASTING_COST_DISTRESS = 10.0
#: Chance a client's repair attempt succeeds: ``CLIENT_REPAIR_BASE + CLIENT_REPAIR_WARMTH * warmth``.
CLIENT_REPAIR_BASE, CLIENT_REPAIR_WARMTH = 0.5, 0.5
#: Completeness of a repair is uniform between this and 1.
REPAIR_COMPLETENESS_LO = 0.5
#: A boundary incident loosens the frame: separateness is multiplied by this.
INCIDENT_FRAME_KEEP = 0.7
#: Acted-out countertransference: empathy falters (merging is multiplied by this).
ENACTMENT_MERGING_KEEP = 0.8

# --- the therapist learns -----------------------------------------------------------------------
#: Clients who are overwhelmed or out of scope teach more (Boorman: "clients as teachers").
NOVEL_CLIENT_LEARNING = 1.5
#: A repaired rupture teaches self-awareness this many times more than an ordinary session.
REPAIR_LEARNING = 4.0

# --- the rupture state machine, as integer codes ------------------------------------------------
INTACT, RUPTURED, NOTICED, UNNOTICED, THERAPIST_REPAIR, CLIENT_REPAIR, RESOLVED, UNRESOLVED = (
    RuptureState.INTACT.code, RuptureState.RUPTURED.code, RuptureState.NOTICED.code,
    RuptureState.UNNOTICED.code, RuptureState.THERAPIST_REPAIR.code, RuptureState.CLIENT_REPAIR.code,
    RuptureState.RESOLVED.code, RuptureState.UNRESOLVED.code)
#: Keep the most recent PATH_CAPACITY states, 3 bits each.
PATH_KEEP = (1 << (3 * (PATH_CAPACITY - 1))) - 1

#: The named draws of one session, one random stream each (see :class:`alliancesim.streams.Streams`).
#: Append new draws at the end: each has its own stream, so the others keep their numbers.
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


# ------------------------------------------------------------------------------------------------
# Helpers
# ------------------------------------------------------------------------------------------------

@compiled
def pick(weights, u):
    """Index drawn in proportion to ``weights`` (a vector) with uniform ``u``."""
    total = 0.0
    for k in range(len(weights)):
        total += weights[k]
    target = u * total
    acc = 0.0
    for k in range(len(weights)):
        acc += weights[k]
        if target < acc:
            return k
    return len(weights) - 1


@compiled
def move(e, to):
    """Move rupture episode ``e`` to state ``to`` along an edge of the state machine, recording the step.

    Raises RuntimeError on an edge the state machine does not have
    (:data:`alliancesim.relationship.TRANSITIONS`).
    """
    if not ALLOWED[e.state, to]:
        raise RuntimeError("rupture state machine: illegal transition")
    e.state = to
    e.path = ((e.path & PATH_KEEP) << 3) | to
    e.path_length += 1


@compiled
def move_episode(episodes, i, to):
    """Move rupture episode row ``i`` to state ``to`` (see :func:`move`)."""
    move(episodes[i], to)


@compiled
def progress(c):
    """Share of the way from where the client started to where they could be (may be negative).

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


@compiled
def weekly_load(c, P):
    """Sessions per week the client books: one per cadence."""
    return 1.0 / (P.maintenance_cadence_weeks if c.maintenance else c.cadence_weeks)


@compiled
def bring_up_to(c, week, P):
    """Between-session drift of client ``c``'s distress and pain up to ``week``.

    Internalised self-care keeps working between sessions; without it, life
    pulls distress and pain back to where they started
    (:func:`session.drift_between_sessions`).
    """
    weeks = week - c.updated_week
    if weeks > 0:
        c.distress = S.drift_between_sessions(c.distress, c.distress_baseline, c.distress_floor, c.self_care,
                                              weeks, P.self_care_rate, P.relapse_rate)
        c.pain = S.drift_between_sessions(c.pain, c.pain_baseline, 0.0, c.self_care, weeks,
                                          P.self_care_rate, P.relapse_rate)
        c.updated_week = week


# ------------------------------------------------------------------------------------------------
# Beginning and end of a relationship
# ------------------------------------------------------------------------------------------------

@compiled
def client_up_to(clients, ci, week, PA):
    """:func:`bring_up_to` for client row ``ci`` (``PA``: the parameters as a one-element array)."""
    bring_up_to(clients[ci], week, PA[0])


@compiled
def start(rels, clients, therapists, ri, week, carried_bond, first_session, open_below, PA):
    """The intake of relationship row ``ri`` between its client and therapist.

    The client brings their starting trust, or ``carried_bond`` if higher (a
    warm introduction); goals are agreed in part and the way of working
    sketched.  The first session is booked for ``first_session`` (-1: not yet)
    and counted in the therapist's diary, which closes to new clients at
    ``open_below`` of capacity.  Returns whether the therapist still takes new clients.
    """
    P = PA[0]
    r = rels[ri]
    c = clients[r.client]
    t = therapists[r.therapist]
    bring_up_to(c, week, P)
    fit = S.need_fit(c.need, t.manual_skill, t.warmth, t.fixing_stance, c.in_scope)
    b0 = max(S.starting_trust(c.trust_propensity, c.prior_negative, c.alliance_capacity), carried_bond)
    r.start_week = week
    r.active = True
    r.bond = b0
    r.bond_start = b0
    r.need_fit = fit
    r.goal = S.INTAKE_GOAL * fit
    r.task = S.INTAKE_TASK
    r.trust_rate = S.trust_rate(P.trust_growth_rate, c.trust_propensity, c.prior_negative,
                                P.prior_negative_slowdown)
    r.internalisation = c.self_care
    r.distress_start = c.distress
    r.pain_start = c.pain
    r.therapist_self_awareness_start = t.self_awareness
    r.therapist_manual_skill_start = t.manual_skill
    r.sessions_to_trust = 0 if b0 >= TRUST_THRESHOLD else -1
    c.relationship = ri
    r.next_week = first_session
    if first_session >= 0:
        t.load += weekly_load(c, P)
        if t.load >= open_below * t.weekly_capacity:
            t.accepting = False
    return t.accepting


@compiled
def end(rels, clients, therapists, ri, week, client_leaves, PA):
    """Close relationship row ``ri``: record how it ended; the client leaves unless they move on."""
    r = rels[ri]
    c = clients[r.client]
    t = therapists[r.therapist]
    bring_up_to(c, week, PA[0])
    r.active = False
    r.end_week = week
    r.next_week = -1
    r.alliance_end = (r.bond + r.goal + r.task) / 3.0
    r.distress_end = c.distress
    r.pain_end = c.pain
    r.therapist_self_awareness_end = t.self_awareness
    r.therapist_manual_skill_end = t.manual_skill
    r.unresolved_at_end = r.open
    r.open = False
    r.open_episode = -1
    if c.relationship == ri:
        c.relationship = -1
    if client_leaves:
        c.left_week = week
        c.paused_until = -1


@compiled
def end_all(rels, clients, therapists, ended, week, PA):
    """:func:`end` for each relationship row in ``ended`` (int64 array), the client leaving the clinic."""
    for k in range(len(ended)):
        end(rels, clients, therapists, ended[k], week, True, PA)


# ------------------------------------------------------------------------------------------------
# Life events: who lives one this week (each client lives it: alliancesim.agents.Client)
# ------------------------------------------------------------------------------------------------

@compiled
def on_books(clients, n_clients):
    """Rows of the clients on the books (who have not left the clinic), in table order (int64 array)."""
    k = 0
    for i in range(n_clients):
        if clients[i].left_week < 0:
            k += 1
    out = np.empty(k, dtype=np.int64)
    k = 0
    for i in range(n_clients):
        if clients[i].left_week < 0:
            out[k] = i
            k += 1
    return out


@compiled
def befall(clients_on_books, u, chances):
    """The life events of the week: ``(client rows, event numbers)``, two int64 arrays.

    Event ``k`` befalls the ``i``-th client on the books when ``u[k, i] < chances[k]``
    (``u``: one row of uniform draws per event, one column per client;
    ``chances``: each event's weekly chance).  In order client by client, and
    for each client in event order.
    """
    n_events, n = u.shape
    who = np.empty(n * n_events, dtype=np.int64)
    what = np.empty(n * n_events, dtype=np.int64)
    m = 0
    for i in range(n):
        for k in range(n_events):
            if u[k, i] < chances[k]:
                who[m] = clients_on_books[i]
                what[m] = k
                m += 1
    return who[:m], what[:m]


# ------------------------------------------------------------------------------------------------
# Diaries
# ------------------------------------------------------------------------------------------------

@compiled
def due(rels, n_rels, week):
    """Relationships with a session booked in ``week`` (row indices, in table order)."""
    k = 0
    for i in range(n_rels):
        if rels[i].next_week == week:
            k += 1
    out = np.empty(k, dtype=np.int64)
    k = 0
    for i in range(n_rels):
        if rels[i].next_week == week:
            out[k] = i
            k += 1
    return out


@compiled
def fit_into_diaries(rels, therapists, n_therapists, week, asking):
    """Give sessions in the order clients ask, while their therapist has room.

    Those who find the diary full are booked for next week.  Returns the
    relationships seen this week (in table order) and how many were put off.
    """
    given = np.zeros(n_therapists, dtype=np.int64)
    seen = np.empty(len(asking), dtype=np.int64)
    k = 0
    postponed = 0
    for j in range(len(asking)):
        ri = asking[j]
        ti = rels[ri].therapist
        if therapists[ti].sessions_this_week + given[ti] < therapists[ti].weekly_capacity:
            seen[k] = ri
            k += 1
            given[ti] += 1
        else:
            rels[ri].next_week = week + 1
            postponed += 1
    return np.sort(seen[:k]), postponed


@compiled
def open_diaries(rels, clients, therapists, n_therapists, n_rels, week, open_below, PA):
    """Each therapist's booked sessions per week, and whether they take new clients.

    A therapist takes new clients while started, not on notice and booked
    below ``open_below`` of their weekly capacity.
    """
    P = PA[0]
    for i in range(n_therapists):
        therapists[i].load = 0.0
    for i in range(n_rels):
        r = rels[i]
        if r.active and r.next_week >= 0:
            therapists[r.therapist].load += weekly_load(clients[r.client], P)
    for i in range(n_therapists):
        t = therapists[i]
        t.accepting = (t.left_week < 0 and t.leaving_week < 0 and t.start_week <= week
                       and t.load < open_below * t.weekly_capacity)


# ------------------------------------------------------------------------------------------------
# The phases of one session
# ------------------------------------------------------------------------------------------------

@compiled
def attend(r, c, t, week, P, w):
    """Phase 1: since the last session self-care has worked and life has pulled back; the client comes in."""
    bring_up_to(c, week, P)
    w.distress_before = c.distress
    w.pain_before = c.pain
    r.sessions += 1
    c.sessions += 1
    t.sessions_this_week += 1
    w.week = week
    w.session = r.sessions


@compiled
def talk_and_topics(r, c, t, u_topic, u_pick, w):
    """Phase 2: the share of talk, how well it suits the client, and the topic they bring (-1: none).

    Returns the intensity with which the topic touches the therapist's own history (0-1).
    """
    talk = S.talk_share(t.talkativeness, c.talk_preference)
    w.talk_share = talk
    w.talk_fit = S.talk_fit(t.talkativeness, c.talk_preference, r.pleasure)
    w.topic = -1
    if u_topic < S.topic_raised_probability(talk):
        topic = pick(c.topics, u_pick)
        w.topic = topic
        r.topics_known[topic] += 1
        return t.triggers[topic]
    return 0.0


@compiled
def countertransference(t, intensity, u_enact, P, w):
    """Phase 3a: a topic that touches a trigger is acted out unless self-awareness keeps it out of the room."""
    w.countertransference = intensity > 0.0 and u_enact < S.enactment_probability(
        intensity, t.self_awareness, P.countertransference_rate)


@compiled
def boundary_incident(r, t, u_incident, P, w):
    """Phase 3b: loose boundaries risk an incident (a dual relationship, over-disclosure); the frame slips."""
    w.boundary_incident = u_incident < S.boundary_incident_probability(
        t.boundary_firmness, P.boundary_loose_below, P.boundary_incident_rate)
    if w.boundary_incident:
        r.separateness *= INCIDENT_FRAME_KEEP


@compiled
def quality(r, t, w):
    """Phase 4: session quality as the client experiences it (see :func:`session.session_quality`)."""
    w.quality = S.session_quality(t.manual_skill, t.warmth, t.burnout, w.talk_share, w.talk_fit, r.knowledge,
                                  r.pleasure, r.merging, w.countertransference, r.open)


@compiled
def rupture_cause(w, u, j, P):
    """Which rupture this session brings, in order of precedence (0: none)."""
    if w.countertransference and u[U_CT_RUPTURE, j] < S.ENACTMENT_RUPTURE:
        return COUNTERTRANSFERENCE
    if w.boundary_incident and u[U_INCIDENT_RUPTURE, j] < S.INCIDENT_RUPTURE:
        return BOUNDARY
    if u[U_MISATTUNE, j] < S.misattunement_probability(w.quality, P.misattunement_rate):
        return MISATTUNEMENT
    return NO_RUPTURE


@compiled
def ruptures_and_repair(r, c, t, ri, week, intensity, u, j, episodes, n_episodes, P, w, o):
    """Phase 5: a rupture opens or an open one is in play; it is repaired or stays open.

    One rupture is open per relationship at a time; a new hurt on an open one
    deepens it.  The therapist notices (self-awareness; a confrontation is hard
    to miss) and repairs, or the client tries, with enough trust to speak up;
    both grow less likely the longer the rupture has stayed out of the room
    (:func:`session.repair_window`).  A repair gives back more than the rupture
    took (:func:`session.bond_after_repair`) and heals part of its lasting cost;
    a rupture left open adds to the lasting cost (``rupture_lasting_cost`` per
    session, :func:`session.scar_after`), and so does acted-out countertransference; once its
    chance of repair has fallen below SEAL_REACH it sinks out of reach unrepaired (sealed over),
    leaving its lasting cost and making room for new ruptures.
    The episode walks the state machine of :mod:`alliancesim.relationship`.
    Returns the number of rupture episodes (one more if one opened).
    """
    grown = S.grow_bond(r.bond, w.quality, r.trust_rate, c.alliance_capacity, r.scar)
    cause = rupture_cause(w, u, j, P)
    open_before = r.open
    new = cause != NO_RUPTURE and not open_before
    in_play = new or open_before
    if new:
        confrontation = u[U_KIND, j] >= WITHDRAW_P[cause]
        severity = SEVERITY_LO[cause] + (SEVERITY_HI[cause] - SEVERITY_LO[cause]) * u[U_SEVERITY, j]
        if cause == COUNTERTRANSFERENCE:
            severity *= CT_SEVERITY_BASE + intensity
        hurt = S.bond_after_rupture(grown, min(severity, MAX_SEVERITY))
        r.episode_bond_before = grown
        r.ruptures += 1
    else:
        confrontation = r.open_confrontation
        if cause != NO_RUPTURE:
            hurt = S.bond_after_rupture(grown, DEEPEN_LO + (DEEPEN_HI - DEEPEN_LO) * u[U_SEVERITY, j])
        else:
            hurt = grown
    w.rupture = cause if new else NO_RUPTURE
    o.in_play = in_play
    o.episode = -1
    o.confrontation = confrontation
    o.bond_before = r.episode_bond_before if in_play else grown
    o.bond_hurt = hurt
    bond = hurt
    resolved = False
    reach = 1.0
    if in_play:
        if new:
            episode = n_episodes
            n_episodes += 1
            e = episodes[episode]
            e.relationship = ri
            e.week = week
            e.session = r.sessions
            e.confrontation = confrontation
            e.cause = cause
            e.topic = w.topic
            e.bond_before = grown
            e.bond_at_rupture = hurt
            e.state = RUPTURED
            e.path = RUPTURED
            e.path_length = 1
            r.open_episode = episode
        else:
            episode = r.open_episode
            e = episodes[episode]
        o.episode = episode
        # Out of the room, out of reach: the longer it stays unaddressed, the less likely a repair.
        reach = S.repair_window(float(week - e.week), P.repair_window_weeks)
        notice_p = reach * S.notice_probability(t.self_awareness, confrontation, w.talk_share)
        noticed = u[U_NOTICE, j] < notice_p
        by_therapist = noticed and u[U_THERAPIST_REPAIR, j] < S.therapist_repair_probability(
            t.self_awareness, t.warmth)
        client_tries = not by_therapist and u[U_CLIENT_ATTEMPT, j] < reach * S.client_repair_probability(
            hurt, P.client_repair_rate)
        by_client = client_tries and u[U_CLIENT_REPAIR, j] < CLIENT_REPAIR_BASE + CLIENT_REPAIR_WARMTH * t.warmth
        # This session's walk through the state machine.
        if e.attempts == 0:
            e.noticed = noticed
        e.attempts += 1
        if noticed:
            move(e, NOTICED)
            move(e, THERAPIST_REPAIR)
        else:
            move(e, UNNOTICED)
        if client_tries:
            move(e, CLIENT_REPAIR)
            e.client_tried = True
        resolved = by_therapist or by_client
        if resolved:
            completeness = REPAIR_COMPLETENESS_LO + (1.0 - REPAIR_COMPLETENESS_LO) * u[U_COMPLETENESS, j]
            bond = S.bond_after_repair(r.episode_bond_before, hurt, completeness, P.repair_bond_gain)
            move(e, RESOLVED)
            move(e, INTACT)
            e.repaired_by = 1 if by_therapist else 2
            e.resolved_week = week
            e.resolved_session = r.sessions
            e.bond_after = bond
            r.open_episode = -1
            r.scar *= REPAIR_SCAR_KEEP
            r.repairs += 1
            if by_therapist:
                r.repairs_by_therapist += 1
            else:
                r.repairs_by_client += 1
        else:
            move(e, UNRESOLVED)
        o.noticed = noticed
        o.by_therapist = by_therapist
        o.client_tries = client_tries
        o.by_client = by_client
    r.open = in_play and not resolved
    if r.open and reach < SEAL_REACH:
        # Left out of the room too long: it sinks out of reach, unrepaired; its lasting cost stays.
        e.sealed_week = week
        r.open = False
        r.open_episode = -1
        r.sealed += 1
    r.open_confrontation = r.open and confrontation
    lasting = 0.0
    if r.open:
        lasting += P.rupture_lasting_cost
    if w.countertransference:
        lasting += P.rupture_lasting_cost * intensity
    if lasting > 0.0:
        r.scar = S.scar_after(r.scar, lasting)
    o.lasting_cost = lasting
    r.bond = bond
    w.repaired = resolved
    w.rupture_open = r.open
    if w.countertransference:
        r.enactments += 1
    if w.boundary_incident:
        r.boundary_incidents += 1
    return n_episodes


@compiled
def relationship_growth(r, c, t, P, w):
    """Phase 6: the four themes, the file, and goal and task agreement grow; returns the alliance."""
    openness = S.merging_openness(t.boundary_firmness, P.boundary_rigid_above)
    sep, ple, mer, inte = S.update_themes(r.separateness, r.pleasure, r.merging, r.internalisation, w.quality,
                                          S.boundary_clarity(t.boundary_firmness), openness, t.warmth,
                                          1.0 - t.fixing_stance)
    if w.countertransference:
        mer *= ENACTMENT_MERGING_KEEP  # empathy falters
    r.separateness = sep
    r.pleasure = ple
    r.merging = mer
    r.internalisation = inte
    r.knowledge = S.grow_knowledge(r.knowledge, r.bond, openness)
    goal, task = S.update_goal_task(r.goal, r.task, r.need_fit, r.knowledge, w.quality, sep, c.alliance_capacity)
    r.goal = goal
    r.task = task
    alliance = (r.bond + goal + task) / 3.0
    if r.sessions == 1:
        r.alliance_start = alliance
    w.bond = r.bond
    w.goal = goal
    w.task = task
    w.alliance = alliance
    w.separateness = sep
    w.pleasure = ple
    w.merging = mer
    w.internalisation = inte
    w.knowledge = r.knowledge
    return alliance


@compiled
def outcome(r, c, t, week, alliance, intensity, P, w, o):
    """Phase 7: the alliance carries the fall in distress, the hands the fall in pain; the therapist learns.

    Relief comes early (remoralisation) and then with the alliance
    (:func:`session.relief_share`); a misattuned session, a boundary incident,
    acted-out countertransference, fixing a client who needs space held and a
    rupture left open add distress (:func:`session.session_harm`): care can harm.
    """
    relief = S.relief_share(alliance, w.quality, r.sessions, P.distress_effect * c.responsiveness,
                            P.remoralisation, P.alliance_outcome_weight, c.in_scope)
    enacted = intensity if w.countertransference else 0.0
    harm = S.session_harm(w.quality, w.boundary_incident, enacted, S.fixing_mismatch(c.need, t.fixing_stance),
                          P.harm_effect) + LASTING_COST_DISTRESS * o.lasting_cost
    c.distress = S.distress_after_session(c.distress, c.distress_floor, relief, harm)
    c.pain = S.pain_after_session(c.pain, t.manual_skill, w.quality, P.pain_effect * c.responsiveness,
                                  t.fixing_stance, w.countertransference, c.in_scope)
    if r.internalisation > c.self_care:
        c.self_care = r.internalisation
    w.distress_after = c.distress
    w.pain_after = c.pain
    # Clients as teachers (Boorman): skill and self-awareness creep up with each client.
    novelty = NOVEL_CLIENT_LEARNING if (c.need == S.OVERWHELMED or not c.in_scope) else 1.0
    t.manual_skill += P.learning_rate * novelty * (1.0 - t.manual_skill)
    t.self_awareness += P.learning_rate * (REPAIR_LEARNING if w.repaired else 1.0) * (1.0 - t.self_awareness)
    o.trusted = r.sessions_to_trust < 0 and r.bond >= TRUST_THRESHOLD
    if o.trusted:
        r.sessions_to_trust = r.sessions
    o.recovered = (r.recovery_weeks < 0 and not math.isnan(r.recovery_target)
                   and alliance >= RECOVERY_SHARE * r.recovery_target)
    if o.recovered:
        r.recovery_weeks = week - r.start_week
        r.recovered_sessions = r.sessions


@compiled
def next_booking(r, c, t, week, alliance, u, j, site_xy, P, o):
    """Phase 8: what the client does next; the decisions are drawn here and applied by the model.

    Needs beyond massage are recognised sooner by a self-aware therapist; a
    poor fit at the fit check is referred on ("you know you've made it when you
    fire a patient"); goals met end the course or turn into maintenance; the
    dropout hazard (:func:`session.dropout_probability`) is front-loaded and
    rises with a weak alliance, an open rupture, a stalled course and distance.
    """
    n = r.sessions
    gain = progress(c)
    stalled = n >= STALLED_AFTER and gain < STALLED_PROGRESS
    if stalled:
        t.stalled_this_week += 1
    satisfied = alliance >= SATISFIED_ALLIANCE and gain >= SATISFIED_PROGRESS
    o.signpost = (not c.in_scope and n <= FIT_CHECK_SESSION
                  and u[U_SIGNPOST, j] < SIGNPOST_BASE + SIGNPOST_AWARENESS * t.self_awareness)
    o.refer = (n == FIT_CHECK_SESSION and alliance < FIT_THRESHOLD
               and u[U_FIT_CHECK, j] < FIT_ACT_BASE + FIT_ACT_AWARENESS * t.self_awareness)
    goals = (not c.goals_met and c.need != S.OCCASIONAL and n >= GOAL_EARLIEST_SESSION
             and gain >= GOAL_PROGRESS)
    # The course (or the few visits) the client meant to come for is over, goals met or not.
    planned_done = not c.maintenance and not c.goals_met and c.sessions >= c.planned_sessions
    # At the end of a course a client who trusts the therapist may stay on for maintenance.
    stays = ((goals or planned_done) and c.need != S.OCCASIONAL
             and u[U_MAINTENANCE, j] < P.maintenance_propensity * r.bond)
    regular = c.maintenance or stays
    o.completes = planned_done and not goals and not stays
    dx = c.home_x - site_xy[t.site, 0]
    dy = c.home_y - site_xy[t.site, 1]
    travel = math.sqrt(dx * dx + dy * dy) / c.travel_tolerance_km
    hazard = S.dropout_probability(P.dropout_base, alliance, n, r.open, stalled, travel, r.scar)
    if regular:
        hazard *= MAINTENANCE_DROPOUT_SCALE
    o.goals = goals
    o.stays = stays
    o.ends_maintenance = c.maintenance and u[U_MAINTENANCE_END, j] < MAINTENANCE_END
    o.drops = u[U_DROPOUT, j] < hazard
    cadence = P.maintenance_cadence_weeks if regular else c.cadence_weeks
    whole = math.floor(cadence)
    weeks = max(1, whole + (1 if u[U_CADENCE, j] < cadence - whole else 0))
    o.recommends = satisfied and u[U_WORD_OF_MOUTH, j] < 1.0 - (1.0 - P.word_of_mouth_rate) ** float(weeks)
    r.next_week = week + weeks


@compiled
def hold_sessions(week, idx, u, n_episodes, rels, clients, therapists, episodes, site_xy, PA, rows, out):
    """Hold the sessions of relationships ``idx`` (row indices, in this order) in ``week``.

    Parameters
    ----------
    week : int
        The week (from 1).
    idx : int64 array, shape (n,)
        Relationship rows with a session this week.
    u : float64 array, shape (len(DRAWS), n)
        Uniform draws, one row per named draw, one column per session.
    n_episodes : int
        Rupture episodes so far; new ones are appended from this row (the
        caller leaves room for one per session).
    rels, clients, therapists, episodes : record arrays
        The model's tables (:data:`alliancesim.schema.STATE`).
    site_xy : float64 array, shape (n_sites, 2)
        Site coordinates in km.
    PA : record array, shape (1,)
        The parameters (:func:`alliancesim.engine.pack_params`).
    rows, out : record arrays, length n
        Filled with one session record (:data:`schema.SESSION`) and one outcome
        record (:data:`schema.SESSION_OUTCOME`) per session.

    Returns
    -------
    tuple
        The new episode count and the week's tallies: new ruptures, repairs,
        enactments, boundary incidents, and the sums of alliance, quality and
        distress as clients came in.
    """
    P = PA[0]
    new_ruptures = 0
    repairs = 0
    enactments = 0
    incidents = 0
    sum_alliance = 0.0
    sum_quality = 0.0
    sum_distress = 0.0
    for j in range(len(idx)):
        ri = idx[j]
        r = rels[ri]
        c = clients[r.client]
        t = therapists[r.therapist]
        w = rows[j]
        o = out[j]
        w.relationship = ri
        o.relationship = ri

        attend(r, c, t, week, P, w)
        intensity = talk_and_topics(r, c, t, u[U_TOPIC, j], u[U_TOPIC_PICK, j], w)
        countertransference(t, intensity, u[U_ENACT, j], P, w)
        boundary_incident(r, t, u[U_INCIDENT, j], P, w)
        quality(r, t, w)
        n_episodes = ruptures_and_repair(r, c, t, ri, week, intensity, u, j, episodes, n_episodes, P, w, o)
        alliance = relationship_growth(r, c, t, P, w)
        outcome(r, c, t, week, alliance, intensity, P, w, o)
        next_booking(r, c, t, week, alliance, u, j, site_xy, P, o)

        o.session = w.session
        o.topic = w.topic
        o.countertransference = w.countertransference
        o.boundary_incident = w.boundary_incident
        o.rupture = w.rupture
        o.bond = w.bond
        new_ruptures += w.rupture != NO_RUPTURE
        repairs += w.repaired
        enactments += w.countertransference
        incidents += w.boundary_incident
        sum_alliance += alliance
        sum_quality += w.quality
        sum_distress += w.distress_before
    return n_episodes, new_ruptures, repairs, enactments, incidents, sum_alliance, sum_quality, sum_distress


@compiled
def end_week(rels, clients, therapists, n_therapists, n_rels, week, PA, snapshot):
    """Close the week: burnout and recovery for every working therapist, and the week's tallies.

    Fills ``snapshot`` (one :data:`schema.THERAPIST_WEEK` record per therapist)
    and returns ``(clients on the books, maintenance clients, open ruptures,
    working therapists, mean burnout, highest burnout)`` (mean burnout is NaN
    with nobody working; the highest is over every therapist ever hired, and
    ``-inf`` when there is none).
    """
    P = PA[0]
    on_books = 0
    maintenance = 0
    open_ruptures = 0
    working = 0
    burnout_sum = 0.0
    burnout_max = -math.inf
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
    for i in range(n_therapists):
        t = therapists[i]
        if t.left_week < 0 and t.start_week <= week:
            load = t.sessions_this_week / t.weekly_capacity
            stalled = t.stalled_this_week / t.sessions_this_week if t.sessions_this_week > 0 else 0.0
            t.burnout = S.burnout_step(t.burnout, load, t.fixing_stance, stalled, P.burnout_rate,
                                       P.burnout_recovery)
            t.experience_years += 1.0 / 52.0
            working += 1
            burnout_sum += t.burnout
        t.sessions_this_week = 0
        t.stalled_this_week = 0
        burnout_max = max(burnout_max, t.burnout)
        row = snapshot[i]
        row.week = week
        row.therapist = i
        row.burnout = t.burnout
        row.manual_skill = t.manual_skill
        row.self_awareness = t.self_awareness
        row.start_week = t.start_week
        row.left_week = t.left_week
        row.leaving_week = t.leaving_week
    mean_burnout = burnout_sum / working if working > 0 else math.nan
    return on_books, maintenance, open_ruptures, working, mean_burnout, burnout_max


#: The fields of a session outcome record that decide what happens after the session, in the order
#: :func:`follow_up` returns them (the model applies them in :meth:`AllianceModel._after_sessions`,
#: which checks this order when it is imported).
DECISIONS = ("relationship", "session", "signpost", "refer", "goals", "stays", "completes", "ends_maintenance",
             "drops", "recommends")
(D_RELATIONSHIP, D_SESSION, D_SIGNPOST, D_REFER, D_GOALS, D_STAYS, D_COMPLETES, D_ENDS_MAINTENANCE, D_DROPS,
 D_RECOMMENDS) = range(len(DECISIONS))


@compiled
def follow_up(out):
    """The week's sessions the model still acts on, from their outcome records ``out`` (:data:`schema.SESSION_OUTCOME`).

    Returns
    -------
    notable : int64 array, shape (k,)
        Positions in ``out``, in session order, of the sessions that go into the
        event log (a first session, countertransference acted out, a boundary
        incident, a rupture in play, trust reached, an alliance recovered).
    decisions : int64 array, shape (m, len(DECISIONS))
        One row per session with a decision to apply after it (signposted,
        referred, goals met, staying on, course done, maintenance ended, dropout,
        a recommendation), in session order: its fields :data:`DECISIONS` (flags as 0/1).
    """
    notable = np.empty(len(out), dtype=np.int64)
    decisions = np.empty((len(out), len(DECISIONS)), dtype=np.int64)
    n_notable = 0
    n_decided = 0
    for j in range(len(out)):
        o = out[j]
        if (o.session == 1 or o.countertransference or o.boundary_incident or o.in_play or o.trusted
                or o.recovered):
            notable[n_notable] = j
            n_notable += 1
        if (o.signpost or o.refer or o.goals or o.stays or o.completes or o.ends_maintenance or o.drops
                or o.recommends):
            d = decisions[n_decided]
            d[D_RELATIONSHIP], d[D_SESSION], d[D_SIGNPOST], d[D_REFER] = o.relationship, o.session, o.signpost, o.refer
            d[D_GOALS], d[D_STAYS], d[D_COMPLETES] = o.goals, o.stays, o.completes
            d[D_ENDS_MAINTENANCE], d[D_DROPS], d[D_RECOMMENDS] = o.ends_maintenance, o.drops, o.recommends
            n_decided += 1
    return notable[:n_notable], decisions[:n_decided]
