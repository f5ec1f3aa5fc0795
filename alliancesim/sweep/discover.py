"""Scenario discovery on a sweep: which ranges of the varied parameters produce an outcome?

PRIM (the Patient Rule Induction Method, Friedman & Fisher 1999; Bryant & Lempert 2010) peels the
space of the varied parameters down to a box where the runs of interest (e.g. ``dropout_share``
above 0.25) are dense.  Each peel trades *coverage* (the share of all runs of interest that fall
in the box) for *density* (the share of runs in the box that are of interest).  The algorithm is
EMA Workbench's (``ema_workbench.analysis.prim``); this module feeds it a sweep folder and writes

* ``limits.csv``: the chosen box, one row per restricted parameter (low, high, and the
  sweep's own range), with the box's coverage, density and mass;
* ``trajectory.csv``: the whole peeling trajectory (coverage, density, mass, restricted
  dimensions per step);
* ``tradeoff.png``: coverage against density along the trajectory, the chosen box marked.

The chosen box is the densest one that still covers at least ``min_coverage`` of the runs of
interest (default one half): the usual compromise of scenario discovery, stated here so the
choice is visible.  Any box can be read from ``trajectory.csv`` and :attr:`Discovery.box`.
"""

from __future__ import annotations

import math
import os
import shutil
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .storage import SweepError, load_runs, read_manifest, warn_if_incomplete


@dataclass
class Discovery:
    """The result of :func:`discover`.

    Attributes
    ----------
    metric, condition : str
        The outcome, e.g. ``"dropout_share"`` and ``"> 0.25"``.
    runs, of_interest : int
        Runs used (with a value for the metric) and how many of them meet the condition.
    chosen : int
        The step of the peeling trajectory reported as the box.
    limits : pandas.DataFrame
        One row per restricted parameter: ``parameter``, ``low``, ``high`` (the box; for a
        choice parameter ``low`` lists the values kept, ``high`` is empty), ``sweep_low``,
        ``sweep_high``.
    trajectory : pandas.DataFrame
        Per peeling step: ``coverage``, ``density``, ``mass`` (0-1), ``res_dim`` (parameters
        restricted), ``n`` (runs in the box).
    box : ema_workbench.analysis.prim.PrimBox
        The EMA Workbench box, for its own plots (``show_pairs_scatter``, ``inspect``).
    folder : Path or None
        Where the files were written.
    """

    metric: str
    condition: str
    runs: int
    of_interest: int
    chosen: int
    limits: pd.DataFrame
    trajectory: pd.DataFrame
    box: object
    folder: Path | None = None

    @property
    def coverage(self) -> float:
        return float(self.trajectory.loc[self.chosen, "coverage"])

    @property
    def density(self) -> float:
        return float(self.trajectory.loc[self.chosen, "density"])

    def text(self) -> str:
        """A few lines for the terminal: the condition, the box and its coverage and density."""
        lines = [f"{self.of_interest} of {self.runs} runs have {self.metric} {self.condition}; "
                 f"box {self.chosen}: coverage {self.coverage:.2f}, density {self.density:.2f} "
                 f"(the whole sweep: density {self.of_interest / self.runs:.2f})"]
        if self.limits.empty:
            lines.append("  no parameter range separates them: every restriction costs more coverage than it adds density")
        width = max([len(p) for p in self.limits["parameter"]] + [9])
        for row in self.limits.itertuples():
            if isinstance(row.low, str):
                lines.append(f"  {row.parameter:<{width}}  one of {row.low}  (swept: {row.sweep_low})")
            else:
                lines.append(f"  {row.parameter:<{width}}  {_fmt(row.low)} to {_fmt(row.high)}  "
                             f"(swept: {_fmt(row.sweep_low)} to {_fmt(row.sweep_high)})")
        if self.folder is not None:
            lines.append(f"  wrote limits.csv, trajectory.csv and tradeoff.png to {self.folder}")
        return "\n".join(lines)


def _fmt(x: float) -> str:
    return f"{x:.4g}"


def _prim():
    with warnings.catch_warnings():  # EMA Workbench warns about optional parallel back ends on import
        warnings.simplefilter("ignore")
        from ema_workbench.analysis import prim
    return prim


def threshold_value(spec: float | str, values: np.ndarray) -> float:
    """A threshold given as a number, or as a percentile of the runs' values: ``"p75"`` is the
    value 75 % of the runs lie below.

    Raises
    ------
    SweepError
        Neither a number nor ``p`` followed by a number from 0 to 100.
    """
    if isinstance(spec, str):
        text = spec.strip().lower()
        if text.startswith("p"):
            try:
                q = float(text[1:])
            except ValueError:
                q = float("nan")
            if not 0 <= q <= 100:
                raise SweepError(f"threshold {spec!r}: a percentile is p0 to p100 (e.g. p75)")
            return float(np.percentile(values, q))
        try:
            return float(text)
        except ValueError:
            raise SweepError(f"threshold {spec!r}: give a number (e.g. 0.25) or a percentile (e.g. p75)") from None
    return float(spec)


