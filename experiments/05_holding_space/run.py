"""Experiment 5: holding space vs fixing vs therapist burnout and client outcomes.

Lowery: "it is not your job to be a miracle worker!!!! It is your job to hold space for the
miracles to happen" -- the pressure to fix every client is unrealistic, and results sometimes
need the client's own work between sessions.  Question: do therapists who feel they must fix
everyone burn out more, and do their clients do better or worse?

Run-level figures and weekly burnout come from the sweep (spec.toml: five levels of
fixing_stance_mean x 12 replicates, ten years, weekly series stored).  Each therapist's peak
burnout and the clients' internalised self-care need the therapist and relationship tables: four
replicates per level are re-run.

    python experiments/05_holding_space/run.py [--reduced] [--out DIR] [--workers N] [--fresh]
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import common as C  # noqa: E402

REDUCED = {"replicates": 2, "years": 1.5}
LEVELS = [0.1, 0.3, 0.5, 0.7, 0.9]
COLOURS = dict(zip(LEVELS, ["#1b7837", "#7fbf7b", "#9e9e9e", "#f4a582", "#b2182b"]))


def burnout_and_self_care(model, row) -> dict:
    """Per run: each therapist's peak burnout, and internalised self-care of clients seen six times or more."""
    from alliancesim.tables import relationship_table, therapist_table

    th = therapist_table(model)
    peak = th.groupby("therapist")["burnout"].max()
    rt = relationship_table(model)
    seen = rt[rt["sessions"] >= 6]
    return {
        "key": row["key"], "fixing_stance_mean": row["fixing_stance_mean"],
        "therapists": int(peak.size),
        "peak_burnout_highest": float(peak.max()),
        "peak_burnout_mean": float(peak.mean()),
        "leave_threshold": float(model.params.burnout_leave_threshold),
        "internalisation": float(seen["internalisation"].mean()) if len(seen) else np.nan,
        "distress_fall": float((seen["distress_start"] - seen["distress_end"]).mean()) if len(seen) else np.nan,
    }


