"""The main area: what the clinic looks like now, over time, in one relationship, in its log,
at a retirement, over many runs; and export.

Views that follow the running clinic take the session's :class:`~.live.LiveHub`:
after a week the hub refreshes their widgets directly, without re-rendering the
page (see :mod:`alliancesim.dashboard.live`).  Views on hidden tabs are not
rendered at all, so they cost nothing.  The map is SVG drawn by the browser
(:mod:`alliancesim.dashboard.svgmap`); the other pictures come from the painters
in :mod:`alliancesim.dashboard.figures`, redrawn at most every
``SLOW_VIEW_INTERVAL`` seconds while the clinic plays.
"""

from __future__ import annotations

import html

import numpy as np
import solara

from .. import presets
from ..params import REGISTRY, ParameterError
from . import figures as F
from .clinic import Settings, preset
from .compare import PARTNERS, CompareRunner, policy_setups
from .controller import SLOW_VIEW_INTERVAL
from .digest import EVENT_TOPICS, digest, model_lock, pair_label, topic_of
from .export import export_root, export_run, zip_folder
from .live import LiveHTML, LiveHub, LiveImage
from .spread import SpreadRunner, spread_seeds
from .svgmap import LINE_MODES, legend_html, map_state, map_svg

#: How the map draws relationships when a page opens (legible after a year of arrivals).
MAP_DEFAULT = "by neighbourhood"
#: While the clinic plays, the map and the newest events are redrawn at most this often (seconds);
#: the week and the headline tiles follow every week; after a Step and when play stops, every view
#: shows the current week at once.  Why: with twenty tabs playing on a 2-core laptop the server
#: used under a third of a core, and the browsers redrawing maps took the rest, so a Step waited
#: (p90 2.4 s with the map redrawn every 0.4 s, 0.96 s at 1 s; benchmarks/dashboard_concurrency.py).
MAP_INTERVAL = 1.0

TOPIC_COLOURS = {
    "ruptures and repairs": F.VERMILLION,
    "comings and goings": F.BLUE,
    "retirement and handover": F.PURPLE,
    "other": F.GREY,
}
ALL_EVENTS = "everything"
PAIR_FILTERS = {"together now": "now", "began at a handover": "handover", "ended": "ended"}


class ViewState:
    """What one browser session has picked in the views (kept while tabs come and go)."""

    def __init__(self) -> None:
        self.tab = solara.reactive(0)
        self.pair: solara.Reactive[tuple[int, int] | None] = solara.reactive(None)  # (id(model), rid)
        self.pair_filter = solara.reactive("together now")
        self.event_topic = solara.reactive(ALL_EVENTS)
        self.event_text = solara.reactive("")
        self.event_limit = solara.reactive("100")
        self.spread_n = solara.reactive(8)
        self.spread_years = solara.reactive(0.0)  # 0: the years in the settings
        self.compare_with: solara.Reactive[str | None] = solara.reactive(None)  # None: the preset's partner
        self.map_lines = solara.reactive(MAP_DEFAULT)

        @solara.lab.task(prefer_threaded=True)  # in the background: a late export takes seconds
        def export_task(model, rid, spread, root):
            return export_run(model, preset=model.spec.preset, rid=rid, spread=spread, root=root)

        self.export_task = export_task

    def pair_for(self, model) -> int | None:
        chosen = self.pair.value
        return chosen[1] if chosen is not None and chosen[0] == id(model) else None


def _esc(text) -> str:
    return html.escape(str(text), quote=True)


@solara.component
def Picture(image: bytes, name: str, caption: str = "", format: str = "png"):
    """A picture as wide as its column (``as-<name>`` for tests and styling), under its caption."""
    if caption:
        solara.HTML(tag="div", classes=["as-caption", f"as-{name}-caption"], unsafe_innerHTML=_esc(caption))
    solara.Image(image, format=format, width="100%", classes=["as-figure", f"as-{name}"])


