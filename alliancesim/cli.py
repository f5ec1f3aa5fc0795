"""The ``alliancesim`` command line.

::

    alliancesim run [--scenario NAME|FILE] [--set key=value ...] [--years N] [--seed S]
                    [--out DIR [--replace] [--csv]] [--quiet]
    alliancesim scenarios
    alliancesim params [--markdown]
    alliancesim calibrate [--seeds N] [--years Y] [--jobs J] [--out FILE.csv]
    alliancesim calibrate --fit [--population P] [--generations G] [--fit-seeds K] [--out DIR] [--dask ADDRESS]
    alliancesim metrics
    alliancesim examples DIR
    alliancesim --version

Bad input gives a one-line error on stderr and exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn

from .engine import EngineError
from .params import ParameterError

EXIT_USAGE = 2


class CliError(Exception):
    """An error to report as one line with exit status 2."""


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors."""

    def error(self, message: str) -> NoReturn:  # noqa: D102
        raise CliError(message)


#: Extra subcommands registered by other modules: name -> (help, add_arguments, handler).
COMMANDS: dict[str, tuple[str, Callable[[argparse.ArgumentParser], None], Callable[[argparse.Namespace], int]]] = {}


def command(name: str, help_: str, add_arguments: Callable[[argparse.ArgumentParser], None]):
    """Register a subcommand handler (used by the dashboard and sweep modules)."""
    def deco(fn):
        COMMANDS[name] = (help_, add_arguments, fn)
        return fn
    return deco


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    return value


def _years(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of years, got {text!r}") from None


def _add_run(p: argparse.ArgumentParser) -> None:
    p.add_argument("--scenario", default="default", metavar="NAME|FILE",
                   help="preset name (see 'alliancesim scenarios') or a preset .toml file")
    p.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE",
                   help="override one parameter (repeatable); see 'alliancesim params'")
    p.add_argument("--years", type=_years, default=None, help="years to simulate (overrides the preset)")
    p.add_argument("--seed", type=_positive_int, default=1, help="random seed (default 1)")
    p.add_argument("--out", default=None, metavar="DIR",
                   help="write tables and summary.json to this new (or empty) folder")
    p.add_argument("--replace", action="store_true",
                   help="replace the earlier results in --out (only a folder of alliancesim results)")
    p.add_argument("--csv", action="store_true", help="also write CSV copies of the tables (needs --out)")
    p.add_argument("--quiet", action="store_true", help="no progress bar or summary")
    p.add_argument("--engine", choices=("auto", "numba", "python"), default=None,
                   help="numba (compiled, fast) or python (the pure-Python reference: same results, slower); "
                        "default: $ALLIANCESIM_ENGINE or auto (numba when available)")


def use_engine(name: str | None) -> None:
    """Select the session engine for this process before the model is imported (``None``: as set).

    Raises
    ------
    CliError
        If the model was already imported with another engine.
    """
    from . import engine

    if name is not None:
        if engine._chosen is not None and name != "auto" and engine._chosen != name:
            raise CliError(f"--engine {name}: this process already runs the {engine._chosen} engine")
        os.environ[engine.ENV] = name


def say_if_compiling() -> None:
    """One line on stderr when the fast engine must first compile the session code on this machine."""
    from . import engine

    if engine.requested_engine() != "python" and not engine.cache_is_warm():
        print("alliancesim: compiling the session code for this machine (once, 10-30 s) ...", file=sys.stderr)


