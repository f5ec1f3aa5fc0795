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

__all__ = ["Indices", "NoisyIndicesWarning", "analyse", "bar_chart", "format_table", "overview_chart",
           "write_outputs"]

METHOD_TITLES = {"sobol": "Sobol'", "morris": "Morris"}

#: Below this many base samples N, Sobol' indices are mostly noise (SALib's examples use 1024).
MIN_SOBOL_N = 64
#: Below this many trajectories, Morris' mu* is mostly noise (Campolongo et al. use 10 to 20).
MIN_MORRIS_TRAJECTORIES = 10
#: Sobol' indices are shares of variance; estimates further than this outside 0-1 are noise.
_SHARE_SLACK = 0.1


class NoisyIndicesWarning(UserWarning):
    """Sensitivity indices that cannot be told from noise (too few samples, intervals too wide)."""


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
    warnings : list of str
        Why the indices may be noise (see :func:`noise_warnings`), one line each.
    """

    method: str
    table: pd.DataFrame
    second_order: pd.DataFrame | None = None
    skipped: dict[str, str] = field(default_factory=dict)
    conf_level: float = 0.95
    points: int = 0
    #: One line per reason to distrust the indices (too few samples, intervals as wide as the
    #: indices, shares outside 0-1); empty when none was found.
    warnings: list[str] = field(default_factory=list)

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
    ind = Indices(spec.design, table, second, skipped, spec.conf_level, n)
    ind.warnings = noise_warnings(ind, spec.samples)
    import warnings

    for line in ind.warnings:
        warnings.warn(line, NoisyIndicesWarning, stacklevel=2)
    return ind


def noise_warnings(ind: Indices, samples: int) -> list[str]:
    """Reasons to distrust ``ind``: one line for too few samples, one per noisy metric.

    A metric's indices are called noise when the most influential parameter's
    confidence half-width is as large as its index (it cannot be told from 0),
    or (Sobol') an index lies outside 0 to 1 or the first-order indices add up
    to more than 1 -- impossible for shares of variance, so sampling error.
    """
    out = []
    if not len(ind.table):
        return out
    if ind.method == "sobol" and samples < MIN_SOBOL_N:
        out.append(f"only N={samples} base samples: Sobol' indices need N of {MIN_SOBOL_N} or more "
                   "(more for many parameters) to be more than noise")
    if ind.method == "morris" and samples < MIN_MORRIS_TRAJECTORIES:
        out.append(f"only {samples} Morris trajectories: mu* needs {MIN_MORRIS_TRAJECTORIES} or more "
                   "to rank parameters reliably")
    key, conf = ("ST", "ST_conf") if ind.method == "sobol" else ("mu_star", "mu_star_conf")
    for metric, df in ind.table.groupby("metric", sort=False):
        reasons = []
        top = df.loc[df[key].abs().idxmax()]
        if top[conf] >= abs(top[key]) > 0:
            reasons.append(f"the largest {key} ({top['parameter']}: {_pm(top[key], top[conf])}) is no "
                           "larger than its confidence half-width")
        if ind.method == "sobol":
            values = df[["S1", "ST"]].to_numpy(dtype=float)
            outside = (values < -_SHARE_SLACK) | (values > 1 + _SHARE_SLACK)
            if outside.any():
                reasons.append(f"indices outside 0 to 1 (from {_g(np.nanmin(values))} to {_g(np.nanmax(values))})")
            total = float(df["S1"].clip(lower=0).sum())
            if total > 1 + _SHARE_SLACK:
                reasons.append(f"first-order indices add up to {total:.2f} (more than 1)")
        if reasons:
            out.append(f"{metric}: the indices look like noise: " + "; ".join(reasons))
    return out


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
    if ind.warnings:
        lines.append("")
        lines.extend(f"warning: {w}" for w in ind.warnings)
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
    shown, labels = heat_cells(values)
    longest = max((len(str(p)) for p in grid.index), default=10)
    fig = Figure(figsize=(1.5 + 0.085 * longest + 0.75 * len(grid.columns),
                          1.9 + 0.42 * len(grid.index) + 0.06 * max(len(m) for m in grid.columns)),
                 layout="constrained")
    ax = fig.add_subplot()
    from matplotlib import colormaps

    cmap = colormaps["viridis"].with_extremes(bad="#d9d9d9")  # grey: no colour on the 0-1 scale
    im = ax.imshow(shown, cmap=cmap, vmin=0, vmax=1, aspect="auto")
    ax.set_xticks(range(len(grid.columns)), grid.columns, rotation=45, ha="right", fontsize=8)
    ax.set_yticks(range(len(grid.index)), grid.index, fontsize=8)
    for i in range(values.shape[0]):
        for j in range(values.shape[1]):
            if labels[i][j]:
                v = shown[i, j]
                dark = np.ma.is_masked(v) or v >= 0.6
                ax.text(j, i, labels[i][j], ha="center", va="center", fontsize=7,
                        color="black" if dark else "white")
    label = "ST" if ind.method == "sobol" else "\u03bc* / largest \u03bc*"
    fig.colorbar(im, ax=ax, label=label, shrink=0.9, pad=0.02)
    title = "total-order Sobol' index" if ind.method == "sobol" else "Morris \u03bc*, scaled per metric"
    if np.ma.count_masked(shown) > np.isnan(values).sum():
        title += "\ngrey with !: outside 0 to 1, so sampling noise (take more samples)"
    ax.set_title(title, fontsize=9)
    return _save(fig, path)


def heat_cells(values: np.ndarray) -> tuple[np.ma.MaskedArray, list[list[str]]]:
    """Colours and labels of the overview's cells.

    Values outside 0 to 1 are masked (drawn grey, not in the colour of 0 or 1) and
    labelled with a ``!``; NaN cells are masked and unlabelled.

    Parameters
    ----------
    values : ndarray, shape (parameters, metrics)

    Returns
    -------
    shown : masked array, same shape, values in 0 to 1
    labels : list of lists of str, same shape
    """
    finite = np.isfinite(values)
    inside = finite & (values >= -0.005) & (values <= 1.005)  # rounding to 2 digits stays in range
    shown = np.ma.masked_array(np.where(inside, np.clip(values, 0, 1), 0.0), mask=~inside)
    labels = [[(f"{v:.2f}" if ok else f"{v:.2f}!") if fin else "" for v, ok, fin in zip(row, ins, frow)]
              for row, ins, frow in zip(values, inside, finite)]
    return shown, labels


def write_outputs(ind: Indices, folder: Path) -> list[Path]:
    """``indices.csv`` (and ``second_order.csv``), ``summary.txt`` (the table and any warnings),
    one bar chart per metric and an overview."""
    folder = Path(folder)
    written = []
    csv = folder / "indices.csv"
    # Full precision: the numbers read back are the numbers computed.
    atomic_write(csv, lambda tmp: ind.table.to_csv(tmp, index=False))
    written.append(csv)
    if ind.second_order is not None:
        s2 = folder / "second_order.csv"
        atomic_write(s2, lambda tmp: ind.second_order.to_csv(tmp, index=False))
        written.append(s2)
    summary = folder / "summary.txt"
    # The table as printed, with the warnings: whoever opens the folder later sees them too.
    atomic_write(summary, lambda tmp: Path(tmp).write_text(format_table(ind)))
    written.append(summary)
    for metric in ind.metrics:
        written.append(bar_chart(ind, metric, folder / f"{metric}.png"))
    if len(ind.metrics) > 1:
        written.append(overview_chart(ind, folder / "overview.png"))
    return written
