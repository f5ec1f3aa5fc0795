"""The dynamics of one session, as small pure functions.

Everything here takes plain numbers and returns plain numbers, so each
mechanism can be unit-tested on its own and read next to its equation.  The
model (:mod:`alliancesim.model`) draws the random numbers and calls these in
the order of a session:

1. distress and pain drift since the last session
   (:func:`drift_between_sessions`);
2. how much talk fills the session and how well that fits the client
   (:func:`talk_share`, :func:`talk_fit`);
3. whether a topic the client brings touches the therapist's own history and is
   acted out (:func:`topic_raised_probability`,
   :func:`enactment_probability`);
4. session quality (:func:`session_quality`);
5. ruptures: misattunement, countertransference, boundary incidents
   (:func:`misattunement_probability`, :func:`boundary_incident_probability`),
   and their repair (:func:`notice_probability`,
   :func:`therapist_repair_probability`, :func:`client_repair_probability`,
   :func:`bond_after_rupture`, :func:`bond_after_repair`);
6. the relationship grows: trust (:func:`trust_rate`, :func:`grow_bond`), the
   four themes (:func:`update_themes`), the client file
   (:func:`grow_knowledge`), goal and task agreement
   (:func:`update_goal_task`);
7. outcomes (:func:`distress_after_session`, :func:`pain_after_session`);
8. what the client does next (:func:`dropout_probability`).

Scales: trust/bond, alliance parts, themes, knowledge, quality, traits are on
0-1 scales; distress is PHQ-9-like points (0-27); pain is a 0-10 numeric rating.

Every function takes and returns plain numbers.  This file is ordinary Python;
under the numba engine (:mod:`alliancesim.engine`) the functions marked
``@compiled`` are compiled from this very source, so the week's sessions
(:mod:`alliancesim.week`) run at machine speed; under the python engine they run
as written.  Either way they give the same numbers.
"""

from __future__ import annotations

import math

from .engine import compiled

# ---------------------------------------------------------------------------
# Fixed shape constants.  They set the *form* of each mechanism; the strengths
# a user may want to change live in the parameter registry (params.py).
# ---------------------------------------------------------------------------

#: Weights of the five parts of session quality (they sum to 1).
W_TOUCH, W_COMFORT, W_TALK, W_KNOWLEDGE, W_CONNECTION = 0.30, 0.20, 0.20, 0.15, 0.15
#: Share of touch quality lost when the whole session is talk (attention is split).
TALK_ATTENTION_COST = 0.4
#: Share of touch quality and warmth lost at full burnout.
BURNOUT_TOUCH_COST, BURNOUT_WARMTH_COST = 0.30, 0.40
#: Quality lost in a session where countertransference is acted out.
ENACTMENT_QUALITY_COST = 0.25
#: Quality lost while an earlier rupture is still unresolved.
OPEN_RUPTURE_QUALITY_COST = 0.10
#: How much more a therapist talking over a quiet client hurts than the reverse.
TALK_PRESSURE_WEIGHT, TALK_NEGLECT_WEIGHT = 1.0, 0.5
#: How far a secure client's wish for talk falls (comfortable silence grows).
SILENCE_COMFORT = 0.4
#: Chance a topic comes up in a silent session, and extra chance in a talk-filled one.
TOPIC_BASE, TOPIC_TALK = 0.3, 0.7
#: Bond that sessions of zero quality would settle at (see grow_bond).
BOND_BASE = 0.45
#: Chance that an enacted countertransference breaks the connection.
ENACTMENT_RUPTURE = 0.7
#: Chance that a boundary incident is felt as a rupture.
INCIDENT_RUPTURE = 0.6
#: Rates at which the four themes move towards their targets each session.
SEPARATENESS_RATE, PLEASURE_RATE, MERGING_RATE, INTERNALISATION_RATE = 0.35, 0.25, 0.15, 0.04
#: Goal agreement (as a share of need fit) and task agreement after the intake.
INTAKE_GOAL, INTAKE_TASK = 0.6, 0.5
#: Rate at which goal and task agreement move towards their targets.
GOAL_RATE, TASK_RATE = 0.25, 0.30
#: Rate at which the therapist's knowledge of the client (the file) fills.
KNOWLEDGE_RATE = 0.25
#: Alliance at which the dropout hazard equals its base value, and its slope.
DROPOUT_ALLIANCE_REF, DROPOUT_ALLIANCE_SLOPE = 0.55, 4.0
#: Extra dropout hazard after session n is EARLY_DROPOUT / n (first impressions).
EARLY_DROPOUT = 5.0
#: Dropout multipliers for an unresolved rupture and for a stalled course.
DROPOUT_OPEN_RUPTURE, DROPOUT_STALLED = 1.0, 1.0
#: Dropout multiplier per unit of lasting rupture cost (scar 1 multiplies the hazard by 1 + this).
DROPOUT_SCAR = 4.0
#: Trait-like alliance: weight of trust propensity, and cost per earlier poor experience.
CAPACITY_TRUST, CAPACITY_PRIOR = 0.3, 0.06
#: Remoralisation fades over about this many sessions (the phase model's first phase).
REMORALISATION_SESSIONS = 3.0
#: Alliance at which the alliance-carried part of relief is 1 (about the mean early alliance).
ALLIANCE_REF = 0.6
#: Session quality below which a session harms, and the weights of the other harms (in units of effect).
HARM_QUALITY, HARM_INCIDENT, HARM_ENACTMENT, HARM_FIXING = 0.5, 1.0, 1.0, 0.5