def _cmd_run(args: argparse.Namespace) -> int:
    use_engine(args.engine)
    from . import presets
    from .params import parse_assignment
    from .streams import check_seed
    from .tables import OutputFolderError, staged_folder

    if args.out is not None and not args.out.strip():
        raise CliError("--out is empty: name the folder for the results")
    if args.csv and args.out is None:
        raise CliError("--csv writes CSV copies of the tables to --out: give --out DIR too")
    if args.replace and args.out is None:
        raise CliError("--replace replaces the results in --out: give --out DIR too")
    check_seed(args.seed)
    overrides = dict(parse_assignment(s) for s in args.sets)
    changed = dict(overrides)  # what --set changed, for the summary's title
    if args.years is not None:
        if "years" in overrides and overrides["years"] != args.years:
            raise CliError(f"--years {args.years:g} and --set years={overrides['years']:g} disagree: give one")
        overrides["years"] = args.years
    preset = presets.load(args.scenario)
    params = preset.validated(overrides)
    if args.out is None:
        text = _run(args, preset, params, None, changed)
    else:
        try:
            # The hidden staging folder is made before the run: an unusable --out fails now, not
            # after minutes of simulation; the results appear in --out only once all are written.
            with staged_folder(args.out, replace=args.replace) as tmp:
                text = _run(args, preset, params, tmp, changed)
        except OutputFolderError as exc:
            raise CliError(f"--out {exc}") from None
    if not args.quiet:
        print(text)
    return 0


def _run(args: argparse.Namespace, preset, params, folder: Path | None, changed: dict) -> str:
    """Run the model (writing its results into ``folder``, if given); returns the summary text."""
    from .model import AllianceModel
    from .tables import write_outputs_into

    say_if_compiling()
    model = AllianceModel(params, rng=args.seed)
    bar = None
    if not args.quiet and model.horizon >= 260 and sys.stderr.isatty():
        from tqdm import tqdm

        bar = tqdm(total=model.horizon, unit="week", desc="simulating", leave=False)
    model.run(progress=(lambda _w: bar.update(1)) if bar else None)
    if bar is not None:
        bar.close()
    from .metrics import summary_metrics

    if folder is not None:
        summary = write_outputs_into(model, folder, csv=args.csv, extra={"scenario": preset.name})
        metrics = summary["metrics"]
    else:
        metrics = summary_metrics(model)
    title = preset.title
    if changed:
        title += " (modified: " + ", ".join(f"{k}={v}" for k, v in changed.items()) + ")"
    return format_summary(title, model, metrics, args.out)


def format_summary(title: str, model, metrics: dict, out: str | None) -> str:
    """A short, readable summary of a run for the terminal."""
    def pct(x):
        return "n/a" if x is None or x != x else f"{100 * x:.0f}%"

    def num(x, fmt="{:.2f}"):
        return "n/a" if x is None or x != x else fmt.format(x)

    lines = [
        f"{title}: {model.week} weeks, seed {model.seed}, {model.engine} engine",
        f"  clients on the books   {num(metrics['clients_on_books'], '{:.0f}')} "
        f"({pct(metrics['maintenance_share'])} maintenance), {num(metrics['sessions_per_week'], '{:.0f}')} sessions/week",
        f"  dropout                {pct(metrics['dropout_share'])} of finished courses "
        f"({pct(metrics['early_dropout_share'])} of them after session 1 or 2)",
        f"  improved (half an SD)  {pct(metrics['improved_by_8'])} by session 8, {pct(metrics['improved_by_26'])} by session 26",
        f"  ruptures               {pct(metrics['rupture_share'])} of sessions, {pct(metrics['repaired_share'])} repaired",
        f"  mean alliance          {num(metrics['mean_alliance'])} (0-1)",
        f"  therapist burnout      {num(metrics['mean_burnout'])} (0-1), "
        f"{num(metrics['burnout_departures'], '{:.0f}')} left burnt out, {num(metrics['retirements'], '{:.0f}')} retired",
    ]
    if metrics.get("handover_clients"):
        lines.append(
            f"  handovers              {num(metrics['handover_clients'], '{:.0f}')} clients: "
            f"{pct(metrics['stayed_with_successor'])} stayed with the successor, "
            f"{pct(metrics['moved_to_colleague'])} moved to a colleague, {pct(metrics['left_at_handover'])} left")
    if out:
        lines.append(f"  tables written to      {out}")
    return "\n".join(lines)


