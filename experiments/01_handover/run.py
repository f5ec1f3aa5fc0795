"""Experiment 1: handover policy at retirement vs clients retained by the successor and recovery time.

Carey: "Some will look for options closer to home, others will try the therapist who moved into
my treatment room and, for those clients, I have transferred their files to ensure a smooth
transition."  Question: does handing over the file, or the file and a warm introduction, keep
more of a retiring therapist's clients with the successor, and does the new alliance recover
sooner?

Run-level shares come from the sweep (spec.toml: three policies x 40 paired replicates).  The
recovery of the new alliances, and where T1's own clients went by how far they live from the
room, need the relationship table: the first replicates are re-run with their stored seeds.

    python experiments/01_handover/run.py [--reduced] [--out DIR] [--workers N] [--fresh]
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import common as C  # noqa: E402

POLICIES = ["none", "file", "file_and_introduction"]
LABELS = {"none": "none", "file": "file", "file_and_introduction": "file + introduction"}
COLOURS = {"none": "#9e9e9e", "file": "#4c78a8", "file_and_introduction": "#f58518"}
SHARES = ["stayed_with_successor", "moved_to_colleague", "left_at_handover"]
REDUCED = {"replicates": 2, "years": 1.5, "fixed": {"scheduled_retirement_week": 40}}
#: Distance from home to T1's room, km (the default town has a 12 km radius, tolerance ~8 km).
DISTANCE_BANDS = [0, 4, 8, np.inf]
DISTANCE_LABELS = ["under 4 km", "4-8 km", "over 8 km"]


def t1_clients(model, row) -> pd.DataFrame:
    """T1's clients on the last day: where they went, and how their new alliance recovered."""
    from alliancesim.tables import relationship_table

    rt = relationship_table(model)
    old = rt[(rt["therapist"] == "T1") & rt["handover_outcome"].notna()]
    new = rt[rt["predecessor_id"].isin(old["relationship_id"])].set_index("predecessor_id")
    out = pd.DataFrame({
        "key": row["key"], "replicate": row["replicate"], "policy": row["handover_policy"],
        "outcome": old["handover_outcome"].to_numpy(), "travel_km": old["travel_km"].to_numpy(),
        "old_bond": old["bond_end"].to_numpy(), "old_alliance": old["alliance_end"].to_numpy(),
    })
    nxt = new.reindex(old["relationship_id"].to_numpy())
    out["new_bond_start"] = nxt["bond_start"].to_numpy(dtype=float)
    rec = nxt["recovery_weeks"].astype("Float64")
    out["recovered"] = rec.notna().to_numpy()
    end = nxt["end_week"].astype("Float64").fillna(float(model.week))
    # Weeks to recovery, or (censored) weeks the new relationship was followed without recovering.
    out["weeks"] = np.where(out["recovered"], rec.fillna(0).to_numpy(dtype=float),
                            (end - nxt["start_week"].astype("Float64")).to_numpy(dtype=float))
    out["recovery_sessions"] = nxt["recovery_sessions"].astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    return out


