"""Unit tests of each session function: direction, bounds and the stated equations."""

from __future__ import annotations

import math

import pytest

from alliancesim import session as S


def test_talk_fit_penalises_pressure_more_than_neglect():
    # Same gap of 0.3 either way: talking over a quiet client hurts more.
    pressed = S.talk_fit(0.7, 0.4, 0.0)
    neglected = S.talk_fit(0.1, 0.4, 0.0)
    assert pressed == pytest.approx(1.0 - S.TALK_PRESSURE_WEIGHT * 0.3)
    assert neglected == pytest.approx(1.0 - S.TALK_NEGLECT_WEIGHT * 0.3)
    assert pressed < neglected
    assert S.talk_fit(0.4, 0.4, 0.0) == 1.0


def test_comfortable_silence_grows_with_safety():
    # A secure client wants less talk, so the same talkative therapist fits worse.
    assert S.talk_fit(0.6, 0.6, 1.0) < S.talk_fit(0.6, 0.6, 0.0)


def test_topics_come_up_more_in_talk_filled_sessions():
    assert S.topic_raised_probability(0.0) == pytest.approx(S.TOPIC_BASE)
    assert S.topic_raised_probability(1.0) > S.topic_raised_probability(0.2)


def test_self_awareness_keeps_countertransference_out_of_the_room():
    assert S.enactment_probability(0.8, 0.9, 0.7) < S.enactment_probability(0.8, 0.1, 0.7)
    assert S.enactment_probability(0.8, 1.0, 0.7) == 0.0


@pytest.mark.parametrize("lo,hi", [(0.1, 0.5), (0.5, 0.9)])
def test_boundary_clarity_rises_with_firmness(lo, hi):
    assert S.boundary_clarity(lo) < S.boundary_clarity(hi) <= 1.0


def test_rigid_boundaries_cap_merging_and_loose_ones_risk_incidents():
    assert S.merging_openness(0.5, 0.7) == 1.0
    assert S.merging_openness(0.9, 0.7) < S.merging_openness(0.8, 0.7) < 1.0
    assert S.merging_openness(1.0, 0.7) == pytest.approx(0.2)
    assert S.boundary_incident_probability(0.5, 0.35, 0.1) == 0.0
    assert S.boundary_incident_probability(0.0, 0.35, 0.1) == pytest.approx(0.1)
    assert 0.0 < S.boundary_incident_probability(0.2, 0.35, 0.1) < 0.1


def _quality(**kw):
    args = dict(skill=0.6, warmth=0.6, burnout=0.0, share_of_talk=0.4, fit_of_talk=0.9, knowledge=0.5,
                pleasure=0.5, merging=0.4, enacted=False, open_rupture=False)
    args.update(kw)
    return S.session_quality(*args.values())


def test_session_quality_responds_to_each_part():
    base = _quality()
    assert _quality(skill=0.9) > base
    assert _quality(fit_of_talk=0.4) < base
    assert _quality(knowledge=0.9) > base
    assert _quality(burnout=0.8) < base
    assert _quality(enacted=True) == pytest.approx(base - S.ENACTMENT_QUALITY_COST)
    assert _quality(open_rupture=True) == pytest.approx(base - S.OPEN_RUPTURE_QUALITY_COST)
    assert _quality(share_of_talk=0.9) < base  # attention split between talk and hands
    assert 0.0 <= _quality(skill=0.0, warmth=0.0, fit_of_talk=0.0, enacted=True, open_rupture=True) <= 1.0


def test_ruptures_are_noticed_and_repaired_more_by_self_aware_therapists():
    assert S.misattunement_probability(0.9, 0.5) < S.misattunement_probability(0.3, 0.5)
    assert S.notice_probability(0.9, False, 0.3) > S.notice_probability(0.1, False, 0.3)
    assert S.notice_probability(0.5, True, 0.3) > S.notice_probability(0.5, False, 0.3)  # confrontation shows
    assert S.notice_probability(0.5, False, 0.9) < S.notice_probability(0.5, False, 0.1)  # busy with talk
    assert S.therapist_repair_probability(0.9, 0.5) > S.therapist_repair_probability(0.1, 0.5)
    assert S.client_repair_probability(0.9, 0.4) > S.client_repair_probability(0.2, 0.4)


