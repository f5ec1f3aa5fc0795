"""The alliancesim dashboard: ``solara run alliancesim.dashboard.app:page`` (or ``alliancesim dashboard``).

Mesa's SolaraViz supplies Reset / Play / Step, the speed sliders and the week
counter; our components supply the controls generated from the parameter
registry and the views.  Everything that changes is created per browser session
inside :func:`Page` (a model at module level would be shared by every visitor).
"""

from __future__ import annotations

import os

import reacton.core
import solara
from mesa.visualization import SolaraViz
from mesa.visualization.utils import update_counter

from ..params import ParameterError
from .clinic import DashboardClinic, Settings
from .controls import SettingsPanel
from .info import InfoView
from .spread import SpreadRunner
from .views import (
    ClinicMapView,
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
#: Milliseconds between weeks when playing (SolaraViz's "Play Interval" slider).
PLAY_INTERVAL_MS = 150

CSS = """
.as-kpis { display: flex; flex-wrap: wrap; gap: 8px; margin: 4px 0 6px 0; }
.as-kpi { background: #f3f6fa; border-radius: 10px; padding: 5px 12px; flex: 1 1 0; min-width: 104px; }
.as-kpi-value { font-size: 28px; font-weight: 700; line-height: 1.15; color: #1a1a1a; white-space: nowrap; }
.as-kpi-value small { font-size: 16px; font-weight: 400; color: #666; }
.as-kpi-label { font-size: 13px; color: #555; }
.as-running { font-size: 15px; color: #444; margin-bottom: 4px; }
.as-caption { font-size: 17px; font-weight: 700; margin: 6px 0 2px 4px; color: #222; }
.as-help { font-size: 13px; color: #5f5f5f; line-height: 1.35; }
.as-help code, .as-code { font-size: 11.5px; color: #7a7a7a; background: none; padding: 0; }
.as-unit { color: #7a7a7a; font-style: italic; }
.as-control { padding: 6px 0 10px 0; border-bottom: 1px solid #eee; }
.as-control.as-changed .as-label { color: #0072B2; }
.as-label { font-size: 15px; font-weight: 600; flex: 1 1 auto; }
.as-number { max-width: 132px; }
.as-number input { text-align: right; font-size: 15px; }
.as-problem { color: #b00020; font-size: 13px; font-weight: 600; }
.as-group-title { font-size: 16px; font-weight: 700; }
.as-summary { font-size: 14px; font-style: italic; color: #444; margin: 6px 0; }
.as-notice li, .as-info li { font-size: 14px; margin-bottom: 3px; }
.as-seed { max-width: 200px; }
.as-events { list-style: none; padding-left: 0 !important; margin: 0; }
.as-events li { border-left: 6px solid #999; padding: 3px 10px; margin: 4px 0; font-size: 16px;
                line-height: 1.35; background: #fafafa; }
.as-week { font-weight: 700; white-space: nowrap; }
.as-note { font-size: 15px; margin: 6px 0; }
.as-table { border-collapse: collapse; font-size: 15px; margin-top: 8px; }
.as-table th, .as-table td { border-bottom: 1px solid #ddd; padding: 4px 10px; text-align: right; }
.as-table th { background: #f3f6fa; }
.as-table td:first-child, .as-table th:first-child { text-align: left; }
.as-figure img, img.as-figure { max-width: 100%; height: auto; }
.as-info { max-width: 980px; font-size: 16px; }
.as-info h2 { margin-top: 18px; letter-spacing: 0.04em; }
.v-tab { font-size: 15px !important; font-weight: 600; text-transform: none !important;
         letter-spacing: 0 !important; min-width: 0 !important; padding: 0 12px !important; }
.v-tab .v-icon { margin-right: 6px; }
/* Mesa's "Model Parameters" card stays empty: our controls live in their own cards below. */
.v-navigation-drawer .v-card:not(.as-card):has(> .v-card__text > .v-sheet:only-child:empty) { display: none; }
.as-side-column { min-width: 300px; max-width: 420px; }
.as-event-limit { max-width: 110px; }
.as-event-search { min-width: 380px; }
"""


def initial_settings() -> Settings:
    """The controls' starting point: ``--preset`` and ``--seed`` of ``alliancesim dashboard``, else default."""
    preset = os.environ.get(PRESET_ENV, "").strip() or "default"
    seed = os.environ.get(SEED_ENV, "").strip() or "1"
    try:
        return Settings(preset, int(seed))
    except (ParameterError, ValueError):
        return Settings("default", 1)


@solara.component
def MainArea(model, settings: Settings, ui: ViewState, runner: SpreadRunner):
    # The one place that follows SolaraViz's clock: every live view gets the tick as an
    # argument, so a new week redraws them all in one render pass.
    tick = update_counter.value
    render_context = reacton.core.get_render_context(required=False)
    solara.use_effect(lambda: model.attach_page(render_context), [model])
    StatusBar(model, tick)
    SettingsNotice(settings, model.spec)
    with solara.lab.Tabs(value=ui.tab, lazy=True, align="left", slider_color="primary"):
        with solara.lab.Tab("Clinic map", icon_name="mdi-map-marker-radius"):
            with solara.Columns([3, 1.25], gutters_dense=True):
                ClinicMapView(model, tick)
                with solara.Column(classes=["as-side-column"]):
                    solara.HTML(tag="div", classes=["as-caption"], unsafe_innerHTML="Newest events")
                    RecentEvents(model, tick)
        with solara.lab.Tab("Over time", icon_name="mdi-chart-line"):
            OverTimeView(model, tick)
        with solara.lab.Tab("Relationship", icon_name="mdi-account-heart"):
            RelationshipView(model, ui, tick)
        with solara.lab.Tab("Event log", icon_name="mdi-format-list-bulleted"):
            EventLogView(model, ui, tick)
        with solara.lab.Tab("Handover", icon_name="mdi-account-switch"):
            HandoverView(model, tick)
        with solara.lab.Tab("Run N times", icon_name="mdi-chart-scatter-plot"):
            SpreadView(settings, ui, runner)
        with solara.lab.Tab("Export", icon_name="mdi-content-save"):
            ExportView(model, ui, runner)
        with solara.lab.Tab("Info", icon_name="mdi-information-outline"):
            InfoView(model.spec.preset)


@solara.component
def SidebarSettings(settings: Settings, model):
    # Rendered one level deeper than SolaraViz's own sidebar cards, so it comes after them.
    with solara.Sidebar():
        SettingsPanel(settings, model.spec)


@solara.component
def Sidebar(settings: Settings, model):
    SidebarSettings(settings, model)


@solara.component
def Page():
    settings = solara.use_memo(initial_settings, [])
    model = solara.use_memo(lambda: solara.reactive(DashboardClinic(settings)), [])
    ui = solara.use_memo(ViewState, [])
    runner = solara.use_memo(SpreadRunner, [])
    solara.Style(CSS)
    solara.Title("alliancesim dashboard")
    SolaraViz(model, components=[], model_params={"settings": settings}, name=TITLE,
              play_interval=PLAY_INTERVAL_MS)
    Sidebar(settings, model.value)
    MainArea(model.value, settings, ui, runner)


#: ``solara run alliancesim.dashboard.app:page``
page = Page

__all__ = ["Page", "page"]
