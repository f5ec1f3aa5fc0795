"""New clients: who asks for an appointment, whom they choose, and who they are.

Each week people in town ask for a first appointment: strangers who find the
clinic by themselves (Poisson ``arrival_rate``) and family and friends sent by
satisfied clients (:func:`word_of_mouth`).  A newcomer chooses among the
therapists with room by travel distance (:func:`choose_therapist`), and only
then is drawn as a client: need profile, distress and pain, trust, talk
preference, topics and cadence.  Draws come from the ``arrivals`` stream.
"""

from __future__ import annotations

import bisect
import math
from typing import TYPE_CHECKING

import numpy as np

from . import session as S
from .agents import NEED_DISTRESS, NEED_PAIN, TOPIC_WEIGHTS, Client
from .events import EventKind as K
from .schema import TOPICS

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
#: Word of mouth: chance the tie told is family (when there is one), and the delay before they ask (weeks).
FAMILY_FIRST, WORD_OF_MOUTH_DELAY = 0.5, (1, 4)

_TOPIC_CUM = [list(np.cumsum(w)) for w in TOPIC_WEIGHTS]


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


def arrivals(model: AllianceModel, week: int) -> None:
    """This week's newcomers: those sent by word of mouth, and strangers who find the clinic."""
    rnd = model.streams.python("arrivals")
    wanted = model.pending.pop(week, [])
    wanted.extend((-1, None, -1) for _ in range(poisson(rnd, model.params.arrival_rate)))
    for person, referrer, via in wanted:
        if person < 0:
            person = stranger(model, rnd)
            if person is None:
                continue
        elif person in model.person_client:
            continue
        arrive(model, week, person, referrer, via)


def stranger(model: AllianceModel, rnd) -> int | None:
    """Someone in town who has never been a client (a few tries, then give up)."""
    for _ in range(STRANGER_TRIES):
        person = rnd.randrange(model.params.population)
        if person not in model.person_client:
            return person
    return None


def arrive(model: AllianceModel, week: int, person: int, referrer: str | None, via: int) -> None:
    """A person asks for an appointment: find them a therapist, then draw who they are."""
    p, rnd, C = model.params, model.streams.python("arrivals"), model.C
    hx, hy = model.homes[person]
    tolerance = p.travel_tolerance_km * rnd.lognormvariate(0.0, TOLERANCE_LOG_SD)
    t = choose_therapist(model, model.person_site_km[person], tolerance, rnd, prefer=via)
    if t < 0:
        model.turned_away += 1
        model.events.add(week, K.TURNED_AWAY, f"P{person}", None)
        return
    # Occasional visitors first (relaxation, a one-off, a voucher); the rest come for a course.
    occasional = rnd.random() < p.share_occasional
    u = rnd.random()
    if occasional:
        need = S.OCCASIONAL
    else:
        need = S.PHYSICAL if u < p.share_physical else S.OVERWHELMED if u < p.share_physical + p.share_overwhelmed \
            else S.PHYSICAL_EMOTIONAL
    topics = [0.0] * len(TOPICS)
    cum = _TOPIC_CUM[need]
    for _ in range(rnd.randint(*TOPICS_BROUGHT)):
        topics[bisect.bisect(cum, rnd.random() * cum[-1])] += 1.0
    distress = min(27.0, max(0.0, rnd.gauss(*NEED_DISTRESS[need])))
    pain = min(10.0, max(0.0, rnd.gauss(*NEED_PAIN[need])))
    prior_negative = poisson(rnd, p.prior_negative_mean)
    trust = min(1.0, max(0.0, rnd.gauss(p.trust_propensity_mean, TRUST_SD)))
    if occasional:
        cadence = min(OCCASIONAL_CADENCE_RANGE[1], max(OCCASIONAL_CADENCE_RANGE[0],
                                                       rnd.gauss(p.occasional_cadence_weeks, OCCASIONAL_CADENCE_SD)))
        planned = 1 + poisson(rnd, OCCASIONAL_EXTRA_VISITS)
    else:
        cadence = min(CADENCE_RANGE[1], max(CADENCE_RANGE[0], rnd.gauss(p.cadence_weeks_mean, CADENCE_SD)))
        # A course of about course_sessions_mean sessions (geometric: many short courses, a few long ones).
        planned = 1 + int(math.log(1.0 - rnd.random()) / math.log1p(-1.0 / p.course_sessions_mean)) \
            if p.course_sessions_mean > 1.0 else 1
    i = C.add(
        need=need, in_scope=occasional or rnd.random() >= p.share_out_of_scope,
        prior_negative=prior_negative,
        trust_propensity=trust,
        alliance_capacity=S.alliance_capacity(rnd.gauss(0.0, 1.0), trust, prior_negative, p.alliance_trait_sd),
        planned_sessions=planned,
        talk_preference=min(1.0, max(0.0, rnd.gauss(p.talk_preference_mean, TALK_SD))),
        topics=topics,
        cadence_weeks=cadence,
        travel_tolerance_km=tolerance,
        responsiveness=rnd.lognormvariate(0.0, p.responsiveness_sd),
        distress=distress, distress_start=distress, distress_baseline=distress,
        distress_floor=min(distress, DISTRESS_FLOOR),
        pain=pain, pain_start=pain, pain_baseline=pain,
        home_x=hx, home_y=hy, updated_week=week,
    )
    u = rnd.random()
    c = Client(model, i, person, "she" if u < PRONOUN_SHE else "he" if u < PRONOUN_HE else "they", referrer)
    model.clients_all.append(c)
    model.person_client[person] = i
    model.new_clients += 1
    if referrer is not None:
        model.word_of_mouth_arrivals += 1
    r = model.start_relationship(i, t, week,
                                 first_session=week + 1 + (1 if rnd.random() < FIRST_SESSION_LATER else 0))
    r.referred_by = referrer
    model.events.add(week, K.ARRIVAL, c.label, r.therapist.label, referrer=referrer)
    c.plan_life(week)


