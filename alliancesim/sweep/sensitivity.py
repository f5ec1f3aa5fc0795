"""Sensitivity indices of a finished Sobol' or Morris sweep (SALib).

Each design point's metric is the mean over its replicates (failed runs left
out); the indices are computed on those means, one metric at a time.

Sobol' (:func:`SALib.analyze.sobol.analyze`)
    ``S1``: share of the metric's variance due to the parameter alone;
    ``ST``: share due to the parameter including all its interactions; each
    with a bootstrap confidence interval (``S1_conf``, ``ST_conf``: half-widths
    at ``conf_level``).  ``ST`` near 0 means the parameter can be fixed.
Morris (:func:`SALib.analyze.morris.analyze`)
    ``mu_star``: mean absolute elementary effect, in metric units per full
    width of the parameter's range (its unit interval), with ``mu_star_conf``;
    ``sigma``: their spread (non-linearity or interactions); ``mu``: the
    signed mean.

A metric is skipped, with the reason, when some design point has no value
(every replicate failed, or the metric is undefined there, e.g. handover
shares in runs without a retirement) or when it does not vary at all.
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .design import problem, unit_column
from .seeding import point_id
from .spec import Spec
from .storage import SweepDir, SweepError, atomic_write, load_runs, read_manifest

__all__ = ["Indices", "analyse", "bar_chart", "format_table", "overview_chart", "write_outputs"]

METHOD_TITLES = {"sobol": "Sobol'", "morris": "Morris"}


@dataclass
class Indices:
    """Sensitivity indices of a sweep.

    Attributes
    ----------
    method : {"sobol", "morris"}
    table : DataFrame
        One row per (metric, parameter): ``S1, S1_conf, ST, ST_conf`` (Sobol')
        or ``mu, mu_star, mu_star_conf, sigma`` (Morris).
    second_order : DataFrame or None
        Sobol' ``S2, S2_conf`` per (metric, parameter pair) when the design has them.
    skipped : dict
        Metric -> why it has no indices.
    conf_level : float
    points : int
        Design points used.
    """

    method: str
    table: pd.DataFrame
    second_order: pd.DataFrame | None = None
    skipped: dict[str, str] = field(default_factory=dict)
    conf_level: float = 0.95
    points: int = 0

    @property
    def metrics(self) -> list[str]:
        return list(dict.fromkeys(self.table["metric"])) if len(self.table) else []


def _design_ids(spec: Spec, sdir: SweepDir) -> tuple[list[str], np.ndarray]:
    """Point ids of the stored design in order, and its unit coordinates."""
    ids, unit = [], []
    cols = [unit_column(n) for n in spec.names]
    for df in sdir.design_batches():
        columns = [df[n].tolist() for n in spec.names]
        for i in range(len(df)):
            params = dict(spec.base)
            for n, col in zip(spec.names, columns):
                params[n] = col[i]
            ids.append(point_id(params))
        unit.append(df[cols].to_numpy(dtype=float))
    return ids, np.vstack(unit) if unit else np.empty((0, len(cols)))


def analyse(spec: Spec, path: str | Path, *, metrics: list[str] | None = None) -> Indices:
    """Compute Sobol' or Morris indices from a sweep folder made with ``spec``.

    Parameters
    ----------
    spec : Spec
        The spec the sweep was run with (design ``sobol`` or ``morris``).
    path : str or Path
        The sweep folder.
    metrics : list of str, optional
        Metrics to analyse (default: ``[sensitivity] metrics``, else every
        stored metric).

    Raises
    ------
    SweepError
        Wrong design, or a folder holding another sweep.
    """
    import json

    from SALib.analyze import morris as morris_analyze
    from SALib.analyze import sobol as sobol_analyze

    if spec.design not in ("sobol", "morris"):
        raise SweepError(f"sensitivity indices need design method 'sobol' or 'morris'; "
                         f"{spec.source!r} uses {spec.design!r}")
    path = Path(path)
    manifest = read_manifest(path)
    if manifest.get("canonical") != json.loads(json.dumps(spec.canonical())):
        raise SweepError(f"{str(path)!r} holds a different sweep than {spec.source!r}")
    metrics = list(metrics or spec.sensitivity_metrics or spec.metrics)
    sdir = SweepDir(path)
    ids, unit = _design_ids(spec, sdir)
    runs = load_runs(path, columns=["point_id", "status", *metrics], status="ok")
    means = runs.groupby("point_id")[metrics].mean()
    present = means.reindex(ids)
    prob = problem(spec)
    rows, s2rows, skipped = [], [], {}
    n = len(ids)
    for metric in metrics:
        y = present[metric].to_numpy(dtype=float)
        missing = int(np.isnan(y).sum())
        if missing:
            skipped[metric] = (f"{missing} of {n} design points have no value (all replicates failed, "
                               "or the metric is undefined there)")
            continue
        if np.ptp(y) == 0:
            skipped[metric] = f"it is {y[0]:g} at every design point"
            continue
        # Bootstrap stream per metric: the same indices whatever other metrics are analysed.
        rng = np.random.default_rng(np.random.SeedSequence(spec.seed, spawn_key=(1 << 65, zlib.crc32(metric.encode()))))
        if spec.design == "sobol":
            si = sobol_analyze.analyze(prob, y, calc_second_order=spec.second_order,
                                       num_resamples=spec.resamples, conf_level=spec.conf_level,
                                       seed=rng)
            for j, name in enumerate(spec.names):
                rows.append({"metric": metric, "parameter": name, "S1": si["S1"][j],
                             "S1_conf": si["S1_conf"][j], "ST": si["ST"][j], "ST_conf": si["ST_conf"][j]})
            if spec.second_order:
                for a in range(len(spec.names)):
                    for b in range(a + 1, len(spec.names)):
                        s2rows.append({"metric": metric, "parameter": spec.names[a],
                                       "other": spec.names[b], "S2": si["S2"][a, b],
                                       "S2_conf": si["S2_conf"][a, b]})
        else:
            si = morris_analyze.analyze(prob, unit, y, num_resamples=spec.resamples,
                                        conf_level=spec.conf_level, num_levels=spec.levels, seed=rng)
            for j, name in enumerate(spec.names):
                rows.append({"metric": metric, "parameter": name, "mu": si["mu"][j],
                             "mu_star": si["mu_star"][j], "mu_star_conf": si["mu_star_conf"][j],
                             "sigma": si["sigma"][j]})
    cols = (["metric", "parameter", "S1", "S1_conf", "ST", "ST_conf"] if spec.design == "sobol"
            else ["metric", "parameter", "mu", "mu_star", "mu_star_conf", "sigma"])
    table = pd.DataFrame(rows, columns=cols)
    second = pd.DataFrame(s2rows, columns=["metric", "parameter", "other", "S2", "S2_conf"]) \
        if spec.second_order else None
    return Indices(spec.design, table, second, skipped, spec.conf_level, n)


def format_table(ind: Indices) -> str:
    """The indices as text, one block per metric, most influential parameter first."""
    pct = f"{ind.conf_level * 100:g}%"
    lines = []
    for metric, df in ind.table.groupby("metric", sort=False):
        width = max(len("parameter"), *(len(p) for p in df["parameter"]))
        if ind.method == "sobol":
            df = df.sort_values("ST", ascending=False)
            lines.append(f"{metric}  (Sobol' indices, +/- {pct} confidence half-width)")
            lines.append(f"  {'parameter':<{width}}  {'S1':>16}  {'ST':>16}")
            for r in df.itertuples():
                lines.append(f"  {r.parameter:<{width}}  {_pm(r.S1, r.S1_conf):>16}  {_pm(r.ST, r.ST_conf):>16}")
        else:
            df = df.sort_values("mu_star", ascending=False)
            lines.append(f"{metric}  (Morris elementary effects per full range, +/- {pct} half-width)")
            lines.append(f"  {'parameter':<{width}}  {'mu*':>20}  {'sigma':>10}  {'mu':>10}")
            for r in df.itertuples():
                lines.append(f"  {r.parameter:<{width}}  {_pm(r.mu_star, r.mu_star_conf):>20}  "
                             f"{_g(r.sigma):>10}  {_g(r.mu):>10}")
        lines.append("")
    for metric, why in ind.skipped.items():
        lines.append(f"{metric}: skipped: {why}")
    return "\n".join(lines).rstrip() + "\n"


def _g(x: float) -> str:
    return "nan" if x is None or not math.isfinite(x) else f"{x:.3g}"


def _pm(x: float, c: float) -> str:
    return f"{_g(x)} +/- {_g(c)}"


def _save(fig, path: Path) -> Path:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    atomic_write(path, lambda tmp: fig.savefig(tmp, format="png", dpi=110))
    return path


def bar_chart(ind: Indices, metric: str, path: Path) -> Path:
    """Bar chart of one metric's indices with confidence intervals, as PNG."""
    from matplotlib.figure import Figure

    df = ind.table[ind.table["metric"] == metric]
    key = "ST" if ind.method == "sobol" else "mu_star"
    df = df.sort_values(key, ascending=True)
    names = df["parameter"].tolist()
    y = np.arange(len(names))
    fig = Figure(figsize=(7.5, 1.6 + 0.45 * len(names)), layout="constrained")
    ax = fig.add_subplot()
    h = 0.38
    pct = f"{ind.conf_level * 100:g}%"
    if ind.method == "sobol":
        ax.barh(y + h / 2, df["S1"], h, xerr=df["S1_conf"], label="S1 (first order)", color="#4c78a8",
                capsize=3)
        ax.barh(y - h / 2, df["ST"], h, xerr=df["ST_conf"], label="ST (total)", color="#f58518", capsize=3)
        ax.set_xlabel(f"Sobol' index (share of variance), error bars: {pct} CI")
        ax.axvline(0, color="black", lw=0.8)
    else:
        ax.barh(y + h / 2, df["mu_star"], h, xerr=df["mu_star_conf"], label="\u03bc* (mean |effect|)",
                color="#4c78a8", capsize=3)
        ax.barh(y - h / 2, df["sigma"], h, label="\u03c3 (spread of effects)", color="#f58518")
        ax.set_xlabel(f"elementary effect on {metric} per full parameter range, error bars: {pct} CI")
    ax.set_yticks(y, names)
    ax.set_title(f"{METHOD_TITLES[ind.method]} sensitivity of {metric}")
    fig.legend(loc="outside lower center", ncols=2, fontsize="small")
    ax.grid(axis="x", alpha=0.3)
    return _save(fig, path)


def overview_chart(ind: Indices, path: Path) -> Path:
    """Heat map of every metric against every parameter (ST, or mu* scaled per metric), as PNG."""
    from matplotlib.figure import Figure

    key = "ST" if ind.method == "sobol" else "mu_star"
    grid = ind.table.pivot(index="parameter", columns="metric", values=key)
    grid = grid.reindex(index=list(dict.fromkeys(ind.table["parameter"])), columns=ind.metrics)
    if ind.method == "morris":
        grid = grid / grid.max(axis=0).replace(0, np.nan)
    values = grid.to_numpy(dtype=float)
    longest = max((len(str(p)) for p in grid.index), default=10)
    fig = Figure(figsize=(1.5 + 0.085 * longest + 0.75 * len(grid.columns),
                          1.9 + 0.42 * len(grid.index) + 0.06 * max(len(m) for m in grid.columns)),
                 layout="constrained")
    ax = fig.add_subplot()
    im = ax.imshow(np.clip(values, 0, 1), cmap="viridis", vmin=0, vmax=1, aspect="auto")
    ax.set_xticks(range(len(grid.columns)), grid.columns, rotation=45, ha="right", fontsize=8)
    ax.set_yticks(range(len(grid.index)), grid.index, fontsize=8)
    for i in range(values.shape[0]):
        for j in range(values.shape[1]):
            v = values[i, j]
            if math.isfinite(v):
                ax.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=7,
                        color="white" if v < 0.6 else "black")
    label = "ST" if ind.method == "sobol" else "\u03bc* / largest \u03bc*"
    fig.colorbar(im, ax=ax, label=label, shrink=0.9, pad=0.02)
    ax.set_title("total-order Sobol' index" if ind.method == "sobol"
                 else "Morris \u03bc*, scaled per metric", fontsize=9)
    return _save(fig, path)


def write_outputs(ind: Indices, folder: Path) -> list[Path]:
    """``indices.csv`` (and ``second_order.csv``), one bar chart per metric and an overview."""
    folder = Path(folder)
    written = []
    csv = folder / "indices.csv"
    atomic_write(csv, lambda tmp: ind.table.to_csv(tmp, index=False, float_format="%.6g"))
    written.append(csv)
    if ind.second_order is not None:
        s2 = folder / "second_order.csv"
        atomic_write(s2, lambda tmp: ind.second_order.to_csv(tmp, index=False, float_format="%.6g"))
        written.append(s2)
    for metric in ind.metrics:
        written.append(bar_chart(ind, metric, folder / f"{metric}.png"))
    if len(ind.metrics) > 1:
        written.append(overview_chart(ind, folder / "overview.png"))
    return written
