"""What the integrity checks of issue 11 cost, and what knowing a design's cost costs.

Prints:

* microseconds per call of ``validate({...})`` and ``Params()`` (every
  construction checks every value and the rules between them);
* the seconds ``plan_sweep`` takes for a 10^8-point grid and for 2 x 10^9
  replicates (computed, not walked: it must not grow with the design);
* the seconds the ``--dry-run`` estimate takes (a warm-up and two short timed
  runs of a typical point), and what it estimates per run;
* the milliseconds a result folder's staging adds (``write_outputs`` into a
  staged folder and one rename) next to writing the same tables in place.

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


if __name__ == "__main__":
    main()