def test_bond_after_rupture_and_repair():
    hurt = S.bond_after_rupture(0.6, 0.2)
    assert hurt == pytest.approx(0.48)
    # A complete repair leaves the bond stronger than before; a half repair in between.
    full = S.bond_after_repair(0.6, hurt, 1.0, 0.5)
    half = S.bond_after_repair(0.6, hurt, 0.5, 0.5)
    assert full == pytest.approx(0.6 + 0.5 * 0.12)
    assert hurt < half < full
    # A deep rupture well repaired strengthens the bond more than a small one.
    deep = S.bond_after_repair(0.6, S.bond_after_rupture(0.6, 0.4), 1.0, 0.5) - 0.6
    small = S.bond_after_repair(0.6, S.bond_after_rupture(0.6, 0.05), 1.0, 0.5) - 0.6
    assert deep > small > 0


def test_prior_negative_experiences_slow_and_lower_trust():
    assert S.trust_rate(0.2, 0.5, 2, 0.5) == pytest.approx(0.2 * 1.0 / 2.0)
    assert S.trust_rate(0.2, 0.5, 2, 0.5) < S.trust_rate(0.2, 0.5, 0, 0.5)
    assert S.starting_trust(0.5, 3, 0.5) < S.starting_trust(0.5, 0, 0.5)
    assert S.starting_trust(0.0, 20, 0.5) == pytest.approx(0.05)
    # Earlier poor experiences also lower the trait-like alliance.
    assert S.alliance_capacity(0.0, 0.5, 3, 0.2) < S.alliance_capacity(0.0, 0.5, 0, 0.2)


def test_trait_like_alliance_differs_between_clients_and_shapes_every_relationship():
    secure, anxious = S.alliance_capacity(1.5, 0.5, 0, 0.2), S.alliance_capacity(-1.5, 0.5, 0, 0.2)
    assert 0.05 <= anxious < 0.5 < secure <= 1.0
    assert S.alliance_capacity(-10.0, 0.0, 9, 0.2) == 0.05 and S.alliance_capacity(10.0, 1.0, 0, 0.2) == 1.0
    assert S.starting_trust(0.5, 0, secure) > S.starting_trust(0.5, 0, anxious)
    b_secure = b_anxious = 0.3
    for _ in range(30):
        b_secure = S.grow_bond(b_secure, 0.8, 0.2, secure, 0.0)
        b_anxious = S.grow_bond(b_anxious, 0.8, 0.2, anxious, 0.0)
    assert b_secure > b_anxious + 0.1  # the same good sessions reach further with a secure client
    g1, t1 = S.update_goal_task(0.3, 0.3, 0.8, 0.8, 0.8, 0.8, secure)
    g2, t2 = S.update_goal_task(0.3, 0.3, 0.8, 0.8, 0.8, 0.8, anxious)
    assert g1 > g2 and t1 > t2


def test_bond_settles_at_the_trust_the_sessions_earn():
    good = poor = 0.3
    for _ in range(60):
        nb = S.grow_bond(good, 0.9, 0.2, 0.5, 0.0)
        assert good < nb < 1.0
        good = nb
        poor = S.grow_bond(poor, 0.3, 0.2, 0.5, 0.0)
    assert good == pytest.approx(S.BOND_BASE + (1 - S.BOND_BASE) * 0.9, abs=1e-3)
    assert poor < good
    # A run of poor sessions wears a strong bond down.
    assert S.grow_bond(0.9, 0.2, 0.2, 0.5, 0.0) < 0.9
    # The lasting cost of unrepaired ruptures caps the trust that can come back.
    scarred = 0.3
    for _ in range(60):
        scarred = S.grow_bond(scarred, 0.9, 0.2, 0.5, 0.3)
    assert scarred == pytest.approx(0.7 * good, abs=1e-3)


def test_themes_build_on_each_other():
    # With no separateness yet, pleasure cannot grow beyond its rate-limited step; with clear boundaries it can.
    sep, ple, mer, inte = S.update_themes(0.0, 0.0, 0.0, 0.0, 0.8, 1.0, 1.0, 0.7, 0.5)
    assert sep > 0 and ple > 0 and mer > 0 and inte >= 0
    state = (0.0, 0.0, 0.0, 0.0)
    for _ in range(40):
        state = S.update_themes(*state, 0.8, 0.9, 1.0, 0.7, 0.5)
    sep, ple, mer, inte = state
    assert sep > ple > mer  # roughly in time order, each bounded by the one before
    assert 0.0 < inte < 1.0
    fenced = (0.0, 0.0, 0.0, 0.0)
    for _ in range(40):
        fenced = S.update_themes(*fenced, 0.8, 0.99, S.merging_openness(0.95, 0.7), 0.7, 0.5)
    assert fenced[2] < mer  # rigid boundaries block merging


