"""Experiment 3: clients' earlier poor experiences vs the sessions needed to build trust.

Carey: "Some clients you connect with immediately, while others may take a few sessions. If a
client has had a history of less-than-satisfactory massage experiences it might take even longer
to build their trust."  Question: how many sessions does trust take, by the number of earlier
poor experiences a client brings, and what happens to the clinic as such clients become common?

Run-level figures come from the sweep (spec.toml: five levels of prior_negative_mean x 10
replicates).  The per-client estimate needs the relationship table: the replicates at
prior_negative_mean = 2.0 are re-run and each client's first relationship is followed until the
bond reaches the trust threshold (Kaplan-Meier; a client who left, or was still coming at the
end, without trusting is censored at the sessions they had).

    python experiments/03_prior_negative/run.py [--reduced] [--out DIR] [--workers N] [--fresh]
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import common as C  # noqa: E402

REDUCED = {"replicates": 2, "years": 1}
PER_CLIENT_LEVEL = 2.0
GROUPS = ["0", "1", "2", "3", "4+"]
COLOURS = ["#54a24b", "#4c78a8", "#b279a2", "#f58518", "#e45756"]


def first_relationships(model, row) -> pd.DataFrame:
    """Each client's first relationship: earlier poor experiences, starting bond, trust, how it ended."""
    from alliancesim.tables import relationship_table

    rt = relationship_table(model).sort_values("relationship_id")
    first = rt.drop_duplicates("client", keep="first")
    trust = first["sessions_to_trust"].astype("Float64")
    return pd.DataFrame({
        "key": row["key"],
        "prior_negative": first["client_prior_negative"].to_numpy(dtype=int),
        "bond_start": first["bond_start"].to_numpy(dtype=float),
        "trusted": trust.notna().to_numpy(),
        # sessions until trust, or (censored) the sessions the client had without reaching it
        "sessions": np.where(trust.notna(), trust.fillna(0).to_numpy(dtype=float),
                             first["sessions"].to_numpy(dtype=float)),
        "ended": (first["end_reason"] != "ongoing").to_numpy(),
        "dropout": (first["end_reason"] == "dropout").to_numpy(),
        "to_colleague": (first["end_reason"] == "referred_to_colleague").to_numpy(),
    })