def main(argv=None) -> None:
    ctx = C.parse_args(__file__, argv)
    spec = C.load_spec(ctx, REDUCED)
    runs = C.run_sweep(ctx, spec)
    metrics = ["handover_clients", *SHARES, "recovery_weeks", "retirements", "mean_alliance", "dropout_share"]
    table = C.summarise(runs, "handover_policy", metrics).set_index("handover_policy").reindex(POLICIES)

    # Paired differences (same clinic, same replicate) against no handover.
    diffs = []
    for policy in POLICIES[1:]:
        for m in ("stayed_with_successor", "left_at_handover", "recovery_weeks"):
            d, lo, hi, n = C.paired_difference(runs, "handover_policy", "none", policy, m)
            diffs.append({"comparison": f"{LABELS[policy]} minus none", "metric": m, "difference": d,
                          "difference_lo": lo, "difference_hi": hi, "pairs": n})
    d, lo, hi, n = C.paired_difference(runs, "handover_policy", "file", "file_and_introduction",
                                       "stayed_with_successor")
    diffs.append({"comparison": "file + introduction minus file", "metric": "stayed_with_successor",
                  "difference": d, "difference_lo": lo, "difference_hi": hi, "pairs": n})
    d, lo, hi, n = C.paired_difference(runs, "handover_policy", "file", "file_and_introduction", "recovery_weeks")
    diffs.append({"comparison": "file + introduction minus file", "metric": "recovery_weeks",
                  "difference": d, "difference_lo": lo, "difference_hi": hi, "pairs": n})
    diffs = pd.DataFrame(diffs)

    # T1's clients, from re-runs of the first replicates.
    n_rerun = ctx.size(20, 1)
    sub = C.first_replicates(runs, n_rerun)
    clients = pd.concat(C.rerun(ctx, sub, t1_clients, check="stayed_with_successor"), ignore_index=True)
    clients["distance"] = pd.cut(clients["travel_km"], DISTANCE_BANDS, labels=DISTANCE_LABELS, right=False)
    stayed = clients[clients["outcome"] == "stayed_with_successor"]
    per_client = []
    for policy in POLICIES:
        s = stayed[stayed["policy"] == policy]
        c = clients[clients["policy"] == policy]
        row = {"handover_policy": policy, "t1_clients": len(c), "t1_stayed": len(s)}
        row.update(C.cluster_bootstrap(s, {
            "old_bond": lambda d: d["old_bond"].mean(),
            "new_bond_start": lambda d: d["new_bond_start"].mean(),
            "km_median_recovery_weeks": lambda d: C.km_median(d["weeks"], d["recovered"]),
            "recovered_within_26_weeks": lambda d: C.km_share_by(d["weeks"], d["recovered"], 26),
            "recovered_within_52_weeks": lambda d: C.km_share_by(d["weeks"], d["recovered"], 52),
        }, n=ctx.bootstrap))
        for band in DISTANCE_LABELS:
            cb = c[c["distance"] == band]
            res = C.cluster_bootstrap(cb, {"s": lambda d: (d["outcome"] == "stayed_with_successor").mean()},
                                      n=ctx.bootstrap)
            row.update({f"stayed_{band}": res["s"], f"stayed_{band}_lo": res["s_lo"],
                        f"stayed_{band}_hi": res["s_hi"], f"clients_{band}": len(cb)})
        per_client.append(row)
    per_client = pd.DataFrame(per_client).set_index("handover_policy")

    # ---- figure -------------------------------------------------------------------------
    fig, (a, b, c) = C.figure(3, 1, size=(13.5, 4.3))
    x = np.arange(len(POLICIES))
    w = 0.26
    for i, (m, label, colour) in enumerate(zip(SHARES, ["stayed with successor", "moved to a colleague",
                                                        "stopped coming"], ["#54a24b", "#4c78a8", "#e45756"])):
        t = table.loc[POLICIES]
        a.bar(x + (i - 1) * w, t[m], w, color=colour, label=label)
        C.errorbar(a, x + (i - 1) * w, t[m], t[f"{m}_lo"], t[f"{m}_hi"], fmt="none", color="black", lw=1)
    a.set_xticks(x, [LABELS[p] for p in POLICIES])
    a.set_ylabel("share of a departing therapist's clients")
    a.set_ylim(0, 1)
    a.set_title(f"Where the clients went ({int(table['stayed_with_successor_n'].iloc[0])} runs per policy)",
                fontsize=10)
    a.legend(fontsize=8, loc="upper left")
    for policy in POLICIES:
        s = stayed[stayed["policy"] == policy]
        if not len(s):
            continue
        times, surv = C.kaplan_meier(s["weeks"], s["recovered"])
        b.step(np.r_[0, times], np.r_[0, 1 - surv], where="post", color=COLOURS[policy],
               label=f"{LABELS[policy]} ({len(s)} clients)")
    b.set_xlabel("weeks since the handover")
    b.set_ylabel("share whose new alliance reached 90 % of the old")
    b.set_ylim(0, 1)
    b.set_title(f"New alliance recovering (T1's clients, {n_rerun} runs each)", fontsize=10)
    b.legend(fontsize=8, loc="lower right")
    xb = np.arange(len(DISTANCE_LABELS))
    for i, policy in enumerate(POLICIES):
        r = per_client.loc[policy]
        ys = [r[f"stayed_{band}"] for band in DISTANCE_LABELS]
        lo = [r[f"stayed_{band}_lo"] for band in DISTANCE_LABELS]
        hi = [r[f"stayed_{band}_hi"] for band in DISTANCE_LABELS]
        c.bar(xb + (i - 1) * w, ys, w, color=COLOURS[policy], label=LABELS[policy])
        C.errorbar(c, xb + (i - 1) * w, ys, lo, hi, fmt="none", color="black", lw=1)
    c.set_xticks(xb, [f"{band}\nfrom the room" for band in DISTANCE_LABELS])
    c.set_ylabel("share of T1's clients who stayed with the successor")
    c.set_ylim(0, 1)
    c.set_title("Distance from home to the room", fontsize=10)
    c.legend(fontsize=8, loc="upper right")
    fig.suptitle("Experiment 1: handover on retirement (error bars: 95 % CI)", fontsize=11)
    C.save_figure(ctx, fig, "handover.png")

    # ---- tables -------------------------------------------------------------------------
    out = table.reset_index()
    C.write_table(ctx, out, "table", title="Experiment 1: handover policy, run-level (mean over runs)",
                  text=C.with_ci(out, metrics, 3).drop(columns=[]),
                  notes=["Shares are over every client on a departing therapist's books in the run "
                         "(T1's retirement plus any other departures). recovery_weeks is each run's median "
                         "over the handed-over alliances that recovered to 90 % of the old one."])
    C.write_table(ctx, diffs, "differences", title="Experiment 1: paired differences between policies",
                  text=C.with_ci(diffs, ["difference"], 3))
    pc = per_client.reset_index()
    keep = ["handover_policy", "t1_clients", "t1_stayed", "old_bond", "new_bond_start", "km_median_recovery_weeks",
            "recovered_within_26_weeks", "recovered_within_52_weeks"]
    dist_cols = [f"stayed_{b}" for b in DISTANCE_LABELS]
    text = C.with_ci(pc[[*keep, *[f"{k}_{s}" for k in keep[3:] for s in ("lo", "hi")],
                        *dist_cols, *[f"{k}_{s}" for k in dist_cols for s in ("lo", "hi")],
                        *[f"clients_{b}" for b in DISTANCE_LABELS]]],
                     keep[3:] + dist_cols, 2)
    C.write_table(ctx, pc, "t1_clients", title="Experiment 1: T1's clients at the handover (re-runs)",
                  text=text,
                  notes=["old_bond: bond with T1 on the last day; new_bond_start: bond at the start with the "
                         "successor (both over clients who stayed). "
                         "Recovery: Kaplan-Meier over clients who stayed with the successor; a new "
                         "relationship that ended, or was still running at the end, without recovering is "
                         "censored there. Intervals: cluster bootstrap over runs."])
    C.finish(ctx, {"replicates": int(spec.replicates), "years": spec.years, "rerun_replicates": n_rerun,
                   "retirement_week": int(spec.base["scheduled_retirement_week"])},
             prose=results, headline=HEADLINE)