def test_holding_space_teaches_more_self_care():
    held = S.update_themes(0.8, 0.7, 0.6, 0.1, 0.8, 0.9, 1.0, 0.7, 1.0)[3]
    fixed = S.update_themes(0.8, 0.7, 0.6, 0.1, 0.8, 0.9, 1.0, 0.7, 0.0)[3]
    assert held > fixed


def test_knowledge_goal_and_task():
    assert S.grow_knowledge(0.2, 0.9, 1.0) > S.grow_knowledge(0.2, 0.1, 1.0)
    assert S.grow_knowledge(0.2, 0.9, 0.3) < S.grow_knowledge(0.2, 0.9, 1.0)
    goal, task = S.update_goal_task(0.3, 0.4, 0.8, 0.9, 0.9, 0.9, 0.5)
    assert goal > 0.3 and task > 0.4
    # Unclear roles hold task agreement back.
    assert S.update_goal_task(0.3, 0.4, 0.8, 0.9, 0.9, 0.1, 0.5)[1] < task
    assert S.need_fit(S.PHYSICAL, 0.9, 0.1, 0.5, True) > S.need_fit(S.PHYSICAL, 0.2, 0.9, 0.5, True)
    assert S.need_fit(S.OVERWHELMED, 0.5, 0.9, 0.0, True) > S.need_fit(S.OVERWHELMED, 0.5, 0.9, 1.0, True)
    assert S.need_fit(S.PHYSICAL_EMOTIONAL, 0.5, 0.5, 0.5, False) == pytest.approx(
        0.5 * S.need_fit(S.PHYSICAL_EMOTIONAL, 0.5, 0.5, 0.5, True))


def test_distress_and_pain_fall_after_a_session():
    k = S.relief_share(0.6, 0.8, 20, 0.2, 0.0, 1.0, True)
    assert k == pytest.approx(0.2 * 0.8 * 1.0)
    d = S.distress_after_session(15.0, 3.0, k, 0.0)
    assert d == pytest.approx(15.0 - k * 12.0)
    assert S.relief_share(0.6, 0.8, 20, 0.2, 0.0, 1.0, False) == pytest.approx(k / 2)  # out of scope: half
    assert S.distress_after_session(2.0, 3.0, k, 0.0) == 2.0  # never below the floor by relief
    assert S.distress_after_session(10.0, 3.0, 0.0, 2.0) == 12.0  # harm adds
    assert S.distress_after_session(26.0, 3.0, 0.0, 5.0) == 27.0
    p = S.pain_after_session(6.0, 0.7, 0.8, 0.15, 0.5, False, True)
    assert 0.0 < p < 6.0
    assert S.pain_after_session(6.0, 0.7, 0.8, 0.15, 0.5, True, True) > p  # heavier touch, less relief


def test_drift_between_sessions_matches_weekly_steps():
    value, base, floor, care, s_rate, r_rate = 12.0, 16.0, 3.0, 0.6, 0.05, 0.02
    v = value
    for _ in range(7):
        v = v - s_rate * care * (v - floor) + r_rate * (base - v)
    assert S.drift_between_sessions(value, base, floor, care, 7, s_rate, r_rate) == pytest.approx(v)
    # Internalised self-care keeps distress falling between sessions; without it, it drifts back up.
    assert S.drift_between_sessions(12.0, 12.0, 3.0, 0.8, 4, 0.05, 0.02) < 12.0
    assert S.drift_between_sessions(8.0, 12.0, 3.0, 0.0, 4, 0.05, 0.02) > 8.0
    assert S.drift_between_sessions(8.0, 12.0, 3.0, 0.0, 0, 0.05, 0.02) == 8.0
    assert S.drift_between_sessions(8.0, 12.0, 3.0, 0.0, 5, 0.05, 0.0) == 8.0


def test_relief_comes_early_and_then_with_the_alliance():
    early = [S.relief_share(0.4, 0.8, n, 0.2, 1.5, 2.0, True) for n in range(1, 11)]
    assert all(a > b for a, b in zip(early, early[1:]))  # remoralisation fades: negatively accelerated
    assert early[0] > 2 * S.relief_share(0.4, 0.8, 1, 0.2, 0.0, 2.0, True)  # before the alliance is built
    strong, weak = S.relief_share(0.75, 0.8, 10, 0.2, 1.5, 3.0, True), S.relief_share(0.45, 0.8, 10, 0.2, 1.5, 3.0, True)
    assert strong > 1.5 * weak
    assert S.relief_share(0.75, 0.8, 10, 0.2, 1.5, 0.0, True) == S.relief_share(0.45, 0.8, 10, 0.2, 1.5, 0.0, True)