@compiled
def clip01(x: float) -> float:
    """Clamp ``x`` to the 0-1 scale."""
    return 0.0 if x < 0.0 else 1.0 if x > 1.0 else x


# --- talk -------------------------------------------------------------------

@compiled
def talk_share(talkativeness: float, talk_preference: float) -> float:
    """Share of the session filled with talk (0-1).

    The therapist sets the tone, the client pulls it their way:
    ``talk = 0.6 * talkativeness + 0.4 * talk_preference``.
    """
    return 0.6 * talkativeness + 0.4 * talk_preference


@compiled
def talk_fit(talkativeness: float, talk_preference: float, safety: float) -> float:
    """How well the therapist's talk suits the client this session (0-1).

    A secure client is comfortable with silence, so their wish for talk falls
    as safety (the *pleasure* theme) grows (Clark 2019, sessions 1 to 3)::

        wish     = talk_preference * (1 - SILENCE_COMFORT * safety)
        pressure = max(0, talkativeness - wish)   # "making me talk"
        neglect  = max(0, wish - talkativeness)
        fit      = 1 - (TALK_PRESSURE_WEIGHT * pressure + TALK_NEGLECT_WEIGHT * neglect)
    """
    wish = talk_preference * (1.0 - SILENCE_COMFORT * safety)
    gap = talkativeness - wish
    misfit = TALK_PRESSURE_WEIGHT * gap if gap > 0.0 else -TALK_NEGLECT_WEIGHT * gap
    return clip01(1.0 - misfit)


# --- countertransference ----------------------------------------------------

@compiled
def topic_raised_probability(share_of_talk: float) -> float:
    """Chance the client brings one of their topics into the session.

    ``p = TOPIC_BASE + TOPIC_TALK * talk``: a talk-filled session opens more of
    the client's life, and so more chances to touch the therapist's own.
    """
    return TOPIC_BASE + TOPIC_TALK * share_of_talk


@compiled
def enactment_probability(intensity: float, self_awareness: float, rate: float) -> float:
    """Chance that a topic touching a therapist trigger is acted out.

    ``p = rate * intensity * (1 - self_awareness)``: a self-aware therapist
    notices the pull of their own history and keeps it out of the room.
    """
    return rate * intensity * (1.0 - self_awareness)


# --- boundaries -------------------------------------------------------------