def _add_none(p: argparse.ArgumentParser) -> None:
    pass


def _cmd_scenarios(args: argparse.Namespace) -> int:
    from . import presets

    items = presets.all_presets()
    width = max(len(p.name) for p in items)
    for p in items:
        print(f"{p.name:<{width}}  {p.summary}")
    return 0


def _add_params(p: argparse.ArgumentParser) -> None:
    p.add_argument("--markdown", action="store_true", help="print the docs table (Markdown)")


def _cmd_params(args: argparse.Namespace) -> int:
    from .params import REGISTRY, markdown_table

    if args.markdown:
        print(markdown_table(), end="")
        return 0
    width = max(len(n) for n in REGISTRY)
    for p in REGISTRY.values():
        print(f"{p.name:<{width}}  {str(p.default):>8}  [{p.allowed()}]  {p.help}")
    return 0


def _add_calibrate(p: argparse.ArgumentParser) -> None:
    from .calibration import default_jobs
    from .fit import FitSettings

    d = FitSettings()
    p.add_argument("--seeds", type=_positive_int, default=None,
                   help="replicate runs (seeds 1..N) for the table (default 20; with --fit: the best "
                        f"particle's table, default {d.table_seeds})")
    p.add_argument("--years", type=_years, default=None,
                   help=f"years per run (default: the preset's; with --fit {d.years:g})")
    p.add_argument("--jobs", "--workers", dest="jobs", type=_positive_int, default=None,
                   help=f"worker processes (default: the CPUs available, here {default_jobs()})")
    p.add_argument("--out", default=None, metavar="FILE|DIR",
                   help="table: also write it to FILE (.csv, or .md for Markdown); with --fit: the new "
                        "folder for the results (default calibration-fit)")
    fit = p.add_argument_group("fitting (--fit): ABC-SMC with pyabc, see docs/calibration.md")
    fit.add_argument("--fit", action="store_true", help="fit the free parameters to the targets")
    fit.add_argument("--population", type=_positive_int, default=None,
                     help=f"particles per generation (default {d.population})")
    fit.add_argument("--generations", type=_positive_int, default=None,
                     help=f"ABC-SMC generations at most (default {d.generations})")
    fit.add_argument("--fit-seeds", type=_positive_int, default=None,
                     help=f"runs (seeds 1..k) per particle (default {d.fit_seeds})")
    fit.add_argument("--min-epsilon", type=_number, default=None,
                     help="stop early once the acceptance threshold is this low (band half-widths, default 0)")
    fit.add_argument("--prior-width", type=_number, default=None, metavar="W",
                     help="a local fit: each prior W (0-1) times its full range wide, centred on the current "
                          "default (default: the full ranges)")
    fit.add_argument("--refine", type=_positive_int, default=None, metavar="K",
                     help=f"the estimate: the K closest particles and the posterior mean are measured again "
                          f"on --seeds seeds, and the closest there wins (default {d.refine})")
    fit.add_argument("--seed", type=_positive_int, default=None, help="seed of the sampler (default 1)")
    fit.add_argument("--dask", default=None, metavar="ADDRESS",
                     help="evaluate particles on this Dask scheduler (e.g. tcp://host:8786)")


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None


def _cmd_metrics(args: argparse.Namespace) -> int:
    from .metrics import METRIC_UNITS, METRICS

    width = max(map(len, METRICS))
    unit_width = max(map(len, METRIC_UNITS.values()))
    for name, meaning in METRICS.items():
        print(f"{name:<{width}}  {METRIC_UNITS[name]:<{unit_width}}  {meaning}")
    return 0


def _add_examples(p: argparse.ArgumentParser) -> None:
    p.add_argument("folder", metavar="DIR", help="folder to copy the example sweep specs into (created if missing)")