# ---------------------------------------------------------------------------------- status bar
def status_html(model) -> str:
    """The headline numbers, large enough to read from the back of the room, and what is running."""
    d = digest(model)
    series = d.weekly()
    totals = d.totals()
    with model_lock(model):
        week, horizon, spec = model.week, model.horizon, model.spec
        therapists = len(model.active_therapists())
        policy = model.params.handover_policy

    def last(name: str) -> float:
        values = series.get(name)
        return float(values[-1]) if values is not None and len(values) else float("nan")

    def num(x: float, fmt: str = "{:.0f}") -> str:
        return "–" if x != x else fmt.format(x)

    tiles = [
        ("week", f"{week}<small> / {horizon}</small>", f"week (year {week / 52:.1f})"),
        ("therapists", str(therapists), "therapists working"),
        ("clients", num(last("clients_on_books")), "clients on the books"),
        ("maintenance", num(last("maintenance_clients")), "of them maintenance"),
        ("alliance", num(last("mean_alliance"), "{:.2f}"), "mean alliance (0-1)"),
        ("ruptures", num(last("open_ruptures")), "open ruptures"),
        ("dropouts", num(totals.get("dropouts", float("nan"))), "dropouts so far"),
        ("handovers", num(totals.get("handover_stayed", 0) + totals.get("handover_moved", 0)
                          + totals.get("handover_left", 0)), "handed over so far"),
    ]
    body = "".join(f"<div class='as-kpi as-kpi-{key}'><div class='as-kpi-value'>{value}</div>"
                   f"<div class='as-kpi-label'>{_esc(label)}</div></div>" for key, value, label in tiles)
    over = (f" · <b class='as-run-over'>the run is over (week {horizon}): press Reset for a new one</b>"
            if week >= horizon else "")
    return (f"<div class='as-kpis'>{body}</div><div class='as-running'>Running "
            f"<b class='as-running-title'>{_esc(spec.title)}</b> · seed <b class='as-running-seed'>{spec.seed}"
            f"</b> · handover policy <b>{_esc(policy)}</b>{over}</div>")


@solara.component
def StatusBar(model, hub: LiveHub | None = None):
    LiveHTML(hub, lambda: status_html(model), classes=["as-status"])


@solara.component
def SettingsNotice(settings: Settings, running_spec):
    """In the main area too: why the settings cannot run, or that they start with Reset."""
    problem = settings.problem()
    if problem:
        solara.Error(f"These settings cannot run: {problem}", dense=True, icon="mdi-alert",
                     classes=["as-main-problem"])
        return
    spec = settings.spec()
    if spec is not None and (spec.params != running_spec.params or spec.seed != running_spec.seed):
        solara.Info("Settings changed: press Reset to start a run with them.", dense=True, icon="mdi-restart")


# ---------------------------------------------------------------------------------- the clinic map
def map_html(model, mode: str = "each") -> str:
    state = map_state(model)
    return f"<div class='as-caption as-map-caption'>{_esc(state.caption)}</div>{map_svg(state, mode)}"


@solara.component
def ClinicMapView(model, ui: ViewState | None = None, hub: LiveHub | None = None):
    """The map (drawn by the browser from SVG) and how to read it (sent once per way of drawing)."""
    words = ui.map_lines.value if ui is not None else MAP_DEFAULT
    mode = LINE_MODES.get(words, LINE_MODES[MAP_DEFAULT])
    if ui is not None:
        with solara.Row(style={"align-items": "center", "flex-wrap": "wrap"}, gap="8px",
                        classes=["as-map-mode"]):
            solara.Text("Relationships:", classes=["as-help"])
            solara.ToggleButtonsSingle(value=words, values=list(LINE_MODES), on_value=ui.map_lines.set)
    with solara.Row(classes=["as-map-row"], gap="12px", style={"flex-wrap": "wrap", "align-items": "flex-start"}):
        LiveHTML(hub, lambda: map_html(model, mode), classes=["as-map"], min_interval=MAP_INTERVAL)
        solara.HTML(tag="div", classes=["as-map-legend"], unsafe_innerHTML=legend_html(mode))


@solara.component
def RecentEvents(model, hub: LiveHub | None = None, limit: int = 14):
    """The newest events, as sentences: the story the map is telling."""
    LiveHTML(hub, lambda: events_html(digest(model).events(limit=limit),
                                      empty="Nothing has happened yet: press Step or ▶."),
             classes=["as-recent"], min_interval=MAP_INTERVAL)


