"""The main area: step and redraw, every tab, the inspector, the log, handovers, run N times, export."""

from __future__ import annotations

import csv
import html
import re

import ipyvuetify as v
import pytest

from alliancesim import presets
from alliancesim.dashboard.figures import SPREAD_METRICS

from .conftest import PNG_SIGNATURE, _all_text, has_class, walk


def set_render_interval(page, weeks: int) -> None:
    page.weeks_per_update(weeks)


def map_svg(page) -> str:
    found = page.with_class("as-map")
    assert len(found) == 1, f"expected one map, found {len(found)}"
    text = found[0].unsafe_innerHTML
    return text[text.index("<svg"):]


def test_step_advances_the_week_and_redraws_the_map(render_dashboard):
    page = render_dashboard()
    assert page.time() == 0
    before = map_svg(page)
    assert before.endswith("</svg>")  # the map is SVG: the browser draws it
    page.step()
    assert page.time() == 1
    first = map_svg(page)
    page.step(3)
    assert page.time() == 4
    assert "as-kpi-value'>4<small> / 520" in _all_text(page.with_class("as-status")[0])
    later = map_svg(page)
    assert len({before, first, later}) == 3  # clients arrive: the picture changes every week
    assert re.search(r"Week 4: \d+ therapists, \d+ clients on the books", page.text())
    assert "week 4" in _all_text(page.with_class("as-recent")[0])  # newest events first


@pytest.mark.parametrize("tab, picture", [
    ("Over time", "timeseries"),
    ("Relationship", "relationship"),
    ("Handover", "handover"),
])
def test_each_view_draws_its_picture(render_dashboard, tab, picture):
    page = render_dashboard()
    page.step(6)
    page.tab(tab)
    png = page.png(picture)
    assert png.startswith(PNG_SIGNATURE) and len(png) > 10_000
    assert page.with_class("as-map") == []  # hidden tabs are not rendered at all
    page.step()
    assert page.png(picture).startswith(PNG_SIGNATURE)


def test_over_time_shows_when_clients_drop_out_and_the_ruptures_repaired(render_dashboard):
    page = render_dashboard()
    page.weeks_per_update(26)
    page.step()
    page.tab("Over time")
    png = page.png("patterns")
    assert png.startswith(PNG_SIGNATURE) and len(png) > 10_000
    page.step()
    assert page.png("patterns") != png  # a later week: more dropouts and ruptures to count


def test_relationship_inspector_draws_the_chosen_pair(render_dashboard):
    page = render_dashboard()
    page.step(12)
    page.tab("Relationship")
    picker = page.with_class("as-pair-picker", v.Autocomplete)[0]
    assert len(picker.items) > 10
    first = page.png("relationship")
    chosen = picker.items[3]
    picker.v_model = chosen["value"]
    client, therapist = re.match(r"(C\d+) with (T\d+)", chosen["text"]).groups()
    caption = _all_text(page.with_class("as-relationship-caption")[0])
    assert caption.startswith(f"{client} with {therapist}: from week ")
    assert page.png("relationship") != first
    story = _all_text(page.with_class("as-story")[0])
    assert f"client {client}" in story and f"therapist {therapist}" in story
    page.step(3)  # the chosen pair stays on screen while the clinic moves on
    assert _all_text(page.with_class("as-relationship-caption")[0]).startswith(f"{client} with {therapist}")
    page.tab("Event log")
    page.tab("Relationship")  # and when the person comes back to the tab
    assert _all_text(page.with_class("as-relationship-caption")[0]).startswith(f"{client} with {therapist}")


def test_event_log_reads_newest_first_and_filters(render_dashboard):
    page = render_dashboard()
    page.step(8)
    page.tab("Event log")
    weeks = [int(w) for w in re.findall(r"<span class='as-week'>week (\d+)</span>",
                                        _all_text(page.with_class("as-log")[0]))]
    assert len(weeks) == 100 and weeks[0] == 8 and weeks == sorted(weeks, reverse=True)
    toggle = walk(page.box, v.BtnToggle, lambda w: not has_class(w, "as-choices"))[0]  # not a guess
    toggle.v_model = 1  # ruptures and repairs
    lines = _all_text(page.with_class("as-log")[0])
    assert lines and "booked a first appointment" not in lines
    assert re.search(r"rupture|repair|boundary|history", lines)
    search = page.with_class("as-event-search", v.TextField)[0]
    toggle.v_model = 0
    page.type_into(search, "C3")
    items = re.findall(r"<li[^>]*>(.*?)</li>", _all_text(page.with_class("as-log")[0]))
    assert items and all("C3" in item for item in items)


def test_handover_view_tells_where_the_clients_went(render_dashboard, monkeypatch):
    page = render_dashboard(preset="retiring_file_and_introduction")
    week = presets.load("retiring_file_and_introduction").params["scheduled_retirement_week"]
    page.tab("Handover")
    assert "No therapist has left" not in page.text()  # the figure says so, as a picture
    set_render_interval(page, week - 1)
    page.step()
    assert "T1 has given notice (retirement); last day in week" in page.text()
    set_render_interval(page, 1)
    page.step(2)
    text = page.text()
    row = re.search(r"<tr><td>T1</td><td>retirement</td><td>(\d+)</td><td>(T\d+)</td><td>(\d+)</td>", text)
    assert row, "no handover row for T1"
    assert int(row.group(1)) == week and int(row.group(3)) > 0
    assert page.png("handover").startswith(PNG_SIGNATURE)


