"""New clients: who asks for an appointment, whom they choose, and who they are.

Each week people in town ask for a first appointment: strangers who find the
clinic by themselves (Poisson ``arrival_rate``) and family and friends sent by
satisfied clients (:func:`word_of_mouth`).  A newcomer chooses among the
therapists with room by travel distance (:func:`choose_therapist`), and only
then is drawn as a client: need profile, distress and pain, trust, talk
preference, topics and cadence (:func:`admit`).

The week's newcomers are admitted together: :func:`admit` is session code
(:mod:`alliancesim.engine`: compiled by Numba, or run as written by the python
engine) that writes their client and relationship rows, and :func:`arrivals`
then gives each newcomer their agent.  Each trait has its own named random
stream (:data:`UNIFORMS`, :data:`NORMALS`), so a new trait leaves the others'
numbers as they were.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from . import session as S
from . import week as W
from .agents import NEED_DISTRESS, NEED_PAIN, TOPIC_WEIGHTS, Client
from .engine import compiled
from .events import EventKind as K

if TYPE_CHECKING:  # pragma: no cover
    from .model import AllianceModel
    from .relationship import Relationship

#: Tries to find someone in town who has never been a client before giving up for the week.
STRANGER_TRIES = 20
#: Spread of individual travel tolerance around the registry value (lognormal SD).
TOLERANCE_LOG_SD = 0.4
#: Spread of trust propensity and talk preference around their means (normal SD, clipped to 0-1).
TRUST_SD, TALK_SD = 0.15, 0.2
#: Spread of the booking cadence around its mean (weeks), and its limits.
CADENCE_SD, CADENCE_RANGE = 0.7, (1.0, 12.0)
#: Occasional visitors: spread of their cadence (weeks) and its limits, and their extra visits (Poisson mean).
OCCASIONAL_CADENCE_SD, OCCASIONAL_CADENCE_RANGE, OCCASIONAL_EXTRA_VISITS = 4.0, (2.0, 52.0), 1.5
#: Topics a newcomer brings: between these many draws from the need's topic weights.
TOPICS_BROUGHT = (1, 3)
#: Distress at or below which self-care can bring a client (the floor, PHQ-9 points).
DISTRESS_FLOOR = 3.0
#: Chance the first session is a week later than the next week.
FIRST_SESSION_LATER = 0.3
#: Pronouns and their shares (she, he; the rest they).
PRONOUN_SHE, PRONOUN_HE = 0.62, 0.95
#: A therapist recommended by word of mouth gets this utility bonus; nobody beyond this many
#: travel tolerances is considered.
RECOMMENDED_BONUS, FARTHEST_TOLERANCES = 1.5, 3.0
#: For a referral, fit to the client's needs weighs this much in the choice.
REFERRAL_FIT_WEIGHT = 3.0
#: Spread of individual taste in the choice of therapist (logit temperature).
CHOICE_TEMPERATURE = 0.5
#: Word of mouth: chance the tie told is family (when there is one), and the delay before they ask (weeks).
FAMILY_FIRST, WORD_OF_MOUTH_DELAY = 0.5, (1, 4)

#: What a newcomer's entry in :func:`admit`'s outcome means when it is not a therapist row.
TURNED_AWAY, NOBODY = -1, -2

#: The named uniform draws of one newcomer, one random stream each (append new ones at the end).
UNIFORMS = ("arrival_choice", "arrival_occasional", "arrival_need", "arrival_topics", "arrival_topic_1",
            "arrival_topic_2", "arrival_topic_3", "arrival_prior_negative", "arrival_in_scope",
            "arrival_planned", "arrival_first_session", "arrival_pronoun")
(U_CHOICE, U_OCCASIONAL, U_NEED, U_TOPICS, U_TOPIC_1, U_TOPIC_2, U_TOPIC_3, U_PRIOR_NEGATIVE, U_IN_SCOPE,
 U_PLANNED, U_FIRST_SESSION, U_PRONOUN) = range(len(UNIFORMS))
#: The named standard-normal draws of one newcomer, one random stream each.
NORMALS = ("arrival_tolerance", "arrival_distress", "arrival_pain", "arrival_trust", "arrival_alliance",
           "arrival_talk", "arrival_cadence", "arrival_responsiveness")
(Z_TOLERANCE, Z_DISTRESS, Z_PAIN, Z_TRUST, Z_ALLIANCE, Z_TALK, Z_CADENCE, Z_RESPONSIVENESS) = range(len(NORMALS))

# The per-need tables as arrays, for the session code.
_TOPIC_WEIGHTS = np.array(TOPIC_WEIGHTS)
_NEED_DISTRESS = np.array(NEED_DISTRESS)
_NEED_PAIN = np.array(NEED_PAIN)


def poisson(rnd, lam: float) -> int:
    """Poisson draw with a Python ``random.Random`` (Knuth; normal approximation above 30)."""
    if lam <= 0:
        return 0
    if lam > 30:
        return max(0, round(rnd.gauss(lam, math.sqrt(lam))))
    limit, k, prod = math.exp(-lam), 0, rnd.random()
    while prod > limit:
        k += 1
        prod *= rnd.random()
    return k


@compiled
def poisson_at(lam, u):
    """Poisson draw with mean ``lam`` (0-700) from one uniform ``u``: the inverse of the distribution function."""
    if lam <= 0.0:
        return 0
    k = 0
    term = math.exp(-lam)
    total = term
    while u >= total and term > 0.0:
        k += 1
        term *= lam / k
        total += term
    return k


@compiled
def choose_therapist(therapists, n_therapists, site_km, tolerance, u, prefer, exclude, need):
    """Pick a therapist with room by travel distance: a logit over ``-distance / tolerance``.

    ``site_km`` holds the distance (km) from the newcomer's home to each site.
    A therapist recommended by word of mouth (row ``prefer``) gets a bonus of
    :data:`RECOMMENDED_BONUS`; for a referral (``need`` a need code, else -1),
    fit to the client's needs counts too (:func:`session.need_fit`), and the
    referring therapist (row ``exclude``) is left out.  Nobody farther than
    :data:`FARTHEST_TOLERANCES` tolerances is considered.  Returns a therapist
    row, or -1 if nobody has room.  The logit is that of :func:`session.logit_choice`.
    """
    limit = FARTHEST_TOLERANCES * tolerance
    utils = np.empty(n_therapists)
    rows = np.empty(n_therapists, dtype=np.int64)
    n = 0
    for i in range(n_therapists):
        t = therapists[i]
        km = site_km[t.site]
        if not t.accepting or i == exclude or km > limit:
            continue
        utility = -km / tolerance
        if i == prefer:
            utility += RECOMMENDED_BONUS
        if need >= 0:
            utility += REFERRAL_FIT_WEIGHT * S.need_fit(need, t.manual_skill, t.warmth, t.fixing_stance, True)
        utils[n] = utility
        rows[n] = i
        n += 1
    if n == 0:
        return -1
    top = utils[0]
    for k in range(1, n):
        top = max(top, utils[k])
    total = 0.0
    for k in range(n):
        utils[k] = math.exp((utils[k] - top) / CHOICE_TEMPERATURE)
        total += utils[k]
    acc = 0.0
    for k in range(n):
        acc += utils[k] / total
        if u < acc:
            return rows[k]
    return rows[n - 1]


@compiled
def admit(week, persons, via, u, z, tries, person_client, person_site_km, homes, rels, n_rels, clients,
          n_clients, therapists, n_therapists, open_below, PA, outcome):
    """This week's newcomers ask in order: each chooses a therapist with room and is drawn as a client.

    Parameters
    ----------
    persons, via : int64 arrays, shape (n,)
        Who asks (a person in town, or -1 for a stranger to be found) and the
        therapist row recommended to them (-1: none).
    u, z : float64 arrays, shape (len(UNIFORMS), n) and (len(NORMALS), n)
        Uniform and standard-normal draws, one row per named draw.
    tries : float64 array, shape (STRANGER_TRIES, n)
        Uniform draws to find a stranger who has never been a client.
    person_client : int64 array, shape (population,)
        Client row of each person in town (-1: never a client); updated.
    person_site_km, homes : float64 arrays, shape (population, n_sites) and (population, 2)
        Distance from each home to each site (km), and the home (km).
    rels, clients, therapists : record arrays
        The tables, with room for ``n`` more rows after ``n_rels`` and ``n_clients``.
    open_below : float
        A therapist's diary closes to new clients at this share of capacity.
    outcome : int64 array, shape (n,)
        Filled with the therapist row each newcomer chose, or :data:`TURNED_AWAY`
        (nobody had room) or :data:`NOBODY` (no stranger found, or already a client).
        A stranger found is written into ``persons``.

    Returns
    -------
    tuple
        The numbers of relationship and client rows in use afterwards.
    """
    P = PA[0]
    population = len(person_client)
    for k in range(len(persons)):
        outcome[k] = NOBODY
        person = persons[k]
        if person < 0:
            for j in range(STRANGER_TRIES):
                candidate = int(tries[j, k] * population)
                if person_client[candidate] < 0:
                    person = candidate
                    break
            if person < 0:
                continue
            persons[k] = person
        elif person_client[person] >= 0:
            continue
        tolerance = P.travel_tolerance_km * math.exp(TOLERANCE_LOG_SD * z[Z_TOLERANCE, k])
        ti = choose_therapist(therapists, n_therapists, person_site_km[person], tolerance, u[U_CHOICE, k],
                              via[k], -1, -1)
        outcome[k] = ti
        if ti < 0:
            continue
        # Occasional visitors first (relaxation, a one-off, a voucher); the rest come for a course.
        occasional = u[U_OCCASIONAL, k] < P.share_occasional
        share = u[U_NEED, k]
        if occasional:
            need = S.OCCASIONAL
        elif share < P.share_physical:
            need = S.PHYSICAL
        elif share < P.share_physical + P.share_overwhelmed:
            need = S.OVERWHELMED
        else:
            need = S.PHYSICAL_EMOTIONAL
        ci = n_clients
        n_clients += 1
        person_client[person] = ci
        c = clients[ci]
        c.need = need
        brought = TOPICS_BROUGHT[0] + int(u[U_TOPICS, k] * (TOPICS_BROUGHT[1] - TOPICS_BROUGHT[0] + 1))
        for j in range(brought):
            c.topics[W.pick(_TOPIC_WEIGHTS[need], u[U_TOPIC_1 + j, k])] += 1.0
        distress = min(27.0, max(0.0, _NEED_DISTRESS[need, 0] + _NEED_DISTRESS[need, 1] * z[Z_DISTRESS, k]))
        pain = min(10.0, max(0.0, _NEED_PAIN[need, 0] + _NEED_PAIN[need, 1] * z[Z_PAIN, k]))
        prior_negative = poisson_at(P.prior_negative_mean, u[U_PRIOR_NEGATIVE, k])
        trust = S.clip01(P.trust_propensity_mean + TRUST_SD * z[Z_TRUST, k])
        if occasional:
            cadence = min(OCCASIONAL_CADENCE_RANGE[1], max(OCCASIONAL_CADENCE_RANGE[0], P.occasional_cadence_weeks
                                                           + OCCASIONAL_CADENCE_SD * z[Z_CADENCE, k]))
            planned = 1 + poisson_at(OCCASIONAL_EXTRA_VISITS, u[U_PLANNED, k])
        else:
            cadence = min(CADENCE_RANGE[1], max(CADENCE_RANGE[0], P.cadence_weeks_mean + CADENCE_SD * z[Z_CADENCE, k]))
            # A course of about course_sessions_mean sessions (geometric: many short courses, a few long ones).
            planned = 1
            if P.course_sessions_mean > 1.0:
                planned += int(math.log(1.0 - u[U_PLANNED, k]) / math.log1p(-1.0 / P.course_sessions_mean))
        c.in_scope = occasional or u[U_IN_SCOPE, k] >= P.share_out_of_scope
        c.prior_negative = prior_negative
        c.trust_propensity = trust
        c.alliance_capacity = S.alliance_capacity(z[Z_ALLIANCE, k], trust, prior_negative, P.alliance_trait_sd)
        c.planned_sessions = planned
        c.talk_preference = S.clip01(P.talk_preference_mean + TALK_SD * z[Z_TALK, k])
        c.cadence_weeks = cadence
        c.travel_tolerance_km = tolerance
        c.responsiveness = math.exp(P.responsiveness_sd * z[Z_RESPONSIVENESS, k])
        c.distress = distress
        c.distress_start = distress
        c.distress_baseline = distress
        c.distress_floor = min(distress, DISTRESS_FLOOR)
        c.pain = pain
        c.pain_start = pain
        c.pain_baseline = pain
        c.home_x = homes[person, 0]
        c.home_y = homes[person, 1]
        c.updated_week = week
        ri = n_rels
        n_rels += 1
        rels[ri].client = ci
        rels[ri].therapist = ti
        first = week + 1 + (1 if u[U_FIRST_SESSION, k] < FIRST_SESSION_LATER else 0)
        W.start(rels, clients, therapists, ri, week, -1.0, first, open_below, PA)
    return n_rels, n_clients


def arrivals(model: AllianceModel, week: int) -> None:
    """This week's newcomers: those sent by word of mouth, and strangers who find the clinic."""
    p, streams, C, R = model.params, model.streams, model.C, model.R
    wanted = model.pending.pop(week, [])
    strangers = int(streams.numpy("arrival_count").poisson(p.arrival_rate)) if p.arrival_rate > 0 else 0
    n = len(wanted) + strangers
    if n == 0:
        return
    # Those told by word of mouth first (who, told by whom, about which therapist), then strangers (-1).
    persons = np.array([x[0] for x in wanted] + [-1] * strangers, dtype=np.int64)
    via = np.array([x[2] for x in wanted] + [-1] * strangers, dtype=np.int64)
    referrers: list[str | None] = [x[1] for x in wanted] + [None] * strangers
    u = streams.uniforms(UNIFORMS, n)
    z = streams.normals(NORMALS, n)
    tries = streams.numpy("arrival_stranger").random((STRANGER_TRIES, n))
    C.reserve(n)
    R.reserve(n)
    rels, clients, therapists, _ = model.tables()
    outcome = np.empty(n, dtype=np.int64)
    first_rel, first_client = R.n, C.n
    R.n, C.n = admit(week, persons, via, u, z, tries, model.person_client, model.person_site_km,
                     model.people.homes, rels, R.n, clients, C.n, therapists, model.T.n, W.OPEN_FOR_NEW_BELOW,
                     model.P, outcome)
    # Each newcomer becomes an agent, in the order they asked.
    ri, ci = first_rel, first_client
    for k, (ti, person, pronoun) in enumerate(zip(outcome.tolist(), persons.tolist(), u[U_PRONOUN].tolist(),
                                                   strict=True)):
        if ti == NOBODY:
            continue
        if ti == TURNED_AWAY:
            model.turned_away += 1
            model.events.add(week, K.TURNED_AWAY, f"P{person}", None)
            continue
        referrer = referrers[k]
        c = Client(model, ci, person, "she" if pronoun < PRONOUN_SHE else "he" if pronoun < PRONOUN_HE else "they",
                   referrer)
        model.clients_all.append(c)
        model.new_clients += 1
        if referrer is not None:
            model.word_of_mouth_arrivals += 1
        r = model.adopt_relationship(ri, ci, ti)
        r.referred_by = referrer
        model.events.add(week, K.ARRIVAL, c.label, r.therapist.label, referrer=referrer)
        ri += 1
        ci += 1


def word_of_mouth(model: AllianceModel, week: int, r: Relationship) -> None:
    """A satisfied client tells a family member or friend who has not been a client (family first)."""
    town = model.people
    lo, hi = town.indptr[r.client.person], town.indptr[r.client.person + 1]
    free = model.person_client[town.indices[lo:hi]] < 0
    if not free.any():
        return
    ties, is_family = town.indices[lo:hi][free], town.family[lo:hi][free]
    rnd = model.streams.python("word_of_mouth")
    if is_family.any() and rnd.random() < FAMILY_FIRST:
        person, tie = int(ties[is_family][rnd.randrange(np.count_nonzero(is_family))]), "family"
    else:
        k = rnd.randrange(len(ties))
        person, tie = int(ties[k]), "family" if is_family[k] else "friend"
    model.events.add(week, K.WORD_OF_MOUTH, r.client.label, r.therapist.label, tie=tie)
    model.pending.setdefault(week + rnd.randint(*WORD_OF_MOUTH_DELAY), []).append(
        (person, r.client.label, r.therapist.idx))
