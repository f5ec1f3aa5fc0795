"""Server CPU per simulated week in the dashboard, per browser session, tab by tab.

The whole Solara page is rendered in-process (``solara.render`` in a virtual kernel, as
the server does for each browser), a preset is run to a point in its run, and then:

* **Step**: the page's Step button is clicked ``--weeks`` times with each tab on screen;
  each row gives the server's CPU time (``time.process_time``: all threads of this process)
  and wall time per week.  This is everything the server does for a week of one student:
  the model's step, drawing the views on screen, sending their new content.
* **Play**: ▶ is pressed for ``--play-seconds`` on the default tab with no pause between
  updates: weeks per second and CPU per week while playing.

The issue's bar: at most 15 ms of CPU per week on the default tab (the clinic map).

Usage (from the repository root, so this checkout's code is imported)::

    PYTHONPATH=. python benchmarks/dashboard_step.py [--preset default] [--at 260] [--weeks 20]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout, not an installed copy

BAR_MS = 15.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--preset", default="default")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--at", type=int, default=260, help="week of the run to start timing at (default 260)")
    parser.add_argument("--weeks", type=int, default=20, help="Step clicks timed per tab (default 20)")
    parser.add_argument("--play-seconds", type=float, default=5.0)
    args = parser.parse_args(argv)

    import ipyvuetify as v
    import solara
    import solara.server.app  # noqa: F401 - patches widgets for virtual kernels, as in the server
    from solara.server import kernel, kernel_context

    import alliancesim
    from alliancesim.dashboard import app as dashboard_app
    from alliancesim.dashboard._widgets import widgets_under

    import os
    os.environ[dashboard_app.PRESET_ENV] = args.preset
    os.environ[dashboard_app.SEED_ENV] = str(args.seed)
    print(f"dashboard server CPU per week, preset {args.preset}, seed {args.seed}, from week {args.at}; "
          f"code: {Path(alliancesim.__file__).parent}")
    context = kernel_context.VirtualKernelContext(id="bench", kernel=kernel.Kernel(), session_id="bench")
    with context:
        box, rc = solara.render(solara.AppLayout(children=[dashboard_app.Page()]), handle_error=False)

        def widgets(cls) -> list:
            return [w for w in widgets_under(box) if isinstance(w, cls)]

        def button(label: str):
            return [b for b in widgets(v.Btn) if label in [c for c in b.children if isinstance(c, str)]][0]

        per_update = [s for s in widgets(v.Slider) if "Weeks per update" in str(s.label)][0]
        tabs = [t for t in widgets(v.Tabs) if "as-tabs" in str(t.class_)][0]
        week_tile = [w for w in widgets_under(box) if "as-status" in str(getattr(w, "attributes", {}))][0]

        def week() -> int:
            return int(week_tile.unsafe_innerHTML.split("as-kpi-value'>")[1].split("<")[0])

        horizon = int(week_tile.unsafe_innerHTML.split("<small> / ")[1].split("<")[0])

        per_update.v_model = 52
        while week() < args.at:
            button("Step").click()
        per_update.v_model = 1
        labels = ["Clinic map", "Over time", "Relationship", "Event log", "Handover"]
        print(f"\n{'tab':14s} {'CPU ms/week (median, p90)':>28s} {'wall ms/week (median)':>24s}")
        results = {}
        for index, label in enumerate(labels):
            tabs.v_model = index
            button("Step").click()  # the first week on a tab draws its backgrounds
            cpu, wall = [], []
            for _ in range(args.weeks):
                c0, w0 = time.process_time(), time.perf_counter()
                button("Step").click()
                cpu.append(1000 * (time.process_time() - c0))
                wall.append(1000 * (time.perf_counter() - w0))
            cpu.sort()
            p90 = cpu[min(len(cpu) - 1, int(round(0.9 * (len(cpu) - 1))))]
            results[label] = statistics.median(cpu)
            print(f"{label:14s} {statistics.median(cpu):18.1f} {p90:9.1f} {statistics.median(wall):24.1f}")
        tabs.v_model = 0
        pause = [s for s in widgets(v.Slider) if "Pause between" in str(s.label)][0]
        pause.v_model = 0
        start_week = week()
        c0, w0 = time.process_time(), time.perf_counter()
        button("▶").click()
        deadline = time.perf_counter() + args.play_seconds
        while time.perf_counter() < deadline and week() < horizon:
            time.sleep(0.05)
        if week() < horizon:
            button("❚❚").click()
        time.sleep(0.3)
        weeks = max(1, week() - start_week)
        seconds = min(time.perf_counter(), deadline) - w0
        cpu_play = 1000 * (time.process_time() - c0) / weeks
        print(f"\nplay on the clinic map, no pause: {weeks / seconds:.1f} weeks/s, "
              f"{cpu_play:.1f} ms CPU per week" + (" (reached the end of the run)" if week() >= horizon else ""))
        rc.close()
    context.close()
    verdict = "meets" if results["Clinic map"] <= BAR_MS else "misses"
    print(f"\ndefault tab: {results['Clinic map']:.1f} ms CPU per week per session: {verdict} the bar of "
          f"{BAR_MS:.0f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
