"""What the model does to stay fast keeps its meaning: clients are Mesa agents when anyone looks,
streams drawn ahead give the numbers they always gave, tables hand out live views, the weekly
tallies are Mesa's, the event log keeps its order, and life events come at their registered rates."""

from __future__ import annotations

import pickle

import mesa
import numpy as np
import pytest

from alliancesim import AllianceModel
from alliancesim.agents import Client
from alliancesim.events import EventKind
from alliancesim.model import WEEKLY_COLUMNS
from alliancesim.schema import CLIENT
from alliancesim.state import Table
from alliancesim.streams import DRAW_AHEAD, Streams

from .conftest import SMALL


def test_every_client_on_the_books_is_one_of_the_models_mesa_agents():
    model = AllianceModel(SMALL, rng=5, years=1).run()
    on_books = {c.idx for c in model.clients()}
    clients = [a for a in model.agents if isinstance(a, Client)]
    assert {c.idx for c in clients} == on_books and len(clients) == len(on_books) > 20
    assert len(model.agents_by_type[Client]) == len(on_books)
    assert Client in model.agent_types
    left = [c for c in model.clients_all if c.left_week is not None]
    assert left and not any(c in model.agents for c in left)
    ids = [c.unique_id for c in clients]
    assert None not in ids and len(set(ids)) == len(ids)
    # An agent joined once stays the same agent while the run goes on, and leaves Mesa's set when it leaves.
    model = AllianceModel(SMALL, rng=5, years=1)
    model.run(20)
    first = {a.idx: a for a in model.agents if isinstance(a, Client)}
    model.run(20)
    still = {a.idx: a for a in model.agents if isinstance(a, Client)}
    assert all(still[i] is first[i] for i in first.keys() & still.keys())
    assert all(first[i].left_week is not None for i in first.keys() - still.keys())


def test_streams_drawn_ahead_give_the_numbers_drawn_one_by_one():
    sizes = (3, DRAW_AHEAD - 1, 5, 2 * DRAW_AHEAD + 7, 0, 11)
    ahead = Streams(9)
    u = np.hstack([ahead.uniforms(("a", "b"), n) for n in sizes])
    z = np.hstack([ahead.normals(("c",), n) for n in sizes])
    plain = Streams(9)
    total = sum(sizes)
    assert np.array_equal(u, np.vstack([plain.numpy("a").random(total), plain.numpy("b").random(total)]))
    assert np.array_equal(z[0], plain.numpy("c").standard_normal(total))
    # A stream drawn ahead is read only through its group.
    with pytest.raises(ValueError, match="'a'"):
        ahead.numpy("a")
    with pytest.raises(ValueError, match="'b'"):
        ahead.uniforms(("b", "d"), 2)
    plain.numpy("e").random(1)
    with pytest.raises(ValueError, match="'e'"):
        plain.uniforms(("e",), 1)


def test_table_fields_are_live_views_after_growing_and_pickling():
    table = Table(CLIENT, capacity=2)
    for k in range(5):  # grows twice
        table.add(need=k % 4)
    table.need[3] = 2
    assert table.data["need"][3] == 2 and table.used("need").tolist() == [0, 1, 2, 2, 0]
    copy = pickle.loads(pickle.dumps(table))
    copy.need[0] = 3
    assert copy.data["need"][0] == 3 and table.data["need"][0] == 0


def test_weekly_tallies_are_what_mesas_own_collector_collects():
    model = AllianceModel(SMALL, rng=2, years=0.5)
    plain = mesa.DataCollector(model_reporters=dict(WEEKLY_COLUMNS))
    while model.running:
        model.step()
        plain.collect(model)
        if model.week == 10:  # reading midway leaves the rest as it would have been
            model.datacollector.get_model_vars_dataframe()
    ours = model.datacollector.get_model_vars_dataframe()
    theirs = plain.get_model_vars_dataframe()
    assert ours[list(WEEKLY_COLUMNS)].equals(theirs)


def test_the_event_log_is_in_time_order_and_reads_the_same_however_often():
    model = AllianceModel(SMALL, rng=3, years=0.5)
    model.run(8)
    early = [e.sentence() for e in model.events]
    model.run()
    events = list(model.events)
    assert [e.sentence() for e in events[:len(early)]] == early
    weeks = [e.week for e in events]
    assert weeks == sorted(weeks)
    kinds = {e.kind for e in events}
    assert {EventKind.ARRIVAL, EventKind.FIRST_SESSION, EventKind.RUPTURE} <= kinds
    assert [e.sentence() for e in pickle.loads(pickle.dumps(model.events))] == [e.sentence() for e in events]


def test_life_events_come_at_their_yearly_rates():
    rates = {"setback_rate": 3.0, "pause_rate": 2.0}
    counts = {EventKind.SETBACK: 0, EventKind.PAUSED: 0}
    client_weeks = 0
    for seed in (1, 2):
        model = AllianceModel({**SMALL, **rates, "move_rate": 0.0}, rng=seed, years=2).run()
        client_weeks += model.client_weeks
        for e in model.events:
            if e.kind in counts:
                counts[e.kind] += 1
        assert not any(e.kind in (EventKind.MOVED_AWAY, EventKind.KEPT_TRAVELLING) for e in model.events)
    # A setback befalls every client on the books at the rate; a pause only those not paused already.
    expected = client_weeks * rates["setback_rate"] / 52
    assert abs(counts[EventKind.SETBACK] - expected) < 4 * np.sqrt(expected)
    at_most = client_weeks * rates["pause_rate"] / 52
    assert 0.4 * at_most < counts[EventKind.PAUSED] < at_most