@compiled
def boundary_clarity(firmness: float) -> float:
    """How clear the frame is for the client (0-1): ``1 - (1 - firmness)^2``.

    Clear boundaries make it safe to let go; clarity saturates, so very firm
    boundaries add little safety over moderately firm ones.
    """
    loose = 1.0 - firmness
    return 1.0 - loose * loose


@compiled
def merging_openness(firmness: float, rigid_above: float) -> float:
    """Ceiling on contact and empathy set by boundary rigidity (0-1).

    Open up to ``rigid_above``; beyond it the therapist is fenced off and the
    ceiling falls linearly to 0.2 at firmness 1::

        openness = 1 - 0.8 * max(0, firmness - rigid_above) / (1 - rigid_above)
    """
    if firmness <= rigid_above:
        return 1.0
    return 1.0 - 0.8 * min((firmness - rigid_above) / (1.0 - rigid_above), 1.0)


@compiled
def boundary_incident_probability(firmness: float, loose_below: float, rate: float) -> float:
    """Chance of a boundary incident (dual relationship, over-disclosure) per session.

    ``p = rate * max(0, loose_below - firmness) / loose_below``.
    """
    if firmness >= loose_below:
        return 0.0
    return rate * (loose_below - firmness) / loose_below


# --- quality ----------------------------------------------------------------

@compiled
def session_quality(
    skill: float,
    warmth: float,
    burnout: float,
    share_of_talk: float,
    fit_of_talk: float,
    knowledge: float,
    pleasure: float,
    merging: float,
    enacted: bool,
    open_rupture: bool,
) -> float:
    """Quality of one session as the client experiences it (0-1).

    ::

        touch      = (0.5 + 0.5 * skill) * (1 - TALK_ATTENTION_COST * talk) * (1 - BURNOUT_TOUCH_COST * burnout)
        comfort    = 0.5 * warmth * (1 - BURNOUT_WARMTH_COST * burnout) + 0.5 * pleasure
        Q = W_TOUCH * touch + W_COMFORT * comfort + W_TALK * talk_fit
            + W_KNOWLEDGE * knowledge + W_CONNECTION * merging
            - ENACTMENT_QUALITY_COST * enacted - OPEN_RUPTURE_QUALITY_COST * open_rupture

    Even unskilled touch from a qualified therapist feels half good, hence
    ``0.5 + 0.5 * skill``.  Knowledge is what the therapist knows of this client
    (the file): "she already knew what areas I was gonna be sore in".
    """
    touch = (0.5 + 0.5 * skill) * (1.0 - TALK_ATTENTION_COST * share_of_talk) * (1.0 - BURNOUT_TOUCH_COST * burnout)
    comfort = 0.5 * warmth * (1.0 - BURNOUT_WARMTH_COST * burnout) + 0.5 * pleasure
    q = (
        W_TOUCH * touch
        + W_COMFORT * comfort
        + W_TALK * fit_of_talk
        + W_KNOWLEDGE * knowledge
        + W_CONNECTION * merging
    )
    if enacted:
        q -= ENACTMENT_QUALITY_COST
    if open_rupture:
        q -= OPEN_RUPTURE_QUALITY_COST
    return clip01(q)


# --- ruptures and repair ----------------------------------------------------

@compiled
def misattunement_probability(quality: float, rate: float) -> float:
    """Chance of an everyday rupture (pressure, pace, a missed cue): ``rate * (1 - Q)``."""
    return rate * (1.0 - quality)


@compiled
def notice_probability(self_awareness: float, confrontation: bool, share_of_talk: float) -> float:
    """Chance the therapist notices a rupture in the session.

    A confrontation is hard to miss; a withdrawal (a long silence, a guilty
    "yeah") is easy to miss while the hands and attention are busy::

        p = (0.2 + 0.7 * self_awareness) * (1 if confrontation else 0.6) * (1 - 0.3 * talk)
    """
    p = (0.2 + 0.7 * self_awareness) * (1.0 if confrontation else 0.6)
    return p * (1.0 - 0.3 * share_of_talk)


