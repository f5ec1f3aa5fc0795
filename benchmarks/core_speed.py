"""Speed and memory of the core model, against Mesa's BoltzmannWealth example, measured interleaved.

Prints, in one process pinned to one core, with the clinic and BoltzmannWealth
measured in alternating rounds (so machine drift hits both alike):

* the wall time of a default 10-year clinic (bar: <= 0.3 s) and its
  client-weeks per second (a client-week is one client on a therapist's books
  for one week); apart, the run's headline metrics, computed when first read;
* BoltzmannWealth's agent-steps per second (100 agents), and the ratio of the
  two (bar: client-weeks/s >= 3x agent-steps/s);
* both twice: first as in a user's own Python session, then after
  :func:`alliancesim.model.settle_process`, as in the processes alliancesim
  starts to run models (sweep and calibration workers, the command line);
* the pure-Python reference engine's cost as a multiple of the numba engine
  (the same 2-year run, each in a fresh process with its code already loaded);
* the one-off costs of a fresh process: import, and loading the compiled code;
* peak memory (max RSS) of a fresh process that runs a 10-year clinic with
  about 480 clients on its books, three times the default (bar: <= 300 MB).

Usage::

    python benchmarks/core_speed.py [--repeats 15] [--skip-memory] [--skip-python]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

#: A clinic three times the default (therapists, sites, town, arrivals): about 480 clients on the books.
BIG_CLINIC = {"n_therapists": 30, "n_sites": 6, "population": 12000, "initial_clients": 450, "arrival_rate": 9.3}

_MEMORY_CHILD = """
import json, resource, sys, tempfile
from pathlib import Path
from alliancesim import simulate, summary_metrics
from alliancesim.tables import write_outputs

def peak_mb():
    # Linux keeps ru_maxrss across exec, so a child started from a big parent would report the
    # parent's size; VmHWM is this process's own peak.
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

model = simulate("default", seed=1, years=10, **json.loads(sys.argv[1]))
m = summary_metrics(model)
run_mb = peak_mb()
with tempfile.TemporaryDirectory() as out:
    write_outputs(model, out)
print(json.dumps({"max_rss_mb": run_mb, "with_tables_mb": peak_mb(),
                  "clients_on_books": m["clients_on_books"], "client_weeks": m["client_weeks"]}))
"""

_LOAD_CHILD = """
import time
t0 = time.perf_counter()
import alliancesim.model  # the package itself imports lazily: this is the model and its libraries
t1 = time.perf_counter()
from alliancesim import simulate
simulate("default", seed=1, years=0.2)
t2 = time.perf_counter()
print(t1 - t0, t2 - t1)
"""


_ENGINE_CHILD = """
import sys, time
from alliancesim import simulate
simulate("default", seed=1, years=0.2)   # load (or compile) the session code outside the timing
t = time.perf_counter()
simulate("default", seed=2, years=float(sys.argv[1]))
print(time.perf_counter() - t)
"""


def boltzmann_round(steps: int = 500) -> float:
    """Agent-steps per second of one BoltzmannWealth run (100 agents)."""
    from mesa.examples.basic.boltzmann_wealth_model.model import BoltzmannScenario, BoltzmannWealth

    model = BoltzmannWealth(BoltzmannScenario(n=100, rng=1))
    t = time.perf_counter()
    for _ in range(steps):
        model.step()
    return 100 * steps / (time.perf_counter() - t)


def clinic_round(seed: int) -> tuple[float, int, float, float]:
    """(seconds, client-weeks, clients on the books, seconds of its headline metrics) of one 10-year
    default run.  The run's headline metrics are computed when first read, so they are timed apart."""
    from alliancesim import AllianceModel
    from alliancesim.metrics import summary_metrics

    t = time.perf_counter()
    model = AllianceModel(rng=seed, years=10)
    model.run()
    seconds = time.perf_counter() - t
    t = time.perf_counter()
    metrics = summary_metrics(model)
    return seconds, model.client_weeks, metrics["clients_on_books"], time.perf_counter() - t


