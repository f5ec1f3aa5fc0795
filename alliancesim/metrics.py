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

from .readout import Readout, readout

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


_SHARE = "share (0-1)"
#: The unit of each metric in :data:`METRICS` (``alliancesim metrics`` prints both).
METRIC_UNITS: dict[str, str] = {
    "weeks": "weeks", "client_weeks": "client-weeks", "sessions": "sessions", "clients": "clients",
    "clients_on_books": "clients", "sessions_per_week": "sessions/week", "maintenance_share": _SHARE,
    "dropout_share": _SHARE, "early_dropout_share": _SHARE, "finished_share": _SHARE,
    "referred_share": _SHARE, "improved_by_8": _SHARE, "improved_by_26": _SHARE,
    "depression_smd_course": "SD of distress", "depression_smd_single": "SD of distress",
    "rupture_share": _SHARE, "repaired_share": _SHARE, "countertransference_share": _SHARE,
    "mean_alliance": "0-1", "mean_quality": "0-1", "sessions_to_trust": "sessions",
    "talk_restricted_advantage": "SD of distress", "mean_burnout": "0-1", "burnout_departures": "therapists",
    "retirements": "therapists", "handover_clients": "clients", "stayed_with_successor": _SHARE,
    "moved_to_colleague": _SHARE, "left_at_handover": _SHARE, "recovery_weeks": "weeks",
}


def _share(num: float, den: float) -> float:
    return float(num) / float(den) if den else float("nan")


#: Prefix of the headline metrics in the model's DataCollector (``run_dropout_share``): there the
#: plain names are this week's values (``mean_alliance`` of the week), here they are the run's
#: (``mean_alliance`` over the second half), as in ``summary.json`` and sweeps.
RUN_PREFIX = "run_"


def record_headline(model: AllianceModel) -> dict[str, float]:
    """At the end of a run: its headline metrics as DataCollector model variables ``run_<metric>``
    (NaN in every week but the last), so that ``mesa.batch_run`` returns them with the last week's
    values.  When a run ends, :meth:`AllianceModel.step` has the collector call this the first time
    its columns are read.

    Returns
    -------
    dict
        ``{metric: value}`` for every metric in :data:`METRICS`.
    """
    headline = summary_metrics(model)
    columns = model.datacollector.model_vars
    weeks = max((len(v) for k, v in columns.items() if not k.startswith(RUN_PREFIX)), default=0)
    nan = float("nan")
    for name, value in headline.items():
        columns[RUN_PREFIX + name] = [nan] * (weeks - 1) + [value]
    return dict(headline)


def weekly_columns(model: AllianceModel) -> dict[str, list]:
    """The DataCollector's weekly model variables, without the run's ``run_<metric>`` ones."""
    return {k: v for k, v in model.datacollector.model_vars.items() if not k.startswith(RUN_PREFIX)}


def summary_metrics(model: AllianceModel) -> dict[str, float]:
    """Every metric in :data:`METRICS` for a run (NaN where a run gives no data).

    Computed from the model's own record arrays rather than from the pandas
    tables, so it stays fast and lean for sweeps of thousands of runs.  Computed once per
    model and week: :attr:`AllianceModel.headline`, :func:`record_headline` and the tables share it.
    """
    cached = getattr(model, "_summary_cache", None)
    if cached is not None and cached[0] == (model.steps, model.week):
        return dict(cached[1])
    out = _summary_metrics(model)
    model._summary_cache = ((model.steps, model.week), out)
    return dict(out)