def events_html(events: list, empty: str = "No events match.") -> str:
    if not events:
        return f"<div class='as-help'>{_esc(empty)}</div>"
    rows = []
    for e in events:
        sentence = e.sentence()
        week, _, rest = sentence.partition(": ")
        colour = TOPIC_COLOURS.get(topic_of(e), F.GREY)
        rows.append(f"<li style='border-left-color:{colour}'><span class='as-week'>{_esc(week)}</span> "
                    f"{_esc(rest)}</li>")
    return f"<ul class='as-events'>{''.join(rows)}</ul>"


@solara.component
def EventList(events: list, empty: str = "No events match."):
    solara.HTML(tag="div", unsafe_innerHTML=events_html(events, empty))


# ---------------------------------------------------------------------------------- over time
@solara.component
def OverTimeView(model, hub: LiveHub | None = None):
    painter = solara.use_memo(lambda: F.TimeSeriesPainter(model.horizon), [model])

    def content():
        png = painter.update(model).frame()
        return png, "png", painter.caption

    LiveImage(hub, content, "timeseries", min_interval=SLOW_VIEW_INTERVAL)
    PatternsPicture(model, hub)


@solara.component
def PatternsPicture(model, hub: LiveHub | None = None):
    """When clients drop out (by session number), and ruptures per month with how many were repaired."""
    painter = solara.use_memo(lambda: F.PatternsPainter(model.horizon), [model])

    def content():
        return painter.update(model).frame(), "png", ""

    LiveImage(hub, content, "patterns", min_interval=SLOW_VIEW_INTERVAL)


# ---------------------------------------------------------------------------------- one relationship
@solara.component
def RelationshipView(model, ui: ViewState, hub: LiveHub | None = None):
    d = digest(model)
    which = ui.pair_filter.value
    choices = d.pair_choices(PAIR_FILTERS.get(which, "now"))
    rid = ui.pair_for(model)
    if rid is None and choices:
        rid = choices[0][0]  # the first pair of the list, until the person picks one

    def remember_default():
        # keep showing the same pair while the clinic plays on
        if ui.pair_for(model) is None and choices:
            ui.pair.set((id(model), choices[0][0]))

    solara.use_effect(remember_default, [model, bool(choices)])
    r = d.relationship(rid) if rid is not None else None

    def pick(value):
        if value is not None:
            ui.pair.set((id(model), int(value)))

    def pick_filter(value):
        ui.pair_filter.set(value)
        found = d.pair_choices(PAIR_FILTERS.get(value, "now"), limit=1)
        if found:  # show the first pair of the new list at once
            ui.pair.set((id(model), found[0][0]))

    with solara.Row(style={"align-items": "center", "flex-wrap": "wrap"}, gap="16px"):
        solara.ToggleButtonsSingle(value=which, values=list(PAIR_FILTERS), on_value=pick_filter)
        items = [{"text": label, "value": value} for value, label in choices]
        if r is not None and rid not in {value for value, _ in choices}:
            items.insert(0, {"text": pair_label(r), "value": rid})
        solara.v.Autocomplete(items=items, v_model=rid, on_v_model=pick, label="Client and therapist",
                              outlined=True, dense=True, hide_details=True, class_="as-pair-picker",
                              style_="min-width: min(420px, 100%); max-width: 640px")
    if r is None:
        solara.Info("No client has booked yet: press Step a few times, then pick a pair.", dense=True)
    else:
        RelationshipDetail(model, rid, hub)


@solara.component
def RelationshipDetail(model, rid: int, hub: LiveHub | None = None):
    """The chart and the story of one pair."""
    painter = solara.use_memo(F.RelationshipPainter, [model])
    drawn = solara.use_ref(None)

    def content():
        d = digest(model)
        r = d.relationship(rid)
        key = (rid, r.sessions, r.end_week)  # redraw only when the pair had a session or ended
        if drawn.current is None or drawn.current[0] != key:
            drawn.current = (key, painter.update(model, rid).frame())
        return drawn.current[1], "png", painter.caption

    LiveImage(hub, content, "relationship", min_interval=SLOW_VIEW_INTERVAL)
    LiveHTML(hub, lambda: relationship_story_html(model, rid), classes=["as-story"])


