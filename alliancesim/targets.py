"""Calibration targets, measured the way the literature measures them, from a run's raw tables.

Every published figure the model is calibrated against is a :class:`Target` in :data:`TARGETS`:
its published value, its band (what we accept as "near"), its source, and its definition written
in terms of the columns of the output tables (:mod:`alliancesim.tables`).  :func:`measure` turns
one run's ``sessions`` and ``relationships`` tables into one value per target;
:func:`alliancesim.calibration.calibrate` runs several seeds and aggregates.

Nothing here reads the model's internals: only the two tables, so the measurement stays the same
whatever the mechanisms that produce them.

The unit: a *course*
--------------------
A **course** is one client's treatment: the client's relationships (``relationships.client``)
in order of ``start_week``, as long as each ended in a way that continues the treatment
(:data:`CONTINUATIONS`: a handover to a successor, a referral to a colleague); any other ending
closes the course, and a client who comes back later starts a new one.  Its sessions are its
relationships' rows of the session table in order of (``week``, ``relationship_id``,
``session``), numbered 1, 2, ... as *course sessions*.  Courses with no session are left out
(the client never started).

* *start distress*: ``distress_before`` at course session 1 (PHQ-9-like, 0-27);
* *end distress*: ``distress_after`` at the course's last session. A course still running when the
  run ends is measured at its latest session, as an intention-to-treat analysis with the last
  observation carried forward would; leaving them out would keep only short courses (the run is
  right-censored), and measuring them at the run's last week would count relapse after the last
  session, which no trial's post-treatment assessment does;
* *fall in distress*: start distress minus end distress (positive is better);
* *how it ended*: ``end_reason`` of the course's last relationship (``"ongoing"`` if it is still
  running), with ``client_goals_met`` (a client flag: for a client with two courses, as at the
  end of the run);
* *therapist*: the ``therapist`` of the course's sessions; courses seen by more than one therapist
  (about 3 %) are left out of the therapist effect only;
* *occasional visitors* (``client_need`` ``"occasional"``: relaxation, a one-off, a voucher) are
  not in treatment and are left out of every target, sessions included.

Thresholds: a **reliable change** is a change of at least 5 points
(:data:`RELIABLE_CHANGE`, the PHQ-9's minimal important / reliable change), and a **clinical**
start is a start distress of at least 10 (:data:`CLINICAL_DISTRESS`, the PHQ-9 cut-off for
moderate depression).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

#: Points of PHQ-9 change that count as reliable (improvement or deterioration).
RELIABLE_CHANGE = 5.0
#: Start distress from which a client counts as clinically distressed (Howard's curve, the SMD).
CLINICAL_DISTRESS = 10.0
#: Sessions of the dose-response curve (Howard et al. 1986 report up to session 26).
CURVE_SESSIONS = 26
#: Course session at which the early alliance is measured (Flückiger et al. 2018: typically session 3).
ALLIANCE_SESSION = 3
#: Courses shorter than this are left out of the alliance-outcome correlation.
ALLIANCE_MIN_SESSIONS = 4
#: Course session up to which the massage course effect (Hou et al. 2010) is measured.
SMD_SESSION = 8
#: Course session up to which the talk-restricted comparison (Moyer 2007) is measured.
TALK_SESSION = 6
#: End reasons that mean the client decided to stop or completed (dropout's denominator).
CLIENT_ENDINGS = ("dropout", "finished", "completed", "maintenance_ended")
#: Client needs that are not a course of treatment (``relationships.client_need``): occasional
#: visitors (relaxation, a one-off sore neck, a gift voucher) are left out of every target, as
#: the studies behind the targets only follow clients in treatment.
NOT_TREATMENT = ("occasional",)
#: End reasons after which the same course continues with another therapist.
CONTINUATIONS = ("therapist_left", "referred_to_colleague")
#: Every other end reason the tables use: decided by the therapist or by life, or not ended yet.
#: An end reason in neither list is an error, so a new way of ending must be classified here.
OTHER_ENDINGS = ("ongoing", "referred_out", "referred_to_colleague", "therapist_left", "moved_away")


@dataclass(frozen=True)
class Target:
    """One published figure.

    Attributes
    ----------
    name : identifier (the column of :func:`measure`'s result).
    label : short human name.
    published : the published value (NaN where the source gives a range only).
    low, high : the band we accept; NaN for a figure that is reported, not fitted.
    source : who published it.
    definition : how it is measured, in terms of table columns.
    fit : whether it enters the fit's distance (see :mod:`alliancesim.fit`).
    """

    name: str
    label: str
    published: float
    low: float
    high: float
    source: str
    definition: str
    fit: bool = True

    @property
    def centre(self) -> float:
        """The value the fit aims at: the published one, else the middle of the band."""
        return self.published if math.isfinite(self.published) else (self.low + self.high) / 2

    @property
    def half_width(self) -> float:
        """Half the band's width: one unit of deviation in the fit's distance."""
        return (self.high - self.low) / 2

    @property
    def banded(self) -> bool:
        return math.isfinite(self.low) and math.isfinite(self.high)

    def inside(self, value: float) -> bool | None:
        """Whether ``value`` is inside the band (None for a reported-only figure or a missing value)."""
        if not self.banded or not math.isfinite(value):
            return None
        return bool(self.low <= value <= self.high)


NAN = float("nan")

#: The targets, in the order of the calibration table.
TARGETS: tuple[Target, ...] = (
    Target("dropout", "premature termination (dropout)", 0.197, 0.187, 0.207,
           "Swift & Greenberg 2012 (669 studies)",
           "share of courses ended by the client's decision or completion (last end_reason in "
           "dropout, finished, completed, maintenance_ended) whose last end_reason is dropout with "
           "client_goals_met false"),
    Target("dropout_early", "dropouts after session 1 or 2 (front-loading)", NAN, NAN, NAN,
           "Swift & Greenberg 2012; Simon et al. 2012",
           "share of those dropouts whose course had 1 or 2 sessions (reported, not fitted: "
           "no published figure for this share)", fit=False),
    Target("alliance_outcome_r", "early alliance-outcome correlation", 0.278, 0.22, 0.34,
           "Flückiger, Del Re, Wampold & Horvath 2018 (295 studies)",
           "Pearson r between alliance at course session 3 and the fall in distress (start "
           "distress minus end distress), courses with at least 4 sessions"),
    Target("alliance_outcome_partial_r", "early alliance-outcome correlation, start distress held constant",
           NAN, NAN, NAN, "Flückiger et al. 2018 (most studies adjust for intake severity)",
           "partial r of the same two, holding start distress constant (reported, not fitted)", fit=False),
    Target("therapist_icc", "therapist share of outcome variance", 0.05, 0.03, 0.08,
           "Wampold & Brown 2005; Johns et al. 2019",
           "ICC of the fall in distress across therapists from a random-intercept model "
           "(statsmodels MixedLM, REML: fall ~ start distress + (1 | therapist)), courses with at "
           "least 2 sessions seen by one therapist; computed per run, then averaged over runs"),
    Target("improved_by_8", "reliably improved by session 8", 0.50, 0.40, 0.60, "Howard et al. 1986",
           "among courses starting at distress >= 10 with at least 8 sessions: share whose "
           "distress_after fell at least 5 points below the start at some course session <= 8"),
    Target("improved_by_26", "reliably improved by session 26", 0.75, 0.65, 0.85, "Howard et al. 1986",
           "the same among courses starting at distress >= 10 with at least 26 sessions, "
           "sessions <= 26"),
    Target("deterioration", "reliable deterioration", NAN, 0.05, 0.10, "Lambert 2013 (Bergin & Garfield)",
           "share of ended courses with at least 2 sessions whose end distress is at least 5 "
           "points above the start distress"),
    Target("rupture_share", "sessions with a rupture", NAN, 0.19, 0.42, "Eubanks, Muran & Safran 2018",
           "share of sessions of treatment courses in which a rupture opened (rupture not empty)"),
    Target("depression_smd", "massage course effect on depression (SMD)", 0.73, 0.55, 0.90,
           "Hou et al. 2010",
           "among courses starting at distress >= 10 with at least 8 sessions: mean of start "
           "distress minus distress_after at course session 8, over the SD of their start distress "
           "(an untreated control is taken not to change on average)"),
    Target("talk_restricted_advantage", "talk-restricted advantage (SD units)", NAN, 0.0, 0.5,
           "Moyer 2007 (dissertation)",
           "talk_restricted preset against the default clinic (talk permitted) with the same seed: "
           "difference in mean fall in distress from course session 1 to 6 (courses starting at "
           "distress >= 10 with at least 6 sessions), restricted minus permitted, over the pooled SD "
           "of their start distress; the published finding is an advantage above 0, the band's top "
           "is ours"),
)

BY_NAME: dict[str, Target] = {t.name: t for t in TARGETS}


# ------------------------------------------------------------------------------------------------
# courses


def course_ids(relationships: pd.DataFrame) -> pd.Series:
    """The course each relationship belongs to: ``relationship_id`` -> course number (0, 1, ...).

    A client's relationships in order of ``start_week`` form one course as long as each ended
    in a way that continues the treatment (:data:`CONTINUATIONS`: a handover, a referral to a
    colleague); any other ending closes the course, and a later relationship starts a new one.
    """
    r = relationships.sort_values(["client", "start_week", "relationship_id"], kind="stable")
    previous = r.groupby("client", sort=False)["end_reason"].shift()
    new = previous.isna() | ~previous.isin(CONTINUATIONS)
    return pd.Series(np.cumsum(new.to_numpy()) - 1, index=r["relationship_id"].to_numpy(), name="course")


def course_sessions(sessions: pd.DataFrame, relationships: pd.DataFrame) -> pd.DataFrame:
    """The session table in course order, with ``course``, ``course_session`` (1, 2, ...) and ``start``.

    Parameters
    ----------
    sessions : the session table (columns ``week, relationship_id, session, distress_before,
        distress_after, alliance, therapist, rupture``).
    relationships : the relationship table (columns ``relationship_id, client, start_week,
        end_reason``).

    Returns
    -------
    DataFrame, one row per session of a treatment course (occasional visits, :data:`NOT_TREATMENT`,
    are left out), sorted by course and course session.
    """
    s = sessions.assign(course=sessions["relationship_id"].map(course_ids(relationships)))
    if "client_need" in relationships.columns:  # treatment courses only (see NOT_TREATMENT)
        occasional = relationships.loc[relationships["client_need"].isin(NOT_TREATMENT), "relationship_id"]
        s = s[~s["relationship_id"].isin(occasional)]
    s = s.sort_values(["course", "week", "relationship_id", "session"], kind="stable").reset_index(drop=True)
    s["course_session"] = s.groupby("course", sort=False).cumcount() + 1
    s["start"] = s.groupby("course", sort=False)["distress_before"].transform("first")
    return s


def courses(sessions: pd.DataFrame, relationships: pd.DataFrame,
            ordered: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per course with at least one session.

    Returns
    -------
    DataFrame indexed by course number with columns ``client``, ``sessions`` (count), ``start``,
    ``end`` (distress, 0-27), ``fall`` (start - end), ``alliance3`` (alliance at course session 3,
    NaN if shorter), ``therapists`` (how many), ``therapist`` (the first), ``end_reason`` and
    ``goals_met`` (of the course's last relationship).
    """
    s = course_sessions(sessions, relationships) if ordered is None else ordered
    g = s.groupby("course", sort=True)
    out = pd.DataFrame({
        "client": g["client"].first(),
        "sessions": g.size(),
        "start": g["distress_before"].first(),
        "end": g["distress_after"].last(),
        "therapists": g["therapist"].nunique(),
        "therapist": g["therapist"].first(),
    })
    out["fall"] = out["start"] - out["end"]
    third = s[s["course_session"] == ALLIANCE_SESSION].set_index("course")["alliance"]
    out["alliance3"] = third.reindex(out.index)
    last = relationships.assign(course=relationships["relationship_id"].map(course_ids(relationships)))
    last = last.sort_values(["course", "start_week", "relationship_id"], kind="stable")
    last = last.groupby("course", sort=True).last()
    out["end_reason"] = last["end_reason"].reindex(out.index).fillna("ongoing")
    unknown = sorted(set(out["end_reason"]) - set(CLIENT_ENDINGS) - set(OTHER_ENDINGS))
    if unknown:
        raise ValueError(f"end_reason {unknown[0]!r} is not classified for the calibration targets: add it to "
                         "alliancesim.targets.CLIENT_ENDINGS (the client decided or completed) or OTHER_ENDINGS")
    out["goals_met"] = last["client_goals_met"].reindex(out.index).fillna(False).astype(bool)
    return out


# ------------------------------------------------------------------------------------------------
# the measures


def _share(mask: pd.Series | np.ndarray, among: pd.Series | np.ndarray) -> float:
    among = np.asarray(among, dtype=bool)
    n = int(among.sum())
    return float(np.asarray(mask, dtype=bool)[among].sum() / n) if n else NAN


def partial_r(x: np.ndarray, y: np.ndarray, z: np.ndarray) -> float:
    """Partial correlation of ``x`` and ``y`` holding ``z`` constant (NaN if undefined)."""
    c = np.corrcoef(np.vstack([x, y, z]))
    rxy, rxz, ryz = c[0, 1], c[0, 2], c[1, 2]
    den = math.sqrt(max((1 - rxz ** 2) * (1 - ryz ** 2), 0.0))
    return float((rxy - rxz * ryz) / den) if den > 0 else NAN


def therapist_icc(fall: np.ndarray, start: np.ndarray, therapist: np.ndarray) -> float:
    """Share of the variance of ``fall`` between therapists, adjusting for ``start``.

    Random-intercept model fitted by REML with :class:`statsmodels.regression.mixed_linear_model.MixedLM`:
    ``fall = b0 + b1 * start + u[therapist] + e``; ICC = var(u) / (var(u) + var(e)).  NaN with fewer
    than 3 therapists or 20 courses, or if the fit fails.
    """
    from statsmodels.regression.mixed_linear_model import MixedLM

    therapist = np.asarray(therapist)
    if fall.size < 20 or np.unique(therapist).size < 3:
        return NAN
    exog = np.column_stack([np.ones_like(start), (start - start.mean())])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # boundary (zero variance) and convergence notes: judged below
        try:
            res = MixedLM(fall, exog, groups=therapist).fit(reml=True)  # statsmodels default optimiser
        except (ValueError, np.linalg.LinAlgError):
            return NAN
    between = float(res.cov_re.iloc[0, 0]) if hasattr(res.cov_re, "iloc") else float(np.asarray(res.cov_re)[0, 0])
    within = float(res.scale)
    if not (math.isfinite(between) and math.isfinite(within)) or between + within <= 0:
        return NAN
    return max(between, 0.0) / (between + within)


def dose_response(ordered: pd.DataFrame, upto: int = CURVE_SESSIONS) -> np.ndarray:
    """Howard's curve: share reliably improved by course session k, k = 1 .. ``upto``.

    Among courses starting at distress >= 10 with at least k sessions, the share whose
    ``distress_after`` was at least 5 points below the start at some course session <= k.

    Returns
    -------
    array of shape (upto,), shares in 0-1 (NaN where no course reached k sessions).
    """
    s = ordered[(ordered["start"] >= CLINICAL_DISTRESS) & (ordered["course_session"] <= upto)]
    improved = (s["start"] - s["distress_after"]) >= RELIABLE_CHANGE
    ever = improved.groupby(s["course"], sort=False).cummax()
    by_k = ever.groupby(s["course_session"]).mean()
    return by_k.reindex(range(1, upto + 1)).to_numpy(dtype=float)


def measure(sessions: pd.DataFrame, relationships: pd.DataFrame) -> tuple[dict[str, float], np.ndarray]:
    """Every target of one run except Moyer's comparison (which needs two other presets).

    Parameters
    ----------
    sessions, relationships : the run's session and relationship tables.

    Returns
    -------
    ({target name: value}, dose-response curve of shape (CURVE_SESSIONS,)).  Values are NaN
    where the run gives no data (e.g. no course of 26 sessions in a short run).
    """
    out = {t.name: NAN for t in TARGETS if t.name != "talk_restricted_advantage"}
    curve = np.full(CURVE_SESSIONS, NAN)
    if sessions.empty:
        return out, curve
    s = course_sessions(sessions, relationships)
    c = courses(sessions, relationships, ordered=s)

    by_client = c["end_reason"].isin(CLIENT_ENDINGS)
    dropped = (c["end_reason"] == "dropout") & ~c["goals_met"]
    out["dropout"] = _share(dropped, by_client)
    out["dropout_early"] = _share(c["sessions"] <= 2, dropped & by_client)

    a = c[(c["sessions"] >= ALLIANCE_MIN_SESSIONS) & c["alliance3"].notna()]
    if len(a) >= 10 and a["alliance3"].std() > 0 and a["fall"].std() > 0:
        out["alliance_outcome_r"] = float(np.corrcoef(a["alliance3"], a["fall"])[0, 1])
        out["alliance_outcome_partial_r"] = partial_r(a["alliance3"].to_numpy(), a["fall"].to_numpy(),
                                                      a["start"].to_numpy())

    one = c[(c["sessions"] >= 2) & (c["therapists"] == 1)]
    out["therapist_icc"] = therapist_icc(one["fall"].to_numpy(float), one["start"].to_numpy(float),
                                         one["therapist"].to_numpy())

    curve = dose_response(s)
    out["improved_by_8"] = float(curve[8 - 1])
    out["improved_by_26"] = float(curve[26 - 1])

    ended = (c["end_reason"] != "ongoing") & (c["sessions"] >= 2)
    out["deterioration"] = _share((c["end"] - c["start"]) >= RELIABLE_CHANGE, ended)

    rupture = s["rupture"].fillna("").astype(str) != ""
    out["rupture_share"] = float(rupture.mean())

    at = s[(s["course_session"] == SMD_SESSION) & (s["start"] >= CLINICAL_DISTRESS)]
    if len(at) >= 2 and at["start"].std() > 0:
        out["depression_smd"] = float((at["start"] - at["distress_after"]).mean() / at["start"].std(ddof=1))
    return out, curve


def talk_falls(sessions: pd.DataFrame, relationships: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """For Moyer's comparison: (fall from course session 1 to 6, start distress), one row per course.

    Moyer (2007) gave thirty psychologically distressed adults five sessions of talk-restrictive
    or talk-permissive massage, so the courses are those starting at distress >=
    :data:`CLINICAL_DISTRESS` with at least :data:`TALK_SESSION` sessions.
    """
    if sessions.empty:
        return np.empty(0), np.empty(0)
    s = course_sessions(sessions, relationships)
    at = s[(s["course_session"] == TALK_SESSION) & (s["start"] >= CLINICAL_DISTRESS)]
    return (at["start"] - at["distress_after"]).to_numpy(float), at["start"].to_numpy(float)


def talk_advantage(restricted: tuple[np.ndarray, np.ndarray], permitted: tuple[np.ndarray, np.ndarray]) -> float:
    """Mean fall with talk restricted minus talk permitted, over the pooled SD of start distress.

    Each argument is ``(falls, start distress)`` as returned by :func:`talk_falls`; NaN if
    either group has fewer than two courses.
    """
    (fq, sq), (fl, sl) = restricted, permitted
    if fq.size < 2 or fl.size < 2:
        return NAN
    sd = float(np.concatenate([sq, sl]).std(ddof=1))
    return float((fq.mean() - fl.mean()) / sd) if sd > 0 else NAN
