"""Speed and memory of the core model, against Mesa's BoltzmannWealth example.

Prints, in one process on one core:

* client-weeks simulated per second for the default clinic over 10 years
  (a client-week is one client on a therapist's books for one week), with the
  wall time of the run itself;
* agent-steps per second of Mesa's bundled BoltzmannWealth model (100 agents);
* their ratio (bar: >= 2) and the 10-year run time (bar: <= 1 s);
* the one-off cost of loading the compiled session code in a fresh process;
* peak memory (max RSS) of a fresh process that runs a 10-year clinic with
  about 1,000 clients on its books (bar: <= 300 MB).

Usage::

    python benchmarks/core_speed.py [--repeats 5] [--skip-memory]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time

#: A clinic three times the default: about 1,000 clients on the books at steady state.
BIG_CLINIC = {"n_therapists": 30, "n_sites": 6, "population": 12000, "initial_clients": 450, "arrival_rate": 9.3}

_MEMORY_CHILD = """
import json, resource, sys, tempfile
from alliancesim import simulate, summary_metrics
from alliancesim.tables import write_outputs
model = simulate("default", seed=1, years=10, **json.loads(sys.argv[1]))
m = summary_metrics(model)
run_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
with tempfile.TemporaryDirectory() as out:
    write_outputs(model, out)
print(json.dumps({"max_rss_mb": run_mb, "with_tables_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "clients_on_books": m["clients_on_books"], "client_weeks": m["client_weeks"]}))
"""

_LOAD_CHILD = """
import time
t0 = time.perf_counter()
import alliancesim
t1 = time.perf_counter()
from alliancesim import simulate
simulate("default", seed=1, years=0.2)
t2 = time.perf_counter()
print(t1 - t0, t2 - t1)
"""


def boltzmann_agent_steps_per_second(repeats: int, steps: int = 500) -> list[float]:
    from mesa.examples.basic.boltzmann_wealth_model.model import BoltzmannScenario, BoltzmannWealth

    rates = []
    for _ in range(repeats):
        model = BoltzmannWealth(BoltzmannScenario(n=100, rng=1))
        t = time.perf_counter()
        for _ in range(steps):
            model.step()
        rates.append(100 * steps / (time.perf_counter() - t))
    return rates


def clinic_runs(repeats: int) -> list[tuple[float, int, float]]:
    """(seconds, client-weeks, clients on the books) for 10-year default runs."""
    from alliancesim import AllianceModel
    from alliancesim.metrics import summary_metrics

    AllianceModel(rng=0, years=0.2).run()  # load the compiled code once, outside the timing
    out = []
    for seed in range(1, repeats + 1):
        t = time.perf_counter()
        model = AllianceModel(rng=seed, years=10)
        model.run()
        seconds = time.perf_counter() - t
        out.append((seconds, model.client_weeks, summary_metrics(model)["clients_on_books"]))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--skip-memory", action="store_true")
    args = parser.parse_args()

    load = subprocess.run([sys.executable, "-c", _LOAD_CHILD], capture_output=True, text=True, check=True)
    import_s, first_run_s = map(float, load.stdout.split())

    runs = clinic_runs(args.repeats)
    boltz = boltzmann_agent_steps_per_second(args.repeats)
    seconds = [r[0] for r in runs]
    rates = [r[1] / r[0] for r in runs]
    median_rate, median_boltz = statistics.median(rates), statistics.median(boltz)

    print("default clinic, 10 years (52 weeks x 10), one process, compiled code already loaded")
    print(f"  clients on the books (steady state)  {statistics.mean(r[2] for r in runs):8.0f}")
    print(f"  client-weeks per run                 {statistics.mean(r[1] for r in runs):8.0f}")
    print(f"  run time, median (min-max)           {statistics.median(seconds):8.3f} s "
          f"({min(seconds):.3f}-{max(seconds):.3f})   bar <= 1 s")
    print(f"  client-weeks per second, median      {median_rate:8.0f}")
    print(f"BoltzmannWealth, 100 agents, 500 steps")
    print(f"  agent-steps per second, median       {median_boltz:8.0f}")
    print(f"ratio client-weeks/s : agent-steps/s    {median_rate / median_boltz:8.2f}   bar >= 2")
    print(f"fresh process: import {import_s:.2f} s, first short run (loads compiled code) {first_run_s:.2f} s")

    if not args.skip_memory:
        child = subprocess.run([sys.executable, "-c", _MEMORY_CHILD, json.dumps(BIG_CLINIC)],
                               capture_output=True, text=True, check=True)
        mem = json.loads(child.stdout.strip().splitlines()[-1])
        print(f"10 years with ~1,000 clients ({mem['clients_on_books']:.0f} on the books, "
              f"{mem['client_weeks']:.0f} client-weeks)")
        print(f"  peak memory of the run and its summary (max RSS) {mem['max_rss_mb']:5.0f} MB   bar <= 300 MB")
        print(f"  ... then writing every table as Parquet     {mem['with_tables_mb']:5.0f} MB")


if __name__ == "__main__":
    main()