def relationship_story_html(model, rid: int) -> str:
    d = digest(model)
    r = d.relationship(rid)
    parts = []
    old = r.predecessor
    if old is not None:
        how = {"stayed_with_successor": "stayed with the successor in the same room",
               "moved_to_colleague": "moved to a colleague nearer home"}.get(old.handover_outcome or "", "")
        reason = "when the therapist left" if old.end_reason == "therapist_left" else "on referral"
        parts.append(f"<div class='as-note'>This relationship continues {_esc(r.client.label)}'s relationship "
                     f"with {_esc(old.therapist.label)} ({old.sessions} sessions), which ended in week "
                     f"{old.end_week} {reason}{'; the client ' + how if how else ''}.</div>")
    events = d.events_of_pair(r.client.label, r.therapist.label, r.start_week, r.end_week)
    parts.append(f"<div class='as-note'><b>What happened between {_esc(r.client.label)} and "
                 f"{_esc(r.therapist.label)}</b> (newest first)</div>")
    parts.append(events_html(list(reversed(events))[:40], empty="No events yet."))
    return "".join(parts)


# ---------------------------------------------------------------------------------- event log
@solara.component
def EventLogView(model, ui: ViewState, hub: LiveHub | None = None):
    topic = ui.event_topic.value
    with solara.Row(style={"align-items": "center", "flex-wrap": "wrap"}, gap="16px"):
        solara.ToggleButtonsSingle(value=topic, values=[ALL_EVENTS, *EVENT_TOPICS], on_value=ui.event_topic.set)
        solara.InputText("Find (a client like C17, a therapist like T2, or a word)", value=ui.event_text,
                         continuous_update=False, dense=True, hide_details=True, classes=["as-event-search"])
        solara.Select("Show", value=ui.event_limit, values=["50", "100", "300"], dense=True,
                      classes=["as-event-limit"])
    text, limit = ui.event_text.value, int(ui.event_limit.value)

    def content() -> str:
        events = digest(model).events(None if topic == ALL_EVENTS else topic, text, limit=limit)
        with model_lock(model):
            total = len(model.events)
        return (f"<div class='as-help'>Newest first: {len(events)} of {total} events</div>"
                + events_html(events, empty="No events match." if total else
                              "Nothing has happened yet: press Step or ▶."))

    LiveHTML(hub, content, classes=["as-log"])


# ---------------------------------------------------------------------------------- handover
def handover_html(model) -> str:
    """Countdown to the handover, notices given, and the table of where the clients went."""
    d = digest(model)
    departures = d.departures()
    with model_lock(model):
        week = model.week
        planned = int(model.params.scheduled_retirement_week)
        first = model.therapists_all[0].label if model.therapists_all else "T1"
        notice = int(model.params.notice_weeks)
    parts = []
    if planned > 0 and week < planned:
        left = planned - week
        starts = max(1, planned - notice)
        parts.append(
            f"<div class='as-countdown'><b class='as-countdown-weeks'>{left} week{'s' if left != 1 else ''}</b> "
            f"until the handover: {_esc(first)} retires in week {planned}"
            + (f" (gives notice in week {starts})" if week < starts else " and is on notice now")
            + f". Keep playing to see where {_esc(first)}'s clients go.</div>")
    for dep in departures:
        if dep.week is None:
            last_day = d.last_day(dep.therapist)
            parts.append(f"<div class='as-warning'>{_esc(dep.therapist)} has given notice ({_esc(dep.reason)})"
                         + (f"; last day in week {last_day}" if last_day else "")
                         + (f"; {_esc(dep.successor)} will take over the room." if dep.successor else ".")
                         + "</div>")
    done = [x for x in departures if x.week is not None]
    if not done:
        return "".join(parts)
    rows = []
    for x in done:
        n = len(x.clients)
        weeks = x.recovery_weeks()
        continuing = sum(1 for c in x.clients if c.new_therapist is not None)

        def pct(k: int, n: int = n) -> str:
            return f"{k} ({100 * k / n:.0f}%)" if n else "0"

        median = f"{np.median(weeks):.0f} weeks ({len(weeks)} of {continuing})" if weeks else \
            f"not yet (0 of {continuing})"
        rows.append(f"<tr><td>{_esc(x.therapist)}</td><td>{_esc(x.reason)}</td><td>{x.week}</td>"
                    f"<td>{_esc(x.successor or '–')}</td><td>{n}</td><td>{pct(x.count('stayed_with_successor'))}</td>"
                    f"<td>{pct(x.count('moved_to_colleague'))}</td><td>{pct(x.count('left'))}</td>"
                    f"<td>{median}</td></tr>")
    parts.append(
        "<div class='as-table-wrap'><table class='as-table'><thead><tr><th>therapist</th><th>why</th>"
        "<th>last week</th><th>successor</th><th>clients</th><th>stayed with successor</th>"
        "<th>moved to a colleague</th><th>stopped coming</th><th>median recovery (recovered of continuing)</th>"
        "</tr></thead><tbody>" + "".join(rows) + "</tbody></table></div>")
    return "".join(parts)