def main(argv=None) -> None:
    ctx = C.parse_args(__file__, argv)
    spec = C.load_spec(ctx, REDUCED)
    runs = C.run_sweep(ctx, spec)
    metrics = ["sessions_to_trust", "dropout_share", "early_dropout_share", "referred_share", "mean_alliance",
               "improved_by_8"]
    table = C.summarise(runs, "prior_negative_mean", metrics)

    sub = runs[runs["prior_negative_mean"] == PER_CLIENT_LEVEL]
    sub = C.first_replicates(sub, ctx.size(len(sub), 2))
    clients = pd.concat(C.rerun(ctx, sub, first_relationships, check="sessions_to_trust"), ignore_index=True)
    clients["group"] = np.where(clients["prior_negative"] >= 4, "4+", clients["prior_negative"].astype(str))

    rows = []
    for g in GROUPS:
        d = clients[clients["group"] == g]
        row = {"prior_negative": g, "clients": len(d)}
        row.update(C.cluster_bootstrap(d, {
            "bond_start": lambda x: x["bond_start"].mean(),
            "km_median_sessions_to_trust": lambda x: C.km_median(x["sessions"], x["trusted"]),
            "trusting_by_session_4": lambda x: C.km_share_by(x["sessions"], x["trusted"], 4),
            "trusting_by_session_12": lambda x: C.km_share_by(x["sessions"], x["trusted"], 12),
            "median_among_trusting": lambda x: x.loc[x["trusted"], "sessions"].median(),
            "ended_without_trust": lambda x: (x["ended"] & ~x["trusted"]).mean(),
            "dropout": lambda x: x["dropout"].mean(),
            "referred_to_colleague": lambda x: x["to_colleague"].mean(),
        }, n=ctx.bootstrap))
        rows.append(row)
    per_client = pd.DataFrame(rows)

    # ---- figure -------------------------------------------------------------------------
    fig, (a, b, c) = C.figure(3, 1, size=(13.5, 4.3))
    for g, col in zip(GROUPS, COLOURS):
        d = clients[clients["group"] == g]
        if not len(d):
            continue
        times, surv = C.kaplan_meier(d["sessions"], d["trusted"])
        a.step(np.r_[0, times], np.r_[0, 1 - surv], where="post", color=col, label=f"{g} ({len(d)} clients)")
    a.set_xlim(0, 30)
    a.set_ylim(0, 1)
    a.set_xlabel("sessions with the therapist")
    a.set_ylabel("share of clients who trust the therapist")
    a.set_title(f"Earlier poor experiences (clinic mean {PER_CLIENT_LEVEL:g}, {len(sub)} runs)", fontsize=10)
    a.legend(title="earlier poor experiences", fontsize=8, title_fontsize=8)
    a.grid(alpha=0.3)
    x = np.arange(len(GROUPS))
    C.errorbar(b, x, per_client["km_median_sessions_to_trust"], per_client["km_median_sessions_to_trust_lo"],
               per_client["km_median_sessions_to_trust_hi"], color="black",
               label="median, counting clients who left first (Kaplan-Meier)")
    C.errorbar(b, x + 0.1, per_client["median_among_trusting"], per_client["median_among_trusting_lo"],
               per_client["median_among_trusting_hi"], color="#9e9e9e", ls="--", marker="s",
               label="median among clients who got there")
    b.set_xticks(x, GROUPS)
    b.set_xlabel("earlier poor experiences")
    b.set_ylabel("sessions until trust")
    b.set_title("Sessions to trust", fontsize=10)
    b.legend(fontsize=8)
    b.grid(alpha=0.3)
    b2 = b.twinx()
    b2.bar(x, per_client["ended_without_trust"], 0.5, color="#e45756", alpha=0.25)
    b2.set_ylim(0, 1)
    b2.set_ylabel("share whose course ended without trust (bars)", color="#e45756")
    b.set_zorder(b2.get_zorder() + 1)
    b.patch.set_visible(False)
    b.set_ylim(bottom=0)
    xs = table["prior_negative_mean"]
    C.errorbar(c, xs, table["sessions_to_trust"], table["sessions_to_trust_lo"], table["sessions_to_trust_hi"],
               color="black", label="run median sessions to trust (left axis)")
    c.set_xlabel("clinic mean of earlier poor experiences")
    c.set_ylabel("sessions")
    c.set_ylim(bottom=0)
    c2 = c.twinx()
    C.errorbar(c2, xs, table["dropout_share"], table["dropout_share_lo"], table["dropout_share_hi"],
               color="#e45756", ls="--", marker="s", label="dropout share (right axis)")
    C.errorbar(c2, xs, table["mean_alliance"], table["mean_alliance_lo"], table["mean_alliance_hi"],
               color="#4c78a8", ls=":", marker="^", label="mean alliance (right axis)")
    c2.set_ylim(0, 1)
    c.set_title(f"The clinic ({spec.replicates} runs per level)", fontsize=10)
    handles = c.get_legend_handles_labels()[0] + c2.get_legend_handles_labels()[0]
    c.legend(handles=handles, fontsize=8, loc="lower left")
    c.grid(alpha=0.3)
    fig.suptitle("Experiment 3: earlier poor experiences and trust (error bars: 95 % CI)", fontsize=11)
    C.save_figure(ctx, fig, "prior_negative.png")

    # ---- tables -------------------------------------------------------------------------
    C.write_table(ctx, table, "table", title="Experiment 3: the clinic by mean earlier poor experiences",
                  text=C.with_ci(table, metrics, 3),
                  notes=["sessions_to_trust is each run's median over relationships that reached trust."])
    pc_metrics = ["bond_start", "km_median_sessions_to_trust", "trusting_by_session_4", "trusting_by_session_12",
                  "median_among_trusting", "ended_without_trust", "dropout", "referred_to_colleague"]
    C.write_table(ctx, per_client, "per_client",
                  title=f"Experiment 3: clients' first relationship by earlier poor experiences "
                        f"(clinic mean {PER_CLIENT_LEVEL:g}, {len(sub)} re-runs)",
                  text=C.with_ci(per_client, pc_metrics, 2),
                  notes=["Kaplan-Meier over each client's first relationship; a client who left, or was still "
                         "coming at the end, without trusting is censored. Intervals: cluster bootstrap over "
                         "runs."])
    C.finish(ctx, {"replicates": int(spec.replicates), "years": spec.years, "rerun_runs": len(sub)},
             prose=results, headline=HEADLINE)