@compiled
def therapist_repair_probability(self_awareness: float, warmth: float) -> float:
    """Chance a therapist who noticed a rupture repairs it: ``0.2 + 0.5*sa + 0.3*warmth``."""
    return 0.2 + 0.5 * self_awareness + 0.3 * warmth


@compiled
def client_repair_probability(bond: float, rate: float) -> float:
    """Chance the client repairs a rupture the therapist did not: ``rate * bond``.

    In Clark (2019) it was the client who repaired the rupture, by adding some
    positives about her brother; that takes enough trust to speak up.
    """
    return rate * bond


@compiled
def repair_window(weeks_open: float, window: float) -> float:
    """How much of the chance to notice and repair a rupture is left after it stayed open ``weeks_open`` weeks.

    Repair needs the rupture to be brought into the room (Safran & Muran 2000);
    left unaddressed it sinks out of reach: ``exp(-weeks_open / window)``.
    """
    if window <= 0.0:
        return 0.0 if weeks_open > 0.0 else 1.0
    return math.exp(-weeks_open / window)


@compiled
def scar_after(scar: float, cost: float) -> float:
    """The lasting cost of unrepaired ruptures after one more of ``cost`` (0-1): ``1 - (1-scar)(1-cost)``."""
    return 1.0 - (1.0 - scar) * (1.0 - clip01(cost))


@compiled
def bond_after_rupture(bond: float, severity: float) -> float:
    """Bond after a rupture of ``severity`` (0-1): ``bond * (1 - severity)``."""
    return bond * (1.0 - severity)


@compiled
def bond_after_repair(bond_before: float, bond_now: float, completeness: float, gain: float) -> float:
    """Bond once a rupture is repaired.

    A repair gives back a share ``completeness`` of what the rupture took, and
    a full repair gives back more than it took (a share ``gain`` more), so a
    deep rupture well repaired strengthens the bond most::

        bond = bond_now + completeness * (1 + gain) * (bond_before - bond_now)
    """
    return clip01(bond_now + completeness * (1.0 + gain) * (bond_before - bond_now))


# --- growth of the relationship ----------------------------------------------

@compiled
def trust_rate(base: float, propensity: float, prior_negative: int, slowdown: float) -> float:
    """Per-session trust growth rate for a client.

    ``rate = base * (0.5 + propensity) / (1 + slowdown * prior_negative)``: a
    history of poor massage experiences makes trust take longer (Carey).
    """
    return base * (0.5 + propensity) / (1.0 + slowdown * prior_negative)


@compiled
def alliance_capacity(security: float, propensity: float, prior_negative: int, spread: float) -> float:
    """How readily a client forms working alliances at all: the trait-like alliance (0.05-1).

    Clients differ in this stably (attachment history, earlier poor experiences,
    trust propensity), and it shapes every relationship they form
    (Zilcha-Mano 2017, "Is the alliance really therapeutic?")::

        capacity = 0.5 + spread * security + CAPACITY_TRUST * (propensity - 0.5)
                   - CAPACITY_PRIOR * prior_negative          (clipped to 0.05-1)

    ``security`` is a standard-normal attachment security drawn at arrival.
    """
    c = 0.5 + spread * security + CAPACITY_TRUST * (propensity - 0.5) - CAPACITY_PRIOR * prior_negative
    return min(1.0, max(0.05, c))


@compiled
def starting_trust(propensity: float, prior_negative: int, capacity: float) -> float:
    """Trust a client brings to a first session, at least 0.05::

        0.1 + 0.3 * capacity + 0.3 * propensity - 0.06 * prior_negative
    """
    return max(0.05, 0.1 + 0.3 * capacity + 0.3 * propensity - 0.06 * prior_negative)


@compiled
def capacity_factor(capacity: float) -> float:
    """How far a client's alliances reach: ``0.5 + capacity`` (1 for a typical client, capacity 0.5)."""
    return 0.5 + capacity


