"""The alliancesim dashboard: ``solara run alliancesim.dashboard.app:page`` (or ``alliancesim dashboard``).

The sidebar holds the run controls (:mod:`~alliancesim.dashboard.controller`:
Reset / play / Step, weeks per update) and the controls generated from the
parameter registry; the main area holds the headline numbers and the tabs.  Everything that changes is created per browser session
inside :func:`Page` (a model at module level would be shared by every visitor).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import logging
import os
import sys
import threading

import solara

from ..params import ParameterError
from .clinic import LIVE_MODELS, Settings
from .urlstate import AddressBar, Setup, setup_from_query
from .compare import CompareRunner
from .controller import Clock, ResetRefused, RunButtons, RunControls, use_clock
from .controls import SettingsPanel
from .info import InfoView
from .predict import Guesses, PredictPanel
from .spread import SpreadRunner
from .views import (
    ClinicMapView,
    CompareView,
    EventLogView,
    ExportView,
    HandoverView,
    OverTimeView,
    RecentEvents,
    RelationshipView,
    SettingsNotice,
    SpreadView,
    StatusBar,
    ViewState,
)

PRESET_ENV = "ALLIANCESIM_DASHBOARD_PRESET"
SEED_ENV = "ALLIANCESIM_DASHBOARD_SEED"
TITLE = "alliancesim · relationships in a massage clinic"

CSS = """
/* Sizes: nothing a student must read is under 16 px (a projector at the back of a room). */
.v-navigation-drawer { width: 400px !important; min-width: 0 !important; max-width: 400px !important;
                       background-color: #fafafa !important; }
.v-navigation-drawer .v-select__selection { white-space: nowrap; overflow: hidden; text-overflow: ellipsis;
                                            max-width: 300px; }
@media (max-width: 959px) {  /* a phone or a small window: the sidebar floats over the page, under the bar
                                 with the menu button (to close it) and Reset / play / Step */
  .v-navigation-drawer { width: min(400px, calc(100vw - 32px)) !important; top: 56px !important;
                         max-height: calc(100% - 56px) !important; }
  .v-app-bar.v-app-bar { z-index: 10 !important; }
  .v-toolbar__title { display: none; }
  .v-app-bar .as-run-buttons { gap: 4px; }
  .v-app-bar .as-run-buttons .v-btn { padding: 0 10px !important; }
  .v-app-bar .as-reset { font-size: 0 !important; }  /* the icon only (its name stays for screen readers) */
  .v-app-bar .as-reset .v-icon { margin: 0 !important; }
  .v-app-bar .as-week-line { font-size: 15px; margin-left: 2px; }
}
.v-app-bar .as-run-buttons { display: flex; gap: 8px; align-items: center; flex-wrap: nowrap; }
.v-app-bar .as-run-buttons .v-btn { background-color: white !important; color: #0d47a1 !important;
                                    font-size: 16px; font-weight: 700; min-width: 0 !important; }
.v-app-bar .as-run-buttons .v-btn.v-btn--disabled { opacity: 0.55; }
.v-app-bar .as-week-line { color: white; font-size: 17px; white-space: nowrap; margin-left: 6px; }
.as-week-line { font-size: 17px; }
.as-week-line .as-over { display: none; }
.as-main { container-type: inline-size; min-width: 0; }
.as-kpis { display: grid; grid-template-columns: repeat(8, minmax(0, 1fr)); gap: 6px; margin: 4px 0 6px 0; }
@container (max-width: 860px) { .as-kpis { grid-template-columns: repeat(4, minmax(0, 1fr)); } }
.as-kpi { background: #f3f6fa; border-radius: 10px; padding: 5px 8px; min-width: 0; }
.as-kpi-value { font-size: 26px; font-weight: 700; line-height: 1.15; color: #1a1a1a; white-space: nowrap; }
.as-kpi-value small { font-size: 16px; font-weight: 400; color: #555; }
.as-kpi-label { font-size: 16px; color: #444; line-height: 1.2; overflow-wrap: anywhere; hyphens: auto; }
.as-running { font-size: 16px; color: #333; margin-bottom: 4px; overflow-wrap: anywhere; }
.as-caption { font-size: 18px; font-weight: 700; margin: 6px 0 2px 4px; color: #222; }
.as-help { font-size: 16px; color: #555; line-height: 1.35; }
.as-help code, .as-code { font-size: 13px; color: #6f6f6f; background: none; padding: 0; }
.as-unit { color: #666; font-style: italic; }
.as-control { padding: 6px 0 10px 0; border-bottom: 1px solid #eee; }
.as-control.as-changed .as-label { color: #0072B2; }
.as-label { font-size: 16px; font-weight: 600; flex: 1 1 auto; }
.as-number { max-width: 132px; }
.as-number input { text-align: right; font-size: 16px; }
.as-problem { color: #b00020; font-size: 16px; font-weight: 600; }
.as-group-title { font-size: 17px; font-weight: 700; }
.as-summary { font-size: 16px; font-style: italic; color: #333; margin: 6px 0; }
.as-notice li, .as-info li { font-size: 16px; margin-bottom: 3px; }
.as-preset-select .v-select__selections { flex-wrap: nowrap; }
.as-details { margin-bottom: 12px; }
.as-details summary { font-size: 16px; font-weight: 600; cursor: pointer; padding: 4px 0; }
.v-navigation-drawer .v-label, .v-navigation-drawer .v-btn, .as-main .v-label, .as-main .v-btn,
.v-navigation-drawer .v-select__selection, .as-main input, .v-navigation-drawer input { font-size: 16px !important; }
.as-seed { max-width: 200px; }
.as-events { list-style: none; padding-left: 0 !important; margin: 0; }
.as-events li { border-left: 6px solid #999; padding: 3px 10px; margin: 4px 0; font-size: 16px;
                line-height: 1.35; background: #fafafa; overflow-wrap: anywhere; }
.as-week { font-weight: 700; white-space: nowrap; }
.as-note, .as-countdown, .as-warning { font-size: 16px; margin: 6px 0; }
.as-countdown { background: #eef5fc; border-left: 6px solid #0072B2; padding: 8px 12px; }
.as-countdown-weeks { font-size: 22px; }
.as-warning { background: #fff6e5; border-left: 6px solid #E69F00; padding: 6px 12px; }
.as-table-wrap { max-width: 100%; overflow-x: auto; }
.as-table { border-collapse: collapse; font-size: 16px; margin-top: 8px; }
.as-table th, .as-table td { border-bottom: 1px solid #ddd; padding: 4px 10px; text-align: right; }
.as-table th { background: #f3f6fa; }
.as-table td:first-child, .as-table th:first-child { text-align: left; }
.as-figure img, img.as-figure { max-width: 100%; height: auto; }
.as-info { max-width: 980px; font-size: 16px; overflow-wrap: anywhere; }
.as-info h2 { margin-top: 18px; letter-spacing: 0.04em; }
.as-tabs { max-width: 100%; }
.v-tab { font-size: 16px !important; font-weight: 600; text-transform: none !important;
         letter-spacing: 0 !important; min-width: 0 !important; padding: 0 10px !important; }
.v-tab .v-icon { margin-right: 6px; }
@container (max-width: 1000px) { .as-tab .v-icon { display: none; } }
.as-pane-wait { font-size: 18px; color: #666; }
.as-map-page { display: flex; flex-wrap: wrap; gap: 12px; align-items: flex-start; }
.as-map-block { flex: 3 1 480px; min-width: 0; }
.as-side-column { flex: 1 1 300px; min-width: 0; max-width: 100%; }
.as-map-row { display: flex; flex-wrap: wrap; gap: 8px; align-items: flex-start; }
.as-map { flex: 1 1 340px; min-width: 0; }
.as-map svg { width: 100%; height: auto; max-height: 72vh; display: block; }
.as-map-legend { flex: 0 1 250px; min-width: 0; }
.as-legend-title { font-size: 16px; font-weight: 700; margin-bottom: 4px; }
.as-legend { list-style: none; padding-left: 0 !important; margin: 0; }
.as-legend li { display: flex; align-items: center; gap: 6px; font-size: 16px; line-height: 1.3; }
.as-legend li svg { flex: 0 0 auto; }
.as-event-limit { max-width: 110px; }
.as-event-search { min-width: min(380px, 100%); }
.as-pair-picker { max-width: 100%; }
.as-predict.v-expansion-panels { margin: 2px 0 6px 0; min-width: 0; }
.as-predict .v-expansion-panel { background: #f7f2fa !important; border-left: 6px solid #CC79A7; border-radius: 4px; }
.as-predict .v-expansion-panel-header { min-height: 40px !important; padding: 6px 12px; }
.as-predict .v-expansion-panel-content__wrap { padding: 0 12px 8px 12px; }
.as-predict-title { font-size: 17px; font-weight: 700; color: #222; }
.as-predict-header .v-sheet { background: transparent !important; }
.as-predict-status { font-size: 16px; color: #555; }
.as-map-mode .v-btn { text-transform: none !important; letter-spacing: 0 !important; font-size: 16px !important; }
.as-question { padding: 2px 0 4px 0; min-width: 0; }
.as-question-ask { font-size: 16px; color: #222; overflow-wrap: anywhere; margin-bottom: 4px; }
.as-choices.v-btn-toggle { flex-wrap: wrap; height: auto !important; max-width: 100%; background: none !important; }
.as-choices .v-btn.v-btn { height: 34px !important; font-size: 16px !important; text-transform: none !important;
                           letter-spacing: 0 !important; font-weight: 500; border-radius: 0; opacity: 1; }
.as-choices .v-btn.v-btn--active { background-color: #0072B2 !important; color: white !important; }
.as-predict-wait, .as-predict-answer { font-size: 16px; margin-top: 4px; overflow-wrap: anywhere; }
.as-predict-value { font-size: 20px; }
.as-predict-right { color: #007a55; font-weight: 700; }
.as-predict-wrong { color: #b04000; font-weight: 700; }
"""


logger = logging.getLogger(__name__)
#: Set to print, after each closed session, how many models are still alive (memory checks).
MEMORY_LOG_ENV = "ALLIANCESIM_DASHBOARD_MEMORY_LOG"


def _release_memory() -> None:
    """Collect a closed session's objects and hand the freed memory back to the system.

    A closed session's model (tens of MB after ten years) is garbage at once, but it sits in
    reference cycles (widgets, callbacks), and glibc keeps freed memory for reuse unless told
    to trim: without both, a class's server only grows.
    """
    gc.collect()
    if os.environ.get(MEMORY_LOG_ENV):
        print(f"alliancesim dashboard: a session closed; {len(LIVE_MODELS)} models alive", file=sys.stderr,
              flush=True)
    libc = ctypes.util.find_library("c")
    if libc:
        try:
            ctypes.CDLL(libc).malloc_trim(0)
        except (OSError, AttributeError):  # not glibc: the memory is still free for reuse
            pass


def _on_session_start():
    def on_session_end() -> None:
        logger.info("a browser session closed")
        # after the session's widgets and render context are closed, not while they close
        for delay in (2.0, 10.0):  # (again later: a reference may linger while the session closes)
            threading.Timer(delay, _release_memory).start()

    return on_session_end


solara.lab.on_kernel_start(_on_session_start)


def initial_setup(search: str | None = None) -> Setup:
    """The page's starting point: the address (``?preset=...&seed=...``), else ``--preset`` and
    ``--seed`` of ``alliancesim dashboard``, else the default clinic."""
    preset = os.environ.get(PRESET_ENV, "").strip() or "default"
    seed = os.environ.get(SEED_ENV, "").strip() or "1"
    try:
        Settings(preset, int(seed))
    except (ParameterError, ValueError):
        preset, seed = "default", "1"
    return setup_from_query(search, preset, int(seed))


def initial_settings() -> Settings:
    """The controls' starting point without an address (``--preset``/``--seed``, else default)."""
    return initial_setup().settings


#: The tabs: label, icon, and the CSS class suffix of their content pane.
TABS = (
    ("Clinic map", "mdi-map-marker-radius"),
    ("Over time", "mdi-chart-line"),
    ("Relationship", "mdi-account-heart"),
    ("Event log", "mdi-format-list-bulleted"),
    ("Handover", "mdi-account-switch"),
    ("Run N times", "mdi-chart-scatter-plot"),
    ("Compare", "mdi-compare-horizontal"),
    ("Export", "mdi-content-save"),
    ("Info", "mdi-information-outline"),
)

# A click on a tab marks it active in the browser at once; the server then sends the new
# tab's content.  Until then, hide the old tab's content (and say so) rather than leave it up.
CSS += "".join(
    f".as-main:has(.as-tab-{i}.v-tab--active) .as-pane:not(.as-pane-{i}) {{ display: none !important; }}\n"
    f".as-main:has(.as-tab-{i}.v-tab--active) .as-pane-wait:not(:has(~ .as-pane-{i}))::after "
    "{ content: 'Drawing…'; }\n"
    for i in range(len(TABS)))


@solara.component
def MainArea(clock: Clock, settings: Settings, ui: ViewState, runner: SpreadRunner, guesses: Guesses,
             compare: CompareRunner):
    clock.generation.value  # noqa: B018 - a Reset (a new generation) redraws the main area
    model = clock.model
    hub = clock.hub
    tab = min(max(int(ui.tab.value), 0), len(TABS) - 1)
    with solara.Column(classes=["as-main"], gap="0px"):
        StatusBar(model, hub)
        ResetRefused(clock, settings)
        SettingsNotice(settings, model.spec)
        PredictPanel(model, guesses, hub)
        with solara.v.Tabs(v_model=tab, on_v_model=lambda i: i is not None and ui.tab.set(int(i)),
                           show_arrows=True, slider_color="primary", class_="as-tabs"):
            for i, (label, icon) in enumerate(TABS):
                solara.v.Tab(children=[solara.v.Icon(left=True, children=[icon]), label],
                             class_=f"as-tab as-tab-{i}")
        solara.HTML(tag="div", classes=["as-pane-wait"])
        with solara.Column(classes=["as-pane", f"as-pane-{tab}"]):
            if tab == 0:
                with solara.Div(classes=["as-map-page"]):
                    with solara.Div(classes=["as-map-block"]):
                        ClinicMapView(model, ui, hub)
                    with solara.Div(classes=["as-side-column"]):
                        solara.HTML(tag="div", classes=["as-caption"], unsafe_innerHTML="Newest events")
                        RecentEvents(model, hub)
            elif tab == 1:
                OverTimeView(model, hub)
            elif tab == 2:
                RelationshipView(model, ui, hub)
            elif tab == 3:
                EventLogView(model, ui, hub)
            elif tab == 4:
                HandoverView(model, compare, hub)
            elif tab == 5:
                SpreadView(settings, ui, runner)
            elif tab == 6:
                CompareView(model, ui, compare)
            elif tab == 7:
                ExportView(model, ui, runner)
            else:
                InfoView(model.spec.preset)


@solara.component
def Page():
    router = solara.use_router()
    setup = solara.use_memo(lambda: initial_setup(router.search), [])
    settings = setup.settings
    clock = use_clock(settings)
    clock.generation.value  # noqa: B018 - a Reset redraws the page's parts that show the model

    def view_state() -> ViewState:
        ui = ViewState()
        ui.tab.set(setup.tab)
        if setup.pair is not None:
            ui.pair.set((id(clock.model), setup.pair))
        return ui

    ui = solara.use_memo(view_state, [])
    runner = solara.use_memo(SpreadRunner, [])
    guesses = solara.use_memo(Guesses, [])
    compare = solara.use_memo(CompareRunner, [])
    solara.Style(CSS)
    solara.Title("alliancesim dashboard")
    with solara.AppBar():
        solara.AppBarTitle(TITLE)
        RunButtons(clock, clock.model)
    with solara.Sidebar():
        RunControls(clock, clock.model)
        SettingsPanel(settings, clock.model.spec)
    MainArea(clock, settings, ui, runner, guesses, compare)
    SetupInAddress(settings, ui, clock)


@solara.component
def SetupInAddress(settings: Settings, ui: ViewState, clock: Clock):
    clock.generation.value  # noqa: B018
    AddressBar(settings, int(ui.tab.value), ui.pair_for(clock.model))


#: ``solara run alliancesim.dashboard.app:page``
page = Page

__all__ = ["Page", "page"]
