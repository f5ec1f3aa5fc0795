"""Property tests: for any valid parameters, state stays on its scale."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alliancesim import session as S
from alliancesim.model import AllianceModel
from alliancesim.params import REGISTRY, ParameterError, validate
from alliancesim.tables import all_tables

unit = st.floats(0.0, 1.0)
rate = st.floats(0.0, 0.5)


@given(unit, unit, unit, unit, unit, unit, unit, unit, st.booleans(), st.booleans())
def test_quality_is_on_the_0_1_scale(skill, warmth, burnout, talk, fit, knowledge, pleasure, merging, enacted, open_):
    q = S.session_quality(skill, warmth, burnout, talk, fit, knowledge, pleasure, merging, enacted, open_)
    assert 0.0 <= q <= 1.0


@given(unit, unit, unit, unit, unit, unit, unit, unit, unit)
def test_themes_stay_on_the_0_1_scale(sep, ple, mer, inte, q, clarity, openness, warmth, holding):
    for x in S.update_themes(sep, ple, mer, inte, q, clarity, openness, warmth, holding):
        assert 0.0 <= x <= 1.0


@given(unit, unit, unit, st.floats(0, 1), unit)
def test_bond_stays_on_the_0_1_scale(bond, quality, severity, completeness, gain):
    assert 0.0 <= S.grow_bond(bond, quality, min(1.0, gain), completeness, severity) <= 1.0
    hurt = S.bond_after_rupture(bond, severity)
    assert 0.0 <= hurt <= bond
    assert hurt <= S.bond_after_repair(bond, hurt, completeness, 2 * gain) <= 1.0


@given(st.floats(0, 27), st.floats(0, 27), st.floats(0, 3), unit, st.integers(0, 400), rate, rate)
def test_drift_stays_between_floor_and_the_higher_of_value_and_baseline(value, baseline, floor, care, weeks, s, r):
    v = S.drift_between_sessions(value, baseline, floor, care, weeks, s, r)
    lo, hi = min(value, baseline, floor), max(value, baseline, floor)
    assert lo - 1e-9 <= v <= hi + 1e-9


@given(st.floats(0, 27), st.floats(0, 3), unit, unit, st.floats(0, 20), st.booleans(), st.integers(1, 200),
       st.floats(0, 5), st.floats(0, 6))
def test_relief_never_takes_distress_below_its_floor(d, floor, alliance, q, effect, in_scope, n, early, weight):
    k = S.relief_share(alliance, q, n, effect, early, weight, in_scope)
    assert 0.0 <= k <= 1.0
    after = S.distress_after_session(d, floor, k, 0.0)
    assert min(d, floor) - 1e-9 <= after <= d


@given(st.floats(0, 27), st.floats(0, 3), unit, unit, st.booleans(), unit, unit, st.floats(0, 5))
def test_harm_keeps_distress_on_its_scale(d, floor, k, q, incident, intensity, mismatch, effect):
    after = S.distress_after_session(d, floor, k, S.session_harm(q, incident, intensity, mismatch, effect))
    assert 0.0 <= after <= 27.0


@given(st.floats(0, 10), unit, unit, st.floats(0, 20), unit, st.booleans(), st.booleans())
def test_pain_stays_between_zero_and_where_it_was(pain, skill, q, effect, fixing, enacted, in_scope):
    assert 0.0 <= S.pain_after_session(pain, skill, q, effect, fixing, enacted, in_scope) <= pain


@given(st.floats(0, 1), unit, st.integers(1, 500), st.booleans(), st.booleans(), st.floats(0, 20), unit)
def test_dropout_is_a_probability(base, alliance, n, open_, stalled, travel, scar):
    assert 0.0 <= S.dropout_probability(base, alliance, n, open_, stalled, travel, scar) <= 1.0


def _param_strategy():
    """Any valid combination of a few influential parameters, on a small clinic."""
    numeric = [p for p in REGISTRY.values() if p.type is float and p.group in ("therapists", "clients", "sessions")]
    picks = {p.name: st.floats(p.low, p.high, allow_nan=False) for p in numeric}
    return st.fixed_dictionaries({}, optional=picks)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_param_strategy(), st.integers(0, 2**31 - 1),
       st.sampled_from(["none", "file", "file_and_introduction"]))
def test_any_valid_parameters_keep_state_in_range(values, seed, policy):
    values = {**values, "handover_policy": policy}
    try:
        params = validate({**values, "years": 1.5, "n_therapists": 4, "population": 600, "initial_clients": 40,
                           "scheduled_retirement_week": 40})
    except ParameterError:
        return  # an invalid combination (checked by the validation tests)
    model = AllianceModel(params, rng=seed).run()
    t = all_tables(model)
    s = t["sessions"]
    if len(s):
        for col in ("quality", "bond", "goal", "task", "alliance", "separateness", "pleasure", "merging",
                    "internalisation", "knowledge"):
            assert s[col].between(0, 1).all(), col
        assert s["distress_after"].between(0, 27).all() and s["pain_after"].between(0, 10).all()
    assert t["therapists"]["burnout"].between(0, 1).all()
    R = model.R
    assert np.isfinite(R.used("bond")).all()
    assert all(math.isfinite(v) or math.isnan(v) for v in t["weekly"]["mean_alliance"])
