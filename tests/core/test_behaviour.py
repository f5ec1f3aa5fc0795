"""The behaviours the sources describe, shown across replicate runs.

Each test pools several seeds and compares groups with a margin; no number
here was copied from a run.  The margins are chosen so that the effect has to
be clearly there, not merely present in sign.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .conftest import SMALL

SEEDS = (1, 2, 3, 4)


def _pooled(run, name, table, seeds=SEEDS, years=4.0, **overrides):
    frames = []
    for s in seeds:
        _, tables = run(name, seed=s, years=years, **{**SMALL, **overrides})
        frames.append(tables[table].assign(seed=s))
    return pd.concat(frames, ignore_index=True)


def test_prior_negative_experiences_mean_more_sessions_to_trust(run):
    rel = _pooled(run, "default", "relationships")
    # First relationships long enough for trust to have had its chance (courses end by plan, too).
    first = rel[rel["predecessor_id"].isna() & (rel["sessions"] >= 6)]

    def sessions_to_trust(group):
        # Those who never reached trust count as needing more sessions than they had.
        s = group["sessions_to_trust"].astype("Float64").fillna(group["sessions"] + 1)
        return float(s.mean()), float(group["sessions_to_trust"].notna().mean())

    none, none_reached = sessions_to_trust(first[first["client_prior_negative"] == 0])
    many, many_reached = sessions_to_trust(first[first["client_prior_negative"] >= 2])
    assert many >= 1.3 * none and many >= none + 1.0, (none, many)
    assert many_reached < none_reached


def test_self_aware_therapists_rupture_less_and_repair_more(run):
    low = _pooled(run, "countertransference", "ruptures")
    high = _pooled(run, "self_aware", "ruptures")
    s_low = _pooled(run, "countertransference", "weekly")["sessions"].sum()
    s_high = _pooled(run, "self_aware", "weekly")["sessions"].sum()
    ct_low = (low["cause"] == "countertransference").sum() / s_low
    ct_high = (high["cause"] == "countertransference").sum() / s_high
    assert ct_high < 0.5 * ct_low, (ct_low, ct_high)
    assert high["resolved"].mean() > low["resolved"].mean() + 0.03
    assert (high["repaired_by"] == "therapist").mean() > (low["repaired_by"] == "therapist").mean() + 0.15


def test_unrepaired_ruptures_raise_dropout(run):
    rel = _pooled(run, "default", "relationships")
    ended = rel[rel["end_reason"] != "ongoing"]
    with_open = ended[ended["unresolved_rupture"]]
    without = ended[~ended["unresolved_rupture"]]
    assert len(with_open) > 30
    assert (with_open["end_reason"] == "dropout").mean() > 1.5 * (without["end_reason"] == "dropout").mean()


def test_repaired_ruptures_leave_the_bond_no_weaker(run):
    rup = _pooled(run, "default", "ruptures")
    repaired = rup[rup["resolved"]]
    change = repaired["bond_after"] - repaired["bond_before"]
    se = change.std(ddof=1) / np.sqrt(len(change))
    assert len(change) > 200
    assert change.mean() - 2 * se >= 0.0, (change.mean(), se)
    # ... while an unrepaired one leaves it weaker.
    open_ = rup[~rup["resolved"]]
    assert (open_["bond_at_rupture"] < open_["bond_before"]).all()


def test_file_and_introduction_keeps_more_clients_with_the_successor(run):
    def stayed(policy):
        # Ten seeds (about 160 handed-over clients a policy): the effect is about 0.2, and with
        # five seeds the standard error of the difference is near 0.08.
        rel = _pooled(run, f"retiring_{policy}", "relationships", seeds=tuple(range(1, 11)), years=3.5)
        handed = rel[(rel["therapist"] == "T1") & rel["handover_outcome"].notna()]
        return (handed["handover_outcome"] == "stayed_with_successor").mean(), len(handed)

    none, n_none = stayed("none")
    intro, n_intro = stayed("file_and_introduction")
    assert min(n_none, n_intro) >= 120
    assert intro > none + 0.1, (none, intro)


def test_talk_mismatch_lowers_quality_and_quiet_clients_do_better_with_quiet_therapists(run):
    ses = _pooled(run, "default", "sessions", seeds=(1, 2), years=3)
    # Mismatch: the same clinic's sessions, matched for the rest of the relationship state.
    bins = pd.cut(ses["knowledge"], [0, 0.5, 0.8, 1.0])
    good = ses[ses["talk_fit"] > 0.9].groupby(bins, observed=True)["quality"].mean()
    poor = ses[ses["talk_fit"] < 0.6].groupby(bins, observed=True)["quality"].mean()
    assert (good - poor).dropna().min() > 0.05

    def fall(preset):
        # Quiet clients who come with real distress (10 or more), as in Moyer's comparison.
        s = _pooled(run, preset, "sessions", years=3, talk_preference_mean=0.15)
        first = s[s["session"] == 1].set_index(["seed", "relationship_id"])["distress_before"]
        first = first[first >= 10]
        sixth = s[s["session"] == 6].set_index(["seed", "relationship_id"])["distress_after"]
        both = pd.concat([first, sixth], axis=1, join="inner")
        return (both.iloc[:, 0] - both.iloc[:, 1]).mean(), both.iloc[:, 0].std()

    quiet, sd = fall("talk_restricted")
    laden, _ = fall("talk_laden")
    assert (quiet - laden) / sd > 0.1, (quiet, laden, sd)


def test_holding_space_burns_out_less_than_fixing(run):
    def burnout(preset):
        w = _pooled(run, preset, "therapists", years=4, weekly_capacity=16)
        return w[w["week"] > 52]["burnout"].mean()

    fixing, holding = burnout("fixing"), burnout("holding_space")
    assert fixing > 1.8 * holding and fixing > holding + 0.05, (fixing, holding)


def test_mid_range_boundaries_beat_both_extremes_on_alliance(run):
    def alliance(preset):
        s = _pooled(run, preset, "sessions", years=3)
        return s[s["session"] >= 4]["alliance"].mean()

    middle, loose, fenced = alliance("boundaried"), alliance("loose_boundaries"), alliance("fenced_off")
    assert middle > loose + 0.03 and middle > fenced + 0.03, (loose, middle, fenced)


def test_internalised_self_care_keeps_distress_falling_between_sessions(run):
    def between(**overrides):
        frames = []
        for seed in (1, 2, 3, 4, 5, 6):  # six replicates: about 300 gaps, four gave 190-290 by chance
            _, t = run("default", seed=seed, years=3, **{**SMALL, **overrides})
            s = t["sessions"].sort_values(["relationship_id", "session"])
            s = s.assign(next_week=s.groupby("relationship_id")["week"].shift(-1),
                         next_distress=s.groupby("relationship_id")["distress_before"].shift(-1)).dropna(
                subset=["next_week"])
            # Leave out gaps in which a life event set the client back.
            ev = t["events"]
            setbacks = ev[ev["kind"] == "setback"][["client", "week"]].rename(columns={"week": "setback"})
            hit = s.merge(setbacks, on="client")
            hit = hit[(hit["setback"] > hit["week"]) & (hit["setback"] <= hit["next_week"])]
            s = s[~s.set_index(["relationship_id", "session"]).index.isin(
                hit.set_index(["relationship_id", "session"]).index)]
            frames.append(s)
        s = pd.concat(frames)
        # Clients who have taken in self-care and still have distress to lose.
        s = s[(s["internalisation"] > 0.2) & (s["distress_after"] > 7)]
        return (s["next_distress"] - s["distress_after"]).mean(), len(s)

    with_care, n = between()
    without, _ = between(self_care_rate=0.0)
    assert n > 200
    assert with_care < -0.1, with_care  # distress keeps falling between sessions
    assert without > 0.0, without  # without self-care it drifts back up