def _summary_metrics(model: AllianceModel) -> dict[str, float]:
    out: dict[str, float] = {name: float("nan") for name in METRICS}
    out["weeks"] = float(model.week)
    out["client_weeks"] = float(model.client_weeks)
    read = readout(model)
    _weekly_metrics(model, read, out)
    rels = read.relationships
    if len(rels):
        _course_metrics(read, out)
        _handover_metrics(model, read, out)
        trust = rels["sessions_to_trust"]
        trust = trust[trust >= 0]
        out["sessions_to_trust"] = float(np.median(trust)) if trust.size else float("nan")
    rup = read.ruptures
    out["rupture_share"] = _share(len(rup), out["sessions"])
    out["repaired_share"] = _share(np.count_nonzero(rup["resolved_week"] >= 0), len(rup))
    out["countertransference_share"] = _share(np.count_nonzero(rup["cause"] == 2), len(rup))
    departed = [t for t in model.therapists_all if t.left_week is not None]
    out["burnout_departures"] = float(sum(1 for t in departed if t.leave_reason == "burnout"))
    out["retirements"] = float(sum(1 for t in departed if t.leave_reason == "retirement"))
    if len(read.sessions):
        _session_metrics(read, out)
    return out


def _weekly_metrics(model: AllianceModel, read: Readout, out: dict[str, float]) -> None:
    """Caseload and weekly means over the second half of the run."""
    col = read.weekly
    if not len(col["sessions"]):
        out["sessions"] = 0.0
        return
    out["sessions"] = float(col["sessions"].sum())
    week = np.arange(1, len(col["sessions"]) + 1)
    steady = week > STEADY_FROM * model.week
    if not steady.any():
        return
    sessions = col["sessions"][steady]
    out["clients_on_books"] = float(col["clients_on_books"][steady].mean())
    out["sessions_per_week"] = float(sessions.mean())
    out["maintenance_share"] = _share(col["maintenance_clients"][steady].sum(), col["clients_on_books"][steady].sum())
    if sessions.sum() > 0:
        for name in ("mean_alliance", "mean_quality"):
            out[name] = float(np.nansum(col[name][steady] * sessions) / sessions.sum())
    out["mean_burnout"] = float(np.nanmean(col["mean_burnout"][steady]))