#: The README's row: the question, and the answer filled from the placeholders of :func:`results`.
HEADLINE = ("do earlier poor experiences slow trust?",
            "median sessions to trust {k_0} with none, {k_1} with one, {k_2} with two, {k_4} with four or more")

LEVELS = {"0": "0", "1": "1", "2": "2", "3": "3", "4": "4+"}


def results(p: C.Prose) -> None:
    """Fill RESULTS.template.md from the tables just written (and the frozen v1 tables)."""
    p.facts()
    pc = p.table("per_client.csv").set_index("prior_negative")
    for k, level in LEVELS.items():
        row = {"prior_negative": level}
        if np.isfinite(pc.loc[level, "km_median_sessions_to_trust"]):
            p.ci(f"k_{k}_ci", "per_client.csv", row, "km_median_sessions_to_trust", 0)
            p.num(f"k_{k}", "per_client.csv", row, "km_median_sessions_to_trust", 0)
        else:  # fewer than half ever reached trust: the Kaplan-Meier median does not exist
            p.word(f"k_{k}_ci", "never for half of them")
            p.word(f"k_{k}", "never for half")
        p.num(f"bond_{k}", "per_client.csv", row, "bond_start")
        p.num(f"never_{k}", "per_client.csv", row, "ended_without_trust")
        p.num(f"pdrop_{k}", "per_client.csv", row, "dropout")
        p.num(f"ref_{k}", "per_client.csv", row, "referred_to_colleague")
        p.num(f"among_{k}", "per_client.csv", row, "median_among_trusting", 0)
        p.num(f"clients_{k}", "per_client.csv", row, "clients", 0)
        for col, d in (("km_median_sessions_to_trust", 0), ("ended_without_trust", 2), ("dropout", 2),
                       ("referred_to_colleague", 2)):
            p.num(f"v1_{col}_{k}", "mechanisms_v1/per_client.csv", row, col, d)
    p.span("pdrop_span", "per_client.csv", ["prior_negative"], None, "dropout")
    for m, k in ((0.0, "m0"), (0.6, "m06"), (2.0, "m2"), (3.0, "m3")):
        row = {"prior_negative_mean": m}
        p.num(f"trust_{k}", "table.csv", row, "sessions_to_trust", 1)
        p.num(f"all_{k}", "table.csv", row, "mean_alliance", 3)
        p.num(f"imp_{k}", "table.csv", row, "improved_by_8", 3)
        p.num(f"drop_{k}", "table.csv", row, "dropout_share", 3)
        p.num(f"early_{k}", "table.csv", row, "early_dropout_share")
        p.num(f"refer_{k}", "table.csv", row, "referred_share", 3)
        for col, d in (("sessions_to_trust", 1), ("mean_alliance", 3), ("dropout_share", 3),
                       ("early_dropout_share", 2)):
            p.num(f"v1_{col}_{k}", "mechanisms_v1/table.csv", row, col, d)
    p.span("early_span", "table.csv", ["prior_negative_mean"], None, "early_dropout_share")
    p.span("v1_pdrop_span", "mechanisms_v1/per_client.csv", ["prior_negative"], None, "dropout")
    for k in ("0", "4"):
        p.num(f"v1_bond_{k}", "mechanisms_v1/per_client.csv", {"prior_negative": LEVELS[k]}, "bond_start")

    # Which way the numbers point decides the words; the numbers themselves stay quoted.
    def verdicts(table: str) -> tuple[bool, bool]:
        pc = p.table(table).set_index("prior_negative")
        k = pc["km_median_sessions_to_trust"].reindex(list(LEVELS.values())).to_numpy(dtype=float)
        k = np.where(np.isfinite(k), k, np.inf)  # no median: fewer than half ever trust
        slows = bool(np.all(k[1:] >= k[:-1]) and k[-1] > k[0])
        d = pc["dropout"]
        flat = bool(d.max() - d.min() < 0.05)
        return slows, flat

    slows, flat = verdicts("per_client.csv")
    v1_slows, v1_flat = verdicts("mechanisms_v1/per_client.csv")
    p.word("slows_verdict", "Each earlier poor experience slows trust." if slows else
           "Earlier poor experiences do not slow trust steadily.")
    p.word("leave_verdict", "is nearly flat at" if flat else "varies, at")
    same = (slows == v1_slows) and (flat == v1_flat)
    levels = list(LEVELS.values())
    k2, k1 = (p.table(f).set_index("prior_negative").reindex(levels)
              for f in ("per_client.csv", "mechanisms_v1/per_client.csv"))
    med = "km_median_sessions_to_trust"
    slower = bool(np.all(k2[med].fillna(np.inf).to_numpy() >= k1[med].fillna(np.inf).to_numpy()))
    never = bool(np.all(k2["ended_without_trust"].to_numpy() > k1["ended_without_trust"].to_numpy()))
    parts = ["Each earlier poor experience still slows trust." if slows and v1_slows else
             "Earlier poor experiences slow trust now, as they did not steadily in v1." if slows else
             "A conclusion changed: earlier poor experiences no longer slow trust steadily."]
    if flat != v1_flat:
        parts.append("A conclusion changed: dropout from the first relationship "
                     + ("now " + ("rises" if pc.loc["4+", "dropout"] > pc.loc["0", "dropout"] else "varies")
                        + " with the count ({pdrop_0} with none, {pdrop_4} with four or more), where v1 "
                        "found it flat ({v1_pdrop_span})." if not flat else
                        "is now flat ({pdrop_span}), where v1 found it varying ({v1_pdrop_span})."))
    if slower or never:
        parts.append("Trust now takes longer at every count" if slower else "More clients never reach trust")
        parts[-1] += (" and more clients never reach it" if slower and never else "") + (
            "; with several earlier poor experiences fewer than half ever do."
            if k2[med].isna().any() and not k1[med].isna().any() else ".")
    p.text("v2_verdict", " ".join(parts))
    p.text("v2_note", (
        "{v2_verdict}\n\n"
        "* **Trust.** Median sessions to trust with none, two and four or more earlier poor experiences: "
        "v1 {v1_km_median_sessions_to_trust_0}, {v1_km_median_sessions_to_trust_2} and "
        "{v1_km_median_sessions_to_trust_4}; now {k_0}, {k_2} and {k_4}. Starting bond with none and with four "
        "or more: v1 {v1_bond_0} and {v1_bond_4}; now {bond_0} and {bond_4}. Ended without ever trusting: v1 "
        "{v1_ended_without_trust_0}, {v1_ended_without_trust_2} and {v1_ended_without_trust_4}; now "
        "{never_0}, {never_2} and {never_4}.\n"
        "* **Leaving.** Dropout from the first relationship: v1 {v1_pdrop_span}, now {pdrop_span}; referral "
        "to a colleague with four or more: v1 {v1_referred_to_colleague_4}, now {ref_4}.\n"
        "* **The clinic** from mean 0 to 3: mean alliance v1 {v1_mean_alliance_m0} to {v1_mean_alliance_m3}, "
        "now {all_m0} to {all_m3}; dropout v1 {v1_dropout_share_m0} to {v1_dropout_share_m3}, now {drop_m0} "
        "to {drop_m3}."))


if __name__ == "__main__":
    main()