def test_run_this_preset_n_times_draws_the_spread(render_dashboard):
    page = render_dashboard(seed=5)
    page.tab("Run N times")
    walk(page.box, v.Slider, lambda w: w.label == "Runs")[0].v_model = 3
    walk(page.box, v.Slider, lambda w: w.label == "Years per run")[0].v_model = 0.5
    page.click("Run this preset 3 times")
    page.wait(lambda: page.images("spread"), timeout=120, what="the spread figure")
    table = _all_text(page.with_class("as-table")[0])
    assert [int(s) for s in re.findall(r"<tr><td>(\d+)</td>", table)] == [5, 6, 7]
    assert all(label in table for _, label, _, _ in SPREAD_METRICS)
    assert page.png("spread").startswith(PNG_SIGNATURE)


def test_export_writes_csv_tables_and_png_pictures(render_dashboard, tmp_path):
    page = render_dashboard()
    page.step(10)
    page.tab("Export")
    page.click("Export this run")  # writes in the background, then says where
    page.wait(lambda: "Wrote " in page.text(), timeout=120, what="the export to finish")
    folders = list((tmp_path / "exports").iterdir())
    assert len(folders) == 1 and folders[0].name.startswith("default-seed1-week10-")
    files = {p.name: p for p in folders[0].iterdir()}
    for table in ("weekly", "therapists", "relationships", "sessions", "ruptures", "events"):
        assert f"{table}.csv" in files
    with files["weekly.csv"].open() as fh:
        rows = list(csv.DictReader(fh))
    assert [int(r["week"]) for r in rows] == list(range(1, 11))
    pictures = [name for name in files if name.endswith(".png")]
    assert {"clinic_map.png", "over_time.png", "handover.png", "dropouts_and_ruptures.png"} <= set(pictures)
    assert any(name.startswith("relationship_") for name in pictures)
    for name in pictures:
        assert files[name].read_bytes().startswith(PNG_SIGNATURE)
    assert "summary.json" in files


def test_info_page_has_every_section_and_the_preset_notes(render_dashboard):
    page = render_dashboard(preset="countertransference")
    page.tab("Info")
    text = page.text()
    for section in ("WHAT IS IT?", "HOW IT WORKS", "HOW TO USE IT", "THINGS TO NOTICE", "THINGS TO TRY",
                    "EXTENDING THE MODEL", "SOURCES"):
        assert f">{section}<" in text  # a heading
    preset = presets.load("countertransference")
    for note in preset.things_to_notice + preset.things_to_try:
        assert note in text
    assert preset.questions and all(html.escape(q.ask, quote=False) in text or q.ask in text
                                    for q in preset.questions)  # what the preset asks before the run
    for source in ("Clare Carey", "Timothy Clark", "Therapeutic Relationship in Massage",
                   "What is the Importance of Therapeutic Alliance in Massage Therapy?", "miracle worker"):
        assert source in text


def test_compare_runs_two_presets_with_the_same_seed_side_by_side(render_dashboard):
    from alliancesim.dashboard.compare import run_setup

    page = render_dashboard(preset="retiring_none", seed=4)
    page.tab("Compare")
    picker = page.with_class("as-compare-with", v.Select)[0]
    assert picker.v_model == "retiring_file_and_introduction"  # the natural partner comes first
    page.click("Run A and B with seed 4")
    page.wait(lambda: page.images("compare"), timeout=60, what="the comparison")
    assert page.png("compare").startswith(PNG_SIGNATURE)
    table = _all_text(page.with_class("as-compare-table")[0])
    assert "A: The retiring therapist: no handover" in table and "B: The retiring therapist: file and" in table
    # B's column is the preset run on its own with the same seed (the same run, made again here)
    alone = run_setup("B", presets.load("retiring_file_and_introduction").validated(), 4)
    assert f"{100 * alone.metrics['stayed_with_successor']:.1f}%" in table


def test_handover_tab_compares_the_three_policies(render_dashboard):
    page = render_dashboard(preset="retiring_file", seed=2)
    page.tab("Handover")
    page.click("Compare the three policies")
    page.wait(lambda: page.images("policies"), timeout=60, what="the three policies")
    assert page.png("policies").startswith(PNG_SIGNATURE)
    assert "each handover policy, seed 2" in page.text()


def test_map_after_a_year_groups_the_lines_by_neighbourhood_and_room(render_dashboard):
    from alliancesim.dashboard.clinic import DashboardClinic
    from alliancesim.dashboard.svgmap import GRID, map_state, neighbourhood_lines

    model = DashboardClinic()
    model.run(weeks=52)
    state = map_state(model)
    lines = neighbourhood_lines(state)
    assert sum(n for *_, n, _ in lines) == len(state.clients) > 100  # every client in exactly one line
    assert len(lines) <= GRID * GRID * len(state.sites) < len(state.clients)
    assert all((x1, y1) in state.sites for _, _, x1, y1, _, _ in lines)

    page = render_dashboard()
    page.weeks_per_update(52)
    page.step()
    grouped = map_svg(page)
    assert "client with an open rupture" in _all_text(page.with_class("as-map-legend")[0])
    toggle = walk(page.with_class("as-map-mode")[0], v.BtnToggle)[0]
    toggle.v_model = 1  # each client
    each = map_svg(page)
    assert each.count("L") > 2 * grouped.count("L")  # one line per client, not per group
    assert "open rupture" in _all_text(page.with_class("as-map-legend")[0])