def client_courses(read: Readout) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each client's course of treatment so far, one row per client who came at least once.

    Returns
    -------
    reasons : ndarray of str, shape (clients,)
        Why the client's last relationship ended (``"ongoing"`` while it lasts).
    goals_met : ndarray of bool, shape (clients,)
    sessions : ndarray of float, shape (clients,)
        Sessions over all the client's relationships (a handover or a referral continues a course).
    """
    rels, clients = read.relationships, read.clients
    client = rels["client"]
    last = np.full(len(clients), -1, dtype=np.int64)
    np.maximum.at(last, client, np.arange(len(rels)))
    last = last[last >= 0]
    sessions = np.bincount(client, weights=rels["sessions"], minlength=len(clients))[client[last]]
    return read.end_reasons[last], clients["goals_met"][client[last]], sessions


def dropout_sessions(read: Readout) -> np.ndarray:
    """Sessions held by each client whose treatment ended in a dropout (the *dropout* of
    ``dropout_share``: stopped coming before meeting their goals), shape (dropouts,)."""
    reasons, goals, sessions = client_courses(read)
    return sessions[(reasons == "dropout") & ~goals]


def _course_metrics(read: Readout, out: dict[str, float]) -> None:
    """Dropout, finishing and referral shares over clients whose treatment ended (their last relationship)."""
    out["clients"] = float(len(np.unique(read.relationships["client"])))
    reasons, goals, sessions = client_courses(read)
    ended = reasons != "ongoing"
    if not ended.any():
        return
    dropped = ended & (reasons == "dropout") & ~goals
    n_ended = int(ended.sum())
    out["dropout_share"] = _share(dropped.sum(), n_ended)
    out["early_dropout_share"] = _share((dropped & (sessions <= 2)).sum(), dropped.sum())
    out["finished_share"] = _share((ended & goals).sum(), n_ended)
    out["referred_share"] = _share((ended & (reasons == "referred_out")).sum(), n_ended)


def _handover_metrics(model: AllianceModel, read: Readout, out: dict[str, float]) -> None:
    outcomes = [r.handover_outcome for r in model.relationships if r.handover_outcome is not None]
    out["handover_clients"] = float(len(outcomes))
    if outcomes:
        n = len(outcomes)
        out["stayed_with_successor"] = outcomes.count("stayed_with_successor") / n
        out["moved_to_colleague"] = outcomes.count("moved_to_colleague") / n
        out["left_at_handover"] = outcomes.count("left") / n
        rels = read.relationships
        handed = ~np.isnan(rels["recovery_target"])
        weeks = rels["recovery_weeks"][handed]
        weeks = weeks[weeks >= 0]
        out["recovery_weeks"] = float(np.median(weeks)) if weeks.size else float("nan")


def _session_metrics(read: Readout, out: dict[str, float]) -> None:
    """Dose-response, depression SMDs and the talk-restricted comparison, per client course."""
    rels, clients, ses = read.relationships, read.clients, read.sessions
    n_clients, n_rels = len(clients), len(rels)
    rel, week, session = ses["relationship"], ses["week"], ses["session"]
    before, after = ses["distress_before"], ses["distress_after"]
    client = rels["client"][rel]
    # A client's course: their sessions in order, across relationships (handover included).
    # By client, week and session: one stable sort of a combined key gives np.lexsort's order (all
    # three are >= 0) at a third of its cost.
    order = np.argsort((client * (int(week.max()) + 1) + week) * (int(session.max()) + 1) + session, kind="stable")
    client, before_o, after_o = client[order], before[order], after[order]
    starts = np.flatnonzero(np.r_[True, client[1:] != client[:-1]])
    length = np.diff(np.r_[starts, client.size])
    course = np.arange(client.size) - np.repeat(starts, length) + 1
    start_distress = np.repeat(before_o[starts], length)
    clinical = start_distress >= CLINICAL_DISTRESS
    clinical_starts = before_o[starts][before_o[starts] >= CLINICAL_DISTRESS]
    if clinical_starts.size > 1:
        sd = float(clinical_starts.std(ddof=1))
        improved = (start_distress - after_o) >= IMPROVEMENT_SD * sd
        reached = np.zeros(n_clients, dtype=np.int64)
        reached[client[starts]] = length
        still_on = clients["relationship"] >= 0
        # Cumulative, as in a dose-response curve: improved at any session up to n, among everyone who
        # began, counting clients who left before session n with how they left; only courses still
        # running with fewer than n sessions are left out.
        clinical_clients = client[starts][before_o[starts] >= CLINICAL_DISTRESS]
        for k, name in ((8, "improved_by_8"), (26, "improved_by_26")):
            ever = np.zeros(n_clients, dtype=bool)
            hit = clinical & (course <= k) & improved
            ever[client[hit]] = True
            known = clinical_clients[(reached[clinical_clients] >= k) | ~still_on[clinical_clients]]
            out[name] = float(ever[known].mean()) if known.size else float("nan")
        if sd > 0:
            first = clinical & (course == 1)
            out["depression_smd_single"] = float((before_o[first] - after_o[first]).mean() / sd)
            eighth = clinical & (course == 8)
            if eighth.any():
                out["depression_smd_course"] = float((start_distress[eighth] - after_o[eighth]).mean() / sd)
    # Talk-restricted vs talk-laden therapists: fall in distress over a relationship's first six sessions.
    first_distress = np.full(n_rels, np.nan)
    sixth_distress = np.full(n_rels, np.nan)
    first_distress[rel[session == 1]] = before[session == 1]
    sixth_distress[rel[session == 6]] = after[session == 6]
    both = ~np.isnan(first_distress) & ~np.isnan(sixth_distress)
    if both.sum() > 10:
        fall = (first_distress - sixth_distress)[both]
        sd = float(first_distress[both].std(ddof=1))
        talk = read.therapists["talkativeness"][rels["therapist"][both]]
        quiet, laden = fall[talk < TALK_RESTRICTED_BELOW], fall[talk > TALK_LADEN_ABOVE]
        if quiet.size and laden.size and sd > 0:
            out["talk_restricted_advantage"] = float((quiet.mean() - laden.mean()) / sd)