@compiled
def grow_bond(bond: float, quality: float, rate: float, capacity: float, scar: float) -> float:
    """Bond after a session: it moves towards the trust this kind of session earns with this client.

    ::

        target = min(1, (0.5 + capacity) * (BOND_BASE + (1 - BOND_BASE) * Q)) * (1 - scar)
        bond  += min(rate, 1) * (target - bond)

    Good sessions build trust, mediocre ones hold it at a middling level, and a
    run of poor sessions wears it down; a client who forms alliances readily
    (``capacity``, the trait-like part) reaches further, and the lasting cost of
    ruptures left unrepaired (``scar``, 0-1) caps what trust can come back.
    """
    target = min(1.0, capacity_factor(capacity) * (BOND_BASE + (1.0 - BOND_BASE) * quality)) * (1.0 - scar)
    return bond + min(rate, 1.0) * (target - bond)  # at most all the way: never past the target


@compiled
def update_themes(
    separateness: float,
    pleasure: float,
    merging: float,
    internalisation: float,
    quality: float,
    clarity: float,
    openness: float,
    warmth: float,
    holding: float,
) -> tuple[float, float, float, float]:
    """Advance the four themes of Clark (2019) by one session.

    They build on one another, roughly in time order::

        separateness    += SEPARATENESS_RATE   * (clarity - separateness)
        pleasure        += PLEASURE_RATE       * (separateness * (0.3 + 0.7 Q) - pleasure)
        merging         += MERGING_RATE        * (pleasure * openness * (0.5 + 0.5 warmth) - merging)
        internalisation += INTERNALISATION_RATE * (0.5 + holding) * merging * (1 - internalisation)

    ``holding`` is ``1 - fixing_stance``: a therapist who holds space teaches
    self-care ("the reminders given about stretching ... and general self care").
    """
    sep = separateness + SEPARATENESS_RATE * (clarity - separateness)
    ple = pleasure + PLEASURE_RATE * (sep * (0.3 + 0.7 * quality) - pleasure)
    mer = merging + MERGING_RATE * (ple * openness * (0.5 + 0.5 * warmth) - merging)
    inte = internalisation + INTERNALISATION_RATE * (0.5 + holding) * mer * (1.0 - internalisation)
    return sep, ple, mer, inte


@compiled
def grow_knowledge(knowledge: float, bond: float, openness: float) -> float:
    """What the therapist knows of the client after a session (0-1).

    Clients tell more as they trust more, and less to a fenced-off therapist::

        knowledge += KNOWLEDGE_RATE * (0.4 + 0.6 * bond) * openness * (1 - knowledge)
    """
    return knowledge + KNOWLEDGE_RATE * (0.4 + 0.6 * bond) * openness * (1.0 - knowledge)


@compiled
def update_goal_task(goal: float, task: float, need_fit: float, knowledge: float, quality: float,
                     separateness: float, capacity: float) -> tuple[float, float]:
    """Goal and task agreement (Working Alliance Inventory parts) after a session.

    Goals are agreed as the therapist comes to know what the client needs;
    the way of working is agreed through good sessions within clear roles
    ("the performance of roles serves as a framework for safe treatment"); a
    client who forms alliances readily agrees more (``f = 0.5 + capacity``)::

        goal += GOAL_RATE * (min(1, f * need_fit * (0.4 + 0.6 * knowledge)) - goal)
        task += TASK_RATE * (min(1, f * Q * (0.5 + 0.5 * separateness)) - task)
    """
    f = capacity_factor(capacity)
    goal = goal + GOAL_RATE * (min(1.0, f * need_fit * (0.4 + 0.6 * knowledge)) - goal)
    task = task + TASK_RATE * (min(1.0, f * quality * (0.5 + 0.5 * separateness)) - task)
    return goal, task


#: Need profiles, in the order of their integer codes (Boorman).
NEEDS: tuple[str, ...] = ("physical", "physical_emotional", "overwhelmed", "occasional")
PHYSICAL, PHYSICAL_EMOTIONAL, OVERWHELMED, OCCASIONAL = 0, 1, 2, 3


