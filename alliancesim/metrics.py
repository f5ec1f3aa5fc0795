"""Headline figures of a run, computed from its tables.

:func:`summary_metrics` returns one flat ``{name: float}`` dict: what the CLI
prints, what ``summary.json`` holds, what a sweep stores per run and what
calibration compares with the published figures.  Each metric is defined in
:data:`METRICS` with a one-line description, so the docs can list them.

Definitions follow the sources where they give one:

* *dropout* is premature termination (Swift & Greenberg 2012): a client whose
  treatment ended because they stopped coming before meeting their goals;
* *improved* is a minimal important improvement: a fall in distress of at least
  half a standard deviation of starting distress (Norman, Sloan & Wyrwich 2003).
  *Improved by session n* is cumulative over everyone who began with distress
  of 10 or more: improved at any session up to n; clients who left earlier
  count with how they left; courses still running with fewer than n sessions
  are left out (Howard et al. 1986 report 50 % by session 8, 75 % by 26);
* the *standardised mean difference* of a course of massage on depression is
  the mean fall in distress over the first eight sessions divided by the SD of
  starting distress, among clients starting at 10 or more; the untreated
  comparison does not change on average in the model (relapse pulls towards the
  starting level), so this is the treated-minus-control SMD of Hou et al. 2010;
* a *rupture share* is the share of sessions in which a new rupture opened
  (Eubanks, Muran & Safran 2018: 19-42 % of sessions).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:  # pragma: no cover
    from .model import AllianceModel

#: Start of the steady-state window, as a share of the run (first year is the clinic filling up).
STEADY_FROM = 0.5
#: Improvement threshold in SDs of starting distress (Norman et al. 2003), and the clinical threshold.
IMPROVEMENT_SD, CLINICAL_DISTRESS = 0.5, 10.0
#: Talkativeness bands for the talk-restricted vs talk-laden comparison.
TALK_RESTRICTED_BELOW, TALK_LADEN_ABOVE = 0.4, 0.6

METRICS: dict[str, str] = {
    "weeks": "weeks simulated",
    "client_weeks": "client-weeks on the books (one client on a therapist's books for one week)",
    "sessions": "sessions held",
    "clients": "clients who came at least once",
    "clients_on_books": "mean clients on the books over the second half of the run",
    "sessions_per_week": "mean sessions per week over the second half of the run",
    "maintenance_share": "share of clients on the books who are maintenance clients (second half)",
    "dropout_share": "share of clients whose treatment ended that dropped out before meeting their goals",
    "early_dropout_share": "share of those dropouts that left after their first or second session",
    "finished_share": "share of clients whose treatment ended that finished with goals met",
    "referred_share": "share of clients whose treatment ended that were referred out of the clinic",
    "improved_by_8": "share of clients starting at distress >= 10 improved (half an SD) by session 8",
    "improved_by_26": "share of clients starting at distress >= 10 improved (half an SD) by session 26",
    "depression_smd_course": "fall in distress over the first 8 sessions / SD at start (distress >= 10)",
    "depression_smd_single": "fall in distress over the first session / SD at start (distress >= 10)",
    "rupture_share": "share of sessions in which a rupture opened",
    "repaired_share": "share of ruptures that were repaired",
    "countertransference_share": "share of ruptures caused by countertransference",
    "mean_alliance": "mean alliance in sessions (0-1), second half",
    "mean_quality": "mean session quality (0-1), second half",
    "sessions_to_trust": "median sessions until the bond reached the trust threshold",
    "talk_restricted_advantage": "extra fall in distress over six sessions with talk-restricted vs "
                                 "talk-laden therapists, in SD units",
    "mean_burnout": "mean therapist burnout (0-1), second half",
    "burnout_departures": "therapists who left through burnout",
    "retirements": "therapists who retired",
    "handover_clients": "clients on the books of a therapist when they left",
    "stayed_with_successor": "share of those who stayed with the successor",
    "moved_to_colleague": "share of those who moved to a colleague",
    "left_at_handover": "share of those who stopped coming",
    "recovery_weeks": "median weeks until a handed-over alliance recovered to 90 % of the old one",
}


def _share(num: float, den: float) -> float:
    return float(num) / float(den) if den else float("nan")


def summary_metrics(model: AllianceModel, tables: dict[str, pd.DataFrame] | None = None) -> dict[str, float]:
    """Every metric in :data:`METRICS` for a run (NaN where a run gives no data)."""
    from .tables import relationship_table, session_table, weekly_table

    tables = tables or {}
    weekly = tables.get("weekly")
    weekly = weekly_table(model) if weekly is None else weekly
    rel = tables.get("relationships")
    rel = relationship_table(model) if rel is None else rel
    ses = tables.get("sessions")
    ses = session_table(model) if ses is None else ses

    out: dict[str, float] = {name: float("nan") for name in METRICS}
    out["weeks"] = float(model.week)
    out["client_weeks"] = float(model.client_weeks)
    out["sessions"] = float(weekly["sessions"].sum()) if len(weekly) else 0.0
    out["clients"] = float(rel["client"].nunique()) if len(rel) else 0.0
    steady = weekly[weekly["week"] > STEADY_FROM * model.week] if len(weekly) else weekly
    if len(steady):
        out["clients_on_books"] = float(steady["clients_on_books"].mean())
        out["sessions_per_week"] = float(steady["sessions"].mean())
        out["maintenance_share"] = _share(steady["maintenance_clients"].sum(), steady["clients_on_books"].sum())
        w = steady["sessions"].to_numpy(float)
        if w.sum() > 0:
            out["mean_alliance"] = float(np.nansum(steady["mean_alliance"].to_numpy(float) * w) / w.sum())
            out["mean_quality"] = float(np.nansum(steady["mean_quality"].to_numpy(float) * w) / w.sum())
        out["mean_burnout"] = float(steady["mean_burnout"].mean())

    if len(rel):
        _course_metrics(rel, out)
        _handover_metrics(rel, out)
        trust = rel["sessions_to_trust"].dropna()
        out["sessions_to_trust"] = float(trust.median()) if len(trust) else float("nan")

    rup = model.Rup.data[: model.Rup.n]
    n_sessions = out["sessions"]
    out["rupture_share"] = _share(len(rup), n_sessions)
    out["repaired_share"] = _share(np.count_nonzero(rup["resolved_week"] >= 0), len(rup))
    out["countertransference_share"] = _share(np.count_nonzero(rup["cause"] == 2), len(rup))
    departed = [t for t in model.therapists_all if t.left_week is not None]
    out["burnout_departures"] = float(sum(1 for t in departed if t.leave_reason == "burnout"))
    out["retirements"] = float(sum(1 for t in departed if t.leave_reason == "retirement"))

    if len(ses):
        _session_metrics(ses, rel, out)
    return out


def _course_metrics(rel: pd.DataFrame, out: dict[str, float]) -> None:
    """Dropout, finishing and referral shares over clients whose treatment ended."""
    last = rel.sort_values("relationship_id").groupby("client", sort=False).tail(1)
    ended = last[last["end_reason"] != "ongoing"]
    if not len(ended):
        return
    sessions = rel.groupby("client")["sessions"].sum()
    dropped = ended[(ended["end_reason"] == "dropout") & ~ended["client_goals_met"]]
    out["dropout_share"] = _share(len(dropped), len(ended))
    out["early_dropout_share"] = _share((sessions.loc[dropped["client"]] <= 2).sum(), len(dropped))
    out["finished_share"] = _share(ended["client_goals_met"].sum(), len(ended))
    out["referred_share"] = _share((ended["end_reason"] == "referred_out").sum(), len(ended))


def _handover_metrics(rel: pd.DataFrame, out: dict[str, float]) -> None:
    handed = rel[rel["handover_outcome"].notna()]
    out["handover_clients"] = float(len(handed))
    if len(handed):
        counts = handed["handover_outcome"].value_counts()
        out["stayed_with_successor"] = _share(counts.get("stayed_with_successor", 0), len(handed))
        out["moved_to_colleague"] = _share(counts.get("moved_to_colleague", 0), len(handed))
        out["left_at_handover"] = _share(counts.get("left", 0), len(handed))
        rec = rel.loc[rel["recovery_target"].notna(), "recovery_weeks"].dropna()
        out["recovery_weeks"] = float(rec.median()) if len(rec) else float("nan")


def _session_metrics(ses: pd.DataFrame, rel: pd.DataFrame, out: dict[str, float]) -> None:
    """Dose-response, depression SMDs and the talk-restricted comparison, per client course."""
    # A client's course: their sessions in order, across relationships (handover included).
    ses = ses.sort_values(["client", "week", "session"], kind="stable")
    n = ses.groupby("client", sort=False).cumcount().to_numpy() + 1
    ses = ses.assign(course_session=n)
    first = ses[ses["course_session"] == 1].set_index("client")["distress_before"]
    clinical = first[first >= CLINICAL_DISTRESS]
    if len(clinical):
        sd = float(clinical.std(ddof=1)) if len(clinical) > 1 else float("nan")
        c = ses[ses["client"].isin(clinical.index)]
        start = clinical.reindex(c["client"]).to_numpy()
        improved = (start - c["distress_after"].to_numpy()) >= IMPROVEMENT_SD * sd
        c = c.assign(improved=improved)
        # Cumulative, as in a dose-response curve: improved at any session up to n, among everyone who
        # began, counting clients who left before session n with how they left; only courses still
        # running with fewer than n sessions are left out.
        reached = c.groupby("client", sort=False)["course_session"].max()
        still_on = set(rel.loc[rel["end_reason"] == "ongoing", "client"])
        for k, name in ((8, "improved_by_8"), (26, "improved_by_26")):
            ever = c[c["course_session"] <= k].groupby("client", sort=False)["improved"].any()
            known = [x for x in ever.index if reached[x] >= k or x not in still_on]
            out[name] = float(ever.loc[known].mean()) if known else float("nan")
        s1 = c[c["course_session"] == 1]
        s8 = c[c["course_session"] == 8]
        if sd > 0:
            out["depression_smd_single"] = float((s1["distress_before"] - s1["distress_after"]).mean() / sd)
            if len(s8):
                out["depression_smd_course"] = float(
                    (clinical.reindex(s8["client"]).to_numpy() - s8["distress_after"].to_numpy()).mean() / sd)
    # Talk-restricted vs talk-laden therapists: fall in distress over a relationship's first six sessions.
    six = ses[ses["session"] == 6][["relationship_id", "distress_after"]]
    firsts = ses[ses["session"] == 1][["relationship_id", "distress_before"]]
    both = firsts.merge(six, on="relationship_id").merge(
        rel[["relationship_id", "therapist_talkativeness"]], on="relationship_id")
    if len(both) > 10:
        fall = both["distress_before"] - both["distress_after"]
        sd = float(both["distress_before"].std(ddof=1))
        quiet = fall[both["therapist_talkativeness"] < TALK_RESTRICTED_BELOW]
        laden = fall[both["therapist_talkativeness"] > TALK_LADEN_ABOVE]
        if len(quiet) and len(laden) and sd > 0:
            out["talk_restricted_advantage"] = float((quiet.mean() - laden.mean()) / sd)
