"""What the integrity checks of issue 11 cost, and what knowing a design's cost costs.

Prints:

* microseconds per call of ``validate({...})`` and ``Params()`` (every
  construction checks every value and the rules between them);
* the seconds ``plan_sweep`` takes for a 10^8-point grid and for 2 x 10^9
  replicates (computed, not walked: it must not grow with the design);
* the seconds the ``--dry-run`` estimate takes (a warm-up and two short timed
  runs of a typical point), and what it estimates per run;
* the milliseconds a result folder's staging adds (``write_outputs`` into a
  staged folder and one rename) next to writing the same tables in place;
* the seconds a sweep's start spends checking every stored part (footers) to
  set damaged ones aside, for 100,000 stored runs (made-up rows, 500 parts).

Usage::

    python benchmarks/integrity_costs.py [--repeats 2000]
"""

from __future__ import annotations

import argparse
import tempfile
import time
import timeit
from pathlib import Path


def _spec(text: str):
    from alliancesim.sweep import load_spec

    folder = Path(tempfile.mkdtemp(prefix="integrity-costs-"))
    (folder / "spec.toml").write_text(text)
    return load_spec(folder / "spec.toml")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=2000)
    args = parser.parse_args()

    from alliancesim.params import Params, validate

    n = args.repeats
    validate({})  # imports

    def per_call(fn) -> float:  # best of 7 rounds: the shared machine's noise only adds time
        return min(timeit.repeat(fn, number=n, repeat=7)) / n * 1e6

    print(f"validate({{'n_therapists': 5}}): {per_call(lambda: validate({'n_therapists': 5})):.1f} us")
    print(f"Params():                     {per_call(Params):.1f} us")

    from alliancesim.sweep.cost import estimate_cost
    from alliancesim.sweep.execute import plan_sweep

    grid = _spec("years = 1\n[vary.self_awareness_mean]\nrange = [0, 1]\nsteps = 10000\n"
                 "[vary.warmth_mean]\nrange = [0, 1]\nsteps = 10000\n")
    huge = _spec("years = 1\nreplicates = 1000000000\n[vary.n_therapists]\nvalues = [2, 3]\n")
    for name, spec in (("10^8-point grid", grid), ("2 x 10^9 replicates", huge)):
        t = time.perf_counter()
        plan = plan_sweep(spec)
        print(f"plan_sweep, {name}: {plan.runs:,} runs in {time.perf_counter() - t:.4f} s")
    t = time.perf_counter()
    cost = estimate_cost(grid, 10**8, workers=2)
    print(f"dry-run estimate (default clinic, 1 year): {time.perf_counter() - t:.2f} s; "
          f"estimates {cost.seconds_per_run:.3f} s per run, {cost.run_bytes:.0f} bytes per stored run")

    from alliancesim.runner import simulate
    from alliancesim.tables import write_outputs, write_outputs_into

    model = simulate(None, seed=1, years=1)
    staged, direct = [], []
    for i in range(5):
        with tempfile.TemporaryDirectory() as root:
            t = time.perf_counter()
            write_outputs(model, Path(root) / f"staged{i}")
            staged.append(time.perf_counter() - t)
            (Path(root) / "direct").mkdir()
            t = time.perf_counter()
            write_outputs_into(model, Path(root) / "direct")
            direct.append(time.perf_counter() - t)
    print(f"write_outputs (staged, then renamed): {min(staged) * 1000:.1f} ms; "
          f"the same tables written in place: {min(direct) * 1000:.1f} ms (best of 5, default clinic, 1 year)")

    print(f"sweep start with 100,000 stored runs in 500 parts: {_start_cost(100_000):.3f} s to enter "
          "(lock, clean-up, every part's footer checked)")


def _start_cost(runs: int) -> float:
    """Seconds ``SweepDir`` takes to enter a folder of ``runs`` made-up stored runs."""
    import datetime as dt

    from alliancesim import __version__
    from alliancesim.metrics import METRICS
    from alliancesim.params import defaults
    from alliancesim.sweep.design import design_chunks, n_points
    from alliancesim.sweep.storage import RunWriter, SweepDir, run_schema

    spec = _spec("replicates = 1\n[vary.self_awareness_mean]\nvalues = [0.2, 0.8]\n")
    out = Path(tempfile.mkdtemp(prefix="integrity-costs-sweep-")) / "out"
    with SweepDir(out) as sdir:
        sdir.prepare(spec, design_chunks(spec), n_points(spec), runs)
        writer = RunWriter(sdir, run_schema(METRICS), flush_runs=runs // 500, flush_seconds=1e9)
        now, base = dt.datetime.now(dt.UTC), defaults()
        for i in range(runs):
            writer.add({"key": f"{i:016x}-0", "point": i, "point_id": f"{i:016x}", "replicate": 0, "seed": i,
                        "status": "ok", "error": None, "traceback": None, "duration_s": 0.5, "worker": "host:1",
                        "alliancesim_version": __version__, "code_fingerprint": "0" * 16, "finished_at": now,
                        **base, **{m: float(i) for m in METRICS}})
        writer.close()
    t = time.perf_counter()
    with SweepDir(out):
        pass
    return time.perf_counter() - t


if __name__ == "__main__":
    main()