@compiled
def need_fit(need: int, skill: float, warmth: float, fixing: float, in_scope: bool) -> float:
    """How well a therapist's strengths match what the client came for (0-1).

    ``need`` is a code (0 physical, 1 physical with an emotional part, 2 overwhelmed,
    3 an occasional visitor: relaxation, a one-off sore neck, a gift voucher):

    * physical: ``0.4 + 0.6 * skill``
    * physical with an emotional part, or an occasional visit: ``0.4 + 0.3 * skill + 0.3 * warmth``
    * overwhelmed: ``0.4 + 0.6 * warmth * (1 - 0.5 * fixing)`` (they need space held, not fixing)

    Halved when the needs lie outside massage's scope.
    """
    if need == PHYSICAL:
        fit = 0.4 + 0.6 * skill
    elif need == OVERWHELMED:
        fit = 0.4 + 0.6 * warmth * (1.0 - 0.5 * fixing)
    else:
        fit = 0.4 + 0.3 * skill + 0.3 * warmth
    return fit if in_scope else 0.5 * fit


# --- outcomes ---------------------------------------------------------------

@compiled
def relief_share(alliance: float, quality: float, session_no: int, effect: float, remoralisation: float,
                 alliance_weight: float, in_scope: bool) -> float:
    """Share of the distress above the floor that a session relieves (0-1).

    Change is carried by the alliance, but it does not wait for the alliance to
    be built: hope and a first good experience bring early relief
    (remoralisation; Howard, Lueger, Maling & Martinovich 1993), which fades as
    the course goes on, so change is negatively accelerated::

        k = effect * Q * (remoralisation * exp(-(n - 1) / REMORALISATION_SESSIONS)
                          + (alliance / ALLIANCE_REF) ** alliance_weight)

    halved out of scope.  ``alliance_weight`` sets how much a stronger alliance
    speeds change (Flückiger et al. 2018: r = .28 between early alliance and
    outcome).
    """
    early = remoralisation * math.exp(-(session_no - 1) / REMORALISATION_SESSIONS)
    carried = (alliance / ALLIANCE_REF) ** alliance_weight
    k = effect * quality * (early + carried)
    if not in_scope:
        k *= 0.5
    return clip01(k)


@compiled
def session_harm(quality: float, incident: bool, enacted_intensity: float, fixing_mismatch: float,
                 effect: float) -> float:
    """Distress (PHQ-9 points) a session adds: care can harm (Lambert 2013; 5-10 % deteriorate).

    A misattuned session (quality below HARM_QUALITY), a boundary incident, an
    acted-out countertransference and a fixing stance with a client who needs
    space held each add to distress::

        harm = effect * (max(0, HARM_QUALITY - Q) / HARM_QUALITY + HARM_INCIDENT * incident
                         + HARM_ENACTMENT * intensity + HARM_FIXING * fixing_mismatch)
    """
    h = max(0.0, HARM_QUALITY - quality) / HARM_QUALITY
    if incident:
        h += HARM_INCIDENT
    h += HARM_ENACTMENT * enacted_intensity + HARM_FIXING * fixing_mismatch
    return effect * h


@compiled
def fixing_mismatch(need: int, fixing: float) -> float:
    """How far a fixing stance misses a client who came overwhelmed and needs space held (0-1).

    ``2 * max(0, fixing - 0.5)`` for an overwhelmed client, else 0 (Lowery: "it is
    your job to hold space for the miracles to happen").
    """
    if need != OVERWHELMED:
        return 0.0
    return 2.0 * max(0.0, fixing - 0.5)


@compiled
def distress_after_session(distress: float, floor: float, relief: float, harm: float) -> float:
    """Distress (0-27) after a session: ``D - relief * max(0, D - floor) + harm``, kept within 0-27."""
    d = distress - relief * max(distress - floor, 0.0) + harm
    return min(27.0, max(0.0, d))


