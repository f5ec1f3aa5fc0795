"""Experiment 4: talk-restricted vs talk-laden therapists vs distress reduction, by client talk preference.

Moyer (2007): talk-restricted massage gave larger reductions in distress than talk-permitted
massage.  Clark (2019): a client can feel pressed by constant talk, and a secure client is
comfortable with silence.  Question: do clients of quiet therapists do better, and does it
depend on how much the client likes to talk?

Run-level figures come from the sweep (spec.toml: three therapist talk styles x three client
mixes x 8 replicates).  The client-by-client comparison needs the session table: the runs with
the default client mix are re-run and each relationship's fall in distress over its first six
sessions is compared by the client's own talk preference (as in the calibration of Moyer's
finding, in units of the SD of starting distress).

    python experiments/04_talk/run.py [--reduced] [--out DIR] [--workers N] [--fresh]
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import common as C  # noqa: E402

REDUCED = {"replicates": 2, "years": 1}
STYLES = {0.15: "talk-restricted (0.15)", 0.5: "middling (0.5)", 0.85: "talk-laden (0.85)"}
COLOURS = {0.15: "#54a24b", 0.5: "#9e9e9e", 0.85: "#e45756"}
BANDS = [0.0, 0.3, 0.5, 1.0001]
BAND_LABELS = ["quiet (under 0.3)", "middling (0.3-0.5)", "chatty (0.5 and over)"]
DEFAULT_MIX = 0.4


def six_sessions(model, row) -> pd.DataFrame:
    """Relationships with at least six sessions: distress before the first and after the sixth."""
    from alliancesim.tables import relationship_table, session_table

    ses = session_table(model)
    ses = ses[ses["session"] <= 6]
    first = ses[ses["session"] == 1].set_index("relationship_id")["distress_before"]
    sixth = ses[ses["session"] == 6].set_index("relationship_id")["distress_after"]
    fit = ses.groupby("relationship_id")["talk_fit"].mean()
    talk = ses.groupby("relationship_id")["talk_share"].mean()
    both = pd.concat([first.rename("d0"), sixth.rename("d6"), fit.rename("talk_fit"),
                      talk.rename("talk_share")], axis=1, join="inner")
    rt = relationship_table(model).set_index("relationship_id")
    both = both.join(rt[["client_talk_preference", "therapist_talkativeness", "client_need"]])
    both["key"] = row["key"]
    both["replicate"] = row["replicate"]
    both["style"] = row["talkativeness_mean"]
    return both.reset_index()


def main(argv=None) -> None:
    ctx = C.parse_args(__file__, argv)
    spec = C.load_spec(ctx, REDUCED)
    runs = C.run_sweep(ctx, spec)
    metrics = ["depression_smd_course", "improved_by_8", "mean_alliance", "mean_quality", "dropout_share",
               "countertransference_share"]
    by = ["talkativeness_mean", "talk_preference_mean"]
    table = C.summarise(runs, by, metrics)

    sub = runs[runs["talk_preference_mean"] == DEFAULT_MIX]
    sub = C.first_replicates(sub, ctx.size(spec.replicates, 1))
    rel = pd.concat(C.rerun(ctx, sub, six_sessions, check="depression_smd_course"), ignore_index=True)
    sd = float(rel["d0"].std(ddof=1))  # one yardstick for every group: SD of starting distress, pooled
    rel["fall_sd"] = (rel["d0"] - rel["d6"]) / sd
    rel["band"] = pd.cut(rel["client_talk_preference"], BANDS, labels=BAND_LABELS, right=False)
    rows = []
    for style in STYLES:
        for band in BAND_LABELS:
            d = rel[(rel["style"] == style) & (rel["band"] == band)]
            row = {"therapists": STYLES[style], "clients": band, "relationships": len(d),
                   "clinical_relationships": int((d["d0"] >= 10).sum())}
            row.update(C.cluster_bootstrap(d, {
                "fall_sd": lambda x: x["fall_sd"].mean(),
                "fall_sd_clinical": lambda x: x.loc[x["d0"] >= 10, "fall_sd"].mean(),
                "talk_fit": lambda x: x["talk_fit"].mean(),
            }, n=ctx.bootstrap))
            rows.append(row)
    per_rel = pd.DataFrame(rows)
    # Moyer's comparison, by band: talk-restricted minus talk-laden (bootstrap over replicates, each
    # holding one run of each style).
    adv = []
    for band in BAND_LABELS + ["all clients"]:
        d = rel if band == "all clients" else rel[rel["band"] == band]
        quiet, laden = d[d["style"] == 0.15], d[d["style"] == 0.85]
        stat = C.cluster_bootstrap(
            pd.concat([quiet, laden]),
            {"advantage": lambda x: (x.loc[x["style"] == 0.15, "fall_sd"].mean()
                                     - x.loc[x["style"] == 0.85, "fall_sd"].mean())},
            n=ctx.bootstrap, cluster="replicate")
        adv.append({"clients": band, "restricted": len(quiet), "laden": len(laden), **stat})
    adv = pd.DataFrame(adv)

    # ---- figure -------------------------------------------------------------------------
    fig, (a, b, c) = C.figure(3, 1, size=(13.5, 4.4))
    x = np.arange(len(BAND_LABELS))
    w = 0.26
    for i, style in enumerate(STYLES):
        t = per_rel[per_rel["therapists"] == STYLES[style]]
        a.bar(x + (i - 1) * w, t["fall_sd"], w, color=COLOURS[style], label=STYLES[style])
        C.errorbar(a, x + (i - 1) * w, t["fall_sd"], t["fall_sd_lo"], t["fall_sd_hi"], fmt="none",
                   color="black", lw=1)
        b.bar(x + (i - 1) * w, t["talk_fit"], w, color=COLOURS[style], label=STYLES[style])
        C.errorbar(b, x + (i - 1) * w, t["talk_fit"], t["talk_fit_lo"], t["talk_fit_hi"], fmt="none",
                   color="black", lw=1)
    for ax in (a, b):
        ax.set_xticks(x, [lab.replace(" (", "\n(") for lab in BAND_LABELS])
        ax.set_xlabel("clients, by how much they like to talk")
        ax.legend(title="therapists", fontsize=7, title_fontsize=7, ncols=3, loc="upper center")
    a.set_ylim(0, 1.3 * float(np.nanmax(per_rel["fall_sd_hi"].fillna(per_rel["fall_sd"]))))
    a.set_ylabel("fall in distress over six sessions (SD units)")
    a.set_title(f"Distress relief ({len(sub) // len(STYLES)} runs per style, default client mix)", fontsize=10)
    b.set_ylabel("talk fit (1 = the talk the client wants)")
    b.set_ylim(0, 1.25)
    b.set_title("How well the talk suits the client", fontsize=10)
    for style in STYLES:
        t = table[table["talkativeness_mean"] == style]
        C.errorbar(c, t["talk_preference_mean"] + (list(STYLES).index(style) - 1) * 0.006,
                   t["depression_smd_course"], t["depression_smd_course_lo"], t["depression_smd_course_hi"],
                   color=COLOURS[style], label=STYLES[style])
    c.set_xlabel("clinic's mean client talk preference")
    c.set_ylabel("fall in depression over 8 sessions (SMD)")
    c.set_title(f"The clinic ({spec.replicates} runs per point)", fontsize=10)
    c.legend(title="therapists", fontsize=8, title_fontsize=8)
    c.grid(alpha=0.3)
    fig.suptitle("Experiment 4: talk-restricted vs talk-laden therapists (error bars: 95 % CI)", fontsize=11)
    C.save_figure(ctx, fig, "talk.png")

    # ---- tables -------------------------------------------------------------------------
    C.write_table(ctx, per_rel, "per_client",
                  title="Experiment 4: fall in distress over the first six sessions, by client talk preference",
                  text=C.with_ci(per_rel, ["fall_sd", "fall_sd_clinical", "talk_fit"], 3),
                  notes=[f"Relationships with at least six sessions, default client mix (talk_preference_mean "
                         f"{DEFAULT_MIX}); falls in units of the pooled SD of starting distress ({sd:.2f} points). "
                         "fall_sd_clinical: clients starting at 10 or more. Intervals: cluster bootstrap over runs."])
    C.write_table(ctx, adv, "advantage",
                  title="Experiment 4: talk-restricted minus talk-laden, fall in distress (SD units)",
                  text=C.with_ci(adv, ["advantage"], 3))
    C.write_table(ctx, table, "table", title="Experiment 4: the clinic by therapist talk style and client mix",
                  text=C.with_ci(table, metrics, 3))
    C.finish(ctx, {"replicates": int(spec.replicates), "years": spec.years, "rerun_runs": len(sub),
                   "distress_sd": sd},
             prose=results, headline=HEADLINE)



#: The README's row: the question, and the answer filled from the placeholders of :func:`results`.
HEADLINE = ("do talk-restricted therapists relieve more distress, and for whom?",
            "advantage of talk-restricted therapists over six sessions: {adv_all_n} SD overall, {adv_quiet_n} for "
            "quiet clients, {adv_chatty_n} for chatty ones")

NOTE_GROUPS = {"quiet": "quiet (under 0.3)", "middling": "middling (0.3-0.5)", "chatty": "chatty (0.5 and over)",
          "all": "all clients"}
NOTE_STYLES = {"r": "talk-restricted (0.15)", "l": "talk-laden (0.85)"}


def results(p: C.Prose) -> None:
    """Fill RESULTS.template.md from the tables just written (and the frozen v1 tables)."""
    p.facts({"distress_sd": 2})
    for g, label in NOTE_GROUPS.items():
        p.ci(f"adv_{g}", "advantage.csv", {"clients": label}, "advantage", 3)
        p.num(f"adv_{g}_n", "advantage.csv", {"clients": label}, "advantage", 3)
        p.num(f"v1_adv_{g}", "mechanisms_v1/advantage.csv", {"clients": label}, "advantage", 3)
        if g != "all":
            for s, style in NOTE_STYLES.items():
                row = {"therapists": style, "clients": label}
                p.num(f"fit_{s}_{g}", "per_client.csv", row, "talk_fit")
                p.num(f"fall_{s}_{g}", "per_client.csv", row, "fall_sd")
    for tp, mix in ((0.2, "quiet"), (0.4, "default"), (0.6, "chatty")):
        for tk, s in ((0.15, "r"), (0.85, "l")):
            row = {"talkativeness_mean": tk, "talk_preference_mean": tp}
            p.ci(f"smd_{s}_{mix}", "table.csv", row, "depression_smd_course")
            p.num(f"smd_{s}_{mix}_n", "table.csv", row, "depression_smd_course")
            p.num(f"drop_{s}_{mix}", "table.csv", row, "dropout_share")
            p.num(f"all_{s}_{mix}", "table.csv", row, "mean_alliance", 3)
            p.num(f"v1_smd_{s}_{mix}", "mechanisms_v1/table.csv", row, "depression_smd_course")
            p.num(f"v1_drop_{s}_{mix}", "mechanisms_v1/table.csv", row, "dropout_share")

    # Which way the numbers point decides the words; the numbers themselves stay quoted.
    def verdict(group: str, table: str = "advantage.csv") -> str:
        r = p.table(table).set_index("clients").loc[NOTE_GROUPS[group]]
        if r["advantage_lo"] > 0:
            return "quiet therapists clearly ahead"
        if r["advantage_hi"] < 0:
            return "talk-laden therapists clearly ahead"
        return "no clear difference"

    p.word("all_verdict", verdict("all"))
    p.word("chatty_verdict", verdict("chatty"))
    p.word("quiet_verdict", verdict("quiet"))
    same = all(verdict(g) == verdict(g, "mechanisms_v1/advantage.csv") for g in NOTE_GROUPS)
    p.word("v2_verdict", "The conclusions hold: the same groups show a clear advantage or none as in v1."
           if same else "A conclusion changed: " + "; ".join(
               f"{NOTE_GROUPS[g]} clients: {verdict(g, 'mechanisms_v1/advantage.csv')} in v1, {verdict(g)} now"
               for g in NOTE_GROUPS if verdict(g) != verdict(g, "mechanisms_v1/advantage.csv")) + ".")
    adv = p.table("advantage.csv").set_index("clients").loc[NOTE_GROUPS["all"], "advantage"]
    v1_adv = p.table("mechanisms_v1/advantage.csv").set_index("clients").loc[NOTE_GROUPS["all"], "advantage"]
    # Cohen's conventions for a standardised difference
    p.word("size_word", "small" if abs(adv) < 0.2 else "moderate" if abs(adv) < 0.5 else "large")
    p.word("size_change", "The advantage is much larger than in v1: in v2 relief is carried by the alliance "
           "and a misattuned session can add distress (harm in care), so a poor talk fit costs much more."
           if abs(adv) > 2 * abs(v1_adv) else
           "The advantage is much smaller than in v1." if abs(adv) < abs(v1_adv) / 2 else
           "The advantage is of a similar size as in v1.")
    p.text("v2_note", (
        "{v2_verdict} {size_change}\n\n"
        "* **Advantage of talk-restricted therapists over six sessions** (SD): v1 {v1_adv_all} overall, "
        "{v1_adv_quiet} for quiet clients, {v1_adv_chatty} for chatty ones; now {adv_all_n}, {adv_quiet_n} "
        "and {adv_chatty_n}.\n"
        "* **The clinic** (fall in depression over a course, default client mix): v1 {v1_smd_r_default} with "
        "quiet therapists against {v1_smd_l_default} with talk-laden ones; now {smd_r_default_n} against "
        "{smd_l_default_n}. Dropout: v1 {v1_drop_r_default} against {v1_drop_l_default}; now {drop_r_default} "
        "against {drop_l_default}."))


if __name__ == "__main__":
    main()
