"""The ``alliancesim`` command line.

::

    alliancesim run [--scenario NAME|FILE] [--set key=value ...] [--years N] [--seed S]
                    [--out DIR] [--csv] [--quiet]
    alliancesim scenarios
    alliancesim params [--markdown]

Bad input gives a one-line error on stderr and exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn

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
    p.add_argument("--out", default=None, metavar="DIR", help="write tables and summary.json here")
    p.add_argument("--csv", action="store_true", help="also write CSV copies of the tables")
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
    from .model import AllianceModel
    from .params import parse_assignment
    from .tables import write_outputs

    overrides = dict(parse_assignment(s) for s in args.sets)
    if args.years is not None:
        overrides["years"] = args.years
    preset = presets.load(args.scenario)
    params = preset.validated(overrides)
    if args.out is not None:
        out = Path(args.out)
        if out.exists() and not out.is_dir():
            raise CliError(f"--out {args.out!r} exists and is not a directory")
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

    if args.out is not None:
        summary = write_outputs(model, args.out, csv=args.csv,
                                extra={"scenario": preset.name})
        metrics = summary["metrics"]
    else:
        metrics = summary_metrics(model)
    if not args.quiet:
        print(format_summary(preset.title, model, metrics, args.out))
    return 0


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
        f"  improved               {pct(metrics['improved_by_8'])} by session 8, {pct(metrics['improved_by_26'])} by session 26",
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
    p.add_argument("--seeds", type=_positive_int, default=5, help="replicate runs per figure (default 5)")
    p.add_argument("--years", type=_years, default=None, help="years per run (default: the preset's)")
    p.add_argument("--workers", type=_positive_int, default=1, help="worker processes (default 1)")
    p.add_argument("--out", default=None, metavar="FILE", help="also write the table (.csv or .md)")


def _cmd_calibrate(args: argparse.Namespace) -> int:
    from .calibration import calibrate, markdown

    if args.seeds < 2:
        raise CliError("--seeds must be at least 2 (the table reports the spread over seeds)")
    if args.workers < 1:
        raise CliError("--workers must be at least 1")
    table = calibrate(range(1, args.seeds + 1), years=args.years, workers=args.workers)
    text = markdown(table)
    print(text, end="")
    if args.out:
        out = Path(args.out)
        if out.suffix == ".md":
            out.write_text(text)
        else:
            table.to_csv(out, index=False)
    return 0 if table["within"].all() else 1


BUILTIN = {
    "run": ("run one simulation and write its tables", _add_run, _cmd_run),
    "scenarios": ("list the presets, one line each", _add_none, _cmd_scenarios),
    "params": ("list every parameter with its range and meaning", _add_params, _cmd_params),
    "calibrate": ("compare the default clinic with the published figures", _add_calibrate, _cmd_calibrate),
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
    parser = _Parser(prog="alliancesim", description="Simulate therapeutic relationships in a clinic.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name, (help_, add, fn) in {**BUILTIN, **COMMANDS}.items():
        p = sub.add_parser(name, help=help_, description=help_)
        add(p)
        p.set_defaults(handler=fn)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit status (2 for bad input)."""
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        if getattr(args, "handler", None) is None:
            parser.print_help()
            return EXIT_USAGE
        return args.handler(args)
    except (CliError, ParameterError) as exc:
        print(f"alliancesim: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("alliancesim: interrupted", file=sys.stderr)
        return 130
    except OSError as exc:
        target = f" {exc.filename!r}" if exc.filename else ""
        print(f"alliancesim: error: {exc.strerror or exc}{target}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