def _cmd_examples(args: argparse.Namespace) -> int:
    import filecmp
    import shutil
    import tempfile

    from .sweep import EXAMPLES_DIR

    sources = sorted(EXAMPLES_DIR.glob("*.toml")) + sorted(EXAMPLES_DIR.glob("*.md"))
    if not args.folder.strip():
        raise CliError("the folder name is empty: name the folder to copy the examples into")
    target = Path(args.folder).expanduser()
    if target.exists() and not target.is_dir():
        raise CliError(f"{args.folder!r} exists and is not a folder")
    clashes = [s.name for s in sources if (target / s.name).exists() and not filecmp.cmp(s, target / s.name, shallow=False)]
    if clashes:
        raise CliError(f"{args.folder!r} already has a different {clashes[0]}; choose another folder "
                       "(nothing was copied)")
    target.mkdir(parents=True, exist_ok=True)
    for source in sources:
        # each file appears whole: written beside its place, then renamed
        with tempfile.NamedTemporaryFile(dir=target, prefix=f".{source.name}.", delete=False) as tmp:
            tmp.write(source.read_bytes())
        os.replace(tmp.name, target / source.name)
    print(f"copied {len(sources)} files to {target}: {', '.join(s.name for s in sources)}")
    print(f"try: alliancesim sweep {target / 'boundaries_grid.toml'} --out runs/boundaries --dry-run")
    return 0


def _cmd_calibrate(args: argparse.Namespace) -> int:
    from .calibration import calibrate, default_jobs, definitions_markdown, markdown, write_csv, write_text

    jobs = args.jobs if args.jobs is not None else default_jobs()
    if jobs < 1:
        raise CliError(f"--jobs {jobs} is out of range: allowed 1 or more")
    if args.fit:
        return _cmd_fit(args, jobs)
    fit_only = [o for o, v in (("--dask", args.dask), ("--prior-width", args.prior_width),
                                  ("--population", args.population), ("--generations", args.generations),
                                  ("--fit-seeds", args.fit_seeds), ("--min-epsilon", args.min_epsilon),
                                  ("--seed", args.seed), ("--refine", args.refine)) if v is not None]
    if fit_only:
        raise CliError(f"{fit_only[0]} needs --fit")
    seeds = 20 if args.seeds is None else args.seeds
    if seeds < 2:
        raise CliError(f"--seeds {seeds} is out of range: allowed 2 or more (the table reports an interval over seeds)")
    out = Path(args.out) if args.out else None
    if out is not None and out.suffix not in (".csv", ".md"):
        raise CliError(f"--out {args.out!r}: expected a .csv or .md file")
    if out is not None and out.is_dir():
        raise CliError(f"--out {args.out!r} is a directory: expected a .csv or .md file")
    if out is not None:
        _check_writable(out)
    if args.years is not None:
        from .params import REGISTRY

        REGISTRY["years"].check(args.years)
    _settle_if_serial(jobs, None)
    result = calibrate(range(1, seeds + 1), years=args.years, jobs=jobs)
    text = markdown(result.table) + "\nHow each target is measured (columns of the output tables):\n\n" \
        + definitions_markdown(result.table)
    print(text, end="")
    if out is not None:
        if out.suffix == ".md":
            write_text(text, out)
        else:
            write_csv(result.table, out)
    inside = result.table["inside"].dropna()
    print(f"{int(inside.sum())} of {len(inside)} banded targets inside their band "
          f"({seeds} seeds x {args.years if args.years is not None else 'the preset'} years)")
    return 0 if result.all_inside else 1


def _settle_if_serial(jobs: int, dask: str | None) -> None:
    """With one job and no cluster every model runs in this process, which exists for that: settle it
    (engine.settle; a pool's workers settle themselves)."""
    if jobs == 1 and dask is None:
        from .model import settle_process

        settle_process()


def _check_writable(path: Path) -> None:
    """Fail now, not after the computing, if ``path``'s folder cannot take a new file."""
    import tempfile

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path.parent):
            pass
    except OSError as exc:
        raise CliError(f"--out {str(path)!r} cannot be written: {exc.strerror or exc}") from None


