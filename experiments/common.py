"""Shared plumbing of the experiments in this folder: sizes, paths, sweeps, re-runs, statistics, figures.

Each experiment lives in a numbered folder (``01_handover`` ... ``07_calibration``) with

* ``spec.toml``  the sweep spec (run-level metrics come from :mod:`alliancesim.sweep`);
* ``run.py``     the script: runs the sweep, re-runs some of its runs where per-relationship
                 or per-session tables are needed, writes the figure(s) and the results table;
* ``RESULTS.template.md`` the results note's prose with named placeholders; ``run.py`` fills them
                 from the tables it has just written and writes ``RESULTS.md`` and ``quotes.json``
                 (see :class:`Prose`).

Every ``run.py`` takes the same options (see :func:`parse_args`)::

    python experiments/01_handover/run.py                    # full size, outputs next to the spec
    python experiments/01_handover/run.py --reduced          # tiny size, into a temporary folder
    python experiments/01_handover/run.py --out DIR          # outputs in DIR/01_handover/

``experiments/run_all.py`` runs all seven.

Uncertainty: a run-level metric is summarised over its replicates (mean and a 95 % confidence
interval from the t distribution).  A per-relationship statistic pools the relationships of
several runs; its 95 % interval comes from resampling whole runs (a cluster bootstrap), because
relationships in one clinic are not independent of each other.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import inspect
import json
import math
import shutil
import sys
import tempfile
import time
import tomllib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
#: Where the sweeps of a full-size run are kept (``runs/`` is not committed).
DATA_ROOT = REPO / "runs" / "experiments"
#: Confidence level of every interval.
LEVEL = 0.95
#: Resamples of the cluster bootstrap.
BOOTSTRAP = 1000


# --------------------------------------------------------------------------------------------
# options and paths


@dataclass
class Context:
    """Where one experiment reads and writes, and at what size."""

    name: str
    folder: Path
    out: Path
    data: Path
    reduced: bool
    workers: int
    bootstrap: int
    fresh: bool
    command: str
    started: float = field(default_factory=time.perf_counter)
    sweep_runs: int = 0
    reruns: int = 0
    written: list[Path] = field(default_factory=list)

    def log(self, message: str) -> None:
        print(f"[{self.name}] {message}", file=sys.stderr, flush=True)

    def size(self, full: Any, reduced: Any) -> Any:
        """``reduced`` in a reduced run, else ``full``."""
        return reduced if self.reduced else full


def parse_args(script: str, argv: Sequence[str] | None = None) -> Context:
    """Options shared by every experiment script (``script`` is the caller's ``__file__``)."""
    folder = Path(script).resolve().parent
    name = folder.name
    parser = argparse.ArgumentParser(
        prog=f"python experiments/{name}/run.py",
        description=f"Experiment {name}: run its sweep, write its figure(s) and results table.")
    add_options(parser)
    parser.add_argument("--via", help=argparse.SUPPRESS)  # the command that ran us (run_all.py)
    args = parser.parse_args(argv)
    command = args.via or (f"python experiments/{name}/run.py" + (" --reduced" if args.reduced else ""))
    return make_context(folder, args, command=command)


def add_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--reduced", action="store_true",
                        help="tiny sizes (a few seconds): checks that everything runs, numbers mean little")
    parser.add_argument("--out", metavar="DIR",
                        help="write outputs to DIR/<experiment>/ (default: the experiment's own folder "
                             "at full size, a new temporary folder with --reduced)")
    parser.add_argument("--workers", type=int, default=None,
                        help="worker processes (default: 2 at full size, 1 with --reduced)")
    parser.add_argument("--fresh", action="store_true",
                        help="delete this experiment's stored sweep first (after changing its spec)")


def make_context(folder: Path, args: argparse.Namespace, command: str) -> Context:
    name = folder.name
    if args.out:
        out = Path(args.out).resolve() / name
        data = out / "sweep"
    elif args.reduced:
        out = Path(tempfile.mkdtemp(prefix="alliancesim-experiments-")) / name
        data = out / "sweep"
    else:
        out = folder
        data = DATA_ROOT / name
    workers = args.workers if args.workers else (1 if args.reduced else 2)
    out.mkdir(parents=True, exist_ok=True)
    return Context(name=name, folder=folder, out=out, data=data, reduced=args.reduced,
                   workers=max(1, workers), bootstrap=100 if args.reduced else BOOTSTRAP, fresh=args.fresh, command=command)


