"""The alliancesim dashboard: ``solara run alliancesim.dashboard.app:page`` (or ``alliancesim dashboard``).

The sidebar holds the run controls (:mod:`~alliancesim.dashboard.controller`:
Reset / play / Step, weeks per update) and the controls generated from the
parameter registry; the main area holds the headline numbers and the tabs.  Everything that changes is created per browser session
inside :func:`Page` (a model at module level would be shared by every visitor).
"""

from __future__ import annotations

import os

import solara

from ..params import ParameterError
from .clinic import Settings
from .controller import Clock, RunControls, use_clock
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


#: The tabs: label, icon, and the CSS class suffix of their content pane.
TABS = (
    ("Clinic map", "mdi-map-marker-radius"),
    ("Over time", "mdi-chart-line"),
    ("Relationship", "mdi-account-heart"),
    ("Event log", "mdi-format-list-bulleted"),
    ("Handover", "mdi-account-switch"),
    ("Run N times", "mdi-chart-scatter-plot"),
    ("Export", "mdi-content-save"),
    ("Info", "mdi-information-outline"),
)

# A click on a tab marks it active in the browser at once; the server then sends the new
# tab's content.  Until then, hide the old tab's content (and say so) rather than leave it up.
CSS += "".join(
    f".as-main:has(.as-tab-{i}.v-tab--active) .as-pane:not(.as-pane-{i}) {{ display: none; }}\n"
    f".as-main:has(.as-tab-{i}.v-tab--active) .as-pane-wait:not(:has(~ .as-pane-{i}))::after "
    "{ content: 'Drawing…'; }\n"
    for i in range(len(TABS)))


@solara.component
def MainArea(clock: Clock, settings: Settings, ui: ViewState, runner: SpreadRunner):
    model = clock.model.value
    hub = clock.hub
    tab = min(max(int(ui.tab.value), 0), len(TABS) - 1)
    with solara.Column(classes=["as-main"], gap="0px"):
        StatusBar(model, hub)
        SettingsNotice(settings, model.spec)
        with solara.v.Tabs(v_model=tab, on_v_model=lambda i: i is not None and ui.tab.set(int(i)),
                           show_arrows=True, slider_color="primary", class_="as-tabs"):
            for i, (label, icon) in enumerate(TABS):
                solara.v.Tab(children=[solara.v.Icon(left=True, children=[icon]), label],
                             class_=f"as-tab as-tab-{i}")
        solara.HTML(tag="div", classes=["as-pane-wait"])
        with solara.Column(classes=["as-pane", f"as-pane-{tab}"]):
            if tab == 0:
                with solara.Columns([3, 1.25], gutters_dense=True, classes=["as-map-columns"]):
                    ClinicMapView(model, hub)
                    with solara.Column(classes=["as-side-column"]):
                        solara.HTML(tag="div", classes=["as-caption"], unsafe_innerHTML="Newest events")
                        RecentEvents(model, hub)
            elif tab == 1:
                OverTimeView(model, hub)
            elif tab == 2:
                RelationshipView(model, ui, hub)
            elif tab == 3:
                EventLogView(model, ui, hub)
            elif tab == 4:
                HandoverView(model, hub)
            elif tab == 5:
                SpreadView(settings, ui, runner)
            elif tab == 6:
                ExportView(model, ui, runner)
            else:
                InfoView(model.spec.preset)


@solara.component
def Page():
    settings = solara.use_memo(initial_settings, [])
    clock = use_clock(settings)
    ui = solara.use_memo(ViewState, [])
    runner = solara.use_memo(SpreadRunner, [])
    solara.Style(CSS)
    solara.Title("alliancesim dashboard")
    with solara.AppBar():
        solara.AppBarTitle(TITLE)
    with solara.Sidebar():
        RunControls(clock, clock.model.value)
        SettingsPanel(settings, clock.model.value.spec)
    MainArea(clock, settings, ui, runner)


#: ``solara run alliancesim.dashboard.app:page``
page = Page

__all__ = ["Page", "page"]