@solara.component
def HandoverView(model, compare: CompareRunner, hub: LiveHub | None = None):
    policy = model.params.handover_policy
    solara.HTML(tag="div", classes=["as-note"], unsafe_innerHTML=(
        f"Handover policy in this run: <b>{_esc(policy)}</b>. {_esc(REGISTRY['handover_policy'].help)}"))
    LiveHTML(hub, lambda: handover_html(model), classes=["as-handover"])
    HandoverPicture(model, hub)
    PoliciesCompared(model, compare)


@solara.component
def PoliciesCompared(model, compare: CompareRunner):
    """The clinic on screen under each handover policy, same seed: where the clients went."""
    spec = model.spec
    task = compare.task
    solara.HTML(tag="div", classes=["as-caption"], unsafe_innerHTML="Each handover policy, side by side")
    solara.HTML(tag="div", classes=["as-help"], unsafe_innerHTML=(
        f"Run this clinic to its end three times with seed {spec.seed}, once under each policy (no handover, "
        "the file, the file and an introduction), and compare where the clients of a leaving therapist went."))
    with solara.Row():
        solara.Button("Compare the three policies", icon_name="mdi-compare-horizontal", color="primary",
                      disabled=task.pending, classes=["as-compare-policies"],
                      on_click=lambda: compare.start("policies",
                                                     f"{spec.title}: each handover policy, seed {spec.seed}",
                                                     policy_setups(spec.params), spec.seed))
    _RunningOrFailed(task, "Running the clinic under each policy…")
    result = compare.result("policies")
    if result is not None:
        PoliciesResult(result)


def _RunningOrFailed(task, running: str) -> None:
    """A background run's state under its button: a progress bar while it runs, the error if it failed."""
    if task.pending:
        solara.ProgressLinear(True)
        solara.Text(running, classes=["as-help"])
    elif task.error:
        solara.Error(f"A run failed: {task.exception}", dense=True)


@solara.component
def PoliciesResult(result):
    png = solara.use_memo(lambda: F.png(F.policies_figure(result.runs)), [result])
    Picture(png, "policies", caption=result.title)


@solara.component
def HandoverPicture(model, hub: LiveHub | None = None):
    painters = solara.use_memo(dict, [model])  # layout of departures -> painter
    planned = int(model.params.scheduled_retirement_week)
    first = model.therapists_all[0].label if model.therapists_all else "T1"
    # on a retiring preset, say when the picture comes rather than suggest a retiring preset
    text = (F.NO_HANDOVER_YET if planned <= 0 else
            f"This picture fills in after {first}'s last day (week {planned}):\n"
            "where the clients went, and how long the new alliances took.")
    waiting = solara.use_memo(lambda: F.png(F.message_figure(text, height=2.2)), [text])

    def content():
        departures = F.handover_departures(model)
        if not departures:
            return waiting, "png", ""
        layout = tuple((x.therapist, x.week) for x in departures)  # a new departure: a new picture
        painter = painters.get(layout)
        if painter is None:
            painters.clear()
            painter = painters[layout] = F.HandoverPainter(departures)
        return painter.update(departures).frame(), "png", painter.caption

    LiveImage(hub, content, "handover", min_interval=SLOW_VIEW_INTERVAL)


