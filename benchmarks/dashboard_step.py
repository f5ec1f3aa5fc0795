"""How long one week of the default clinic takes in the dashboard: step plus redraw.

Two measurements, both on the default clinic (10 therapists, ~350 clients on the books):

1. **Views**: ``model.step()``, then each view's redraw for the new state, as the page
   does it (painter update + PNG frame, the event list, the status numbers).  Each row
   is one view; "step + view" is what a week costs with that view on screen.
2. **Page**: the whole Solara page rendered in-process (``solara.render``), SolaraViz's
   Step button clicked, with each tab on screen in turn: everything the server does for
   a week, including Solara's own bookkeeping.  (The browser adds the network hop and
   drawing the PNG; ``tests/browser/test_dashboard.py`` records that in
   ``test-artifacts/browser-step-latency.txt``.)

Each is timed at three points of a 10-year run (weeks are more expensive later: more
clients, more history).  Budget: 200 ms per week with the view on screen.

Usage::

    python benchmarks/dashboard_step.py [--weeks 12] [--at 52,260,500] [--seed 1]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable

BUDGET_MS = 200.0


def ms(seconds: float) -> float:
    return 1000.0 * seconds


def timed(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return ms(time.perf_counter() - started)


def summary(values: list[float]) -> str:
    values = sorted(values)
    p90 = values[min(len(values) - 1, int(round(0.9 * (len(values) - 1))))]
    return f"median {statistics.median(values):6.1f}  p90 {p90:6.1f}  max {values[-1]:6.1f}"


def bench_views(at: list[int], weeks: int, seed: int) -> list[tuple[int, str, list[float]]]:
    from alliancesim.dashboard import figures as F
    from alliancesim.dashboard.clinic import DashboardClinic, Settings
    from alliancesim.dashboard.digest import digest

    model = DashboardClinic(Settings("default", seed))
    rows = []
    net = F.NetworkPainter(model.site_xy, model.params.town_radius_km)
    series = F.TimeSeriesPainter(model.horizon)
    inspector = F.RelationshipPainter()
    for start in at:
        model.run(weeks=max(0, start - model.week))
        d = digest(model)
        rid = d.pair_choices("now")[0][0]
        for painter in (net, series):  # first frame at a new stage draws the background: not a week's cost
            painter.update(model).frame()
        inspector.update(model, rid).frame()
        painters = {}  # layout of departures -> HandoverPainter, as the page keeps one per layout

        def draw_handover() -> None:
            departures = F.handover_departures(model)
            if not departures:
                return  # the page shows a fixed message picture
            layout = tuple((x.therapist, x.week) for x in departures)
            if layout not in painters:  # another therapist left: a new picture
                painters[layout] = F.HandoverPainter(departures)
            painters[layout].update(departures).frame()

        draw_handover()
        times: dict[str, list[float]] = {k: [] for k in (
            "step", "clinic map", "over time", "relationship", "event log", "handover", "status numbers")}
        drawn = (rid, d.relationship(rid).sessions)
        for _ in range(weeks):
            times["step"].append(timed(model.step))
            times["clinic map"].append(timed(lambda: net.update(model).frame()))
            times["over time"].append(timed(lambda: series.update(model).frame()))
            r = d.relationship(rid)
            key = (rid, r.sessions)
            if key != drawn:  # the page redraws the inspector only when the pair had a session
                times["relationship"].append(timed(lambda: inspector.update(model, rid).frame()))
                drawn = key
            else:
                times["relationship"].append(0.0)
            times["event log"].append(timed(lambda: [e.sentence() for e in d.events(limit=100)]))
            times["handover"].append(timed(draw_handover))
            times["status numbers"].append(timed(lambda: (d.weekly(), d.totals())))
        for view, values in times.items():
            rows.append((start, view, values))
        step = times["step"]
        for view in ("clinic map", "over time", "relationship", "event log", "handover"):
            both = [s + v + n for s, v, n in zip(step, times[view], times["status numbers"], strict=True)]
            rows.append((start, f"step + {view} + status", both))
    return rows


def bench_page(at: list[int], weeks: int) -> list[tuple[int, str, list[float]]]:
    import ipyvuetify as v
    import solara
    import solara.server.app  # noqa: F401 - patches widgets for virtual kernels, as in the server
    from solara.server import kernel, kernel_context

    from alliancesim.dashboard._widgets import widgets_under
    from alliancesim.dashboard.app import Page

    context = kernel_context.VirtualKernelContext(id="bench", kernel=kernel.Kernel(), session_id="bench")
    rows = []
    with context:
        box, rc = solara.render(solara.AppLayout(children=[Page()]), handle_error=False)

        def widgets(cls) -> list:
            return [w for w in widgets_under(box) if isinstance(w, cls)]

        def buttons(label: str) -> list:
            return [b for b in widgets(v.Btn) if label in [c for c in b.children if isinstance(c, str)]]

        step = buttons("Step")[0]
        render_interval = [s for s in widgets(v.Slider) if s.label == "Render Interval (steps)"][0]
        tabs = [t for t in widgets(v.Tabs)][0]
        labels = ["Clinic map", "Over time", "Relationship", "Event log", "Handover"]
        week = 0
        for start in at:
            if start > week:
                render_interval.v_model = start - week
                step.click()
                render_interval.v_model = 1
                week = start
            for index, label in enumerate(labels):
                tabs.v_model = index
                step.click()  # first week on a tab draws its background
                week += 1
                values = []
                for _ in range(weeks):
                    values.append(timed(step.click))
                    week += 1
                rows.append((start, f"page, {label} tab", values))
        rc.close()
    context.close()
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--weeks", type=int, default=12, help="weeks timed at each point (default 12)")
    parser.add_argument("--at", default="52,260,500", help="weeks into the run to time at (default 52,260,500)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--skip-page", action="store_true", help="only time the views, not the whole page")
    args = parser.parse_args(argv)
    at = sorted(int(x) for x in args.at.split(","))
    import platform

    print(f"dashboard step + redraw, default clinic, {args.weeks} weeks timed at weeks {at} "
          f"(Python {platform.python_version()}, {platform.machine()})")
    print(f"budget: {BUDGET_MS:.0f} ms per week with a view on screen; times in ms\n")
    rows = bench_views(at, args.weeks, args.seed)
    if not args.skip_page:
        rows += bench_page(at, args.weeks)
    over = []
    for start, name, values in rows:
        flag = ""
        if name.startswith(("step +", "page,")) and statistics.median(values) > BUDGET_MS:
            flag = "  OVER BUDGET"
            over.append((start, name))
        print(f"week {start:4d}  {name:32s} {summary(values)}{flag}")
    print()
    print("all within budget (median)" if not over else f"over budget: {over}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
