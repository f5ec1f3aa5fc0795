"""The model as a whole: reproducible, internally consistent, and readable through its tables and log."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pytest

from alliancesim import AllianceModel
from alliancesim import week as W
from alliancesim.engine import rows
from alliancesim.events import EventKind
from alliancesim.relationship import (
    ALLOWED,
    TRANSITIONS,
    IllegalTransition,
    RuptureState,
    check_path,
    decode_path,
)
from alliancesim.runner import simulate
from alliancesim.tables import TABLES, write_outputs

from .conftest import SMALL


def _digest(folder) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def test_same_parameters_and_seed_give_byte_identical_files(tmp_path):
    for name in ("a", "b"):
        model = simulate("retiring_file_and_introduction", seed=7, years=3.5, **SMALL)
        write_outputs(model, tmp_path / name, csv=True)
    a, b = _digest(tmp_path / "a"), _digest(tmp_path / "b")
    assert len(a) == 2 * len(TABLES) + 1
    assert a == b


def test_a_different_seed_gives_a_different_run(run):
    (_, t1), (_, t2) = run(seed=1, years=1, **SMALL), run(seed=2, years=1, **SMALL)
    assert not t1["sessions"].equals(t2["sessions"])


def test_stepping_and_reading_tables_midway_does_not_change_the_run():
    a = AllianceModel(rng=5, years=2, **SMALL)
    a.run(40)
    from alliancesim.tables import all_tables
    all_tables(a)  # reading mid-run must not disturb state
    a.run()
    b = AllianceModel(rng=5, years=2, **SMALL).run()
    pd.testing.assert_frame_equal(all_tables(a)["sessions"], all_tables(b)["sessions"])
    pd.testing.assert_frame_equal(all_tables(a)["relationships"], all_tables(b)["relationships"])


def test_books_are_consistent(run):
    model, tables = run(seed=3, years=4, **SMALL)
    R, C = model.R, model.C
    active = R.used("active")
    # A client has at most one open relationship, and the client table agrees.
    clients = R.used("client")[active]
    assert len(np.unique(clients)) == len(clients)
    assert (C.relationship[clients] == np.flatnonzero(active)).all()
    # Therapists' caseloads hold exactly the open relationships.
    assert sum(len(t.caseload) for t in model.therapists_all) == active.sum()
    # Weekly client-weeks add up.
    assert model.client_weeks == tables["weekly"]["clients_on_books"].sum()
    # Ended relationships have an end week and reason; ongoing ones do not.
    rel = tables["relationships"]
    ended = rel["end_reason"] != "ongoing"
    assert rel.loc[ended, "end_week"].notna().all() and rel.loc[~ended, "end_week"].isna().all()
    assert (rel.loc[ended, "end_week"] >= rel.loc[ended, "start_week"]).all()
    assert set(rel["end_reason"]) <= {"ongoing", "dropout", "finished", "completed", "maintenance_ended", "referred_out",
                                      "referred_to_colleague", "moved_away", "therapist_left"}
    # Sessions per relationship match the session table.
    counts = tables["sessions"].groupby("relationship_id").size()
    assert (rel.set_index("relationship_id").loc[counts.index, "sessions"] == counts).all()


def test_state_stays_in_range(run):
    _, tables = run(seed=4, years=4, **SMALL)
    s = tables["sessions"]
    for col in ("quality", "bond", "goal", "task", "alliance", "separateness", "pleasure", "merging",
                "internalisation", "knowledge", "talk_share", "talk_fit"):
        assert s[col].between(0, 1).all(), col
    assert s["distress_before"].between(0, 27).all() and s["distress_after"].between(0, 27).all()
    assert s["pain_before"].between(0, 10).all() and s["pain_after"].between(0, 10).all()
    assert tables["therapists"]["burnout"].between(0, 1).all()


def test_every_rupture_follows_the_state_machine(run):
    model, tables = run(seed=2, years=4, **SMALL)
    rup = tables["ruptures"]
    assert len(rup) == tables["weekly"]["ruptures"].sum() > 0
    for x in model.ruptures:
        check_path(list(x.path))
        assert x.path[0] is RuptureState.RUPTURED or x.path_truncated
        assert x.path[-1] in (RuptureState.INTACT, RuptureState.UNRESOLVED)
        assert x.resolved == (x.path[-1] is RuptureState.INTACT)
        assert (x.repaired_by is None) == (not x.resolved)
    # Repairs recorded per relationship match the episodes.
    assert tables["relationships"]["repairs"].sum() == rup["resolved"].sum()


def test_state_machine_tables_agree_and_illegal_steps_are_refused():
    for src, dsts in TRANSITIONS.items():
        for dst in RuptureState:
            assert ALLOWED[src.code, dst.code] == (dst in dsts)
    with pytest.raises(IllegalTransition):
        check_path([RuptureState.RUPTURED, RuptureState.RESOLVED])
    # The session code refuses an illegal step too.
    from alliancesim.schema import RUPTURE
    from alliancesim.state import Table
    t = Table(RUPTURE, capacity=2)
    t.add(state=RuptureState.UNNOTICED.code)
    with pytest.raises(RuntimeError, match="illegal transition"):
        W.move_episode(rows(t.data), 0, RuptureState.THERAPIST_REPAIR.code)
    W.move_episode(rows(t.data), 0, RuptureState.CLIENT_REPAIR.code)
    assert decode_path(int(t.data[0]["path"]), 1) == [RuptureState.CLIENT_REPAIR]
    # Long episodes keep their most recent states.
    for _ in range(15):
        W.move_episode(rows(t.data), 0, RuptureState.UNRESOLVED.code)
        W.move_episode(rows(t.data), 0, RuptureState.UNNOTICED.code)
    states = decode_path(int(t.data[0]["path"]), int(t.data[0]["path_length"]))
    assert len(states) == 21 and states[-1] is RuptureState.UNNOTICED
    check_path(states)


def test_event_log_reads_as_sentences(run):
    model, tables = run("retiring_file_and_introduction", seed=1, years=3.5, **SMALL)
    events = tables["events"]
    assert (events["week"].diff().dropna() >= 0).all()  # in time order
    kinds = set(events["kind"])
    for k in ("arrival", "first_session", "rupture", "notice_given", "therapist_left", "introduced",
              "stayed_with_successor"):
        assert k in kinds, k
    for e in model.events:
        text = e.sentence()
        assert text.startswith(f"week {e.week}: ") and "{" not in text and "None" not in text
    retire = events[events["kind"] == "therapist_left"].iloc[0]
    assert retire["therapist"] == "T1" and retire["week"] == 156
    assert model.events.since(156)[0].week == 156
    assert model.events.sentences(newest_first=True, limit=3)[0].startswith(f"week {model.week}")


def test_scheduled_retirement_hands_every_client_on(run):
    model, tables = run("retiring_file", seed=2, years=3.5, **SMALL)
    rel = tables["relationships"]
    old = rel[(rel["therapist"] == "T1") & (rel["end_reason"] == "therapist_left")]
    assert len(old) > 0 and old["end_week"].eq(156).all()
    assert set(old["handover_outcome"]) <= {"stayed_with_successor", "moved_to_colleague", "left"}
    successor = model.therapists_all[0].successor.label
    stayed = rel[rel["predecessor_id"].isin(old["relationship_id"]) & (rel["therapist"] == successor)]
    assert len(stayed) == (old["handover_outcome"] == "stayed_with_successor").sum()
    assert stayed["file_transferred"].all() and not stayed["introduced"].any()
    assert not model.therapists_all[0].caseload


def test_weekly_table_columns(run):
    _, tables = run(seed=1, years=1, **SMALL)
    w = tables["weekly"]
    assert {"week", "clients_on_books", "sessions", "ruptures", "repairs", "dropouts", "referrals_colleague",
            "referrals_out", "mean_alliance", "mean_distress", "mean_burnout", "handover_stayed"} <= set(w.columns)
    assert (w["repairs"] <= w["ruptures"].cumsum() + 1e9).all()
    assert set(tables["events"]["kind"]) <= {k.value for k in EventKind}


@pytest.mark.parametrize("options,message", [
    ({"record_sessions": "no"}, "record_sessions='no' is not true/false"),
    ({"record_sessions": 0}, "record_sessions=0 is not true/false"),
    ({"progress": "x"}, "progress='x' is not callable"),
])
def test_run_options_of_the_wrong_kind_are_refused_by_name(options, message):
    from alliancesim.params import ParameterError

    with pytest.raises(ParameterError, match=message):
        simulate("default", seed=1, years=0.1, **options)