def _cmd_fit(args: argparse.Namespace, jobs: int) -> int:
    from .fit import FitSettings, fit

    d = FitSettings()
    given = {name: getattr(args, name) for name in ("population", "generations", "fit_seeds", "seed", "min_epsilon",
                                                    "refine")
             if getattr(args, name) is not None}
    settings = FitSettings(**given, years=args.years if args.years is not None else d.years,
                           table_seeds=args.seeds if args.seeds is not None else d.table_seeds, jobs=jobs,
                           dask=args.dask, prior_width=args.prior_width)
    _settle_if_serial(jobs, args.dask)
    info = fit(settings, args.out or "calibration-fit", log=lambda line: print(line, flush=True))
    out = args.out or "calibration-fit"
    print((Path(out) / "posterior.md").read_text(), end="")
    print(f"best particle: distance {info['best_distance']:.3f}; its table: {Path(out) / 'best_calibration.md'}")
    return 0


BUILTIN = {
    "run": ("run one simulation and write its tables", _add_run, _cmd_run),
    "scenarios": ("list the presets, one line each", _add_none, _cmd_scenarios),
    "params": ("list every parameter with its range and meaning", _add_params, _cmd_params),
    "calibrate": ("compare the default clinic with the published figures", _add_calibrate, _cmd_calibrate),
    "metrics": ("list the headline metrics (for specs and --metrics) with unit and meaning", _add_none,
                _cmd_metrics),
    "examples": ("copy the example sweep specs into a folder", _add_examples, _cmd_examples),
}


def _load_plugins() -> None:
    """Import modules that register more subcommands (dashboard, sweeps), if present."""
    import importlib

    for mod in ("alliancesim.dashboard.cli", "alliancesim.sweep.cli"):
        try:
            importlib.import_module(mod)
        except ModuleNotFoundError as exc:
            if exc.name is None or not mod.startswith(exc.name):
                raise


def build_parser() -> argparse.ArgumentParser:
    _load_plugins()
    from . import __version__

    parser = _Parser(prog="alliancesim", description="Simulate therapeutic relationships in a clinic.")
    parser.add_argument("--version", action="version", version=f"alliancesim {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name, (help_, add, fn) in {**BUILTIN, **COMMANDS}.items():
        p = sub.add_parser(name, help=help_, description=help_)
        add(p)
        p.set_defaults(handler=fn)
    return parser


class Terminated(KeyboardInterrupt):
    """SIGTERM (``kill``, a cluster's time limit): stop as Ctrl-C does, leaving nothing half-written."""


def _terminate(signum, frame) -> None:
    raise Terminated


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit status (2 for bad input, 130 after Ctrl-C, 143 after SIGTERM)."""
    old_term = None
    if threading.current_thread() is threading.main_thread() and signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        old_term = signal.signal(signal.SIGTERM, _terminate)
    try:
        return _main(argv)
    finally:
        if old_term is not None:
            signal.signal(signal.SIGTERM, old_term)


def _main(argv: list[str] | None) -> int:
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        if getattr(args, "handler", None) is None:
            parser.print_help()
            return EXIT_USAGE
        status = args.handler(args)
        sys.stdout.flush()  # inside the try: a reader that went away is handled below
        return status
    except BrokenPipeError:
        # `alliancesim params | head`: the reader has what it wanted; stop quietly.  Point stdout
        # at /dev/null so the interpreter's last flush does not complain either.
        with contextlib.suppress(OSError, ValueError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except (CliError, ParameterError, EngineError) as exc:
        print(f"alliancesim: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except Terminated:
        print("alliancesim: terminated", file=sys.stderr)
        return 143
    except KeyboardInterrupt:
        print("alliancesim: interrupted", file=sys.stderr)
        return 130
    except OSError as exc:
        target = f" {exc.filename!r}" if exc.filename else ""
        print(f"alliancesim: error: {exc.strerror or exc}{target}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