# ---------------------------------------------------------------------------------- run N times
@solara.component
def SpreadView(settings: Settings, ui: ViewState, runner: SpreadRunner):
    spec = settings.spec()
    task = runner.task
    if spec is None:
        solara.Error(f"These settings cannot run: {settings.problem()}", dense=True)
        return
    years_default = float(spec.params.years)
    years = min(ui.spread_years.value, years_default) if ui.spread_years.value else years_default
    n = ui.spread_n.value
    title = f"{spec.title}{' (changed)' if settings.edited() else ''}"
    solara.Markdown(
        f"Run **{_esc(title)}** {n} times, with seeds {spec.seed} to {spec.seed + n - 1}, and see how far "
        "the outcomes spread. One run is one story; a difference between two clinics means something only "
        "when it is larger than this spread.")
    with solara.Row(style={"align-items": "center", "flex-wrap": "wrap", "padding-top": "28px"}, gap="24px"):
        solara.SliderInt("Runs", value=ui.spread_n, min=2, max=40, thumb_label="always")
        solara.SliderFloat("Years per run", value=years, min=0.5, max=max(0.5, years_default), step=0.5,
                           on_value=ui.spread_years.set, thumb_label="always")
    problem = None
    try:
        params = spec.params.replace(years=years)
    except ParameterError as exc:
        params, problem = None, str(exc)
    if problem:
        solara.Error(problem, dense=True)

    def start():
        if params is not None:
            runner.start(params, spread_seeds(spec.seed, n), f"{title}: {n} runs of {years:g} years")

    with solara.Row(style={"align-items": "center"}):
        solara.Button(f"Run this preset {n} times", icon_name="mdi-chart-scatter-plot", color="primary",
                      on_click=start, disabled=task.pending or params is None, classes=["as-spread-run"])
        if task.pending:
            solara.Button("Stop after this run", icon_name="mdi-stop", outlined=True, on_click=runner.stop)
    if task.pending:
        done, total = runner.done.value, max(1, runner.total.value)
        solara.ProgressLinear(value=100 * done / total)
        solara.Text(f"{done} of {total} runs done", classes=["as-help"])
    if task.error:
        solara.Error(f"A run failed: {task.exception}", dense=True)
    result = task.latest if task.pending or task.cancelled else task.value
    if result and result.runs:
        SpreadResultView(result)


@solara.component
def SpreadResultView(result):
    png = solara.use_memo(lambda: F.png(F.spread_figure(result.runs, result.title)), [result])
    Picture(png, "spread")
    if result.stopped:
        solara.Text(f"Stopped after {len(result.runs)} of {len(result.seeds)} runs.", classes=["as-help"])
    header = "".join(f"<th>{_esc(label)}</th>" for _, label, _, _ in F.SPREAD_METRICS)
    body = []
    for run in result.runs:
        cells = []
        for metric, _, _, percent in F.SPREAD_METRICS:
            x = float(run.get(metric, float("nan")))
            cells.append("–" if x != x else (f"{100 * x:.1f}%" if percent else f"{x:.3g}"))
        body.append(f"<tr><td>{run['seed']}</td>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    solara.HTML(tag="table", classes=["as-table"], unsafe_innerHTML=(
        f"<thead><tr><th>seed</th>{header}</tr></thead><tbody>{''.join(body)}</tbody>"))


# ---------------------------------------------------------------------------------- compare
def compare_partner(name: str, chosen: str | None) -> str:
    """The preset to compare with: the person's choice, else the preset's natural partner."""
    names = presets.names()
    if chosen in names and chosen != name:
        return chosen
    partner = PARTNERS.get(name, "default")
    return partner if partner in names and partner != name else next(n for n in names if n != name)