def main(argv=None) -> None:
    ctx = C.parse_args(__file__, argv)
    spec = C.load_spec(ctx, REDUCED)
    runs = C.run_sweep(ctx, spec)
    metrics = ["mean_burnout", "burnout_departures", "improved_by_8", "improved_by_26", "depression_smd_course",
               "dropout_share", "finished_share", "mean_alliance", "clients_on_books"]
    table = C.summarise(runs, "fixing_stance_mean", metrics)

    weekly = C.load_weekly(ctx).merge(runs[["key", "fixing_stance_mean"]], on="key")
    curve = weekly.groupby(["fixing_stance_mean", "week"])["mean_burnout"].agg(["mean", "std", "count"]).reset_index()
    half = 1.96 * curve["std"] / np.sqrt(curve["count"])
    curve["lo"], curve["hi"] = curve["mean"] - half, curve["mean"] + half

    n_rerun = ctx.size(4, 1)
    rr = pd.DataFrame(C.rerun(ctx, C.first_replicates(runs, n_rerun), burnout_and_self_care, check="mean_burnout"))
    rmetrics = ["peak_burnout_highest", "peak_burnout_mean", "internalisation", "distress_fall"]
    rtable = C.summarise(rr, "fixing_stance_mean", rmetrics)
    threshold = float(rr["leave_threshold"].iloc[0])

    # ---- figure -------------------------------------------------------------------------
    fig, (a, b, c) = C.figure(3, 1, size=(13.5, 4.3))
    for level in LEVELS:
        k = curve[curve["fixing_stance_mean"] == level]
        if not len(k):
            continue
        a.plot(k["week"] / 52, k["mean"], color=COLOURS[level], label=f"{level:g}")
        a.fill_between(k["week"] / 52, k["lo"], k["hi"], color=COLOURS[level], alpha=0.2, lw=0)
    a.axhline(threshold, color="black", ls=":", lw=1)
    a.text(0.02, threshold - 0.05, f"a therapist leaves at {threshold:g}", fontsize=8, transform=a.get_yaxis_transform())
    a.set_ylim(0, 1)
    a.set_xlabel("years")
    a.set_ylabel("mean therapist burnout")
    a.set_title(f"Burnout over time ({spec.replicates} runs per level)", fontsize=10)
    a.legend(title="fixing stance", fontsize=8, title_fontsize=8, ncols=2)
    x = table["fixing_stance_mean"]
    C.errorbar(b, x, table["mean_burnout"], table["mean_burnout_lo"], table["mean_burnout_hi"], color="black",
               label="mean burnout, second half (all runs)")
    C.errorbar(b, rtable["fixing_stance_mean"], rtable["peak_burnout_highest"], rtable["peak_burnout_highest_lo"],
               rtable["peak_burnout_highest_hi"], color="#b2182b", ls="--", marker="s",
               label=f"most burnt-out therapist's peak ({n_rerun} re-runs)")
    b.axhline(threshold, color="black", ls=":", lw=1)
    b.set_ylim(0, 1)
    b.set_xlabel("therapists' mean fixing stance (0 holds space, 1 must fix)")
    b.set_ylabel("burnout")
    b.set_title("Therapists", fontsize=10)
    b.legend(fontsize=8, loc="upper left")
    b.grid(alpha=0.3)
    for m, label, style in (("improved_by_8", "improved by session 8", "-"),
                            ("dropout_share", "dropout share", "--"),
                            ("finished_share", "finished with goals met", ":")):
        C.errorbar(c, x, table[m], table[f"{m}_lo"], table[f"{m}_hi"], ls=style, label=label)
    C.errorbar(c, rtable["fixing_stance_mean"], rtable["internalisation"], rtable["internalisation_lo"],
               rtable["internalisation_hi"], ls="-.", marker="^", color="#7f3b08",
               label=f"internalised self-care ({n_rerun} re-runs)")
    c.set_ylim(0, 1)
    c.set_xlabel("therapists' mean fixing stance (0 holds space, 1 must fix)")
    c.set_ylabel("share of clients / 0-1 scale")
    c.set_title("Clients", fontsize=10)
    c.legend(fontsize=8, loc="upper right")
    c.grid(alpha=0.3)
    fig.suptitle("Experiment 5: holding space vs fixing (bands and error bars: 95 % CI over runs)", fontsize=11)
    C.save_figure(ctx, fig, "holding_space.png")

    # ---- tables -------------------------------------------------------------------------
    both = table.merge(rtable, on="fixing_stance_mean", how="left")
    text = C.with_ci(both, [*metrics, *rmetrics], 3)
    C.write_table(ctx, both, "table", title="Experiment 5: holding space vs fixing", text=text,
                  notes=[f"Run-level columns: {spec.replicates} runs of {spec.years:g} years per row; "
                         f"peak_burnout_*, internalisation and distress_fall: {n_rerun} re-runs per row "
                         "(internalisation and distress fall over relationships with six sessions or more). "
                         f"A therapist gives notice at burnout {threshold:g}."])
    C.finish(ctx, {"replicates": int(spec.replicates), "years": spec.years, "rerun_replicates": n_rerun},
             prose=results, headline=HEADLINE)



#: The README's row: the question, and the answer filled from the placeholders of :func:`results`.
HEADLINE = ("does a fixing stance burn therapists out?",
            "mean burnout {burn_01_n} when holding space, {burn_09_n} when fixing; burnout departures per run "
            "{departures_01} and {departures_09}; improvement by session 8 {imp_01} and {imp_09}")


