"""Handover: when a therapist leaves, each client stays with the successor, moves, or stops.

Carey retired and "made sure all of my clients' files were transferred to
[the successor] so they did not have to explain their whole story all over
again".  The ``handover_policy`` says what a leaving therapist passes on:
``none``, the ``file``, or the ``file_and_introduction`` (the successor is
introduced in the room during the notice period, carrying part of the bond).

Each client chooses by a multinomial logit over three options (ODD, *Handover*)::

    u_successor = SAME_ROOM_UTILITY + CARRY_UTILITY * carried_trust
                  + FILE_UTILITY * file_knowledge - distance / tolerance
    u_colleague = -distance_to_nearest_colleague / tolerance   (only if nearer than the room)
    u_leave     = LEAVE_UTILITY + LEAVE_IF_GOALS_MET * goals_met

Draws come from the ``handover`` stream.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from . import session as S
from .events import EventKind as K

if TYPE_CHECKING:  # pragma: no cover
    from .agents import Therapist
    from .model import AllianceModel
    from .relationship import Relationship

#: Utility of staying with the successor in the same familiar room.
SAME_ROOM_UTILITY = 0.5
#: Utility weights of carried trust and of a transferred file.
CARRY_UTILITY, FILE_UTILITY = 1.5, 1.0
#: Spread of individual taste in the choice (logit temperature).
HANDOVER_TEMPERATURE = 1.0
#: Utility of stopping altogether (higher once goals are met).
LEAVE_UTILITY, LEAVE_IF_GOALS_MET = -0.7, 0.4
#: With a file, the successor starts from this share of the old goal agreement.
FILE_GOAL_CARRY = 0.5

#: Outcome names, by choice.
OUTCOMES = {"successor": "stayed_with_successor", "colleague": "moved_to_colleague", "left": "left"}


def pass_file(model: AllianceModel, old: Relationship, new: Relationship) -> None:
    """The new therapist reads the file: a share of what the old one knew, and the topics."""
    R, carry = model.R, model.params.file_knowledge_carry
    R.knowledge[new.idx] = carry * R.knowledge[old.idx]
    R.topics_known[new.idx] = R.topics_known[old.idx]
    R.file_transferred[new.idx] = True


def introduce_successors(model: AllianceModel, week: int, relationships: np.ndarray) -> None:
    """During a notice period, clients seen this week meet the successor in the room (warm introduction)."""
    R = model.R
    meets = (model.T.leaving_week[R.therapist[relationships]] >= 0) & ~R.introduced_to_successor[relationships]
    for ri in relationships[meets].tolist():
        r = model.relationships[ri]
        R.introduced_to_successor[ri] = True
        model.events.add(week, K.INTRODUCED, r.client.label, r.therapist.label,
                         successor=r.therapist.successor.label)


def hand_over(model: AllianceModel, t: Therapist, week: int) -> None:
    """Last day of therapist ``t``: every client on the books chooses where to go (see module docstring)."""
    p, R, C, T = model.params, model.R, model.C, model.T
    policy = p.handover_policy
    succ = t.successor
    rnd = model.streams.python("handover")
    model.therapist_departures += 1
    model.events.add(week, K.THERAPIST_LEFT, None, t.label, reason=t.leave_reason)
    T.left_week[t.idx] = week
    model.open_diaries(week)
    open_for_new = T.used("accepting").copy()
    open_for_new[succ.idx] = False
    for r in sorted(t.caseload.values(), key=lambda x: x.rid):
        c, ci = r.client, r.client.idx
        tol = float(C.travel_tolerance_km[ci])
        km = model.km_from(*c.home)[T.used("site")]
        here = float(km[t.idx])
        carry = p.introduction_trust_carry * r.bond if R.introduced_to_successor[r.idx] else 0.0
        file_k = p.file_knowledge_carry * r.knowledge if policy != "none" else 0.0
        options: list[tuple[str, int]] = [("successor", succ.idx)]
        utils = [SAME_ROOM_UTILITY + CARRY_UTILITY * carry + FILE_UTILITY * file_k - here / tol]
        nearer = np.flatnonzero(open_for_new & (km < here))
        if nearer.size:
            best = int(nearer[np.argmin(km[nearer])])
            options.append(("colleague", best))
            utils.append(-float(km[best]) / tol)
        options.append(("left", -1))
        utils.append(LEAVE_UTILITY + LEAVE_IF_GOALS_MET * bool(C.goals_met[ci]))
        choice, to = options[S.logit_choice(utils, rnd.random(), HANDOVER_TEMPERATURE)]
        r.handover_outcome = OUTCOMES[choice]
        next_week = int(R.next_week[r.idx])
        if choice == "left":
            model.handover_left += 1
            model.events.add(week, K.LEFT_AT_HANDOVER, c.label, t.label)
            model.end_relationship(r, week, "therapist_left")
            continue
        model.end_relationship(r, week, "therapist_left", client_leaves=False)
        booked = max(next_week, week + 1) if next_week >= 0 or C.paused_until[ci] < 0 else -1
        new = model.start_relationship(ci, to, week, bond=carry if choice == "successor" else None,
                                       first_session=booked)
        new.predecessor = r
        new.handover_policy = policy
        R.recovery_target[new.idx] = R.alliance_end[r.idx]
        if choice == "successor":
            model.handover_stayed += 1
            R.introduced[new.idx] = R.introduced_to_successor[r.idx]
            if policy != "none":
                pass_file(model, r, new)
                R.goal[new.idx] = FILE_GOAL_CARRY * R.goal[r.idx]
                model.events.add(week, K.FILE_TRANSFERRED, c.label, t.label, successor=succ.label)
            model.events.add(week, K.STAYED_WITH_SUCCESSOR, c.label, succ.label)
        else:
            model.handover_moved += 1
            model.events.add(week, K.MOVED_TO_COLLEAGUE, c.label, model.therapists_all[to].label)