@compiled
def pain_after_session(pain: float, skill: float, quality: float, effect: float, fixing: float, enacted: bool, in_scope: bool) -> float:
    """Pain (0-10) after a session: the hands carry the change.

    ``P -= effect * skill * (0.5 + 0.5 Q) * (1 + 0.2 fixing) * P``; halved when
    countertransference makes the touch heavier, and halved out of scope (the
    share relieved is at most all of it).
    """
    k = effect * skill * (0.5 + 0.5 * quality) * (1.0 + 0.2 * fixing)
    if enacted:
        k *= 0.5
    if not in_scope:
        k *= 0.5
    return pain - clip01(k) * pain


@compiled
def drift_between_sessions(
    value: float, baseline: float, floor: float, self_care: float, weeks: int,
    self_care_rate: float, relapse_rate: float,
) -> float:
    """Distress (or pain) after ``weeks`` weeks without a session.

    Each week internalised self-care pulls the value towards ``floor`` and
    life pulls it back towards the client's ``baseline``::

        V[t+1] = V[t] - s * (V[t] - floor) + r * (baseline - V[t])
        s = self_care_rate * self_care,   r = relapse_rate

    solved in closed form: ``V* + (V - V*) * (1 - s - r)^weeks`` with
    ``V* = (s * floor + r * baseline) / (s + r)``.
    """
    s = self_care_rate * self_care
    k = s + relapse_rate  # at most 1: both rates are at most 0.5 (see the registry)
    if weeks <= 0 or k <= 0.0:
        return value
    target = (s * floor + relapse_rate * baseline) / k
    return target + (value - target) * (1.0 - k) ** float(weeks)


@compiled
def dropout_probability(
    base: float, alliance: float, session_no: int, open_rupture: bool, stalled: bool, travel_ratio: float,
    scar: float,
) -> float:
    """Chance the client does not come back after this session.

    ::

        h = base * exp(DROPOUT_ALLIANCE_SLOPE * (DROPOUT_ALLIANCE_REF - alliance))
                 * (1 + EARLY_DROPOUT / session_no)
                 * (1 + DROPOUT_OPEN_RUPTURE * open_rupture)
                 * (1 + DROPOUT_STALLED * stalled)
                 * max(1, travel_ratio)
                 * (1 + DROPOUT_SCAR * scar)

    ``travel_ratio`` is distance over the client's travel tolerance; ``scar``
    the lasting cost of ruptures left unrepaired, which takes away the wish to
    come back.  Weak early alliances make dropout front-loaded.
    """
    h = base * math.exp(DROPOUT_ALLIANCE_SLOPE * (DROPOUT_ALLIANCE_REF - alliance))
    h *= 1.0 + EARLY_DROPOUT / session_no
    if open_rupture:
        h *= 1.0 + DROPOUT_OPEN_RUPTURE
    if stalled:
        h *= 1.0 + DROPOUT_STALLED
    h *= 1.0 + DROPOUT_SCAR * scar
    return clip01(h * max(travel_ratio, 1.0))


@compiled
def burnout_step(burnout: float, load: float, fixing: float, stalled_share: float, rate: float, recovery: float) -> float:
    """Therapist burnout (0-1) after one week.

    Strain comes from a full book, and for a therapist who feels they must fix
    everyone, from clients who do not improve (Lowery: "not your job to be a
    miracle worker")::

        strain   = load * (0.2 + fixing * (0.3 + 1.5 * stalled_share))
        burnout += rate * strain - recovery * (1 - 0.5 * load) * burnout

    ``load`` is the week's sessions over capacity (0-1).
    """
    strain = load * (0.2 + fixing * (0.3 + 1.5 * stalled_share))
    return clip01(burnout + rate * strain - recovery * (1.0 - 0.5 * min(load, 1.0)) * burnout)


def logit_choice(utilities: list[float], u: float, temperature: float = 0.5) -> int:
    """Index chosen by a multinomial logit over ``utilities`` with uniform draw ``u``."""
    top = max(utilities)
    weights = [math.exp((x - top) / temperature) for x in utilities]
    total = sum(weights)
    acc = 0.0
    for i, w in enumerate(weights):
        acc += w / total
        if u < acc:
            return i
    return len(utilities) - 1
