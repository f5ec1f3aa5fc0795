"""The week's sessions: what the compiled loop needs, and the loop itself.

:func:`hold_sessions` walks through every session held this week, in order,
and applies the pure functions of :mod:`alliancesim.session` to the rows of
the relationship, client and therapist tables (see :mod:`alliancesim.state`).
It writes one record per session to ``out`` (:data:`SESSION_RECORD`): what
happened, for the session table, and what the Python side of the model must
still do (log events, end or move relationships).  Rupture episodes are
walked through the state machine of :mod:`alliancesim.relationship` as they
happen and appended to the rupture table.

The loop itself is C, compiled by Cython from ``_kernel.pyx`` when the package
is built; this module holds its constants, record layouts and parameters.
Random numbers come in as a ``(sessions, len(DRAWS))`` array of uniforms drawn
by the model, one fixed column per decision, so a run is reproducible.
"""

from __future__ import annotations

import numpy as np

from .relationship import RECOVERY_SHARE, TRUST_THRESHOLD  # noqa: F401  (read by _kernel.pyx)
#: Session at which a therapist asks whether the pairing fits.
FIT_CHECK_SESSION = 3
#: Alliance below which the pairing is judged a poor fit at the fit check.
FIT_THRESHOLD = 0.38
#: Progress (share of the possible improvement) at which goals count as met.
GOAL_PROGRESS = 0.5
#: A course counts as stalled after this many sessions with progress below STALLED_PROGRESS.
STALLED_AFTER = 6
STALLED_PROGRESS = 0.2
#: A client is satisfied (and may recommend the therapist) at this alliance and progress.
SATISFIED_ALLIANCE = 0.6
SATISFIED_PROGRESS = 0.3
#: Chance per session that a maintenance client decides to stop.
MAINTENANCE_END = 0.012
#: Maintenance clients are loyal: their dropout hazard is scaled down by this.
MAINTENANCE_DROPOUT_SCALE = 0.3
#: Chance of a withdrawal (vs a confrontation) and severity range, by rupture cause code.
WITHDRAW_P = (0.0, 0.6, 0.7, 0.3)
SEVERITY_LO = (0.0, 0.03, 0.10, 0.10)
SEVERITY_HI = (0.0, 0.12, 0.30, 0.25)
#: Rupture cause codes (see relationship.RuptureCause).
NO_RUPTURE, MISATTUNEMENT, COUNTERTRANSFERENCE, BOUNDARY = 0, 1, 2, 3

#: Uniform draws used by one session, one column each.
DRAWS = (
    "topic", "topic_pick", "enact", "incident", "ct_rupture", "incident_rupture", "misattune",
    "kind", "severity", "notice", "therapist_repair", "client_attempt", "client_repair",
    "completeness", "signpost", "fit_check", "maintenance", "maintenance_end", "dropout",
    "word_of_mouth", "cadence",
)
(U_TOPIC, U_TOPIC_PICK, U_ENACT, U_INCIDENT, U_CT_RUPTURE, U_INCIDENT_RUPTURE, U_MISATTUNE,
 U_KIND, U_SEVERITY, U_NOTICE, U_THERAPIST_REPAIR, U_CLIENT_ATTEMPT, U_CLIENT_REPAIR,
 U_COMPLETENESS, U_SIGNPOST, U_FIT_CHECK, U_MAINTENANCE, U_MAINTENANCE_END, U_DROPOUT,
 U_WORD_OF_MOUTH, U_CADENCE) = range(len(DRAWS))

#: One therapist in one week (see :func:`alliancesim.tables.therapist_table`).
THERAPIST_WEEK = np.dtype([("week", "i8"), ("therapist", "i8"), ("caseload", "i8"), ("burnout", "f8"),
                           ("manual_skill", "f8"), ("self_awareness", "f8"), ("start_week", "i8"),
                           ("left_week", "i8"), ("leaving_week", "i8")])
#: One row of the session table, as the kernel writes it.
SESSION_ROW = np.dtype([
    ("week", "i8"), ("relationship", "i8"), ("session", "i8"),
    ("quality", "f8"), ("bond", "f8"), ("goal", "f8"), ("task", "f8"), ("alliance", "f8"),
    ("separateness", "f8"), ("pleasure", "f8"), ("merging", "f8"), ("internalisation", "f8"),
    ("knowledge", "f8"), ("distress_before", "f8"), ("distress_after", "f8"),
    ("pain_before", "f8"), ("pain_after", "f8"), ("talk_share", "f8"), ("talk_fit", "f8"),
    ("topic", "i8"), ("countertransference", "?"), ("boundary_incident", "?"),
    ("rupture", "i8"), ("repaired", "?"), ("rupture_open", "?"),
])
#: What else a session tells the model: the rupture's walk and the decisions drawn after it.
SESSION_RECORD = np.dtype([
    ("relationship", "i8"), ("session", "i8"), ("topic", "i8"), ("countertransference", "?"),
    ("boundary_incident", "?"), ("rupture", "i8"), ("in_play", "?"), ("episode", "i8"),
    ("confrontation", "?"), ("noticed", "?"), ("by_therapist", "?"), ("client_tries", "?"),
    ("by_client", "?"), ("bond_before", "f8"), ("bond_hurt", "f8"), ("bond", "f8"),
    ("trusted", "?"), ("recovered", "?"), ("signpost", "?"), ("refer", "?"), ("goals", "?"),
    ("stays", "?"), ("ends_maintenance", "?"), ("drops", "?"), ("recommends", "?"),
])


from ._kernel import Engine, move_episode  # noqa: E402

__all__ = ["DRAWS", "SESSION_RECORD", "SESSION_ROW", "THERAPIST_WEEK", "Engine", "move_episode"]
