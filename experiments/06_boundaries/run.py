"""Experiment 6: boundary firmness from loose to rigid vs the alliance and boundary incidents.

Boorman: "Being boundaried is not the same as being fenced off and completely distant from a
client.  Rather it is about being clear with how I can best hold a safe space for my client to
let go."  Clark (2019) puts boundaries first among the themes of the relationship
(separateness).  Question: is there a middle where the alliance is best, with loose boundaries
costing incidents and rigid ones costing contact?

Run-level figures and weekly boundary incidents come from the sweep (spec.toml: ten firmness
levels x 10 replicates, weekly series stored).  The four themes of the relationship and the
ruptures caused by boundary incidents need the relationship and rupture tables: four replicates
per level are re-run.

    python experiments/06_boundaries/run.py [--reduced] [--out DIR] [--workers N] [--fresh]
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import common as C  # noqa: E402

REDUCED = {"replicates": 2, "years": 1}
THEMES = {"separateness": "separateness (frame, roles)", "pleasure": "pleasure (safety, comfort)",
          "merging": "merging (contact, empathy)", "internalisation": "internalisation"}
THEME_COLOURS = ["#4c78a8", "#54a24b", "#f58518", "#b279a2"]


def themes(model, row) -> dict:
    """Per run: the four themes in relationships with six sessions or more, and boundary ruptures."""
    from alliancesim.tables import relationship_table, rupture_table

    rt = relationship_table(model)
    seen = rt[rt["sessions"] >= 6]
    rup = rupture_table(model)
    sessions = float(rt["sessions"].sum())
    out = {"key": row["key"], "boundary_firmness_mean": row["boundary_firmness_mean"]}
    for t in THEMES:
        out[t] = float(seen[t].mean()) if len(seen) else np.nan
    out["boundary_ruptures_per_100"] = 100 * float((rup["cause"] == "boundary").sum()) / sessions if sessions else np.nan
    return out


def main(argv=None) -> None:
    ctx = C.parse_args(__file__, argv)
    spec = C.load_spec(ctx, REDUCED)
    runs = C.run_sweep(ctx, spec)
    weekly = C.load_weekly(ctx)
    per_run = weekly.groupby("key")[["boundary_incidents", "sessions"]].sum()
    runs = runs.join((100 * per_run["boundary_incidents"] / per_run["sessions"]).rename("incidents_per_100"), on="key")
    metrics = ["incidents_per_100", "mean_alliance", "dropout_share", "rupture_share", "improved_by_8",
               "depression_smd_course", "finished_share", "clients_on_books"]
    table = C.summarise(runs, "boundary_firmness_mean", metrics)

    n_rerun = ctx.size(4, 1)
    rr = pd.DataFrame(C.rerun(ctx, C.first_replicates(runs, n_rerun), themes, check="mean_alliance"))
    rmetrics = [*THEMES, "boundary_ruptures_per_100"]
    rtable = C.summarise(rr, "boundary_firmness_mean", rmetrics)

    best = table.loc[table["mean_alliance"].idxmax()]
    near = table[table["mean_alliance_hi"] >= best["mean_alliance_lo"]]["boundary_firmness_mean"]

    # ---- figure -------------------------------------------------------------------------
    fig, (a, b, c) = C.figure(3, 1, size=(13.5, 4.3))
    x = table["boundary_firmness_mean"]
    C.errorbar(a, x, table["incidents_per_100"], table["incidents_per_100_lo"], table["incidents_per_100_hi"],
               color="#e45756", label="boundary incidents")
    C.errorbar(a, rtable["boundary_firmness_mean"], rtable["boundary_ruptures_per_100"],
               rtable["boundary_ruptures_per_100_lo"], rtable["boundary_ruptures_per_100_hi"], color="#7f0000",
               ls="--", marker="s", label=f"ruptures they caused ({n_rerun} re-runs)")
    a.set_ylabel("per 100 sessions")
    a.set_ylim(bottom=0)
    a.set_title(f"Boundary incidents ({spec.replicates} runs per level)", fontsize=10)
    a.legend(fontsize=8)
    C.errorbar(b, x, table["mean_alliance"], table["mean_alliance_lo"], table["mean_alliance_hi"], color="black",
               label="mean alliance in sessions (left axis)")
    b.set_ylabel("alliance (0-1)")
    b2 = b.twinx()
    C.errorbar(b2, x, table["dropout_share"], table["dropout_share_lo"], table["dropout_share_hi"], color="#e45756",
               ls="--", marker="s", label="dropout share (right axis)")
    b2.set_ylabel("dropout share", color="#e45756")
    b.axvspan(near.min() - 0.05, near.max() + 0.05, color="#54a24b", alpha=0.12, lw=0)
    b.set_title("Alliance and dropout (green: CI overlaps the best level)", fontsize=10)
    handles = b.get_legend_handles_labels()[0] + b2.get_legend_handles_labels()[0]
    b.legend(handles=handles, fontsize=8, loc="lower center")
    for (t, label), col in zip(THEMES.items(), THEME_COLOURS):
        C.errorbar(c, rtable["boundary_firmness_mean"], rtable[t], rtable[f"{t}_lo"], rtable[f"{t}_hi"], color=col,
                   label=label)
    c.set_ylim(0, 1)
    c.set_ylabel("theme level (0-1)")
    c.set_title(f"Themes after 6+ sessions ({n_rerun} re-runs per level)", fontsize=10)
    c.legend(fontsize=8)
    for ax in (a, b, c):
        ax.set_xlabel("mean boundary firmness (0 loose, 1 fenced off)")
        ax.grid(alpha=0.3)
    fig.suptitle("Experiment 6: boundaried, not fenced off (error bars: 95 % CI over runs)", fontsize=11)
    C.save_figure(ctx, fig, "boundaries.png")

    # ---- tables -------------------------------------------------------------------------
    both = table.merge(rtable, on="boundary_firmness_mean", how="left")
    C.write_table(ctx, both, "table", title="Experiment 6: boundary firmness", text=C.with_ci(both, [*metrics, *rmetrics], 3),
                  notes=[f"Run-level columns: {spec.replicates} runs per row (therapist trait SD 0.05); themes and "
                         f"boundary ruptures: {n_rerun} re-runs per row. Highest mean alliance at firmness "
                         f"{best['boundary_firmness_mean']:g}; levels whose CI reaches the best level's: "
                         + ", ".join(f"{v:g}" for v in near) + "."])
    C.finish(ctx, {"replicates": int(spec.replicates), "years": spec.years, "rerun_replicates": n_rerun,
                   "best_firmness": float(best["boundary_firmness_mean"]),
                   "near_best": [float(v) for v in near]},
             prose=results, headline=HEADLINE)



#: The README's row: the question, and the answer filled from the placeholders of :func:`results`.
HEADLINE = ("boundaried, not fenced off?",
            "the alliance peaks at firmness {peak_at} ({all_peak_n}) against {all_loose_n} at the loosest and "
            "{all_rigid_n} fenced off")


def results(p: C.Prose) -> None:
    """Fill RESULTS.template.md from the table just written (and the frozen v1 table)."""
    p.facts()
    t = p.table("table.csv")
    key = "boundary_firmness_mean"
    levels = t[key].tolist()
    peak = float(t.loc[t["mean_alliance"].idxmax(), key])
    v1 = p.table("mechanisms_v1/table.csv")
    v1_peak = float(v1.loc[v1["mean_alliance"].idxmax(), key])
    p.num("peak_at", "table.csv", {key: peak}, key)
    p.num("v1_peak_at", "mechanisms_v1/table.csv", {key: v1_peak}, key)
    points = {"loose": levels[0], "l15": levels[1], "l25": levels[2], "l35": levels[3], "l45": levels[4],
              "peak": peak, "rigid": levels[-1]}
    for k, f in points.items():
        row = {key: f}
        p.num(f"at_{k}", "table.csv", row, key)
        p.ci(f"all_{k}", "table.csv", row, "mean_alliance", 3)
        p.num(f"all_{k}_n", "table.csv", row, "mean_alliance", 3)
        p.num(f"drop_{k}", "table.csv", row, "dropout_share", 3)
        p.num(f"inc_{k}", "table.csv", row, "incidents_per_100", 1)
        p.num(f"brup_{k}", "table.csv", row, "boundary_ruptures_per_100", 1)
        for theme in ("separateness", "pleasure", "merging", "internalisation"):
            p.num(f"{theme}_{k}", "table.csv", row, theme)
        p.num(f"imp_{k}", "table.csv", row, "improved_by_8", 3)
        p.num(f"smd_{k}", "table.csv", row, "depression_smd_course")
    for k, f in (("loose", levels[0]), ("rigid", levels[-1])):
        p.num(f"v1_all_{k}", "mechanisms_v1/table.csv", {key: f}, "mean_alliance", 3)
        p.num(f"v1_drop_{k}", "mechanisms_v1/table.csv", {key: f}, "dropout_share", 3)
    p.num("v1_all_peak", "mechanisms_v1/table.csv", {key: v1_peak}, "mean_alliance", 3)
    p.num("v1_drop_peak", "mechanisms_v1/table.csv", {key: v1_peak}, "dropout_share", 3)

    # Which way the numbers point decides the words; the numbers themselves stay quoted.
    top = t.loc[t["mean_alliance"].idxmax()]
    ends = t.iloc[[0, -1]]
    inside = peak not in (levels[0], levels[-1]) and bool((ends["mean_alliance_hi"] < top["mean_alliance_lo"]).all())
    p.word("middle_verdict", "A clear middle." if inside else "No clear middle.")
    near = t[t["mean_alliance_hi"] >= top["mean_alliance_lo"]][key].tolist()  # intervals reaching the peak's
    p.num("plat_lo", "table.csv", {key: near[0]}, key)
    p.num("plat_hi", "table.csv", {key: near[-1]}, key)
    p.text("plateau", "only the peak's own interval reaches that high" if len(near) == 1 else
           "the intervals from firmness {plat_lo} to {plat_hi} all reach the peak's")
    p.text("v2_verdict", "The conclusion holds: the alliance still peaks in the middle, at firmness {peak_at} as in v1."
           if inside and abs(peak - v1_peak) < 1e-9 else
           "The conclusion holds with the peak moved: firmness {peak_at} now, {v1_peak_at} in v1 ({plateau})."
           if inside else
           "A conclusion changed: there is no clear middle now (v1 peaked at {v1_peak_at}).")
    p.text("v2_note", (
        "{v2_verdict}\n\n"
        "* **The alliance** at the loosest boundaries, at its peak and fenced off: v1 {v1_all_loose}, "
        "{v1_all_peak} (at {v1_peak_at}) and {v1_all_rigid}; now {all_loose_n}, {all_peak_n} (at {peak_at}) "
        "and {all_rigid_n}.\n"
        "* **Dropout** at the same points: v1 {v1_drop_loose}, {v1_drop_peak} and {v1_drop_rigid}; now "
        "{drop_loose}, {drop_peak} and {drop_rigid}."))


if __name__ == "__main__":
    main()