def choose_therapist(model: AllianceModel, site_km, tolerance: float, rnd, prefer: int = -1, exclude: int = -1,
                     fit_for: int = -1) -> int:
    """Pick a therapist with room by travel distance: a logit over ``-distance / tolerance``.

    A therapist recommended by word of mouth (``prefer``) gets a bonus of
    :data:`RECOMMENDED_BONUS`; for a referral (``fit_for`` a client row), fit to
    the client's needs counts too.  Nobody farther than
    :data:`FARTHEST_TOLERANCES` tolerances is considered.  Returns a therapist
    row, or -1 if nobody has room.
    """
    options: list[int] = []
    utils: list[float] = []
    limit = FARTHEST_TOLERANCES * tolerance
    need = int(model.C.need[fit_for]) if fit_for >= 0 else -1
    T = model.T
    for t, site in model.open_diaries_list:
        km = site_km[site]
        if t == exclude or km > limit:
            continue
        u = -km / tolerance
        if t == prefer:
            u += RECOMMENDED_BONUS
        if need >= 0:
            u += REFERRAL_FIT_WEIGHT * S.need_fit(need, float(T.manual_skill[t]), float(T.warmth[t]),
                                                  float(T.fixing_stance[t]), True)
        options.append(t)
        utils.append(u)
    if not options:
        return -1
    return options[S.logit_choice(utils, rnd.random())]


def word_of_mouth(model: AllianceModel, week: int, r: Relationship) -> None:
    """A satisfied client tells a family member or friend who has not been a client."""
    ties = [x for x in model.people.ties_of(r.client.person) if x[0] not in model.person_client]
    if not ties:
        return
    rnd = model.streams.python("word_of_mouth")
    family = [x for x in ties if x[1] == "family"]
    person, tie = rnd.choice(family if family and rnd.random() < FAMILY_FIRST else ties)
    model.events.add(week, K.WORD_OF_MOUTH, r.client.label, r.therapist.label, tie=tie)
    model.pending.setdefault(week + rnd.randint(*WORD_OF_MOUTH_DELAY), []).append(
        (person, r.client.label, r.therapist.idx))
