"""Every table of alliancesim, declared once.

Each table is a :class:`TableSpec`: an ordered list of :class:`Field` with
name, type, unit and meaning.  From the one declaration come

* the numpy record dtype the model keeps its state in (:attr:`TableSpec.dtype`)
  and which the session code (:mod:`alliancesim.week`) reads and writes field by
  field, in pure Python or compiled by Numba from the very same arrays, so
  there is no second layout (no C struct) that could drift from it;
* the columns, order and types of each output table (:data:`OUTPUTS`):
  :mod:`alliancesim.tables` conforms every frame it builds to them, so an empty
  table has the same schema as a full one;
* the data dictionary of the output tables (:func:`data_dictionary`, the page
  ``docs/data_dictionary.md``).

Adding a field to a state table is one line here; the session code sees it as
``r.new_field`` at once.

Units: ``0-1`` is a unit scale; distress is in PHQ-9 points (0-27); pain a 0-10
numeric rating; weeks count from 1 (the first simulated week); ``-1`` in an
integer field of a state table means "not yet" or "none".
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["Field", "TableSpec", "OUTPUTS", "STATE", "data_dictionary"]

#: Topics clients bring to the table (column order of topic vectors).
TOPICS: tuple[str, ...] = (
    "family", "pets", "work", "grief", "relationships", "health", "money", "body image",
)
N_TOPICS = len(TOPICS)

_NUMPY = {"float": np.float64, "int": np.int64, "bool": np.bool_}
#: Output column types as pandas dtypes (``Int64``: integer with missing values; ``string``: text).
_PANDAS = {"float": "float64", "int": "int64", "bool": "bool", "Int64": "Int64", "string": "string"}


@dataclass(frozen=True)
class Field:
    """One column of a table.

    Parameters
    ----------
    name : str
        Column name, a Python identifier.
    kind : str
        ``"float"``, ``"int"`` or ``"bool"`` (state and record tables); output
        tables may also use ``"Int64"`` (integer that may be missing) and
        ``"string"``.
    unit : str
        Unit or scale, e.g. ``"0-1"``, ``"PHQ-9 points"``, ``"week"``.
    meaning : str
        One line for the data dictionary.
    fill : Any
        Value of a new row (state tables only).
    shape : int or None
        Length of a vector field (e.g. one entry per topic), else ``None``.
    """

    name: str
    kind: str
    unit: str
    meaning: str
    fill: Any = 0
    shape: int | None = None


class TableSpec:
    """An ordered set of :class:`Field` with the dtype built from it.

    Raises
    ------
    ValueError
        If two fields share a name or a kind is unknown.
    """

    def __init__(self, name: str, meaning: str, fields: list[Field]) -> None:
        self.name = name
        self.meaning = meaning
        self.fields = tuple(fields)
        names = [f.name for f in fields]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise ValueError(f"table {name!r}: field {sorted(dup)[0]!r} declared twice")
        for f in fields:
            if f.kind not in _PANDAS:
                raise ValueError(f"table {name!r}: field {f.name!r} has unknown kind {f.kind!r}")
        self.by_name = {f.name: f for f in fields}

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)

    @functools.cached_property
    def dtype(self) -> np.dtype:
        """The numpy record dtype (state and record tables)."""
        spec = []
        for f in self.fields:
            base = _NUMPY[f.kind]
            spec.append((f.name, base, (f.shape,)) if f.shape else (f.name, base))
        return np.dtype(spec)

    @property
    def fills(self) -> dict[str, Any]:
        return {f.name: f.fill for f in self.fields}

    def pandas_dtypes(self) -> dict[str, str]:
        """Column -> pandas dtype (output tables)."""
        return {f.name: _PANDAS[f.kind] for f in self.fields}

    def __iter__(self):
        return iter(self.fields)

    def __repr__(self) -> str:
        return f"TableSpec({self.name!r}, {len(self.fields)} fields)"


F = Field

# ---------------------------------------------------------------------------------------------
# State tables: one row per person or relationship, updated week by week.
# ---------------------------------------------------------------------------------------------

THERAPIST = TableSpec("therapist", "one row per therapist ever hired", [
    F("manual_skill", "float", "0-1", "hands-on skill", np.nan),
    F("warmth", "float", "0-1", "warmth and empathy", np.nan),
    F("boundary_firmness", "float", "0-1", "how firmly boundaries are held: 0 loose, 1 fenced off", np.nan),
    F("self_awareness", "float", "0-1", "how well the therapist notices their own reactions", np.nan),
    F("talkativeness", "float", "share of session", "share of a session the therapist fills with talk", np.nan),
    F("fixing_stance", "float", "0-1", "0 holds space for the client's own change, 1 must fix everyone", np.nan),
    F("burnout", "float", "0-1", "strain carried from week to week", 0.0),
    F("experience_years", "float", "years", "years in practice", 0.0),
    F("load", "float", "sessions/week", "sessions booked per week at the clients' cadences", 0.0),
    F("weekly_capacity", "int", "sessions/week", "sessions the therapist can give in a week", 0),
    F("site", "int", "index", "site of the therapist's room", 0),
    F("start_week", "int", "week", "first working week", 0),
    F("left_week", "int", "week", "week the therapist left (-1: still here)", -1),
    F("leaving_week", "int", "week", "announced last week (-1: not on notice)", -1),
    F("retirement_week", "int", "week", "planned retirement week (-1: after the run)", -1),
    F("sessions_this_week", "int", "sessions", "sessions held so far this week", 0),
    F("stalled_this_week", "int", "sessions", "sessions this week with a stalled course", 0),
    F("accepting", "bool", "flag", "takes new clients this week", False),
    F("triggers", "float", "0-1", "per topic: how strongly it touches the therapist's own history", 0.0,
      N_TOPICS),
])

CLIENT = TableSpec("client", "one row per client who ever arrived", [
    F("distress", "float", "PHQ-9 points", "distress as of week updated_week", np.nan),
    F("pain", "float", "0-10", "pain as of week updated_week", np.nan),
    F("distress_baseline", "float", "PHQ-9 points", "level life pulls distress back to without care", np.nan),
    F("pain_baseline", "float", "0-10", "level life pulls pain back to without care", np.nan),
    F("distress_floor", "float", "PHQ-9 points", "lowest distress self-care can reach", np.nan),
    F("distress_start", "float", "PHQ-9 points", "distress on arrival", np.nan),
    F("pain_start", "float", "0-10", "pain on arrival", np.nan),
    F("self_care", "float", "0-1", "internalised self-care, kept for life", 0.0),
    F("talk_preference", "float", "share of session", "share of a session the client likes to talk", np.nan),
    F("trust_propensity", "float", "0-1", "how readily the client trusts a new therapist", np.nan),
    F("cadence_weeks", "float", "weeks", "weeks between sessions during a course", np.nan),
    F("travel_tolerance_km", "float", "km", "distance the client happily travels", np.nan),
    F("responsiveness", "float", "multiplier", "how strongly sessions relieve this client (1 typical)", 1.0),
    F("home_x", "float", "km", "home, east of the town centre", 0.0),
    F("home_y", "float", "km", "home, north of the town centre", 0.0),
    F("updated_week", "int", "week", "week distress and pain were last brought up to date", 0),
    F("prior_negative", "int", "experiences", "earlier poor massage experiences", 0),
    F("need", "int", "code", "need profile: 0 physical, 1 physical with an emotional part, 2 overwhelmed, "
      "3 occasional visitor", 0),
    F("alliance_capacity", "float", "0-1", "how readily the client forms alliances at all (trait-like alliance)",
      0.5),
    F("planned_sessions", "int", "sessions", "sessions the client means to come for (a course, or a few visits)",
      0),
    F("sessions", "int", "sessions", "sessions held so far, with any therapist", 0),
    F("relationship", "int", "row", "current relationship (-1: none)", -1),
    F("paused_until", "int", "week", "week a pause ends (-1: not paused)", -1),
    F("left_week", "int", "week", "week the client left the clinic (-1: still a client)", -1),
    F("in_scope", "bool", "flag", "massage can meet the need", True),
    F("maintenance", "bool", "flag", "stays on for maintenance after meeting goals", False),
    F("goals_met", "bool", "flag", "has met the goals they came with", False),
    F("topics", "float", "weight", "per topic: how much the client brings it", 0.0, N_TOPICS),
])

RELATIONSHIP = TableSpec("relationship", "one row per therapist-client pair", [
    F("bond", "float", "0-1", "trust and attachment (WAI bond)", 0.0),
    F("goal", "float", "0-1", "agreement on the goals of treatment (WAI goal)", 0.0),
    F("task", "float", "0-1", "agreement on the way of working (WAI task)", 0.0),
    F("separateness", "float", "0-1", "theme 1: boundaries, roles, power are clear", 0.0),
    F("pleasure", "float", "0-1", "theme 2: safety, comfort, communication", 0.0),
    F("merging", "float", "0-1", "theme 3: contact and empathy", 0.0),
    F("internalisation", "float", "0-1", "theme 4: the client cares for themselves", 0.0),
    F("knowledge", "float", "0-1", "what the therapist knows of the client (the file)", 0.0),
    F("need_fit", "float", "0-1", "how well the therapist's strengths fit the need", np.nan),
    F("trust_rate", "float", "per session", "rate at which the bond grows", np.nan),
    F("bond_start", "float", "0-1", "bond at intake", np.nan),
    F("alliance_start", "float", "0-1", "alliance after the first session", np.nan),
    F("alliance_end", "float", "0-1", "alliance when the relationship ended", np.nan),
    F("distress_start", "float", "PHQ-9 points", "distress at intake", np.nan),
    F("distress_end", "float", "PHQ-9 points", "distress when the relationship ended", np.nan),
    F("pain_start", "float", "0-10", "pain at intake", np.nan),
    F("pain_end", "float", "0-10", "pain when the relationship ended", np.nan),
    F("recovery_target", "float", "0-1", "alliance with the previous therapist (handover only)", np.nan),
    F("episode_bond_before", "float", "0-1", "bond just before the open rupture", np.nan),
    F("scar", "float", "0-1", "lasting cost of ruptures left unrepaired and of acted-out countertransference", 0.0),
    F("open_episode", "int", "row", "open rupture episode (-1: none)", -1),
    F("client", "int", "row", "client row", -1),
    F("therapist", "int", "row", "therapist row", -1),
    F("sessions", "int", "sessions", "sessions held", 0),
    F("start_week", "int", "week", "week of the intake", 0),
    F("end_week", "int", "week", "week it ended (-1: ongoing)", -1),
    F("next_week", "int", "week", "week of the next booked session (-1: none)", -1),
    F("ruptures", "int", "count", "ruptures opened", 0),
    F("repairs", "int", "count", "ruptures repaired", 0),
    F("sealed", "int", "count", "ruptures never repaired that sank out of reach", 0),
    F("repairs_by_therapist", "int", "count", "ruptures repaired by the therapist", 0),
    F("repairs_by_client", "int", "count", "ruptures repaired by the client", 0),
    F("enactments", "int", "count", "sessions with acted-out countertransference", 0),
    F("boundary_incidents", "int", "count", "boundary incidents", 0),
    F("sessions_to_trust", "int", "sessions", "session at which the bond reached trust (-1: not yet)", -1),
    F("recovery_weeks", "int", "weeks", "weeks until a handed-over alliance recovered (-1: not yet)", -1),
    F("recovered_sessions", "int", "sessions", "sessions until a handed-over alliance recovered", -1),
    F("active", "bool", "flag", "ongoing", False),
    F("open", "bool", "flag", "a rupture is open", False),
    F("open_confrontation", "bool", "flag", "the open rupture is a confrontation", False),
    F("introduced_to_successor", "bool", "flag", "the client met the successor during the notice period", False),
    F("introduced", "bool", "flag", "began with a warm introduction", False),
    F("file_transferred", "bool", "flag", "began with the previous therapist's file", False),
    F("maintenance", "bool", "flag", "became a maintenance relationship", False),
    F("unresolved_at_end", "bool", "flag", "ended with a rupture open", False),
    F("therapist_self_awareness_start", "float", "0-1", "therapist's self-awareness at intake", np.nan),
    F("therapist_manual_skill_start", "float", "0-1", "therapist's manual skill at intake", np.nan),
    F("therapist_self_awareness_end", "float", "0-1", "therapist's self-awareness when it ended", np.nan),
    F("therapist_manual_skill_end", "float", "0-1", "therapist's manual skill when it ended", np.nan),
    F("topics_known", "int", "count", "per topic: times the client talked about it", 0, N_TOPICS),
])

#: One rupture episode, from the break to its resolution (or the end of the run).
RUPTURE = TableSpec("rupture", "one row per rupture episode", [
    F("relationship", "int", "row", "relationship row", -1),
    F("week", "int", "week", "week the rupture opened", -1),
    F("session", "int", "session", "session number in which it opened", -1),
    F("confrontation", "bool", "flag", "a confrontation (else a withdrawal)", False),
    F("cause", "int", "code", "1 misattunement, 2 countertransference, 3 boundary incident", 0),
    F("topic", "int", "index", "topic that triggered it (-1: none)", -1),
    F("bond_before", "float", "0-1", "bond just before the rupture", np.nan),
    F("bond_at_rupture", "float", "0-1", "bond just after the rupture", np.nan),
    F("noticed", "bool", "flag", "the therapist noticed it in the session it opened", False),
    F("client_tried", "bool", "flag", "the client tried to repair it", False),
    F("attempts", "int", "sessions", "sessions in which it was in play", 0),
    F("repaired_by", "int", "code", "0 not repaired, 1 therapist, 2 client", 0),
    F("resolved_week", "int", "week", "week it was repaired (-1: not)", -1),
    F("resolved_session", "int", "session", "session in which it was repaired (-1: not)", -1),
    F("bond_after", "float", "0-1", "bond after the repair", np.nan),
    F("sealed_week", "int", "week", "week it sank out of reach unrepaired, leaving its lasting cost (-1: not)", -1),
    F("state", "int", "code", "current state in the rupture state machine", 1),
    F("path", "int", "packed", "most recent states visited, 3 bits each", 0),
    F("path_length", "int", "states", "states visited in all", 0),
])

#: One session as the session code writes it (the session table's numbers).
SESSION = TableSpec("session", "one record per session held", [
    F("week", "int", "week", "week of the session"),
    F("relationship", "int", "row", "relationship row"),
    F("session", "int", "session", "session number in this relationship"),
    F("quality", "float", "0-1", "session quality as the client experiences it"),
    F("bond", "float", "0-1", "bond after the session"),
    F("goal", "float", "0-1", "goal agreement after the session"),
    F("task", "float", "0-1", "task agreement after the session"),
    F("alliance", "float", "0-1", "working alliance (mean of bond, goal, task) after the session"),
    F("separateness", "float", "0-1", "theme 1 after the session"),
    F("pleasure", "float", "0-1", "theme 2 after the session"),
    F("merging", "float", "0-1", "theme 3 after the session"),
    F("internalisation", "float", "0-1", "theme 4 after the session"),
    F("knowledge", "float", "0-1", "the therapist's knowledge of the client after the session"),
    F("distress_before", "float", "PHQ-9 points", "distress as the client came in"),
    F("distress_after", "float", "PHQ-9 points", "distress after the session"),
    F("pain_before", "float", "0-10", "pain as the client came in"),
    F("pain_after", "float", "0-10", "pain after the session"),
    F("talk_share", "float", "share of session", "share of the session filled with talk"),
    F("talk_fit", "float", "0-1", "how well the talk suited the client"),
    F("topic", "int", "index", "topic the client brought (-1: none)"),
    F("countertransference", "bool", "flag", "the therapist acted out countertransference"),
    F("boundary_incident", "bool", "flag", "a boundary incident happened"),
    F("rupture", "int", "code", "cause of a rupture opened in the session (0: none)"),
    F("repaired", "bool", "flag", "a rupture was repaired in the session"),
    F("rupture_open", "bool", "flag", "a rupture is open after the session"),
])

#: What else a session tells the model: the rupture's walk and the decisions drawn after it.
SESSION_OUTCOME = TableSpec("session_outcome", "per session: what the model still has to do", [
    F("relationship", "int", "row", "relationship row"),
    F("session", "int", "session", "session number"),
    F("topic", "int", "index", "topic brought (-1: none)"),
    F("countertransference", "bool", "flag", "countertransference acted out"),
    F("boundary_incident", "bool", "flag", "boundary incident"),
    F("rupture", "int", "code", "cause of a new rupture (0: none)"),
    F("in_play", "bool", "flag", "a rupture was in play (new or open)"),
    F("episode", "int", "row", "rupture episode in play (-1: none)"),
    F("confrontation", "bool", "flag", "the rupture in play is a confrontation"),
    F("noticed", "bool", "flag", "the therapist noticed the rupture"),
    F("by_therapist", "bool", "flag", "the therapist repaired it"),
    F("client_tries", "bool", "flag", "the client tried to repair it"),
    F("by_client", "bool", "flag", "the client repaired it"),
    F("bond_before", "float", "0-1", "bond before the rupture"),
    F("bond_hurt", "float", "0-1", "bond after the rupture, before any repair"),
    F("lasting_cost", "float", "0-1", "lasting cost this session added (rupture left open, acted-out countertransference)"),
    F("bond", "float", "0-1", "bond at the end of the session"),
    F("trusted", "bool", "flag", "the bond reached trust in this session"),
    F("recovered", "bool", "flag", "a handed-over alliance recovered in this session"),
    F("signpost", "bool", "flag", "needs beyond massage recognised: signpost elsewhere"),
    F("refer", "bool", "flag", "poor fit: refer to a colleague"),
    F("goals", "bool", "flag", "the client met their goals"),
    F("completes", "bool", "flag", "the client reached the sessions they meant to come for, goals met or not"),
    F("stays", "bool", "flag", "having met their goals, the client stays on for maintenance"),
    F("ends_maintenance", "bool", "flag", "a maintenance client decides to stop"),
    F("drops", "bool", "flag", "the client does not come back"),
    F("recommends", "bool", "flag", "the client recommends the therapist to someone"),
])

#: One therapist in one week (snapshot taken at the end of the week).
THERAPIST_WEEK = TableSpec("therapist_week", "one record per therapist per week", [
    F("week", "int", "week", "week"),
    F("therapist", "int", "row", "therapist row"),
    F("caseload", "int", "clients", "clients on the therapist's books"),
    F("burnout", "float", "0-1", "burnout at the end of the week"),
    F("manual_skill", "float", "0-1", "manual skill at the end of the week"),
    F("self_awareness", "float", "0-1", "self-awareness at the end of the week"),
    F("start_week", "int", "week", "first working week"),
    F("left_week", "int", "week", "week the therapist left (-1: still here)"),
    F("leaving_week", "int", "week", "announced last week (-1: not on notice)"),
])

#: The model's state and record tables, by name.
STATE: dict[str, TableSpec] = {t.name: t for t in (
    THERAPIST, CLIENT, RELATIONSHIP, RUPTURE, SESSION, SESSION_OUTCOME, THERAPIST_WEEK)}

# ---------------------------------------------------------------------------------------------
# Output tables: what `alliancesim run` writes (Parquet/CSV) and `alliancesim.tables` returns.
# ---------------------------------------------------------------------------------------------


def _from(spec: TableSpec, *names: str) -> list[Field]:
    """Output columns that are a record field as it is (same name, kind, unit, meaning)."""
    return [spec.by_name[n] for n in names]


WEEKLY_OUT = TableSpec("weekly", "one row per week", [
    F("week", "int", "week", "week number, from 1"),
    F("therapists", "int", "therapists", "therapists working at the end of the week"),
    F("clients_on_books", "int", "clients", "clients on the books (attending or paused)"),
    F("maintenance_clients", "int", "clients", "of those, maintenance clients"),
    F("open_ruptures", "int", "relationships", "relationships with a rupture open at the end of the week"),
    F("mean_alliance", "float", "0-1", "mean alliance over the week's sessions (NaN: no sessions)"),
    F("mean_quality", "float", "0-1", "mean session quality over the week's sessions"),
    F("mean_distress", "float", "PHQ-9 points", "mean distress as clients came in to the week's sessions"),
    F("mean_burnout", "float", "0-1", "mean burnout of working therapists"),
    F("sessions", "int", "sessions", "sessions held"),
    F("new_clients", "int", "clients", "new clients who started"),
    F("word_of_mouth_arrivals", "int", "clients", "of those, sent by a satisfied client"),
    F("turned_away", "int", "people", "people who found no therapist with room"),
    F("postponed", "int", "sessions", "sessions put off to next week by a full diary"),
    F("ruptures", "int", "ruptures", "ruptures opened"),
    F("repairs", "int", "ruptures", "ruptures repaired"),
    F("countertransference", "int", "sessions", "sessions with acted-out countertransference"),
    F("boundary_incidents", "int", "sessions", "boundary incidents"),
    F("dropouts", "int", "clients", "clients who stopped coming without notice"),
    F("finished", "int", "clients", "clients who finished with goals met"),
    F("completed", "int", "clients", "clients who came for the sessions they meant to and stopped, goals not met"),
    F("maintenance_ended", "int", "clients", "maintenance clients who decided to stop"),
    F("referrals_colleague", "int", "clients", "clients referred to a colleague"),
    F("referrals_out", "int", "clients", "clients signposted out of the clinic"),
    F("moved_away", "int", "clients", "clients who moved too far away"),
    F("therapist_departures", "int", "therapists", "therapists who left"),
    F("handover_stayed", "int", "clients", "clients who stayed with a successor"),
    F("handover_moved", "int", "clients", "clients who moved to a colleague at a handover"),
    F("handover_left", "int", "clients", "clients who stopped at a handover"),
])

THERAPISTS_OUT = TableSpec("therapists", "one row per therapist on the payroll per week", [
    F("week", "int", "week", "week"),
    F("therapist", "string", "label", "therapist label (T1, T2, ...)"),
    F("site", "int", "index", "site of the therapist's room"),
    *_from(THERAPIST_WEEK, "caseload", "burnout", "manual_skill", "self_awareness"),
    F("on_notice", "bool", "flag", "has announced leaving"),
])

RELATIONSHIPS_OUT = TableSpec("relationships", "one row per therapist-client pair", [
    F("relationship_id", "int", "id", "relationship id, from 1"),
    F("client", "string", "label", "client label (C1, C2, ...)"),
    F("therapist", "string", "label", "therapist label"),
    *_from(RELATIONSHIP, "start_week"),
    F("end_week", "Int64", "week", "week it ended (missing: ongoing)"),
    F("end_reason", "string", "reason", "finished (goals met), completed (the planned course or visits), "
      "dropout, referred_out, referred_to_colleague, maintenance_ended, moved_away, therapist_left or ongoing"),
    *_from(RELATIONSHIP, "sessions", "bond_start"),
    F("bond_end", "float", "0-1", "bond at the end (ongoing: now)"),
    *_from(RELATIONSHIP, "alliance_start"),
    F("alliance_end", "float", "0-1", "alliance at the end (ongoing: now)"),
    *_from(RELATIONSHIP, "distress_start"),
    F("distress_end", "float", "PHQ-9 points", "distress at the end (ongoing: as it stands in the last week)"),
    *_from(RELATIONSHIP, "pain_start"),
    F("pain_end", "float", "0-10", "pain at the end (ongoing: as it stands in the last week)"),
    *_from(RELATIONSHIP, "ruptures", "repairs", "repairs_by_therapist", "repairs_by_client", "sealed"),
    F("unresolved_rupture", "bool", "flag", "a rupture was open at the end (ongoing: now)"),
    F("countertransference", "int", "count", "sessions with acted-out countertransference"),
    *_from(RELATIONSHIP, "boundary_incidents"),
    F("sessions_to_trust", "Int64", "sessions", "session at which the bond reached trust (missing: not yet)"),
    *_from(RELATIONSHIP, "separateness", "pleasure", "merging", "internalisation", "knowledge", "maintenance"),
    F("referred_by", "string", "label", "client who recommended the therapist (missing: none)"),
    F("predecessor_id", "Int64", "id", "relationship this one continues (handover or referral)"),
    F("handover_policy", "string", "policy", "policy of the handover that began it (missing: none)"),
    *_from(RELATIONSHIP, "introduced", "file_transferred"),
    F("handover_outcome", "string", "outcome", "for a relationship that ended at a handover: "
      "stayed_with_successor, moved_to_colleague or left"),
    *_from(RELATIONSHIP, "recovery_target"),
    F("recovery_weeks", "Int64", "weeks", "weeks until a handed-over alliance recovered to 90 %"),
    F("recovery_sessions", "Int64", "sessions", "sessions until a handed-over alliance recovered"),
    F("client_need", "string", "profile", "physical, physical_emotional, overwhelmed or occasional"),
    F("client_in_scope", "bool", "flag", "massage can meet the need"),
    F("client_prior_negative", "int", "experiences", "earlier poor massage experiences"),
    F("client_trust_propensity", "float", "0-1", "how readily the client trusts"),
    F("client_talk_preference", "float", "share of session", "how much the client likes to talk"),
    F("client_goals_met", "bool", "flag", "the client has met their goals (now)"),
    F("client_distress_arrival", "float", "PHQ-9 points", "distress when the client first arrived"),
    F("client_alliance_capacity", "float", "0-1", "how readily the client forms alliances (trait-like alliance)"),
    F("scar", "float", "0-1", "lasting cost of unrepaired ruptures in this relationship (at its end, or now)"),
    F("travel_km", "float", "km", "distance from the client's home to the room (now)"),
    F("therapist_talkativeness", "float", "share of session", "therapist's talkativeness (a fixed trait)"),
    F("therapist_boundary_firmness", "float", "0-1", "therapist's boundary firmness (a fixed trait)"),
    F("therapist_fixing_stance", "float", "0-1", "therapist's fixing stance (a fixed trait)"),
    F("therapist_self_awareness", "float", "0-1", "therapist's self-awareness at the relationship's start"),
    F("therapist_manual_skill", "float", "0-1", "therapist's manual skill at the relationship's start"),
    F("therapist_self_awareness_end", "float", "0-1", "therapist's self-awareness at its end (ongoing: now)"),
    F("therapist_manual_skill_end", "float", "0-1", "therapist's manual skill at its end (ongoing: now)"),
])

SESSIONS_OUT = TableSpec("sessions", "one row per session", [
    *_from(SESSION, "week"),
    F("relationship_id", "int", "id", "relationship id"),
    *_from(SESSION, "session"),
    F("client", "string", "label", "client label"),
    F("therapist", "string", "label", "therapist label"),
    *_from(SESSION, "quality", "bond", "goal", "task", "alliance", "separateness", "pleasure", "merging",
           "internalisation", "knowledge", "distress_before", "distress_after", "pain_before", "pain_after",
           "talk_share", "talk_fit"),
    F("topic", "string", "topic", "topic the client brought (empty: none)"),
    *_from(SESSION, "countertransference", "boundary_incident"),
    F("rupture", "string", "cause", "cause of a rupture opened (empty: none)"),
    *_from(SESSION, "repaired", "rupture_open"),
])

RUPTURES_OUT = TableSpec("ruptures", "one row per rupture episode", [
    F("rupture_id", "int", "id", "rupture id, from 1"),
    F("relationship_id", "int", "id", "relationship id"),
    *_from(RUPTURE, "week", "session"),
    F("kind", "string", "kind", "withdrawal or confrontation"),
    F("cause", "string", "cause", "misattunement, countertransference or boundary"),
    F("topic", "string", "topic", "topic that triggered it (missing: none)"),
    *_from(RUPTURE, "bond_before", "bond_at_rupture", "noticed", "client_tried", "attempts"),
    F("repaired_by", "string", "who", "therapist or client (missing: not repaired)"),
    F("resolved", "bool", "flag", "repaired"),
    F("resolved_week", "Int64", "week", "week it was repaired"),
    F("resolved_session", "Int64", "session", "session in which it was repaired"),
    *_from(RUPTURE, "bond_after"),
    F("sealed_week", "Int64", "week", "week it sank out of reach unrepaired (missing: repaired or still open)"),
    F("state", "string", "state", "last state in the rupture state machine"),
    F("path", "string", "states", "states visited, oldest first"),
])

EVENTS_OUT = TableSpec("events", "one row per event in the log", [
    F("week", "int", "week", "week"),
    F("kind", "string", "kind", "kind of event (see alliancesim.events.EventKind)"),
    F("client", "string", "label", "client label (missing: none)"),
    F("therapist", "string", "label", "therapist label (missing: none)"),
    F("detail", "string", "JSON", "details of the event"),
    F("sentence", "string", "text", "the event as a plain sentence"),
])

#: The output tables, in the order they are written.
OUTPUTS: dict[str, TableSpec] = {t.name: t for t in (
    WEEKLY_OUT, THERAPISTS_OUT, RELATIONSHIPS_OUT, SESSIONS_OUT, RUPTURES_OUT, EVENTS_OUT)}


def data_dictionary() -> str:
    """The data dictionary page (Markdown): every column of every output table."""
    lines = [
        "# Data dictionary",
        "",
        "Every column of every table that `alliancesim run` writes (`NAME.parquet`, and `NAME.csv` with",
        "`--csv`) and that `alliancesim.tables.all_tables(model)` returns. Generated from",
        "`alliancesim/schema.py` (`python -m alliancesim.schema > docs/data_dictionary.md`); a test keeps",
        "this page and the declarations in step. Types: `int`, `float`, `bool`; `Int64` is an integer",
        "that may be missing; `string` is text that may be missing.",
        "",
    ]
    for spec in OUTPUTS.values():
        lines += [f"## `{spec.name}`: {spec.meaning}", "", "| column | type | unit | meaning |",
                  "|---|---|---|---|"]
        lines += [f"| `{f.name}` | {f.kind} | {f.unit} | {f.meaning} |" for f in spec.fields]
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":  # pragma: no cover
    print(data_dictionary(), end="")