def measure_rounds(repeats: int) -> tuple[list[tuple[float, int, float, float]], list[float]]:
    """``repeats`` rounds, interleaved: a clinic run (:func:`clinic_round`), a BoltzmannWealth run, ..."""
    runs, boltz = [], []
    for k in range(repeats):
        runs.append(clinic_round(k + 1))
        boltz.append(boltzmann_round())
    return runs, boltz


def engine_seconds(engine: str, years: float) -> float:
    env = {**os.environ, "ALLIANCESIM_ENGINE": engine}
    out = subprocess.run([sys.executable, "-c", _ENGINE_CHILD, str(years)], capture_output=True, text=True,
                         check=True, env=env)
    return float(out.stdout.split()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument("--skip-python", action="store_true")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})  # one core

    load = subprocess.run([sys.executable, "-c", _LOAD_CHILD], capture_output=True, text=True, check=True)
    import_s, first_run_s = map(float, load.stdout.split())

    from alliancesim import AllianceModel
    from alliancesim.engine import ENGINE
    from alliancesim.model import settle_process

    AllianceModel(rng=0, years=0.2).run()  # load the compiled code once, outside the timing
    boltzmann_round(50)
    print(f"default clinic, 10 years (520 weeks), {ENGINE} engine, one core, {args.repeats} interleaved rounds "
          "with BoltzmannWealth (100 agents, 500 steps) each way")
    own = measure_rounds(args.repeats)
    settle_process()  # as sweep and calibration workers do
    settled = measure_rounds(args.repeats)
    runs = own[0] + settled[0]
    print(f"  clients on the books (steady state)  {statistics.mean(r[2] for r in runs):8.0f}")
    print(f"  client-weeks per run                 {statistics.mean(r[1] for r in runs):8.0f}")
    print(f"  then its headline metrics, median    {statistics.median(r[3] for r in runs):8.3f} s "
          "(computed when first read: summary.json, a sweep, batch_run)")
    for label, (rounds, boltz) in (("in a settled process (sweep and calibration workers, the CLI)", settled),
                                   ("in a user's own session (not settled)", own)):
        seconds = [r[0] for r in rounds]
        rates = [r[1] / r[0] for r in rounds]
        ratios = [r / b for r, b in zip(rates, boltz, strict=True)]
        print(label)
        print(f"  run time, median (min-max)           {statistics.median(seconds):8.3f} s "
              f"({min(seconds):.3f}-{max(seconds):.3f})   bar <= 0.3 s")
        print(f"  client-weeks per second, median      {statistics.median(rates):8.0f}; "
              f"BoltzmannWealth agent-steps per second {statistics.median(boltz):.0f}")
        print(f"  ratio client-weeks/s : agent-steps/s, median of rounds {statistics.median(ratios):5.2f} "
              f"(min {min(ratios):.2f})   bar >= 3")
    print(f"fresh process: import {import_s:.2f} s, first short run (loads compiled code) {first_run_s:.2f} s")

    if not args.skip_python:
        fast = statistics.median(engine_seconds("numba", 2.0) for _ in range(3))
        slow = engine_seconds("python", 2.0)
        print(f"pure-Python reference engine, 2-year default run: {slow:.2f} s vs numba {fast:.3f} s "
              f"= {slow / fast:.0f}x")

    if not args.skip_memory:
        child = subprocess.run([sys.executable, "-c", _MEMORY_CHILD, json.dumps(BIG_CLINIC)],
                               capture_output=True, text=True, check=True)
        mem = json.loads(child.stdout.strip().splitlines()[-1])
        print(f"10 years of a clinic three times the default ({mem['clients_on_books']:.0f} on the books, "
              f"{mem['client_weeks']:.0f} client-weeks)")
        print(f"  peak memory of the run and its summary (max RSS) {mem['max_rss_mb']:5.0f} MB   bar <= 300 MB")
        print(f"  ... then writing every table as Parquet     {mem['with_tables_mb']:5.0f} MB")


if __name__ == "__main__":
    main()
