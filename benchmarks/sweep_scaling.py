"""How sweeps scale on this machine: serial, a local process pool, a Dask LocalCluster.

Runs the same spec (the default clinic, ``--years`` years, ``--runs`` replicates)
in four ways and prints runs per second for

* serial: ``workers=1``, every run in this process;
* pool: the default local process pool with ``--workers`` processes;
* dask: a ``distributed.LocalCluster`` with ``--workers`` single-threaded worker
  processes on 127.0.0.1, started before the clock starts (as an existing cluster
  would be); its start-up time is printed separately;
* dask-np: the same with the workers' statistical profiler off
  (``distributed.worker.profile.enabled: false``).

Each timing is a whole sweep call: planning, worker start-up (pool) or first-run
imports (Dask workers), running and writing Parquet.  All result sets are checked
to be identical.  The bars from issue 4: pool >= 1.7x serial with 2 workers;
Dask <= 15 % slower than the pool.  On a shared machine the figures move by
several per cent from one run to the next: run it when the machine is quiet
(the load average printed after each mode shows whether it was).

    python benchmarks/sweep_scaling.py               # 200 runs of 3 years (several minutes)
    python benchmarks/sweep_scaling.py --runs 20     # a quick look while developing
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

SPEC = """
name = "benchmark: default clinic"
preset = "default"
years = {years}
replicates = {runs}
seed = 20240611
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=200, help="runs per mode (default 200)")
    parser.add_argument("--years", type=float, default=3.0, help="years per run (default 3)")
    parser.add_argument("--workers", type=int, default=2, help="pool / Dask worker processes (default 2)")
    parser.add_argument("--skip", choices=["serial", "pool", "dask"], action="append", default=[],
                        help="leave a mode out (repeatable; dask covers both Dask modes)")
    parser.add_argument("--check", action="store_true",
                        help="exit 1 if a bar is missed or the results differ")
    args = parser.parse_args(argv)

    import alliancesim
    from alliancesim.sweep import load_runs, run_sweep

    print(f"alliancesim {alliancesim.__version__}, Python {platform.python_version()}, "
          f"{os.cpu_count()} CPUs, load average {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"{args.runs} runs of the default clinic over {args.years:g} years; {args.workers} workers\n",
          flush=True)
    results: dict[str, tuple[float, object]] = {}
    with tempfile.TemporaryDirectory(prefix="sweep-bench-") as tmp:
        spec = Path(tmp) / "bench.toml"
        spec.write_text(SPEC.format(years=args.years, runs=args.runs))

        def timed(mode: str, **kw) -> None:
            cpu0 = time.process_time()
            t0 = time.perf_counter()
            res = run_sweep(spec, Path(tmp) / mode, progress=False, **kw)
            seconds = time.perf_counter() - t0
            cpu = time.process_time() - cpu0
            assert res.ok == args.runs, f"{mode}: {res.failed} runs failed: {res.first_error}"
            runs = load_runs(Path(tmp) / mode)
            results[mode] = (seconds, runs)
            # Mean time inside run_task (the simulation itself) and this process's own CPU time
            # (planning, results, Parquet; for Dask also the client and the LocalCluster scheduler).
            # The 1-minute load average after the mode: about 1 (serial) or --workers (others) on a
            # quiet machine; clearly more means other work competed for the CPUs meanwhile.
            print(f"  {mode:<7} {seconds:7.1f} s  {args.runs / seconds:6.2f} runs/s   "
                  f"mean run {runs['duration_s'].mean():.3f} s, sweep process CPU {cpu:.1f} s, "
                  f"load {os.getloadavg()[0]:.2f}", flush=True)

        if "serial" not in args.skip:
            timed("serial", workers=1)
        if "pool" not in args.skip:
            timed("pool", workers=args.workers)
        if "dask" not in args.skip:
            import dask
            from distributed import Client, LocalCluster

            # Twice: Dask's default worker configuration, then with the workers' statistical
            # profiler off (it samples the running task's stack every 10 ms, which costs a
            # CPU-bound simulation noticeably; compute clusters often turn it off).
            for mode, profile in (("dask", True), ("dask-np", False)):
                with dask.config.set({"distributed.worker.profile.enabled": profile}):
                    t0 = time.perf_counter()
                    with LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True,
                                      host="127.0.0.1", protocol="tcp", dashboard_address=None) as cluster, \
                            Client(cluster, set_as_default=False) as client:
                        client.wait_for_workers(args.workers)
                        print(f"  (LocalCluster start-up: {time.perf_counter() - t0:.1f} s, not counted; "
                              f"worker profiler {'on' if profile else 'off'})")
                        timed(mode, client=client)

    print()
    ok = True
    if "serial" in results and "pool" in results:
        speedup = results["serial"][0] / results["pool"][0]
        passed = speedup >= 1.7 or args.workers != 2
        ok &= passed
        print(f"pool vs serial: {speedup:.2f}x  (bar with 2 workers: >= 1.7x)  "
              f"{'PASS' if passed else 'MISS'}")
    for mode, label in (("dask", "dask vs pool:   "), ("dask-np", "dask-np vs pool:")):
        if "pool" in results and mode in results:
            overhead = results[mode][0] / results["pool"][0] - 1
            passed = overhead <= 0.15
            ok &= passed
            print(f"{label} {overhead * 100:+.1f} %  (bar: <= +15 %)  {'PASS' if passed else 'MISS'}")
    if len(results) > 1:
        cols = ["key", "seed", "status", "dropout_share", "mean_alliance", "sessions", "rupture_share"]
        frames = [df[cols].sort_values("key").reset_index(drop=True) for _, df in results.values()]
        same = all(f.equals(frames[0]) for f in frames[1:])
        ok &= same
        print(f"identical results across {', '.join(results)}: {'yes' if same else 'NO'}")
    return 1 if args.check and not ok else 0


if __name__ == "__main__":
    sys.exit(main())
