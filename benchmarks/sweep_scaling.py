"""How sweeps scale on this machine: serial, a local process pool, a Dask LocalCluster.

Runs the same spec (the default clinic, ``--years`` years, ``--runs`` replicates)
in four ways and prints runs per second for

* serial: ``workers=1``, every run in the sweep process;
* pool: the default local process pool with ``--workers`` processes;
* dask: a ``distributed.LocalCluster`` with ``--workers`` single-threaded worker
  processes on 127.0.0.1, started before the clock starts (as an existing cluster
  would be); its start-up time is printed separately;
* dask-tuned: the same cluster set up as the README suggests for alliancesim:
  workers preload ``alliancesim.sweep.worker`` (its ``dask_setup`` imports the
  model and makes one tiny run when a worker starts, as the pool's fork server does) and run with the statistical
  profiler off (it samples the running task's stack every 10 ms).

Each timing is one whole sweep call, made in a fresh Python process with
alliancesim already imported (as ``alliancesim sweep`` would make it): planning,
worker start-up (pool) or first-run imports (Dask workers), running and writing
Parquet.  A fresh process per timing matters: once a process has started Dask's
client threads, the pool can no longer fork its workers directly.

The four modes run in turn, ``--rounds`` times over (interleaved, so a burst of
other work on a shared machine hits every mode alike), and the bars are checked
on each mode's median time.  All result sets are checked to be identical.  The
bars from issue 4: pool >= 1.7x serial with 2 workers; Dask <= 15 % slower than
the pool.  The load average printed after each timing shows whether the machine
was quiet (about 1 for serial, about ``--workers`` for the others).

    python benchmarks/sweep_scaling.py                         # 200 runs of 3 years, 3 rounds (~5 min)
    python benchmarks/sweep_scaling.py --runs 20 --rounds 1    # a quick look while developing
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
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

MODES = ("serial", "pool", "dask", "dask-tuned")


def time_one(mode: str, spec: Path, out: Path, workers: int) -> dict:
    """One timed sweep call in this (fresh) process; returns its figures."""
    from alliancesim.sweep import run_sweep

    kw: dict = {"workers": 1} if mode == "serial" else {"workers": workers}
    extra: dict = {}
    cluster = client = None
    if mode.startswith("dask"):
        import dask
        from distributed import Client, LocalCluster

        if mode == "dask-tuned":
            dask.config.set({"distributed.worker.profile.enabled": False,
                             "distributed.worker.preload": ["alliancesim.sweep.worker"]})
        t0 = time.perf_counter()
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                               host="127.0.0.1", protocol="tcp", dashboard_address=None)
        client = Client(cluster, set_as_default=False)
        client.wait_for_workers(workers)
        extra["startup_s"] = time.perf_counter() - t0
        kw = {"client": client}
    try:
        cpu0 = time.process_time()
        t0 = time.perf_counter()
        res = run_sweep(spec, out, progress=False, **kw)
        seconds = time.perf_counter() - t0
        cpu = time.process_time() - cpu0
    finally:
        if client is not None:
            client.close()
            cluster.close()
    return {"seconds": seconds, "cpu": cpu, "ok": res.ok, "failed": res.failed,
            "first_error": res.first_error, "load": os.getloadavg()[0], **extra}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=200, help="runs per mode (default 200)")
    parser.add_argument("--years", type=float, default=3.0, help="years per run (default 3)")
    parser.add_argument("--workers", type=int, default=2, help="pool / Dask worker processes (default 2)")
    parser.add_argument("--rounds", type=int, default=3,
                        help="times each mode runs, interleaved; medians are compared (default 3)")
    parser.add_argument("--skip", choices=["serial", "pool", "dask"], action="append", default=[],
                        help="leave a mode out (repeatable; dask covers both Dask modes)")
    parser.add_argument("--check", action="store_true",
                        help="exit 1 if a bar is missed or the results differ")
    parser.add_argument("--child", nargs=3, metavar=("MODE", "SPEC", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child:  # one timing, in a fresh process started by the parent below
        mode, spec, out = args.child
        print(json.dumps(time_one(mode, Path(spec), Path(out), args.workers)))
        return 0

    import alliancesim
    from alliancesim.sweep import load_runs

    print(f"alliancesim {alliancesim.__version__}, Python {platform.python_version()}, "
          f"{os.cpu_count()} CPUs, load average {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"{args.runs} runs of the default clinic over {args.years:g} years; {args.workers} workers; "
          f"{args.rounds} round(s)\n", flush=True)
    modes = [m for m in MODES if m.split("-")[0] not in args.skip]
    times: dict[str, list[float]] = {m: [] for m in modes}
    runs_of: dict[str, object] = {}
    with tempfile.TemporaryDirectory(prefix="sweep-bench-") as tmp:
        spec = Path(tmp) / "bench.toml"
        spec.write_text(SPEC.format(years=args.years, runs=args.runs))
        for round_ in range(1, args.rounds + 1):
            if args.rounds > 1:
                print(f"round {round_} of {args.rounds}", flush=True)
            for mode in modes:
                out = Path(tmp) / f"{mode}-{round_}"
                proc = subprocess.run([sys.executable, __file__, "--workers", str(args.workers),
                                       "--child", mode, str(spec), str(out)],
                                      capture_output=True, text=True)
                if proc.returncode != 0:
                    print(proc.stderr[-3000:], file=sys.stderr)
                    raise SystemExit(f"{mode}: the timing process failed (exit {proc.returncode})")
                fig = json.loads(proc.stdout.strip().splitlines()[-1])
                if fig["ok"] != args.runs:
                    raise SystemExit(f"{mode}: {fig['failed']} runs failed: {fig['first_error']}")
                runs = load_runs(out)
                runs_of.setdefault(mode, runs)
                times[mode].append(fig["seconds"])
                if "startup_s" in fig:
                    print(f"  (LocalCluster start-up: {fig['startup_s']:.1f} s, not counted)")
                # Mean time inside run_task (the simulation itself) and the sweep process's own CPU
                # time (planning, results, Parquet; for Dask also the client and the scheduler).
                print(f"  {mode:<10} {fig['seconds']:7.1f} s  {args.runs / fig['seconds']:6.2f} runs/s   "
                      f"mean run {runs['duration_s'].mean():.3f} s, sweep process CPU {fig['cpu']:.1f} s, "
                      f"load {fig['load']:.2f}", flush=True)

    median = {m: statistics.median(ts) for m, ts in times.items()}
    print()
    for mode, ts in times.items():
        print(f"{mode:<10} median {median[mode]:6.1f} s  {args.runs / median[mode]:6.2f} runs/s"
              f"   (rounds: {', '.join(f'{t:.1f}' for t in ts)})")
    print()
    ok = True
    if "serial" in median and "pool" in median:
        speedup = median["serial"] / median["pool"]
        passed = speedup >= 1.7 or args.workers != 2
        ok &= passed
        print(f"pool vs serial: {speedup:.2f}x  (bar with 2 workers: >= 1.7x)  "
              f"{'PASS' if passed else 'MISS'}")
    for mode, label in (("dask", "dask vs pool:      "), ("dask-tuned", "dask-tuned vs pool:")):
        if "pool" in median and mode in median:
            overhead = median[mode] / median["pool"] - 1
            passed = overhead <= 0.15
            ok &= passed
            print(f"{label} {overhead * 100:+.1f} %  (bar: <= +15 %)  {'PASS' if passed else 'MISS'}")
    if len(runs_of) > 1:
        cols = ["key", "seed", "status", "dropout_share", "mean_alliance", "sessions", "rupture_share"]
        frames = [df[cols].sort_values("key").reset_index(drop=True) for df in runs_of.values()]
        same = all(f.equals(frames[0]) for f in frames[1:])
        ok &= same
        print(f"identical results across {', '.join(runs_of)}: {'yes' if same else 'NO'}")
    return 1 if args.check and not ok else 0


if __name__ == "__main__":
    sys.exit(main())
