"""Subcommands ``sweep``, ``sensitivity``, ``report`` and ``discover`` of the ``alliancesim`` command.

::

    alliancesim sweep SPEC.toml --out DIR [--workers N | --scheduler tcp://HOST:PORT]
                      [--retry-failed] [--yes] [--quiet]
    alliancesim sweep SPEC.toml --dry-run       (runs, estimated time and disk; nothing runs)
    alliancesim sensitivity SPEC.toml --out DIR [--workers N | --scheduler tcp://HOST:PORT]
                      [--metrics a,b] [--retry-failed] [--yes] [--dry-run] [--quiet]
    alliancesim report DIR [--metrics a,b] [--out FOLDER]
    alliancesim discover DIR --metric NAME (--above X|pNN | --below X|pNN) [--min-coverage C] [--out FOLDER]

Exit status: 0 done (failed runs are recorded, not fatal, as long as some
succeed), 1 every run failed (the first error is shown), 2 bad input (one line
on stderr), 130 interrupted with Ctrl-C or SIGTERM (what finished is kept; the same
command resumes).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import warnings

from ..cli import CliError, command
from .cost import CONFIRM_RUNS
from .storage import SweepError

EXIT_INTERRUPTED = 130
EXIT_ALL_FAILED = 1


def _workers(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number of workers, got {text!r}") from None
    from .backends import SweepError, check_workers

    try:
        check_workers(value)
    except SweepError as exc:
        raise argparse.ArgumentTypeError(str(exc).replace("workers=", "", 1)) from None
    return value


def _metric_names(text: str) -> list[str]:
    return [m.strip() for m in text.split(",") if m.strip()]


def _add_execution(p: argparse.ArgumentParser) -> None:
    p.add_argument("spec", metavar="SPEC.toml", help="sweep spec (examples: alliancesim examples DIR)")
    p.add_argument("--out", metavar="DIR",
                   help="output folder (required unless --dry-run); re-running with the same DIR resumes")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--workers", type=_workers, default=None, metavar="N",
                       help="local worker processes (default: one per CPU; 1 runs in this process)")
    where.add_argument("--scheduler", default=None, metavar="tcp://HOST:PORT",
                       help="run on an existing Dask distributed cluster")
    p.add_argument("--retry-failed", action="store_true", help="run the runs recorded as failed again")
    p.add_argument("--dry-run", action="store_true",
                   help="print the runs, estimated time and disk (from a short timing here), run nothing")
    p.add_argument("--yes", action="store_true",
                   help=f"start a sweep of more than {CONFIRM_RUNS:,} runs (see its cost with --dry-run)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def _add_sweep(p: argparse.ArgumentParser) -> None:
    _add_execution(p)


def _add_sensitivity(p: argparse.ArgumentParser) -> None:
    _add_execution(p)
    p.add_argument("--metrics", type=_metric_names, default=None, metavar="A,B",
                   help="metrics to analyse (default: [sensitivity] metrics of the spec, else all stored)")


def _add_report(p: argparse.ArgumentParser) -> None:
    p.add_argument("dir", metavar="DIR", help="a sweep's output folder")
    p.add_argument("--metrics", type=_metric_names, default=None, metavar="A,B",
                   help="metrics to plot (default: every stored metric)")
    p.add_argument("--out", default=None, metavar="FOLDER", help="where the PNGs go (default: DIR/report)")


def _err(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@contextlib.contextmanager
def _warnings_as_lines():
    """Show warnings (a damaged part skipped, a noisy index) as one ``warning: ...`` line each."""
    with warnings.catch_warnings():
        warnings.simplefilter("default")
        warnings.showwarning = lambda message, *_a, **_k: _err(f"warning: {message}")
        yield


def _need_out(args: argparse.Namespace) -> None:
    if not args.dry_run and not args.out:
        raise CliError("the following arguments are required: --out")


def _print_cost(args: argparse.Namespace, spec, plan) -> None:
    """The --dry-run estimate of time and disk, and whether the sweep will need --yes."""
    from .cost import estimate_cost

    workers = args.workers or (len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
                               else os.cpu_count() or 1)
    if args.scheduler:
        workers = 1  # the cluster's size is not known here: give the time for one worker
    for line in estimate_cost(spec, plan.runs, workers).describe():
        print(line + (" (per Dask worker process)" if args.scheduler and line.startswith("estimated time")
                      else ""))
    if plan.runs > CONFIRM_RUNS:
        print(f"this sweep has more than {CONFIRM_RUNS:,} runs: starting it needs --yes")
    for note in spec.notes:
        _err(f"warning: {note}")


def _confirm(args: argparse.Namespace, plan) -> None:
    if plan.runs > CONFIRM_RUNS and not args.yes:
        raise CliError(f"this sweep has {plan.runs:,} runs (more than {CONFIRM_RUNS:,}): see what it costs "
                       "with --dry-run, then add --yes to start it")


def _execute(args: argparse.Namespace, spec):
    from .execute import run_sweep

    if args.workers == 1 and args.scheduler is None:  # every run in this process (the pool's workers settle)
        from ..model import settle_process

        settle_process()
    try:
        result = run_sweep(spec, args.out, workers=args.workers, scheduler=args.scheduler,
                           retry_failed=args.retry_failed, progress=not args.quiet, log=_err)
    except SweepError as exc:
        raise CliError(str(exc)) from None
    if result.interrupted and not result.complete:
        left = result.runs - result.ok - result.failed
        _err(f"interrupted: {result.ok + result.failed} of {result.runs} runs stored in {result.path} "
             f"({left} still to run); run the same command again to resume")
    elif result.ran:
        rate = f" ({result.runs_per_second:.2f} runs/s)" if result.seconds > 0 else ""
        _err(f"finished {result.ran} runs in {result.seconds:.1f} s{rate}; {result.path} holds "
             f"{result.ok} ok and {result.failed} failed of {result.runs}")
    if result.failed and not result.ran:
        _err(f"{result.failed} runs are stored as failed; --retry-failed runs them again")
    if result.failed and result.first_error:
        _err(f"failed runs are recorded with their error (status column); first: {result.first_error}")
    return result


@command("sweep", "run a parameter sweep (resumable) and store one row per run", _add_sweep)
def _cmd_sweep(args: argparse.Namespace) -> int:
    with _warnings_as_lines():
        return _sweep(args)


def _sweep(args: argparse.Namespace) -> int:
    from .execute import plan_sweep
    from .spec import load_spec

    _need_out(args)
    spec = load_spec(args.spec)
    plan = plan_sweep(spec)
    if args.dry_run:
        print(f"{spec.name}: {plan.describe(spec)}", flush=True)
        for v in spec.varied:
            print(f"  {v.name}: {v.describe()}", flush=True)
        _print_cost(args, spec, plan)
        return 0
    _confirm(args, plan)
    result = _execute(args, spec)
    if result.interrupted and not result.complete:
        return EXIT_INTERRUPTED
    return _all_failed(result) or 0


def _all_failed(result) -> int | None:
    """EXIT_ALL_FAILED (with one line) when no stored run succeeded."""
    if result.failed and not result.ok:
        _err(f"every run failed ({result.failed} of {result.runs}); nothing to analyse")
        return EXIT_ALL_FAILED
    return None


@command("sensitivity", "Sobol' or Morris sensitivity indices: run the design, then table and bar charts",
         _add_sensitivity)
def _cmd_sensitivity(args: argparse.Namespace) -> int:
    with _warnings_as_lines():
        return _sensitivity(args)


def _sensitivity(args: argparse.Namespace) -> int:
    from pathlib import Path

    from ..metrics import METRICS
    from .execute import plan_sweep
    from .sensitivity import NoisyIndicesWarning, analyse, format_table, write_outputs
    from .spec import load_spec

    _need_out(args)
    spec = load_spec(args.spec)
    if spec.design not in ("sobol", "morris"):
        raise CliError(f"sensitivity needs [design] method = \"sobol\" or \"morris\"; "
                       f"{args.spec!r} uses {spec.design!r} (use 'alliancesim sweep' for it)")
    for m in args.metrics or ():
        if m not in spec.metrics:
            raise CliError(f"--metrics: {m!r} is not "
                           + ("among the spec's [outputs] metrics" if m in METRICS else "a metric"))
    plan = plan_sweep(spec)
    d = len(spec.varied)
    if spec.design == "sobol":
        per = f"N={spec.samples} x ({'2 x ' if spec.second_order else ''}{d} parameters + 2)"
    else:
        per = f"{spec.samples} trajectories x ({d} parameters + 1)"
    distinct = f" ({plan.distinct} distinct)" if plan.distinct != plan.points else ""
    print(f"sensitivity ({'Sobol' if spec.design == 'sobol' else 'Morris'}): this costs {plan.runs} runs: "
          f"{per} = {plan.points} points{distinct} x {spec.replicates} "
          f"replicate{'s' if spec.replicates != 1 else ''}, {spec.years:g} years each", flush=True)
    if args.dry_run:
        _print_cost(args, spec, plan)
        return 0
    _confirm(args, plan)
    result = _execute(args, spec)
    if result.interrupted and not result.complete:
        return EXIT_INTERRUPTED
    if _all_failed(result):
        return EXIT_ALL_FAILED
    try:
        with warnings.catch_warnings():
            # The table below ends with the same warnings: say them once.
            warnings.simplefilter("ignore", NoisyIndicesWarning)
            ind = analyse(spec, args.out, metrics=args.metrics)
    except SweepError as exc:
        raise CliError(str(exc)) from None
    print(format_table(ind), end="")
    if not len(ind.table):
        raise CliError("no metric could be analysed (see the reasons above)")
    written = write_outputs(ind, Path(args.out) / "sensitivity")
    print(f"wrote {len(written)} files to {Path(args.out) / 'sensitivity'}: "
          + ", ".join(p.name for p in written[:4]) + (" ..." if len(written) > 4 else ""))
    return 0


@command("report", "plot a sweep: each varied parameter against each metric", _add_report)
def _cmd_report(args: argparse.Namespace) -> int:
    with _warnings_as_lines():
        return _report(args)


def _report(args: argparse.Namespace) -> int:
    from .report import make_report

    try:
        written = make_report(args.dir, metrics=args.metrics, out=args.out)
    except SweepError as exc:
        raise CliError(str(exc)) from None
    for p in written:
        print(p)
    return 0


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None


def _add_discover(p: argparse.ArgumentParser) -> None:
    p.add_argument("dir", metavar="SWEEP_DIR", help="a sweep's output folder")
    p.add_argument("--metric", required=True, help="the outcome (one of the sweep's metrics, see 'alliancesim metrics')")
    side = p.add_mutually_exclusive_group(required=True)
    side.add_argument("--above", metavar="X", help="runs of interest: metric above X (a number, or a percentile "
                                                   "of the runs such as p75)")
    side.add_argument("--below", metavar="X", help="runs of interest: metric below X (a number or a percentile, p25)")
    p.add_argument("--min-coverage", type=_number, default=0.5, metavar="C",
                   help="report the densest box covering at least this share of the runs of interest (default 0.5)")
    p.add_argument("--out", default=None, metavar="FOLDER",
                   help="where limits.csv, trajectory.csv, tradeoff.png go "
                        "(default: SWEEP_DIR/discovery/METRIC_above_X)")


@command("discover", "scenario discovery (PRIM): which parameter ranges give a metric above/below X", _add_discover)
def _cmd_discover(args: argparse.Namespace) -> int:
    from pathlib import Path

    from .discover import discover

    side, value = ("above", args.above) if args.above is not None else ("below", args.below)
    out = args.out or Path(args.dir) / "discovery" / f"{args.metric}_{side}_{value.strip()}"
    try:
        with _warnings_as_lines():
            result = discover(args.dir, args.metric, above=args.above, below=args.below,
                              min_coverage=args.min_coverage, out=out)
    except SweepError as exc:
        raise CliError(str(exc)) from None
    print(result.text())
    return 0