#: The README's row: the question, and the answer filled from the placeholders of :func:`results`.
HEADLINE = ("does handing over the file, or the file and an introduction, keep clients with the successor?",
            "{stay_none_n} stayed with no handover, {stay_file_n} with the file, {stay_intro_n} with both; the new "
            "alliance recovers in {rec_none_n} weeks without, {rec_file_n} with the file, {rec_intro_n} with both "
            "({recovery_short})")


def results(p: C.Prose) -> None:
    """Fill RESULTS.template.md from the tables just written (and the frozen v1 tables)."""
    pol = {"none": {"handover_policy": "none"}, "file": {"handover_policy": "file"},
           "intro": {"handover_policy": "file_and_introduction"}}
    p.facts()
    for k, row in pol.items():
        p.ci(f"stay_{k}", "table.csv", row, "stayed_with_successor")
        p.num(f"stay_{k}_n", "table.csv", row, "stayed_with_successor")
        p.num(f"left_{k}", "table.csv", row, "left_at_handover")
        p.num(f"moved_{k}", "table.csv", row, "moved_to_colleague")
        p.num(f"alliance_{k}", "table.csv", row, "mean_alliance", 3)
        p.num(f"dropout_{k}", "table.csv", row, "dropout_share", 3)
        p.num(f"retire_{k}", "table.csv", row, "retirements", 1)
        p.ci(f"rec_{k}", "t1_clients.csv", row, "km_median_recovery_weeks", 0)
        p.num(f"rec_{k}_n", "t1_clients.csv", row, "km_median_recovery_weeks", 0)
        p.num(f"oldbond_{k}", "t1_clients.csv", row, "old_bond")
        p.num(f"newbond_{k}", "t1_clients.csv", row, "new_bond_start")
        p.num(f"rec26_{k}", "t1_clients.csv", row, "recovered_within_26_weeks")
        for band, short in (("under 4 km", "near"), ("over 8 km", "far")):
            p.num(f"{short}_{k}", "t1_clients.csv", row, f"stayed_{band}")
        p.num(f"v1_stay_{k}", "mechanisms_v1/table.csv", row, "stayed_with_successor")
        p.num(f"v1_rec_{k}", "mechanisms_v1/t1_clients.csv", row, "km_median_recovery_weeks", 0)
        p.num(f"v1_newbond_{k}", "mechanisms_v1/t1_clients.csv", row, "new_bond_start")
    d = {"file": "file minus none", "intro": "file + introduction minus file"}
    p.ci("d_file_stay", "differences.csv", {"comparison": d["file"], "metric": "stayed_with_successor"},
         "difference")
    p.ci("d_intro_stay", "differences.csv", {"comparison": d["intro"], "metric": "stayed_with_successor"},
         "difference")
    p.ci("d_intro_rec", "differences.csv", {"comparison": d["intro"], "metric": "recovery_weeks"}, "difference", 1)

    for k, row in pol.items():
        p.num(f"v1_oldbond_{k}", "mechanisms_v1/t1_clients.csv", row, "old_bond")
    p.num("v1_d_intro_stay", "mechanisms_v1/differences.csv",
          {"comparison": d["intro"], "metric": "stayed_with_successor"}, "difference")
    p.num("d_intro_stay_n", "differences.csv", {"comparison": d["intro"], "metric": "stayed_with_successor"},
          "difference")

    # Which way the numbers point decides the words; the numbers themselves stay quoted.
    m = "km_median_recovery_weeks"
    tab, v1tab = (p.table(f).set_index("handover_policy") for f in ("table.csv", "mechanisms_v1/table.csv"))
    t1, v1t1 = (p.table(f).set_index("handover_policy") for f in ("t1_clients.csv", "mechanisms_v1/t1_clients.csv"))

    diffs = p.table("differences.csv").set_index(["comparison", "metric"])
    v1diffs = p.table("mechanisms_v1/differences.csv").set_index(["comparison", "metric"])
    p.ci("d_file_rec", "differences.csv", {"comparison": d["file"], "metric": "recovery_weeks"}, "difference", 1)
    p.ci("v1_d_file_rec", "mechanisms_v1/differences.csv", {"comparison": d["file"], "metric": "recovery_weeks"},
         "difference", 1)

    def speeds(x: pd.DataFrame) -> bool:  # does the file clearly shorten run-level recovery, run for run?
        return bool(x.loc[(d["file"], "recovery_weeks"), "difference_hi"] < 0)

    faster, v1_faster = speeds(diffs), speeds(v1diffs)
    p.word("recovery_verdict", "the file clearly speeds recovery" if faster else
           "no policy clearly speeds recovery")
    p.word("recovery_short", "a handover speeds it" if faster else "not clearly different")
    gain, v1_gain = (x.loc[(d["intro"], "stayed_with_successor")] for x in (diffs, v1diffs))
    p.word("intro_verdict", "the introduction keeps more clients than the file alone"
           if gain["difference_lo"] > 0 else "the introduction adds nothing clear to the file")
    s_ = tab.loc[POLICIES, "stayed_with_successor"].to_numpy()
    ordered = bool(s_[0] < s_[1] < s_[2])
    p.word("order_verdict", ("the same ordering" if ordered else "the ordering changed") + ", "
           + ("smaller" if gain["difference"] < v1_gain["difference"] else "larger")
           + " gains from the introduction")
    p.word("intro_gain_word", "fell" if gain["difference"] < v1_gain["difference"] else "rose")
    p.word("recovery_change", "the conclusion holds" if faster == v1_faster else "the conclusion changed")
    p.word("v1_recovery", "a handover sped recovery" if v1_faster else "no policy clearly sped recovery")
    quicker = all(t1.loc[k, m] < v1t1.loc[k, m] for k in POLICIES)
    p.word("recovery_pace", "recovery is faster under every policy" if quicker else "recovery is not faster overall")
    p.text("v2_note", (
        "* **Who stays: {order_verdict}.** With mechanisms v1 the shares who stayed were {v1_stay_none}, "
        "{v1_stay_file} and {v1_stay_intro}; now {stay_none_n}, {stay_file_n} and {stay_intro_n}. The "
        "introduction's extra share {intro_gain_word} from {v1_d_intro_stay} to {d_intro_stay_n}.\n"
        "* **Recovery: {recovery_change}.** v1 found that the new alliance took {v1_rec_none} weeks to recover "
        "with no handover and {v1_rec_file} with the file (run for run, the file changed run-level recovery by "
        "{v1_d_file_rec} weeks), so {v1_recovery}. Now it takes {rec_none_n}, {rec_file_n} and {rec_intro_n} "
        "weeks (run for run, {d_file_rec} weeks with the file): {recovery_pace} and {recovery_verdict}. "
        "T1's clients end on a "
        "bond of {oldbond_none} (v1 {v1_oldbond_none}); the recovery mark is 90 % of it, and new relationships "
        "start at {newbond_none} (v1 {v1_newbond_none})."))


if __name__ == "__main__":
    main()

