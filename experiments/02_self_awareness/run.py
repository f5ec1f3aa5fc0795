"""Experiment 2: therapist self-awareness vs ruptures, repairs and client outcomes.

Clark (2019, Discussion): greater self-awareness would have kept the therapist's own history
(countertransference) out of the session, and rupture and repair are hard in massage because
hands and attention are busy.  Question: do more self-aware therapists rupture less, repair more,
and do their clients do better?

Run-level figures come from the sweep (spec.toml: five self-awareness levels x two trigger
strengths x 10 replicates).  Two things need the session and rupture tables, from re-runs of
three replicates per point: how many sessions *begin* with a rupture still open (the model keeps
one open rupture per relationship, and a session with one open cannot open another), and who
repaired the ruptures that were repaired.

    python experiments/02_self_awareness/run.py [--reduced] [--out DIR] [--workers N] [--fresh]
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import common as C  # noqa: E402

REDUCED = {"replicates": 2, "years": 1}
TRIGGERS = {0.5: "default triggers (intensity 0.5)", 0.85: "strong triggers (intensity 0.85)"}
COLOURS = {0.5: "#4c78a8", 0.85: "#e45756"}


def rupture_figures(model, row) -> dict:
    """Per run: sessions that begin with an open rupture, new ruptures per session at risk, who repaired."""
    from alliancesim.tables import rupture_table, session_table

    ses = session_table(model).sort_values(["relationship_id", "session"])
    open_after = ses["rupture_open"].to_numpy()
    same = ses["relationship_id"].to_numpy()
    open_before = np.zeros(len(ses), dtype=bool)
    open_before[1:] = open_after[:-1] & (same[1:] == same[:-1])
    new = (ses["rupture"] != "").to_numpy()
    rup = rupture_table(model)
    repaired = rup["repaired_by"].notna()
    return {
        "key": row["key"], "self_awareness_mean": row["self_awareness_mean"],
        "trigger_intensity_mean": row["trigger_intensity_mean"],
        "sessions": len(ses),
        "open_at_start_share": float(open_before.mean()),
        "new_per_session_at_risk": float(new[~open_before].mean()),
        "noticed_share": float(rup["noticed"].mean()) if len(rup) else np.nan,
        "repaired_by_therapist_share": float((rup["repaired_by"] == "therapist").sum() / repaired.sum())
        if repaired.any() else np.nan,
        "open_when_relationship_ended": float(
            np.mean([r.end_reason is not None and bool(model.R.unresolved_at_end[r.idx])
                     for r in model.relationships if r.end_reason is not None]))
        if any(r.end_reason is not None for r in model.relationships) else np.nan,
    }


def main(argv=None) -> None:
    ctx = C.parse_args(__file__, argv)
    spec = C.load_spec(ctx, REDUCED)
    runs = C.run_sweep(ctx, spec)
    runs["ruptures_per_100"] = 100 * runs["rupture_share"]
    runs["countertransference_per_100"] = 100 * runs["rupture_share"] * runs["countertransference_share"]
    runs["other_per_100"] = runs["ruptures_per_100"] - runs["countertransference_per_100"]
    by = ["trigger_intensity_mean", "self_awareness_mean"]
    metrics = ["ruptures_per_100", "countertransference_per_100", "other_per_100", "repaired_share",
               "dropout_share", "improved_by_8", "depression_smd_course", "mean_alliance", "sessions_to_trust"]
    table = C.summarise(runs, by, metrics)

    n_rerun = ctx.size(3, 1)
    rr = pd.DataFrame(C.rerun(ctx, C.first_replicates(runs, n_rerun), rupture_figures, check="rupture_share"))
    rmetrics = ["open_at_start_share", "new_per_session_at_risk", "noticed_share", "repaired_by_therapist_share",
                "open_when_relationship_ended"]
    rtable = C.summarise(rr, by, rmetrics)

    # ---- figure -------------------------------------------------------------------------
    fig, (a, b, c, d) = C.figure(2, 2, size=(11.5, 8.0))
    for trig, label in TRIGGERS.items():
        t = table[table["trigger_intensity_mean"] == trig]
        r = rtable[rtable["trigger_intensity_mean"] == trig]
        col = COLOURS[trig]
        shift = -0.012 if trig == 0.5 else 0.012  # side by side, so the error bars do not hide each other
        x = t["self_awareness_mean"] + shift
        C.errorbar(a, x, t["ruptures_per_100"], t["ruptures_per_100_lo"], t["ruptures_per_100_hi"], color=col,
                   label=f"all new ruptures, {label}")
        C.errorbar(a, x, t["countertransference_per_100"], t["countertransference_per_100_lo"],
                   t["countertransference_per_100_hi"], color=col, ls="--", marker="s",
                   label="of which countertransference")
        xr = r["self_awareness_mean"] + shift
        C.errorbar(b, xr, 100 * r["open_at_start_share"], 100 * r["open_at_start_share_lo"],
                   100 * r["open_at_start_share_hi"], color=col, label=f"begin with a rupture open, {label}")
        C.errorbar(b, xr, 100 * r["new_per_session_at_risk"], 100 * r["new_per_session_at_risk_lo"],
                   100 * r["new_per_session_at_risk_hi"], color=col, ls="--", marker="s",
                   label="new rupture, among sessions with none open")
        C.errorbar(c, x, t["repaired_share"], t["repaired_share_lo"], t["repaired_share_hi"], color=col,
                   label=f"ruptures repaired, {label}")
        C.errorbar(c, xr, r["repaired_by_therapist_share"], r["repaired_by_therapist_share_lo"],
                   r["repaired_by_therapist_share_hi"], color=col, ls="--", marker="s",
                   label="of the repairs, made by the therapist")
        C.errorbar(d, x, t["dropout_share"], t["dropout_share_lo"], t["dropout_share_hi"], color=col,
                   label=f"dropout share, {label}")
        C.errorbar(d, x, t["improved_by_8"], t["improved_by_8_lo"], t["improved_by_8_hi"], color=col, ls="--",
                   marker="s", label="improved by session 8")
    a.set_ylabel("per 100 sessions")
    a.set_title(f"New ruptures ({spec.replicates} runs per point)", fontsize=10)
    b.set_ylabel("per 100 sessions")
    b.set_title(f"Ruptures left open ({n_rerun} re-runs per point)", fontsize=10)
    c.set_ylabel("share")
    c.set_ylim(0, 1.02)
    c.set_title("Repair", fontsize=10)
    d.set_ylabel("share of clients")
    d.set_ylim(0, 0.8)
    d.set_title("Clients", fontsize=10)
    for ax in (a, b, c, d):
        ax.set_xlabel("therapists' mean self-awareness")
        ax.legend(fontsize=7)
        ax.grid(alpha=0.3)
    a.set_ylim(bottom=0)
    b.set_ylim(bottom=0)
    fig.suptitle("Experiment 2: self-awareness (error bars: 95 % CI over runs)", fontsize=11)
    C.save_figure(ctx, fig, "self_awareness.png")

    # ---- tables -------------------------------------------------------------------------
    both = table.merge(rtable, on=by, how="left")
    text = C.with_ci(both, [*metrics, *rmetrics], 3)
    text = text[[*by, "ruptures_per_100", "countertransference_per_100", "open_at_start_share",
                 "new_per_session_at_risk", "repaired_share", "repaired_by_therapist_share", "dropout_share",
                 "improved_by_8", "depression_smd_course", "mean_alliance"]]
    C.write_table(ctx, both, "table", title="Experiment 2: self-awareness", text=text,
                  notes=[f"Run-level columns: {spec.replicates} runs per row. open_at_start_share, "
                         "new_per_session_at_risk and repaired_by_therapist_share: "
                         f"{n_rerun} re-runs per row."])
    C.finish(ctx, {"replicates": int(spec.replicates), "years": spec.years, "rerun_replicates": n_rerun},
             prose=results, headline=HEADLINE)



#: The README's row: the question, and the answer filled from the placeholders of :func:`results`.
HEADLINE = ("do self-aware therapists rupture less and repair more?",
            "from self-awareness 0.1 to 0.9: countertransference ruptures {ct_lo_n} → {ct_hi_n} per 100 sessions, "
            "share repaired {rep_lo} → {rep_hi}, dropout {drop_lo_n} → {drop_hi_n}, fall in depression over a "
            "course {smd_lo} → {smd_hi} SD")


def results(p: C.Prose) -> None:
    """Fill RESULTS.template.md from the table just written (and the frozen v1 table)."""
    p.facts()
    by = ["trigger_intensity_mean", "self_awareness_mean"]
    for trig, t in ((0.5, ""), (0.85, "s_")):
        for sa, k in ((0.1, "lo"), (0.5, "mid"), (0.9, "hi")):
            row = {"trigger_intensity_mean": trig, "self_awareness_mean": sa}
            p.ci(f"{t}ct_{k}", "table.csv", row, "countertransference_per_100", 2)
            p.num(f"{t}ct_{k}_n", "table.csv", row, "countertransference_per_100", 2)
            p.ci(f"{t}rup_{k}", "table.csv", row, "ruptures_per_100", 1)
            p.num(f"{t}rep_{k}", "table.csv", row, "repaired_share")
            p.num(f"{t}bytherapist_{k}", "table.csv", row, "repaired_by_therapist_share")
            p.ci(f"{t}drop_{k}", "table.csv", row, "dropout_share", 3)
            p.num(f"{t}drop_{k}_n", "table.csv", row, "dropout_share", 2)
            p.num(f"{t}all_{k}", "table.csv", row, "mean_alliance", 3)
            p.ci(f"{t}imp_{k}", "table.csv", row, "improved_by_8", 3)
            p.num(f"{t}smd_{k}", "table.csv", row, "depression_smd_course")
            p.num(f"{t}open_{k}", "table.csv", row, "open_at_start_share", 1, scale=100)
            p.num(f"{t}risk_{k}", "table.csv", row, "new_per_session_at_risk")
            if not t:
                for col, d, scale in (("countertransference_per_100", 2, 1), ("ruptures_per_100", 1, 1),
                                      ("repaired_share", 2, 1), ("dropout_share", 3, 1), ("mean_alliance", 3, 1),
                                      ("open_at_start_share", 1, 100), ("improved_by_8", 3, 1)):
                    p.num(f"v1_{col}_{k}", "mechanisms_v1/table.csv", row, col, d, scale)
    default = {"trigger_intensity_mean": 0.5}
    p.span("risk_span", "table.csv", by, default, "new_per_session_at_risk")
    p.span("smd_span", "table.csv", by, default, "depression_smd_course")
    p.span("v1_smd_span", "mechanisms_v1/table.csv", by, default, "depression_smd_course")
    for sa, k in ((0.1, "lo"), (0.9, "hi")):
        row = {"trigger_intensity_mean": 0.5, "self_awareness_mean": sa}
        p.ci(f"smd_{k}_ci", "table.csv", row, "depression_smd_course")
        p.num(f"v1_repaired_by_therapist_share_{k}", "mechanisms_v1/table.csv", row, "repaired_by_therapist_share")
    p.span("v1_risk_span", "mechanisms_v1/table.csv", by, default, "new_per_session_at_risk")

    # Which way the numbers point decides the words; the numbers themselves stay quoted.
    t, v1 = (p.table(f).set_index(by) for f in ("table.csv", "mechanisms_v1/table.csv"))

    def clear(col: str, up: str = "rises clearly", down: str = "falls clearly", x: pd.DataFrame = t) -> str:
        lo, hi = x.loc[(0.5, 0.1)], x.loc[(0.5, 0.9)]  # do the intervals at 0.1 and 0.9 part?
        if lo[f"{col}_hi"] < hi[f"{col}_lo"]:
            return up
        if hi[f"{col}_hi"] < lo[f"{col}_lo"]:
            return down
        return "shows no clear change"

    p.word("imp_verdict", clear("improved_by_8"))
    p.word("smd_verdict", clear("depression_smd_course", "grows clearly", "shrinks clearly"))
    lo, hi = t.loc[(0.5, 0.1)], t.loc[(0.5, 0.9)]
    p.word("rup_verdict", "rise" if hi["ruptures_per_100"] > lo["ruptures_per_100"] else "fall")
    better = clear("improved_by_8") == "rises clearly" or clear("depression_smd_course") == "rises clearly"
    v1_better = (clear("improved_by_8", x=v1) == "rises clearly"
                 or clear("depression_smd_course", x=v1) == "rises clearly")
    p.word("clients_change", ("Clients now clearly do better with self-aware therapists" if better else
                              "Clients do not clearly do better with self-aware therapists")
           + (": this conclusion changed" if better != v1_better else ", as in v1"))
    p.word("repair_change", ("Fewer" if lo["repaired_share"] < v1.loc[(0.5, 0.1), "repaired_share"] else "More")
           + " ruptures get repaired")
    p.word("ct_change", "rarer" if lo["countertransference_per_100"] < v1.loc[(0.5, 0.1),
                                                                            "countertransference_per_100"]
           else "more common")
    p.word("still_fall", "both still fall with self-awareness, as before"
           if hi["countertransference_per_100"] < lo["countertransference_per_100"]
           and hi["dropout_share"] < lo["dropout_share"] else "they no longer both fall with self-awareness")
    p.text("open_note", (
        "All new ruptures per 100 sessions {rup_verdict} with self-awareness, from {rup_lo} to {rup_hi}. "
        "This is the model's bookkeeping, not self-awareness: a relationship holds at most one open rupture, "
        "and a session that starts with one open cannot open another. Less self-aware therapists leave more "
        "ruptures open ({open_lo} % of their sessions begin with one still open, against {open_hi} % at 0.9), "
        "so fewer sessions can open a new one. Among sessions with none open, the chance of a new rupture "
        "is {risk_span} across the levels. Read `rupture_share` as \"new episodes\", not as "
        "\"sessions with a rupture in them\"."))
    p.text("v2_note", (
        "* **{clients_change}.** v1 found improvement by session 8 going from {v1_improved_by_8_lo} to "
        "{v1_improved_by_8_hi} and the fall in depression over a course {v1_smd_span} across the levels. Now "
        "improvement by session 8 {imp_verdict} ({imp_lo} to {imp_hi}) and the fall in depression over a "
        "course {smd_verdict} ({smd_lo_ci} to {smd_hi_ci}). In v2 a rupture left unrepaired has a lasting cost "
        "(it caps trust and adds distress), and self-aware therapists leave fewer of them.\n"
        "* **{repair_change}.** With the repair window closing over the weeks, the share repaired goes from "
        "{rep_lo} to {rep_hi} (v1: {v1_repaired_share_lo} to {v1_repaired_share_hi}); {open_lo} % of sessions "
        "begin with a rupture open at 0.1 and {open_hi} % at 0.9 (v1: {v1_open_at_start_share_lo} % and "
        "{v1_open_at_start_share_hi} %).\n"
        "* **Countertransference ruptures are {ct_change}** ({ct_lo_n} to {ct_hi_n} per 100 sessions; v1 "
        "{v1_countertransference_per_100_lo} to {v1_countertransference_per_100_hi}); dropout goes from "
        "{drop_lo_n} to {drop_hi_n} (v1 {v1_dropout_share_lo} to {v1_dropout_share_hi}): {still_fall}."))


if __name__ == "__main__":
    main()
