"""Plots of a sweep: each varied parameter against each metric.

One PNG per varied parameter, ``report/<parameter>.png``, with one panel per
metric: every successful run as a dot, and the mean with its 95 % confidence
interval per parameter value (or per tenth of the range when the parameter
takes many values, as in Latin hypercube and Sobol' designs).  A sweep that
varies nothing (replicates only) gets ``report/distributions.png``: one
histogram per metric.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from ..params import REGISTRY
from .storage import SweepError, atomic_write, load_runs, read_manifest, warn_if_incomplete

__all__ = ["make_report"]

#: Up to this many distinct values, a parameter is summarised value by value.
DISCRETE_MAX = 12
_Z95 = 1.959963984540054


def _panel_grid(n: int) -> tuple[int, int]:
    cols = min(4, n)
    return math.ceil(n / cols), cols


def _summary(x: pd.Series, y: pd.Series, categorical: bool) -> pd.DataFrame:
    """Mean and 95% CI half-width of ``y`` per value (or per decile bin) of ``x``."""
    df = pd.DataFrame({"x": x, "y": y}).dropna()
    if not len(df):
        return pd.DataFrame(columns=["x", "mean", "ci"])
    if categorical or df["x"].nunique() <= DISCRETE_MAX:
        groups = df.groupby("x", sort=True)["y"]
        xs = groups.mean().index.to_numpy()
    else:
        bins = pd.qcut(df["x"], q=10, duplicates="drop")
        groups = df.groupby(bins, observed=True)["y"]
        xs = df.groupby(bins, observed=True)["x"].mean().to_numpy()
    mean = groups.mean().to_numpy()
    sem = groups.sem().fillna(0).to_numpy()
    return pd.DataFrame({"x": xs, "mean": mean, "ci": _Z95 * sem})


def _plot_param(runs: pd.DataFrame, param: str, metrics: list[str], title: str, path: Path,
                log_x: bool = False) -> Path:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    p = REGISTRY.get(param)
    categorical = p is not None and p.type in (str, bool)
    x = runs[param]
    if categorical:
        order = list(p.choices) if p.choices else [False, True]
        order = [v for v in order if v in set(x)] + sorted(set(x) - set(order), key=str)
        pos = {v: i for i, v in enumerate(order)}
        xnum = x.map(pos).astype(float)
    else:
        xnum = x.astype(float)
    nrows, ncols = _panel_grid(len(metrics))
    fig = Figure(figsize=(3.4 * ncols, 2.7 * nrows + 0.6), layout="constrained")
    rng = np.random.default_rng(0)
    span = (xnum.max() - xnum.min()) or 1.0
    discrete = categorical or x.nunique() <= DISCRETE_MAX
    jitter = rng.uniform(-0.012, 0.012, len(xnum)) * span if discrete else 0.0
    for k, metric in enumerate(metrics):
        ax = fig.add_subplot(nrows, ncols, k + 1)
        y = runs[metric].astype(float)
        ax.scatter(xnum + jitter, y, s=7, alpha=min(0.6, max(0.08, 60 / max(len(y), 1))),
                   color="#4c78a8", linewidths=0, label="runs")
        s = _summary(xnum, y, categorical)
        if len(s):
            # Categories are not on a scale: no line between their means.
            ax.errorbar(s["x"].astype(float), s["mean"], yerr=s["ci"], color="#d62728", lw=1.6,
                        ls="none" if categorical else "-", marker="o", ms=4 if categorical else 3.5,
                        capsize=3, label="mean, 95% CI")
        ax.set_title(metric, fontsize=9)
        ax.tick_params(labelsize=7)
        if log_x:
            ax.set_xscale("log")
        if categorical:
            ax.set_xticks(range(len(order)), [str(v) for v in order], fontsize=7)
            ax.set_xlim(-0.5, len(order) - 0.5)
        if k // ncols == nrows - 1 or k + ncols >= len(metrics):
            unit = f" ({p.unit})" if p is not None and p.unit and not categorical else ""
            ax.set_xlabel(f"{param}{unit}", fontsize=8)
        ax.grid(alpha=0.3)
        if k == 0:
            ax.legend(fontsize=6, loc="best")
    fig.suptitle(title, fontsize=11)
    FigureCanvasAgg(fig)
    atomic_write(path, lambda tmp: fig.savefig(tmp, format="png", dpi=100))
    return path


def _plot_distributions(runs: pd.DataFrame, metrics: list[str], title: str, path: Path) -> Path:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    nrows, ncols = _panel_grid(len(metrics))
    fig = Figure(figsize=(3.4 * ncols, 2.5 * nrows + 0.6), layout="constrained")
    for k, metric in enumerate(metrics):
        ax = fig.add_subplot(nrows, ncols, k + 1)
        y = runs[metric].astype(float).dropna()
        ax.hist(y, bins=min(30, max(5, int(math.sqrt(len(y))))), color="#4c78a8")
        ax.axvline(y.mean(), color="#d62728", lw=1.4)
        ax.set_title(f"{metric}\nmean {y.mean():.3g}, sd {y.std():.2g}", fontsize=8)
        ax.tick_params(labelsize=7)
    fig.suptitle(title, fontsize=11)
    FigureCanvasAgg(fig)
    atomic_write(path, lambda tmp: fig.savefig(tmp, format="png", dpi=100))
    return path


def make_report(path: str | Path, *, metrics: list[str] | None = None,
                out: str | Path | None = None) -> list[Path]:
    """Write the sweep's plots; returns the PNG paths.

    Parameters
    ----------
    path : str or Path
        The sweep folder.
    metrics : list of str, optional
        Metrics to plot (default: every stored metric that has a value in
        some run).
    out : str or Path, optional
        Folder for the PNGs (default: ``<path>/report``).

    Raises
    ------
    SweepError
        Not a sweep folder, unknown metrics, or no successful run to plot.
    """
    path = Path(path)
    manifest = read_manifest(path)
    stored = manifest.get("metrics", [])
    varied = manifest.get("varied", [])
    if metrics:
        unknown = [m for m in metrics if m not in stored]
        if unknown:
            raise SweepError(f"metric {unknown[0]!r} is not stored in {str(path)!r} "
                             f"(stored: {', '.join(stored)})")
    wanted = list(metrics or stored)
    runs = load_runs(path, columns=["status", *varied, *wanted], status=None)
    warn_if_incomplete(path, manifest, len(runs))
    runs = runs[runs["status"] == "ok"]
    total = manifest.get("runs")
    if not len(runs):
        raise SweepError(f"{str(path)!r} has no successful runs to plot yet")
    if not metrics:
        wanted = [m for m in wanted if runs[m].notna().any()]
    out = Path(out) if out is not None else path / "report"
    name = manifest.get("name", path.name)
    done = f"{len(runs)} successful runs" + (f" of {total}" if total else "")
    written = []
    if not varied:
        written.append(_plot_distributions(runs, wanted, f"{name}: {done}", out / "distributions.png"))
    log_scaled = {v.get("name") for v in (manifest.get("canonical") or {}).get("varied", [])
                  if v.get("distribution") == "loguniform"}
    for param in varied:
        written.append(_plot_param(runs, param, wanted, f"{name}: {param} against each metric ({done})",
                                   out / f"{param}.png", log_x=param in log_scaled))
    return written
