"""What Python's full garbage collections cost a process that runs model after model, with and without
:func:`alliancesim.engine.settle`.

Two fresh processes, each pinned to one core, run the same sequence of 10-year
default clinics (seeds 1..N) as a sweep worker does.  One settles first, as
sweep and calibration workers do (``alliancesim.model.settle_process``: the
imported libraries and the loaded compiled code leave the full collections);
the other does not, as a user's own Python session.  Printed for each: the mean and median run time
(a full collection falls in about one run in three, so it shows in the mean, what
a sweep's throughput follows), and the time spent in garbage collections of each
generation per run (from ``gc.callbacks``).

Usage::

    python benchmarks/gc_settle.py [--runs 12] [--per-run]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

_CHILD = """
import gc, json, os, statistics, sys, time
if hasattr(os, "sched_setaffinity"):
    os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
from alliancesim import AllianceModel
from alliancesim.model import settle_process
frozen_at_start = gc.get_freeze_count()
if sys.argv[2] == "settled":
    settle_process()
AllianceModel(rng=0, years=0.2).run()  # loads the compiled code (again, when settled)
spent = [0.0, 0.0, 0.0]
count = [0, 0, 0]
started = [0.0]
def watch(phase, info):
    if phase == "start":
        started[0] = time.perf_counter()
    else:
        spent[info["generation"]] += time.perf_counter() - started[0]
        count[info["generation"]] += 1
gc.callbacks.append(watch)
seconds, per_run = [], []
runs = int(sys.argv[1])
for seed in range(1, runs + 1):
    full_before, spent_before = count[2], spent[2]
    t = time.perf_counter()
    AllianceModel(rng=seed, years=10).run()
    seconds.append(time.perf_counter() - t)
    per_run.append((seconds[-1], count[2] - full_before, spent[2] - spent_before))
print(json.dumps({"per_run": per_run, "median": statistics.median(seconds), "mean": statistics.mean(seconds), "gc_seconds": [s / runs for s in spent],
                  "collections": [c / runs for c in count], "tracked": len(gc.get_objects()),
                  "frozen": gc.get_freeze_count() - frozen_at_start}))
"""


def measure(runs: int, mode: str) -> dict:
    out = subprocess.run([sys.executable, "-c", _CHILD, str(runs), mode], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=12)
    parser.add_argument("--per-run", action="store_true", help="also print each run: its time and full collections")
    args = parser.parse_args()
    print(f"{args.runs} ten-year default runs in a row, one process each way, one core")
    print(f"{'':27s}{'mean run':>10s}{'median':>9s}{'gen 0':>9s}{'gen 1':>9s}{'gen 2 (full)':>14s}  per run")
    for mode, label in (("settled", "settled (sweep workers)"), ("plain", "not settled (own session)")):
        r = measure(args.runs, mode)
        gen = [f"{1000 * s:6.1f} ms" for s in r["gc_seconds"]]
        print(f"{label:27s}{r['mean']:8.3f} s{r['median']:7.3f} s{gen[0]:>9s}{gen[1]:>9s}{gen[2]:>14s}"
              f"  ({r['collections'][2]:.2f} full collections; {r['frozen']} objects frozen by settle)")
        if args.per_run:
            for k, (seconds, full, spent) in enumerate(r["per_run"], start=1):
                print(f"    run {k:2d}: {seconds:.3f} s" + (f", {full} full collection(s) taking {1000 * spent:.0f} ms"
                                                          if full else ""))


if __name__ == "__main__":
    main()
