"""The run controls: never past the end of the run, only the views on screen follow the clock."""

from __future__ import annotations

import ipyvuetify as v

from alliancesim import presets
from alliancesim.dashboard import views
from alliancesim.dashboard.clinic import DashboardClinic, Settings
from alliancesim.tables import all_tables

from .conftest import walk


def test_a_step_at_the_horizon_changes_nothing():
    model = DashboardClinic(Settings("default", 3))
    model.run(weeks=model.horizon)
    assert model.week == model.horizon and not model.running
    steps, time, weekly = model.steps, model.time, len(all_tables(model)["weekly"])
    model.step()
    model.step()
    assert (model.week, model.steps, model.time) == (model.horizon, steps, time)
    assert len(all_tables(model)["weekly"]) == weekly == model.horizon


def buttons(page, label):
    return walk(page.box, v.Btn, lambda w: label in [c for c in w.children if isinstance(c, str)])


def test_weeks_per_update_never_runs_past_the_end(render_dashboard):
    preset = presets.load("retiring_file")
    horizon = round(preset.params["years"] * 52)
    page = render_dashboard(preset="retiring_file")
    page.weeks_per_update(52)
    for _ in range(horizon // 52 + 2):  # more presses than the run has updates
        if not buttons(page, "Step")[0].disabled:
            page.step()
    assert page.time() == horizon
    assert f"as-kpi-value'>{horizon}<small> / {horizon}" in page.text()
    assert buttons(page, "Step")[0].disabled and buttons(page, "▶")[0].disabled
    assert "the run is over" in page.text()
    page.reset()
    assert page.time() == 0 and not buttons(page, "Step")[0].disabled


def test_play_stops_at_the_end(render_dashboard):
    page = render_dashboard(preset="retiring_file")
    horizon = round(presets.load("retiring_file").params["years"] * 52)
    page.weeks_per_update(52)
    walk(page.box, v.Slider, lambda w: "Pause between" in str(w.label))[0].v_model = 0
    page.click("▶")
    page.wait(lambda: page.time() == horizon and buttons(page, "▶"), timeout=60, what="play to stop at the end")
    assert page.time() == horizon


def test_only_the_views_on_screen_are_drawn(render_dashboard, monkeypatch):
    drawn = []
    for name in ("map_state", "status_html", "handover_html"):
        original = getattr(views, name)
        monkeypatch.setattr(views, name, lambda *a, _f=original, _n=name, **k: drawn.append(_n) or _f(*a, **k))
    page = render_dashboard()
    page.tab("Info")  # (the views read the patched functions from now on)
    page.tab("Clinic map")
    drawn.clear()
    page.step()
    assert sorted(drawn) == ["map_state", "status_html"]  # one drawing each for the week
    page.tab("Info")
    drawn.clear()
    page.step(2)
    assert drawn == ["status_html", "status_html"]  # the map is not on screen: not drawn
    page.tab("Handover")
    drawn.clear()
    page.step()
    assert sorted(drawn) == ["handover_html", "status_html"]


def test_a_closed_session_leaves_no_model_behind(monkeypatch):
    """Every model a session made is freed when the session closes (30 MB each after ten years)."""
    import gc
    import weakref

    import solara
    from solara.server import kernel, kernel_context

    from alliancesim.dashboard import clinic
    from alliancesim.dashboard.app import Page

    from .conftest import Dashboard

    made = []
    original = clinic.DashboardClinic.__init__

    def remember(self, *args, **kwargs):
        original(self, *args, **kwargs)
        made.append(weakref.ref(self))

    monkeypatch.setattr(clinic.DashboardClinic, "__init__", remember)
    context = kernel_context.VirtualKernelContext(id="closing", kernel=kernel.Kernel(), session_id="closing")
    with context:
        box, rc = solara.render(solara.AppLayout(children=[Page()]), handle_error=False)
        page = Dashboard(box, rc)
        page.step(3)
        page.reset()
        page.step(12)
        for tab in ("Over time", "Relationship", "Event log", "Handover", "Export", "Clinic map"):
            page.tab(tab)
            page.step()
        rc.close()
    context.close()
    del page, box, rc
    gc.collect()
    assert len(made) == 2
    assert [ref() for ref in made] == [None, None]