def discover(path: str | Path, metric: str, *, above: float | str | None = None, below: float | str | None = None,
             min_coverage: float = 0.5, peel_alpha: float = 0.05, out: str | Path | None = None) -> Discovery:
    """Find the box of varied-parameter ranges where ``metric`` is above (or below) a threshold.

    Parameters
    ----------
    path : str or Path
        A sweep folder (the ``--out`` of ``alliancesim sweep``); its finished runs are used.
    metric : str
        One of the sweep's metrics (``[outputs] metrics`` of its spec).
    above, below : float or str
        The threshold, in the metric's unit, or a percentile of the runs' values (``"p75"``:
        the top quarter with ``above``); give exactly one.  Runs without a value for the
        metric (NaN) are left out.
    min_coverage : float
        0-1: the reported box is the densest covering at least this share of the runs of interest.
    peel_alpha : float
        0-0.5: share of the runs peeled off per step (EMA Workbench's default 0.05).
    out : str or Path, optional
        Folder for ``limits.csv``, ``trajectory.csv`` and ``tradeoff.png``, written whole (into a
        temporary folder, then renamed; an older result there is replaced).  ``None``: nothing
        is written.

    Returns
    -------
    Discovery

    Raises
    ------
    SweepError
        Not a sweep folder, an unknown metric, no or only runs of interest, or a bad threshold
        or option (one line naming the value and what is allowed).
    """
    if (above is None) == (below is None):
        raise SweepError("give exactly one of --above or --below")
    if not 0 < min_coverage <= 1:
        raise SweepError(f"min_coverage={min_coverage} is out of range: allowed above 0 up to 1")
    if not 0 < peel_alpha <= 0.5:
        raise SweepError(f"peel_alpha={peel_alpha} is out of range: allowed above 0 up to 0.5")
    manifest = read_manifest(path)
    varied, metrics = list(manifest.get("varied", [])), list(manifest.get("metrics", []))
    if metric not in metrics:
        raise SweepError(f"metric {metric!r} is not in this sweep: choose one of {', '.join(metrics)}")
    if not varied:
        raise SweepError(f"{str(path)!r} varies no parameter: nothing to discover")
    runs = load_runs(path, columns=[*varied, metric, "status"], status=None)
    warn_if_incomplete(path, manifest, len(runs))
    runs = runs[runs["status"] == "ok"]
    runs = runs[np.isfinite(runs[metric].to_numpy(dtype=float))]
    if runs.empty:
        raise SweepError(f"{str(path)!r} has no finished run with a value for {metric}")
    values = runs[metric].to_numpy(dtype=float)
    threshold = threshold_value(above if above is not None else below, values)
    if not math.isfinite(threshold):
        raise SweepError(f"the threshold must be a finite number, got {threshold}")
    y = values > threshold if above is not None else values < threshold
    given = above if above is not None else below
    percentile = f" ({given.strip()})" if isinstance(given, str) and given.strip().lower().startswith("p") else ""
    condition = (f"> {_fmt(threshold)}" if above is not None else f"< {_fmt(threshold)}") + percentile
    if not y.any() or y.all():
        raise SweepError(f"{'no' if not y.any() else 'every'} run has {metric} {condition} "
                         f"(it ranges from {_fmt(values.min())} to {_fmt(values.max())}); choose a threshold inside")
    x = runs[varied].reset_index(drop=True).copy()
    for name in varied:
        if x[name].dtype == object or x[name].dtype == bool:
            x[name] = x[name].astype("category")
    prim = _prim()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        box = prim.Prim(x, y, peel_alpha=peel_alpha).find_box()
    trajectory = box.peeling_trajectory[["coverage", "density", "mass", "res_dim", "n"]].copy()
    trajectory.index.name = "box"
    eligible = trajectory[trajectory["coverage"] >= min_coverage - 1e-12]
    chosen = int(eligible.sort_values(["density", "coverage"], ascending=False).index[0])
    limits = _limits(box.box_lims[chosen], box.box_lims[0])
    result = Discovery(metric, condition, len(runs), int(y.sum()), chosen, limits, trajectory, box)
    if out is not None:
        result.folder = _write(result, Path(out))
    return result


def _limits(lims: pd.DataFrame, whole: pd.DataFrame) -> pd.DataFrame:
    """Rows for the parameters the box restricts, with the sweep's own range beside them."""
    rows = []
    for name in lims.columns:
        low, high = lims.at[0, name], lims.at[1, name]
        if isinstance(low, set):  # a choice parameter: EMA keeps the allowed values as a set
            if low != whole.at[0, name]:
                rows.append((name, ", ".join(sorted(map(str, low))), "", ", ".join(sorted(map(str, whole.at[0, name]))), ""))
        elif low != whole.at[0, name] or high != whole.at[1, name]:
            rows.append((name, float(low), float(high), float(whole.at[0, name]), float(whole.at[1, name])))
    return pd.DataFrame(rows, columns=["parameter", "low", "high", "sweep_low", "sweep_high"])


def _write(result: Discovery, folder: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        limits = result.limits.assign(coverage=result.coverage, density=result.density,
                                      mass=float(result.trajectory.loc[result.chosen, "mass"]), box=result.chosen)
        limits.to_csv(staging / "limits.csv", index=False)
        result.trajectory.to_csv(staging / "trajectory.csv")
        fig, ax = plt.subplots(figsize=(6, 4.5), dpi=120)
        t = result.trajectory
        points = ax.scatter(t["coverage"], t["density"], c=t["res_dim"], cmap="viridis", s=28, zorder=2)
        ax.plot(t["coverage"], t["density"], color="0.7", lw=1, zorder=1)
        ax.scatter([result.coverage], [result.density], s=160, facecolors="none", edgecolors="crimson", lw=2,
                   zorder=3, label=f"box {result.chosen} (reported)")
        fig.colorbar(points, ax=ax, label="parameters restricted")
        ax.set(xlabel="coverage (share of the runs of interest inside the box)",
               ylabel="density (share of the box's runs of interest)",
               title=f"PRIM: {result.metric} {result.condition}", xlim=(0, 1.02), ylim=(0, 1.02))
        ax.legend(loc="lower left")
        fig.tight_layout()
        fig.savefig(staging / "tradeoff.png")
        plt.close(fig)
        old = None
        if folder.exists():
            old = folder.parent / f".{folder.name}.old-{os.getpid()}"
            os.replace(folder, old)
        os.replace(staging, folder)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return folder
