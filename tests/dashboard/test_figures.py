"""Painters and the digest: cheap redraws that still show exactly what the model holds."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from alliancesim.dashboard import figures as F
from alliancesim.dashboard.clinic import DashboardClinic
from alliancesim.dashboard.digest import digest, rolling_mean
from alliancesim.metrics import summary_metrics
from alliancesim.model import AllianceModel
from alliancesim.tables import relationship_table, rupture_table, session_table, weekly_table

from .conftest import JPEG_SIGNATURE, PNG_SIGNATURE


@pytest.fixture(scope="module")
def retired():
    """A small clinic whose T1 retired in week 20 (file and introduction), run to week 40."""
    model = DashboardClinic({"years": 1.0, "n_therapists": 4, "initial_clients": 60, "population": 1500,
                             "scheduled_retirement_week": 20, "notice_weeks": 6,
                             "handover_policy": "file_and_introduction"})
    model.run(weeks=40)
    return model


def test_weekly_series_are_the_weekly_table(retired):
    series = digest(retired).weekly()
    table = weekly_table(retired)
    assert np.array_equal(series["week"], table["week"].to_numpy(dtype=float))
    for column in ("clients_on_books", "ruptures", "repairs", "dropouts", "mean_alliance"):
        np.testing.assert_allclose(series[column], table[column].to_numpy(dtype=float), equal_nan=True)


def test_event_index_grows_with_the_model_and_reads_newest_first():
    model = AllianceModel({"years": 1.0, "n_therapists": 3, "initial_clients": 30, "population": 800}, rng=3)
    d = digest(model)
    model.run(weeks=5)
    assert [e.sentence() for e in d.events(limit=30)] == model.events.sentences(newest_first=True, limit=30)
    model.run(weeks=5)  # indexed incrementally from where it left off
    assert [e.sentence() for e in d.events(limit=10_000)] == model.events.sentences(newest_first=True)
    ruptures = d.events("ruptures and repairs", limit=10_000)
    assert ruptures and all(e.kind.value in {"rupture", "rupture_noticed", "rupture_missed", "repair",
                                             "repair_failed", "countertransference", "boundary_incident"}
                            for e in ruptures)


def test_sessions_of_a_pair_are_its_rows_of_the_session_table(retired):
    d = digest(retired)
    table = session_table(retired)
    for rid, _ in d.pair_choices("now")[:3] + d.pair_choices("ended")[:3]:
        expected = table[table["relationship_id"] == rid].reset_index(drop=True)
        pd.testing.assert_frame_equal(d.sessions_of(rid), expected)


def test_departures_match_the_relationship_table(retired):
    departures = [dep for dep in digest(retired).departures() if dep.week is not None]
    t1 = next(dep for dep in departures if dep.therapist == "T1")
    assert t1.week == 20 and t1.reason == "retirement" and t1.successor is not None
    rels = relationship_table(retired)
    ended = rels[(rels["therapist"] == "T1") & (rels["end_reason"] == "therapist_left")]
    assert len(t1.clients) == len(ended) > 0
    counts = ended["handover_outcome"].value_counts().to_dict()
    for outcome in ("stayed_with_successor", "moved_to_colleague", "left"):
        assert t1.count(outcome) == counts.get(outcome, 0)
    continued = rels[rels["predecessor_id"].isin(ended["relationship_id"])]
    recovered = sorted(int(w) for w in continued["recovery_weeks"].dropna())
    assert sorted(t1.recovery_weeks()) == recovered


def test_painters_draw_the_current_state_and_save_it(retired, tmp_path):
    painters = [
        F.NetworkPainter(retired.site_xy, retired.params.town_radius_km).update(retired),
        F.TimeSeriesPainter(retired.horizon).update(retired),
        F.RelationshipPainter().update(retired, digest(retired).pair_choices()[0][0]),
    ]
    for painter in painters:
        first = painter.frame()
        assert first.startswith(JPEG_SIGNATURE if painter.format == "jpeg" else PNG_SIGNATURE)
        assert painter.frame() == first  # the background is reused, the picture is the same
        assert painter.caption
        path = painter.save(tmp_path / f"{type(painter).__name__}.png")
        assert path.read_bytes().startswith(PNG_SIGNATURE)
        assert painter.frame() == first  # saving at another resolution does not disturb the screen copy
    assert painters[0].caption.startswith("Week 40: ")


def test_network_painter_follows_the_model():
    model = DashboardClinic({"years": 1.0, "n_therapists": 3, "initial_clients": 40, "population": 800})
    painter = F.NetworkPainter(model.site_xy, model.params.town_radius_km)
    empty = painter.update(model).frame()
    model.run(weeks=6)
    busy = painter.update(model).frame()
    assert busy != empty
    clients = sum(1 for _ in model.clients())
    assert f"{clients} clients on the books" in painter.caption
    assert len(painter.plain.get_segments()) + len(painter.ruptured.get_segments()) \
        + len(painter.handed.get_segments()) == clients


def test_figures_without_data_say_what_to_do():
    model = DashboardClinic({"years": 1.0, "n_therapists": 2, "initial_clients": 5, "population": 300})
    assert F.png(F.handover_figure(model)).startswith(PNG_SIGNATURE)
    painter = F.RelationshipPainter().update(model, None)
    assert painter.caption == "Pick a client and therapist"
    assert F.png(F.spread_figure([], "nothing")).startswith(PNG_SIGNATURE)


def test_spread_figure_marks_metrics_that_never_happened():
    runs = [{"seed": s, "dropout_share": 0.2 + 0.01 * s, "stayed_with_successor": float("nan")} for s in range(4)]
    fig = F.spread_figure(runs, "four runs")
    texts = [t.get_text() for ax in fig.axes for t in ax.texts]
    assert any(t.startswith("median 21.5") for t in texts)
    assert any("did not happen" in t for t in texts)


@pytest.mark.parametrize("value, ceiling", [(0.0, 1.0), (0.7, 0.8), (1.0, 1.0), (13.0, 15.0), (101.0, 150.0),
                                            (float("nan"), 1.0)])
def test_nice_ceiling(value, ceiling):
    assert F.nice_ceiling(value) == pytest.approx(ceiling)


def test_axes_grow_in_steps():
    assert F.growing_limit(10, 52, 520) == 52
    assert F.growing_limit(53, 52, 520) == 104
    assert F.growing_limit(500, 52, 520) == 520
    assert F.growing_limit(9, 8, factor=1.5) == 12


def test_rolling_mean_matches_pandas():
    values = np.array([1.0, np.nan, 3.0, 4.0, 10.0, 0.0, 2.0])
    expected = pd.Series(values).rolling(4, min_periods=1).mean().to_numpy()
    np.testing.assert_allclose(rolling_mean(values, 4), expected)


def test_pairs_that_began_at_a_handover_list_the_successors_clients_first(retired):
    d = digest(retired)
    choices = d.pair_choices("handover")
    rels = [d.relationship(rid) for rid, _ in choices]
    assert rels and all(r.predecessor is not None for r in rels)
    stayed = [r.predecessor.end_reason == "therapist_left"
              and r.predecessor.handover_outcome == "stayed_with_successor" for r in rels]
    assert any(stayed), "no client stayed with the successor in this clinic"
    assert stayed == sorted(stayed, reverse=True)  # every stayed-with-successor pair comes first
    successor = next(t for t in retired.therapists_all if t.label == "T1").successor.label
    assert all(r.therapist.label == successor for r, s in zip(rels, stayed, strict=True) if s)


def test_the_handover_tab_counts_down_to_the_retirement():
    from alliancesim.dashboard.views import handover_html

    model = DashboardClinic({"years": 1.0, "n_therapists": 3, "initial_clients": 20, "population": 800,
                             "scheduled_retirement_week": 30, "notice_weeks": 6})
    model.run(weeks=10)
    assert "<b class='as-countdown-weeks'>20 weeks</b> until the handover: T1 retires in week 30" \
        " (gives notice in week 24)" in handover_html(model)
    model.run(weeks=16)
    assert "4 weeks</b> until the handover" in handover_html(model) and "on notice now" in handover_html(model)
    model.run(weeks=10)
    assert "as-countdown" not in handover_html(model)


def test_dropout_bars_count_the_clients_who_dropped_out_in_the_relationship_table(retired):
    # a client's course: all their relationships (a handover continues it); it ended in a dropout when
    # the last one did and the client had not met their goals
    rels = relationship_table(retired).sort_values("relationship_id")
    courses = rels.groupby("client").agg(sessions=("sessions", "sum"), last=("end_reason", "last"),
                                         goals=("client_goals_met", "last"))
    dropped = courses.loc[(courses["last"] == "dropout") & ~courses["goals"].astype(bool), "sessions"].to_numpy()
    bars = F.dropout_by_session(retired)
    assert len(bars) == F.DROPOUT_SESSIONS_SHOWN and bars.sum() == len(dropped) > 5
    for k in range(2, F.DROPOUT_SESSIONS_SHOWN):
        assert bars[k - 1] == np.count_nonzero(dropped == k)
    assert bars[0] == np.count_nonzero(dropped <= 1)
    assert bars[-1] == np.count_nonzero(dropped >= F.DROPOUT_SESSIONS_SHOWN)
    # the title's share is the early_dropout_share metric the default preset asks about
    assert bars[:2].sum() / bars.sum() == pytest.approx(summary_metrics(retired)["early_dropout_share"])


@pytest.mark.parametrize("weeks_per_bar", [4, 13])
def test_rupture_bars_count_each_rupture_once_in_the_period_it_opened(retired, weeks_per_bar):
    table = rupture_table(retired)
    starts, repaired, unrepaired = F.ruptures_by_period(retired, weeks_per_bar)
    assert len(starts) == -(-retired.week // weeks_per_bar) and starts[0] == 1
    assert repaired.sum() + unrepaired.sum() == len(table) > 10
    assert repaired.sum() == int(table["resolved"].sum())
    first = table[table["week"] <= weeks_per_bar]
    assert repaired[0] + unrepaired[0] == len(first)


def test_running_repaired_share_stays_a_share(retired):
    series = F.with_running_shares(digest(retired).weekly())
    share = series["repaired_so_far"]
    table = weekly_table(retired)
    opened = table["ruptures"].cumsum().to_numpy()
    assert np.isnan(share[opened == 0]).all()
    known = share[opened > 0]
    assert len(known) and (known >= 0).all() and (known <= 100).all()
    assert known[-1] == pytest.approx(100 * min(table["repairs"].sum(), opened[-1]) / opened[-1])


def test_patterns_figure_draws_with_and_without_data(retired):
    assert F.png(F.patterns_figure(retired)).startswith(PNG_SIGNATURE)
    fresh = DashboardClinic({"years": 1.0, "n_therapists": 3, "initial_clients": 10, "population": 500})
    assert F.png(F.patterns_figure(fresh)).startswith(PNG_SIGNATURE)  # week 0: no dropouts, no ruptures


def test_map_reads_each_client_as_the_model_objects_say(retired):
    from alliancesim.dashboard.svgmap import map_state

    state = map_state(retired)
    clients = list(retired.clients())
    assert [(x, y) for x, y, _ in state.clients] == [tuple(map(float, c.home)) for c in clients]
    assert [p for _, _, p in state.clients] == [c.paused_until is not None for c in clients]
    kinds = ["rupture" if c.relationship.open_rupture is not None else
             "handover" if c.relationship.predecessor is not None else "plain" for c in clients]
    assert [k for *_, k, _ in state.links] == kinds and "handover" in kinds and "rupture" in kinds
    assert [room for _, _, room, _, _ in state.links] == [c.relationship.therapist.site for c in clients]
    np.testing.assert_allclose([a for *_, a in state.links], [c.relationship.alliance for c in clients])
    assert state.open_ruptures == kinds.count("rupture")
    assert sum(1 for line in state.lines if line[4] == "ended") == sum(
        1 for c in clients if c.relationship.predecessor is not None)