def test_care_can_harm():
    assert S.session_harm(0.8, False, 0.0, 0.0, 2.0) == 0.0  # a good session does no harm
    assert S.session_harm(0.25, False, 0.0, 0.0, 2.0) == pytest.approx(1.0)  # a misattuned one does
    assert S.session_harm(0.8, True, 0.0, 0.0, 2.0) > 0.0
    assert S.session_harm(0.8, False, 0.8, 0.0, 2.0) > S.session_harm(0.8, False, 0.2, 0.0, 2.0)
    assert S.fixing_mismatch(S.OVERWHELMED, 0.9) > 0.0 == S.fixing_mismatch(S.OVERWHELMED, 0.4)
    assert S.fixing_mismatch(S.PHYSICAL, 0.9) == 0.0
    assert S.session_harm(0.8, False, 0.0, S.fixing_mismatch(S.OVERWHELMED, 1.0), 2.0) > 0.0


def test_an_unaddressed_rupture_sinks_out_of_reach_and_leaves_a_lasting_cost():
    assert S.repair_window(0.0, 8.0) == 1.0
    assert S.repair_window(16.0, 8.0) < S.repair_window(4.0, 8.0) < 1.0
    assert S.repair_window(3.0, 0.0) == 0.0
    assert S.scar_after(0.0, 0.1) == pytest.approx(0.1)
    assert S.scar_after(0.5, 0.1) == pytest.approx(0.55)
    assert S.scar_after(0.99, 1.0) == 1.0


def test_dropout_hazard():
    base = S.dropout_probability(0.01, 0.55, 10, False, False, 0.5, 0.0)
    assert base == pytest.approx(0.01 * (1 + S.EARLY_DROPOUT / 10))
    assert S.dropout_probability(0.01, 0.3, 10, False, False, 0.5, 0.0) > base  # weak alliance
    assert S.dropout_probability(0.01, 0.55, 1, False, False, 0.5, 0.0) > base  # front-loaded
    assert S.dropout_probability(0.01, 0.55, 10, True, False, 0.5, 0.0) == pytest.approx(
        base * (1 + S.DROPOUT_OPEN_RUPTURE))
    assert S.dropout_probability(0.01, 0.55, 10, False, True, 0.5, 0.0) > base
    assert S.dropout_probability(0.01, 0.55, 10, False, False, 2.0, 0.0) == pytest.approx(2 * base)
    assert S.dropout_probability(0.01, 0.55, 10, False, False, 0.5, 0.5) > base  # the wish to come back fades
    assert S.dropout_probability(0.9, 0.0, 1, True, True, 5.0, 1.0) == 1.0


def test_burnout_builds_faster_when_fixing():
    fixing = holding = 0.0
    for _ in range(100):
        fixing = S.burnout_step(fixing, 0.8, 0.9, 0.4, 0.03, 0.04)
        holding = S.burnout_step(holding, 0.8, 0.1, 0.4, 0.03, 0.04)
    assert fixing > holding
    assert S.burnout_step(0.5, 0.0, 0.9, 0.0, 0.03, 0.04) < 0.5  # an empty week is rest


def test_logit_choice():
    assert S.logit_choice([0.0, 10.0], 0.5) == 1
    assert S.logit_choice([0.0, 0.0], 0.25) == 0
    assert S.logit_choice([0.0, 0.0], 0.75) == 1


def test_compiled_functions_compute_exactly_what_the_python_source_says():
    """Under the numba engine each session function is compiled from its source; both give the same bits."""
    import inspect
    import random

    from alliancesim.engine import ENGINE

    if ENGINE != "numba":
        pytest.skip("the python engine runs the source itself")
    rnd = random.Random(1)
    checked = 0
    for name, f in inspect.getmembers(S):
        plain = getattr(f, "py_func", None)
        if plain is None:
            continue
        params = inspect.signature(plain).parameters
        for _ in range(50):
            args = []
            for p in params.values():
                kind = p.annotation
                if kind in ("bool", bool):
                    args.append(rnd.random() < 0.5)
                elif kind in ("int", int):
                    args.append(rnd.randint(0, 30))
                else:
                    args.append(rnd.uniform(0.0, 1.0))
            if name in ("dropout_probability", "relief_share"):
                args[2] = max(1, args[2])
            compiled, source = f(*args), plain(*args)
            assert compiled == source, (name, args)
        checked += 1
    assert checked >= 25