# --------------------------------------------------------------------------------------------
# sweeps


def _merge(base: dict[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), dict) and key != "vary":
            out[key] = _merge(out[key], value)
        elif key == "vary":
            out[key] = {**out.get(key, {}), **value}
        else:
            out[key] = value
    return out


def load_spec(ctx: Context, reduced: Mapping[str, Any]):
    """The experiment's ``spec.toml``; with ``--reduced``, with the ``reduced`` overrides applied.

    ``reduced`` holds top-level keys (``replicates``, ``years``) and tables (``fixed``,
    ``vary``) that replace the spec's own in a reduced run.
    """
    from alliancesim.sweep import Spec

    path = ctx.folder / "spec.toml"
    text = path.read_text(encoding="utf-8")
    data = tomllib.loads(text)
    if ctx.reduced:
        data = _merge(data, reduced)
        text += "\n# Run with --reduced, which overrides: " + json.dumps(reduced, sort_keys=True) + "\n"
    return Spec.from_dict(data, source=str(path), root=path.parent, text=text)


def run_sweep(ctx: Context, spec) -> pd.DataFrame:
    """Run (or resume) the experiment's sweep; its successful runs, one row each."""
    from alliancesim.sweep import SweepError, load_runs
    from alliancesim.sweep import run_sweep as _run_sweep

    folder = ctx.data
    if ctx.fresh and folder.exists():
        shutil.rmtree(folder)
    try:
        result = _run_sweep(spec, folder, workers=ctx.workers, progress=sys.stderr.isatty(),
                            log=ctx.log)
    except SweepError as exc:
        raise SystemExit(f"[{ctx.name}] {exc}\n[{ctx.name}] if the spec changed on purpose, "
                         "run again with --fresh") from None
    if result.failed:
        raise SystemExit(f"[{ctx.name}] {result.failed} run(s) failed, first error: {result.first_error}")
    if not result.complete:
        raise SystemExit(f"[{ctx.name}] the sweep was interrupted; run again to finish it")
    ctx.sweep_runs = result.runs
    ctx.log(f"sweep: {result.runs} runs ({result.ran} new) in {result.seconds:.1f} s")
    return load_runs(folder, status="ok")


def load_weekly(ctx: Context) -> pd.DataFrame:
    """The weekly series stored by the sweep (spec with ``[outputs] weekly = true``)."""
    from alliancesim.sweep import load_weekly as _load_weekly

    return _load_weekly(ctx.data)


def run_params(row: Mapping[str, Any]) -> dict[str, Any]:
    """Every registered parameter of a stored run (a row of ``load_runs``)."""
    from alliancesim.params import REGISTRY

    out = {}
    for name, p in REGISTRY.items():
        v = row[name]
        out[name] = p.type(v.item() if hasattr(v, "item") else v)
    return out


# --------------------------------------------------------------------------------------------
# re-running stored runs for their tables


_MODULES: dict[str, Any] = {}