@solara.component
def CompareView(model, ui: ViewState, compare: CompareRunner):
    """Two setups with the same seed, their key plots overlaid and their headline figures side by side."""
    spec = model.spec
    other = compare_partner(spec.preset, ui.compare_with.value)
    task = compare.task
    solara.Markdown(
        f"**A** is the run on screen: *{_esc(spec.title)}*, seed {spec.seed}. Pick **B** and run both to the end "
        "with the same seed: the same clients arrive with the same histories, so the differences come from the "
        "setups. One seed is still one story: check a difference with **Run N times** before teaching it.")
    with solara.Row(style={"align-items": "center", "flex-wrap": "wrap"}, gap="16px"):
        items = [{"text": preset(n).title, "value": n} for n in presets.names() if n != spec.preset]
        solara.v.Select(label="B: compare with", items=items, v_model=other, outlined=True, dense=True,
                        hide_details=True, on_v_model=lambda n: n and ui.compare_with.set(n),
                        class_="as-compare-with", style_="min-width: min(420px, 100%); max-width: 560px")
        b = preset(other)
        setups = [(spec.title, spec.params), (b.title, b.validated())]
        solara.Button(f"Run A and B with seed {spec.seed}", icon_name="mdi-compare-horizontal", color="primary",
                      disabled=task.pending, classes=["as-compare-run"],
                      on_click=lambda: compare.start("setups", f"A: {spec.title} · B: {b.title} · seed {spec.seed}",
                                                     setups, spec.seed))
    _RunningOrFailed(task, "Running both setups to their end…")
    result = compare.result("setups")
    if result is not None:
        CompareResult(result)


@solara.component
def CompareResult(result):
    png = solara.use_memo(lambda: F.png(F.compare_figure(result.runs)), [result])
    Picture(png, "compare", caption=result.title)
    header = "".join(f"<th>{'ABC'[i]}: {_esc(r.label)}</th>" for i, r in enumerate(result.runs))
    body = []
    for metric, label, unit, percent in F.SPREAD_METRICS:
        cells = []
        for run in result.runs:
            x = float(run.metrics.get(metric, float("nan")))
            cells.append("–" if x != x else (f"{100 * x:.1f}%" if percent else f"{x:.3g}"))
        body.append(f"<tr><td>{_esc(label)} <span class='as-unit'>({_esc(unit)})</span></td>"
                    + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    solara.HTML(tag="div", classes=["as-table-wrap", "as-compare-table"], unsafe_innerHTML=(
        f"<table class='as-table'><thead><tr><th>over the whole run</th>{header}</tr></thead>"
        f"<tbody>{''.join(body)}</tbody></table>"))


# ---------------------------------------------------------------------------------- export
@solara.component
def ExportView(model, ui: ViewState, runner: SpreadRunner):
    root = export_root()
    task = ui.export_task

    def do_export():
        result = runner.task.value if runner.task.finished else None
        spread = (result.runs, result.title) if result else None
        rid = ui.pair_for(model)
        task(model, rid if rid is not None else _default_pair(model), spread, root)

    solara.Markdown(
        "Write this run as it is now: every table as CSV (and Parquet, with `summary.json` holding the "
        "parameters, seed and headline figures) and every picture as PNG, including the relationship on "
        f"show in the inspector and the last *run N times*. Files go to a new folder in `{_esc(root)}`.")
    solara.Button("Export this run", icon_name="mdi-content-save", color="primary", on_click=do_export,
                  disabled=task.pending, classes=["as-export"])
    if task.pending:
        solara.ProgressLinear(True)
        solara.Text("Writing the tables and pictures…", classes=["as-help"])
        return
    if task.error:
        solara.Error(f"Could not export: {task.exception}", dense=True)
        return
    if not task.finished or task.value is None:
        return
    folder, files = task.value
    solara.Success(f"Wrote {len(files)} files to {folder}", dense=True, classes=["as-export-done"])
    # the files on the student's own computer: one zip, made when the button is pressed
    with solara.Div(classes=["as-download"]):
        solara.FileDownload(lambda: zip_folder(folder), filename=f"{folder.name}.zip",
                            label=f"Download these {len(files)} files (zip)", mime_type="application/zip")
    items = "".join(f"<li><code>{_esc(p.name)}</code> <span class='as-help'>{p.stat().st_size / 1024:.0f} KB"
                    f"</span></li>" for p in files if p.exists())
    solara.HTML(tag="ul", classes=["as-files"], unsafe_innerHTML=items)


def _default_pair(model) -> int | None:
    choices = digest(model).pair_choices("now", limit=1)
    return choices[0][0] if choices else None