def results(p: C.Prose) -> None:
    """Fill RESULTS.template.md from the table just written (and the frozen v1 table)."""
    p.facts()
    for f, k in ((0.1, "01"), (0.5, "05"), (0.9, "09")):
        row = {"fixing_stance_mean": f}
        p.ci(f"burn_{k}", "table.csv", row, "mean_burnout", 3)
        p.num(f"burn_{k}_n", "table.csv", row, "mean_burnout", 2)
        p.ci(f"departures_{k}_ci", "table.csv", row, "burnout_departures", 2)
        p.num(f"departures_{k}", "table.csv", row, "burnout_departures", 2)
        p.ci(f"peak_{k}", "table.csv", row, "peak_burnout_highest")
        p.num(f"peak_{k}_n", "table.csv", row, "peak_burnout_highest")
        p.num(f"intern_{k}", "table.csv", row, "internalisation")
        p.num(f"imp_{k}", "table.csv", row, "improved_by_8", 3)
        p.num(f"imp26_{k}", "table.csv", row, "improved_by_26", 3)
        p.num(f"smd_{k}", "table.csv", row, "depression_smd_course")
        p.num(f"drop_{k}", "table.csv", row, "dropout_share", 3)
        p.num(f"all_{k}", "table.csv", row, "mean_alliance", 3)
        for col, d in (("mean_burnout", 3), ("burnout_departures", 2), ("peak_burnout_highest", 2),
                       ("internalisation", 2), ("improved_by_8", 3), ("dropout_share", 3),
                       ("depression_smd_course", 2)):
            p.num(f"v1_{col}_{k}", "mechanisms_v1/table.csv", row, col, d)
    t = p.table("table.csv").set_index("fixing_stance_mean")
    v1 = p.table("mechanisms_v1/table.csv").set_index("fixing_stance_mean")
    burns = bool(t.loc[0.9, "mean_burnout_lo"] > t.loc[0.1, "mean_burnout_hi"])
    p.word("burn_verdict", "Fixing burns therapists out." if burns else "Fixing does not clearly burn therapists out.")
    leaves, v1_leaves = (bool(x.loc[0.9, "burnout_departures"] > 0) for x in (t, v1))
    p.word("leave_verdict", "Some therapists leave from burnout." if leaves else "Nobody leaves from burnout.")
    worse = [bool(t.loc[0.9, c] < t.loc[0.1, c]) for c in ("improved_by_8", "improved_by_26", "depression_smd_course")]
    p.word("client_verdict", "Clients do worse with fixers." if all(worse) else
           "Clients do not consistently do worse with fixers.")
    for f, k in ((0.1, "01"), (0.9, "09")):
        p.ci(f"smd_{k}_ci", "table.csv", {"fixing_stance_mean": f}, "depression_smd_course")
    cost = t.loc[0.1, "depression_smd_course"] - t.loc[0.9, "depression_smd_course"]
    v1_cost = v1.loc[0.1, "depression_smd_course"] - v1.loc[0.9, "depression_smd_course"]
    clearly = bool(t.loc[0.9, "depression_smd_course_hi"] < t.loc[0.1, "depression_smd_course_lo"])
    p.word("cost_change", ("The cost to clients is much larger than in v1, where each change was small and the "
                           "intervals of neighbouring levels overlapped: " if cost > 2 * v1_cost else
                           "The cost to clients is of a similar size as in v1: ")
           + ("the fall in depression over a course is now clearly smaller with fixers." if clearly else
              "the fall in depression over a course is not clearly smaller with fixers."))
    p.word("v2_verdict", "The conclusions hold in direction." if leaves == v1_leaves and burns and all(worse) else
           ("A conclusion changed: " + ("therapists now leave from burnout at the most fixing stance"
                                        if leaves and not v1_leaves else
                                        "the pattern differs from v1, see below") + "."))
    p.text("v2_note", (
        "{v2_verdict} {cost_change}\n\n"
        "* **Burnout** from holding space (0.1) to fixing (0.9): v1 {v1_mean_burnout_01} to "
        "{v1_mean_burnout_09}, now {burn_01_n} to {burn_09_n}; burnout departures per run at 0.9: v1 "
        "{v1_burnout_departures_09}, now {departures_09}.\n"
        "* **Clients**: improvement by session 8 v1 {v1_improved_by_8_01} to {v1_improved_by_8_09}, now "
        "{imp_01} to {imp_09}; fall in depression over a course v1 {v1_depression_smd_course_01} to "
        "{v1_depression_smd_course_09}, now {smd_01} to {smd_09}; dropout v1 {v1_dropout_share_01} to "
        "{v1_dropout_share_09}, now {drop_01} to {drop_09}."))


if __name__ == "__main__":
    main()