def _function(path: str, name: str) -> Callable:
    if path not in _MODULES:
        spec = importlib.util.spec_from_file_location(f"_experiment_{abs(hash(path))}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        _MODULES[path] = module
    return getattr(_MODULES[path], name)


def _rerun_one(task: tuple[str, str, dict[str, Any], int, dict[str, Any], Any]) -> Any:
    path, fname, params, seed, check, extra = task
    from alliancesim import simulate, summary_metrics

    model = simulate(params, seed=seed)
    found = summary_metrics(model)
    for metric, value in check.items():
        same = (math.isnan(value) and math.isnan(found[metric])) or found[metric] == value
        if not same:
            raise RuntimeError(f"re-run of seed {seed} gave {metric}={found[metric]!r}, the sweep stored "
                               f"{value!r}: the model is not reproducible or has changed")
    return _function(path, fname)(model, extra)


def rerun(ctx: Context, runs: pd.DataFrame, extract: Callable, *, check: str | None = None) -> list[Any]:
    """Re-run the given stored runs (same parameters, same seed) and apply ``extract(model, row)``.

    ``extract`` is a module-level function of the calling script; it gets the finished model and
    the run's row (as a dict) and returns something small (a DataFrame of per-relationship
    figures).  ``check`` names a stored metric that each re-run must reproduce exactly.
    Runs in ``ctx.workers`` processes; results come back in the order of ``runs``.
    """
    import pickle

    from alliancesim.runner import code_fingerprint

    path = inspect.getfile(extract)
    tasks = []
    for row in runs.to_dict("records"):
        params = run_params(row)
        want = {check: float(row[check])} if check else {}
        extra = {k: (v.item() if hasattr(v, "item") else v) for k, v in row.items()
                 if k in ("key", "point", "replicate", "seed") or k in params}
        tasks.append((path, extract.__name__, params, int(row["seed"]), want, extra))
    # A full-size run keeps each re-run's result beside the sweep, keyed by the model code, the
    # extract function's source and the run, so redrawing after a change to the prose or the
    # figures re-runs nothing; --fresh deletes them with the sweep.
    cache = ctx.data / "reruns"
    source = code_fingerprint() + inspect.getsource(extract)
    keys = [hashlib.sha256(json.dumps([source, t[2], t[3], t[4], t[5]], sort_keys=True, default=str)
                           .encode()).hexdigest()[:24] for t in tasks]
    out: list[Any] = [None] * len(tasks)
    todo = list(range(len(tasks)))
    if not ctx.reduced:
        todo = [i for i in todo if not (cache / f"{keys[i]}.pkl").exists()]
        for i in set(range(len(tasks))) - set(todo):
            out[i] = pickle.loads((cache / f"{keys[i]}.pkl").read_bytes())
    started = time.perf_counter()
    for i, result in zip(todo, _map(ctx, _rerun_one, [tasks[i] for i in todo])):
        out[i] = result
        if not ctx.reduced:
            cache.mkdir(parents=True, exist_ok=True)
            tmp = cache / f"{keys[i]}.tmp"
            tmp.write_bytes(pickle.dumps(result))
            tmp.replace(cache / f"{keys[i]}.pkl")
    ctx.reruns += len(tasks)
    ctx.log(f"re-ran {len(todo)} runs for their tables in {time.perf_counter() - started:.1f} s"
            + (f" ({len(tasks) - len(todo)} kept from an earlier run)" if len(todo) < len(tasks) else ""))
    return out


def _call(task: tuple[str, str, Any]) -> Any:
    path, fname, item = task
    return _function(path, fname)(item)


def pmap(ctx: Context, fn: Callable, items: Sequence[Any]) -> list[Any]:
    """``[fn(item) for item in items]`` over ``ctx.workers`` processes (``fn``: a module-level
    function of the calling script)."""
    return _map(ctx, _call, [(inspect.getfile(fn), fn.__name__, item) for item in items])


def _map(ctx: Context, worker: Callable, tasks: list) -> list[Any]:
    """``[worker(t) for t in tasks]``, in order, over ``ctx.workers`` fresh (spawned) processes."""
    if ctx.workers > 1 and len(tasks) > 1:
        from concurrent.futures import ProcessPoolExecutor
        from multiprocessing import get_context

        if str(HERE) not in sys.path:  # the spawned processes import this module by name
            sys.path.insert(0, str(HERE))
        with ProcessPoolExecutor(min(ctx.workers, len(tasks)), mp_context=get_context("spawn")) as pool:
            return list(pool.map(worker, tasks))
    return [worker(t) for t in tasks]


def first_replicates(runs: pd.DataFrame, n: int) -> pd.DataFrame:
    """The runs of replicates ``0 .. n-1`` at every design point."""
    return runs[runs["replicate"] < n].reset_index(drop=True)


# --------------------------------------------------------------------------------------------
# statistics


def mean_ci(values: Iterable[float], level: float = LEVEL) -> tuple[float, float, float, int]:
    """Mean and ``level`` confidence interval (t distribution) of finite values: (mean, lo, hi, n)."""
    from scipy.special import stdtrit  # the t quantile (lighter to import than scipy.stats)

    x = np.asarray([v for v in values if v is not None and np.isfinite(v)], dtype=float)
    n = x.size
    if n == 0:
        return math.nan, math.nan, math.nan, 0
    m = float(x.mean())
    if n < 2:
        return m, math.nan, math.nan, n
    half = float(stdtrit(n - 1, 0.5 + level / 2) * x.std(ddof=1) / math.sqrt(n))
    return m, m - half, m + half, n


def summarise(runs: pd.DataFrame, by: str | list[str], metrics: Sequence[str]) -> pd.DataFrame:
    """Mean, 95 % CI and run count of each metric per group: columns ``<metric>``, ``_lo``, ``_hi``, ``_n``."""
    rows = []
    for key, g in runs.groupby(by, sort=True):
        row = dict(zip([by] if isinstance(by, str) else by, key if isinstance(key, tuple) else (key,)))
        for m in metrics:
            mean, lo, hi, n = mean_ci(g[m])
            row.update({m: mean, f"{m}_lo": lo, f"{m}_hi": hi, f"{m}_n": n})
        rows.append(row)
    return pd.DataFrame(rows)


def paired_difference(runs: pd.DataFrame, by: str, a: Any, b: Any, metric: str,
                      pair: str = "replicate") -> tuple[float, float, float, int]:
    """Mean and 95 % CI of ``metric`` at ``by == b`` minus at ``by == a``, paired on ``pair``."""
    x = runs[runs[by] == a].set_index(pair)[metric]
    y = runs[runs[by] == b].set_index(pair)[metric]
    d = (y - x).dropna()
    return mean_ci(d)


def cluster_bootstrap(df: pd.DataFrame, stats: Mapping[str, Callable[[pd.DataFrame], float]],
                      n: int = BOOTSTRAP, cluster: str = "key", seed: int = 1,
                      level: float = LEVEL) -> dict[str, float]:
    """Each of ``stats`` on the pooled rows, with a 95 % interval from resampling whole runs.

    Returns ``{name: value, name_lo: ..., name_hi: ...}`` (NaN bounds with fewer than two runs).
    """
    flat = df.reset_index(drop=True)
    out: dict[str, float] = {}
    for name, fn in stats.items():
        out[name] = float(fn(flat)) if len(flat) else math.nan
        out[f"{name}_lo"] = out[f"{name}_hi"] = math.nan
    groups = list(flat.groupby(cluster, sort=True).indices.values()) if len(flat) else []
    if len(groups) < 2:
        return out
    rng = np.random.default_rng(seed)
    reps = {name: np.empty(n) for name in stats}
    for i in range(n):
        sample = flat.iloc[np.concatenate([groups[j] for j in rng.integers(0, len(groups), len(groups))])]
        for name, fn in stats.items():
            reps[name][i] = fn(sample)
    for name, r in reps.items():
        r = r[np.isfinite(r)]
        if r.size >= n // 2:
            out[f"{name}_lo"], out[f"{name}_hi"] = (float(q) for q in
                                                    np.quantile(r, [(1 - level) / 2, (1 + level) / 2]))
    return out


def kaplan_meier(durations, events) -> tuple[np.ndarray, np.ndarray]:
    """Kaplan-Meier estimate: event times and the share *still without* the event just after each.

    ``durations`` are times of the event (``events`` True) or of censoring (False: the client
    left, or the run ended, before the event).
    """
    d = np.asarray(durations, dtype=float)
    e = np.asarray(events, dtype=bool)
    times, happened = np.unique(d[e], return_counts=True)
    if not times.size:
        return times, np.ones(0)
    at_risk = d.size - np.searchsorted(np.sort(d), times, side="left")
    return times, np.cumprod(1.0 - happened / at_risk)


def km_share_by(durations, events, t: float) -> float:
    """Kaplan-Meier share who had the event by time ``t``."""
    times, surv = kaplan_meier(durations, events)
    before = surv[times <= t]
    return float(1.0 - before[-1]) if before.size else 0.0


def km_median(durations, events) -> float:
    """Kaplan-Meier median time to the event (NaN if fewer than half ever have it)."""
    times, surv = kaplan_meier(durations, events)
    hit = np.flatnonzero(surv <= 0.5)
    return float(times[hit[0]]) if hit.size else math.nan


# --------------------------------------------------------------------------------------------
# outputs


def figure(ncols: int = 1, nrows: int = 1, size: tuple[float, float] = (7.0, 4.5)):
    """A matplotlib Figure (no global pyplot state) and its axes, as a flat list."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=size, layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False)
    return fig, [ax for row in axes for ax in row]


def save_figure(ctx: Context, fig, name: str) -> Path:
    path = ctx.out / name
    fig.savefig(path, dpi=110, metadata={"Software": None})
    ctx.written.append(path)
    return path


def errorbar(ax, x, y, lo, hi, **kw) -> None:
    """Points with asymmetric error bars from interval bounds (NaN bounds draw no bar)."""
    y, lo, hi = (np.asarray(v, dtype=float) for v in (y, lo, hi))
    err = np.vstack([np.nan_to_num(y - lo), np.nan_to_num(hi - y)])
    ax.errorbar(x, y, yerr=err, capsize=3, marker=kw.pop("marker", "o"), **kw)


def _fmt(v: Any, digits: int) -> str:
    if isinstance(v, (bool, np.bool_)):
        return "yes" if v else "no"
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        if not math.isfinite(v):
            return "–"
        if float(v).is_integer() and abs(v) >= 1000:
            return str(int(v))
        return f"{v:.{digits}f}"
    return "–" if v is None or v is pd.NA else str(v)


def markdown_table(df: pd.DataFrame, digits: int | Mapping[str, int] = 3) -> str:
    """A DataFrame as a Markdown table (numbers rounded to ``digits``)."""
    cols = list(df.columns)
    lines = ["| " + " | ".join(str(c) for c in cols) + " |", "|" + "---|" * len(cols)]
    for row in df.itertuples(index=False):
        cells = []
        for c, v in zip(cols, row):
            d = digits.get(c, 3) if isinstance(digits, Mapping) else digits
            cells.append(_fmt(v, d))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def with_ci(df: pd.DataFrame, metrics: Sequence[str], digits: int = 3) -> pd.DataFrame:
    """Replace ``m, m_lo, m_hi`` columns by one text column ``m`` reading ``0.123 (0.100–0.150)``."""
    out = df.copy()
    for m in metrics:
        def cell(r, m=m):
            v, lo, hi = r[m], r.get(f"{m}_lo", math.nan), r.get(f"{m}_hi", math.nan)
            if not np.isfinite(v):
                return "–"
            if np.isfinite(lo) and np.isfinite(hi):
                return f"{v:.{digits}f} ({lo:.{digits}f}–{hi:.{digits}f})"
            return f"{v:.{digits}f}"
        out[m] = out.apply(cell, axis=1)
        out = out.drop(columns=[c for c in (f"{m}_lo", f"{m}_hi", f"{m}_n") if c in out.columns])
    return out


def write_table(ctx: Context, df: pd.DataFrame, name: str, *, title: str, text: pd.DataFrame | None = None,
                notes: Sequence[str] = ()) -> None:
    """``<name>.csv`` (every number, full precision) and ``<name>.md`` (``text``, or ``df`` rounded)."""
    csv = ctx.out / f"{name}.csv"
    df.to_csv(csv, index=False, float_format="%.6g")
    md = ctx.out / f"{name}.md"
    body = markdown_table(text if text is not None else df)
    head = f"# {title}\n\n" + (f"{_size_line(ctx)}\n\n")
    tail = "".join(f"\n{n}\n" for n in notes)
    md.write_text(head + body + tail, encoding="utf-8")
    ctx.written += [csv, md]


def _size_line(ctx: Context) -> str:
    return (f"Produced by `{ctx.command}`" + (" (REDUCED SIZE: not for reading)" if ctx.reduced else "")
            + ". 95 % confidence intervals in brackets.")


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def finish(ctx: Context, facts: Mapping[str, Any] | None = None, *,
           prose: Callable[[Prose], Any] | None = None, headline: tuple[str, str] | None = None) -> Path:
    """Write ``run_info.json`` (what ran, at what size, how long, from which spec, script, note
    template and model code) and, with ``prose``, the results note (see :func:`write_results`)."""
    from alliancesim import __version__
    from alliancesim.runner import code_fingerprint

    info = {
        "experiment": ctx.name,
        "command": ctx.command,
        "reduced": ctx.reduced,
        "workers": ctx.workers,
        "sweep_runs": ctx.sweep_runs,
        "reruns": ctx.reruns,
        "seconds": round(time.perf_counter() - ctx.started, 1),
        "alliancesim_version": __version__,
        "code_fingerprint": code_fingerprint(),
        "spec_sha256": sha256(ctx.folder / "spec.toml"),
        "script_sha256": sha256(ctx.folder / "run.py"),
        "common_sha256": sha256(HERE / "common.py"),
        **({"template_sha256": sha256(ctx.folder / TEMPLATE)} if prose else {}),
        "outputs": sorted([p.name for p in ctx.written] + (["RESULTS.md", QUOTES] if prose else [])),
        **(dict(facts) if facts else {}),
    }
    if prose:
        write_results(ctx, info, prose, headline)
    path = ctx.out / "run_info.json"
    path.write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    ctx.log(f"done in {info['seconds']} s: {', '.join(info['outputs'])} in {ctx.out}")
    return path


# --------------------------------------------------------------------------------------------
# results notes written from the tables
#
# A note's prose is a template (``RESULTS.template.md`` beside ``run.py``) with named
# placeholders, ``{stayed_none}``.  The script fills each placeholder with a :class:`Prose`
# method that reads the number from a table it has just written (or a frozen table committed
# beside it) and records where it came from; :func:`finish` then writes ``RESULTS.md`` and
# ``quotes.json`` (every placeholder's text and the table cells behind it).  The README's
# experiment table is filled the same way from each experiment's headline.
# tests/experiments/test_prose.py re-derives every quoted number from the committed tables.

#: The results note's template, beside each experiment's run.py.
TEMPLATE = "RESULTS.template.md"
#: Where the filled placeholders and their sources are recorded.
QUOTES = "quotes.json"
#: Interval dash and minus sign used in every quoted number.
DASH, MINUS = "–", "−"


def format_number(value: float, digits: int, scale: float = 1.0) -> str:
    """How every quoted number is written: ``value * scale`` rounded to ``digits`` places, with a
    true minus sign; "–" for a missing value.  Rounding halves follows Python's ``format``."""
    if value is None or not math.isfinite(float(value)):
        return DASH
    text = f"{float(value) * scale:.{digits}f}"
    if text.startswith("-"):
        text = text[1:] if float(text[1:]) == 0 else MINUS + text[1:]  # no "−0.00"
    return text


def read_source(folder: Path, table: str) -> pd.DataFrame | dict:
    """A quoted table: ``*.csv`` as a DataFrame, ``run_info.json`` (or other JSON) as a dict."""
    path = folder / table
    if table.endswith(".json"):
        return json.loads(path.read_text(encoding="utf-8"))
    return pd.read_csv(path)


def cell_value(source: pd.DataFrame | dict, row: Mapping[str, Any] | None, column: str) -> float:
    """The number in ``column`` of the one row matching ``row`` (a dict of column values); for a
    JSON source, ``row`` is None and ``column`` is a key.

    Raises
    ------
    KeyError
        If no row, or more than one, matches, or the column does not exist.
    """
    if isinstance(source, dict):
        return float(source[column])
    if column not in source.columns:
        raise KeyError(f"no column {column!r}")
    mask = np.ones(len(source), dtype=bool)
    for key, want in (row or {}).items():
        have = source[key]
        if isinstance(want, (int, float)) and not isinstance(want, bool):
            mask &= np.isclose(have.to_numpy(dtype=float), float(want), rtol=0, atol=1e-9)
        else:
            mask &= (have.astype(str) == str(want)).to_numpy()
    if mask.sum() != 1:
        raise KeyError(f"{mask.sum()} rows match {dict(row or {})}")
    return float(source.loc[mask, column].iloc[0])


class Prose:
    """Fills a results note's placeholders from tables, recording every number's source.

    Each method returns the text it put in and keeps a record ``{"text", "pattern", "cells"}``
    under the placeholder's name; ``pattern`` is the text with ``{0}``, ``{1}`` ... where the
    cells' numbers go, and each cell names its table (relative to the experiment's folder), row,
    column, digits and scale.
    """

    def __init__(self, ctx: Context, info: Mapping[str, Any]):
        self.ctx = ctx
        self.info = dict(info)
        self.quotes: dict[str, dict[str, Any]] = {}
        self._sources: dict[str, Any] = {}

    def _source(self, table: str):
        if table == "run_info.json":
            return self.info
        if table not in self._sources:
            # outputs of this run first; frozen tables (mechanisms_v1/...) live beside the spec
            folder = self.ctx.out if (self.ctx.out / table).exists() else self.ctx.folder
            self._sources[table] = read_source(folder, table)
        return self._sources[table]

    def facts(self, digits: Mapping[str, int] | None = None) -> None:
        """Fill ``{command}`` and one placeholder per number in run_info.json (``{replicates}``,
        ``{years}``, ``{sweep_runs}``, ``{reruns}``, ``{seconds}`` ...): whole numbers without
        decimals, others with one unless ``digits`` says otherwise."""
        self.word("command", self.info["command"])
        for key, value in self.info.items():
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                d = (digits or {}).get(key, 0 if float(value).is_integer() else 1)
                self.num(key, "run_info.json", None, key, d)

    def table(self, table: str) -> pd.DataFrame:
        """A quoted table as written (to choose rows by their numbers, e.g. where a peak is)."""
        return self._source(table)

    def _cell(self, table: str, row: Mapping[str, Any] | None, column: str, digits: int,
              scale: float) -> dict[str, Any]:
        row = None if row is None else {k: (v.item() if hasattr(v, "item") else v) for k, v in row.items()}
        value = cell_value(self._source(table), row, column)
        return {"table": table, "row": row, "column": column, "digits": digits, "scale": scale,
                "value": value, "text": format_number(value, digits, scale)}

    def _put(self, name: str, pattern: str, cells: list[dict[str, Any]]) -> str:
        if name in self.quotes:
            raise ValueError(f"placeholder {name!r} filled twice")
        text = pattern.format(*(c["text"] for c in cells))
        self.quotes[name] = {"text": text, "pattern": pattern, "cells": cells}
        return text

    def num(self, name: str, table: str, row: Mapping[str, Any] | None, column: str, digits: int = 2,
            scale: float = 1.0) -> str:
        """One number: ``0.44``."""
        return self._put(name, "{0}", [self._cell(table, row, column, digits, scale)])

    def ci(self, name: str, table: str, row: Mapping[str, Any] | None, column: str, digits: int = 2,
           scale: float = 1.0) -> str:
        """A number and its interval from ``<column>_lo``/``_hi``: ``0.44 (0.41–0.46)``; just the
        number when the interval is missing."""
        cells = [self._cell(table, row, c, digits, scale) for c in (column, f"{column}_lo", f"{column}_hi")]
        if DASH in (cells[1]["text"], cells[2]["text"]):
            return self._put(name, "{0}", cells[:1])
        sep = " to " if MINUS in cells[1]["text"] + cells[2]["text"] else DASH  # "−2.6 to 1.4"
        return self._put(name, "{0} ({1}" + sep + "{2})", cells)

    def span(self, name: str, table: str, keys: Sequence[str], where: Mapping[str, Any] | None, column: str,
             digits: int = 2, scale: float = 1.0) -> str:
        """The lowest and highest value of ``column`` over the rows matching ``where`` (rows named
        by their ``keys`` columns): ``0.31–0.33``, or one number when they round alike."""
        df = self.table(table)
        mask = np.ones(len(df), dtype=bool)
        for k, v in (where or {}).items():
            mask &= np.isclose(df[k].to_numpy(dtype=float), float(v)) if not isinstance(v, str) \
                else (df[k].astype(str) == v).to_numpy()
        sub = df[mask & np.isfinite(df[column].to_numpy(dtype=float))]
        rows = [sub.loc[i, list(keys)].to_dict() for i in (sub[column].idxmin(), sub[column].idxmax())]
        cells = [self._cell(table, r, column, digits, scale) for r in rows]
        if cells[0]["text"] == cells[1]["text"]:
            return self._put(name, "{0}", cells[:1])
        sep = " to " if MINUS in cells[0]["text"] + cells[1]["text"] else DASH
        return self._put(name, "{0}" + sep + "{1}", cells)

    def word(self, name: str, text: str) -> str:
        """Text the script chose from the numbers (a direction, "no"), not a number itself."""
        return self._put(name, text.replace("{", "{{").replace("}", "}}"), [])

    def text(self, name: str, template: str) -> str:
        """A sentence the script chose (say, by which way the numbers point) with placeholders
        already filled: ``p.text("note", "rose from {v1_x} to {x}")``.  Its numbers keep their
        sources, so they are checked like any other."""
        import string

        pattern, cells = [], []
        for literal, field_name, spec, conv in string.Formatter().parse(template):
            pattern.append(literal.replace("{", "{{").replace("}", "}}"))
            if field_name is None:
                continue
            if spec or conv:
                raise ValueError(f"{name}: write {{{field_name}}} without a format; the quote formats it")
            q = self.quotes[field_name]
            n = len(cells)
            pattern.append(q["pattern"].format(*(f"{{{n + i}}}" for i in range(len(q["cells"])))))
            cells += q["cells"]
        return self._put(name, "".join(pattern), cells)

    def fill(self, template: str) -> str:
        """``template`` with every placeholder filled; a placeholder without a value is an error."""
        values = {k: q["text"] for k, q in self.quotes.items()}
        try:
            return template.format_map(values)
        except KeyError as exc:
            raise KeyError(f"{self.ctx.name}: the template's placeholder {exc} was not filled") from None


def fill_template(template: str, quotes: Mapping[str, Mapping[str, Any]]) -> str:
    """A template filled with recorded quotes (what :meth:`Prose.fill` wrote)."""
    return template.format_map({k: q["text"] for k, q in quotes.items()})


def rederive(quote: Mapping[str, Any], folder: Path) -> str:
    """A recorded quote's text, re-derived from the tables in ``folder`` (as the test does)."""
    texts = []
    for c in quote["cells"]:
        value = cell_value(read_source(folder, c["table"]), c["row"], c["column"])
        texts.append(format_number(value, c["digits"], c["scale"]))
    return quote["pattern"].format(*texts)


def write_results(ctx: Context, info: Mapping[str, Any], fill: Callable[[Prose], str | None],
                  headline: tuple[str, str] | None) -> list[Path]:
    """Write ``RESULTS.md`` and ``quotes.json``: ``fill(prose)`` fills the placeholders of
    ``RESULTS.template.md``; ``headline`` is ``(question, answer template)`` for the README's
    experiment table, filled from the same placeholders."""
    prose = Prose(ctx, info)
    fill(prose)
    template = (ctx.folder / TEMPLATE).read_text(encoding="utf-8")
    note = prose.fill(template)
    if ctx.reduced:
        note = "> REDUCED SIZE: produced by a reduced run, the numbers mean little.\n\n" + note
    record: dict[str, Any] = {"experiment": ctx.name, "results": prose.quotes}
    if headline:
        question, answer = headline
        record["headline"] = {"question": question, "template": answer, "text": prose.fill(answer)}
    paths = []
    for name, text in (("RESULTS.md", note), (QUOTES, json.dumps(record, indent=1, ensure_ascii=False) + "\n")):
        path = ctx.out / name
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)  # atomically: a half-written note never looks complete
        paths.append(path)
    return paths
