"""Designs: the parameter points a sweep visits.

``grid``
    Every combination of the varied parameters' values (full factorial).
``lhs``
    ``samples`` points of a Latin hypercube (:class:`scipy.stats.qmc.LatinHypercube`).
``sobol``
    Saltelli's extension of the Sobol' sequence (:func:`SALib.sample.sobol.sample`):
    ``N * (D + 2)`` points, or ``N * (2D + 2)`` with second-order indices,
    for :func:`SALib.analyze.sobol.analyze`.
``morris``
    ``samples`` Morris trajectories of ``D + 1`` points each
    (:func:`SALib.sample.morris.sample`), for :func:`SALib.analyze.morris.analyze`.

Sampled designs draw points in the unit hypercube ``[0, 1]^D`` from a stream of
the sweep's root seed; each varied parameter then maps its coordinate to a value
(:meth:`~alliancesim.sweep.spec.Varied.from_unit`: uniform ranges, lists,
distributions).  The unit coordinates are kept beside the values (columns
``u.<name>``) because Morris' elementary effects are computed on them.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator

import numpy as np
import pandas as pd

from .seeding import design_seed
from .spec import Spec

__all__ = ["design_chunks", "n_points", "problem", "unit_column"]


def unit_column(name: str) -> str:
    """Name of the column holding a parameter's unit-cube coordinate."""
    return f"u.{name}"


def n_points(spec: Spec) -> int:
    """Number of design points (before replicates)."""
    d = len(spec.varied)
    if spec.design == "grid":
        return math.prod(len(v.values) for v in spec.varied)
    if spec.design == "lhs":
        return spec.samples
    if spec.design == "sobol":
        return spec.samples * ((2 * d + 2) if spec.second_order else (d + 2))
    return spec.samples * (d + 1)


def problem(spec: Spec) -> dict:
    """The SALib problem: the varied parameters on the unit interval."""
    return {"num_vars": len(spec.varied), "names": spec.names,
            "bounds": [[0.0, 1.0]] * len(spec.varied)}


def _unit_points(spec: Spec) -> np.ndarray:
    rng = design_seed(spec.seed)
    d = len(spec.varied)
    if spec.design == "lhs":
        from scipy.stats import qmc

        return qmc.LatinHypercube(d=d, rng=rng).random(spec.samples)
    if spec.design == "sobol":
        from SALib.sample import sobol

        return sobol.sample(problem(spec), spec.samples, calc_second_order=spec.second_order,
                            scramble=True, seed=rng)
    if spec.design == "morris":
        from SALib.sample import morris

        return morris.sample(problem(spec), spec.samples, num_levels=spec.levels, seed=rng)
    raise ValueError(f"{spec.design} is not a sampled design")


def _typed(spec: Spec, name: str, values: list) -> pd.Series:
    t = spec.varied[spec.names.index(name)].param.type
    dtype = {int: "int64", float: "float64", bool: "bool", str: "object"}[t]
    return pd.Series(values, dtype=dtype, name=name)


def design_chunks(spec: Spec, chunk: int = 50_000) -> Iterator[pd.DataFrame]:
    """The design as DataFrames of at most ``chunk`` rows, in order.

    Columns: ``point`` (0-based design row), one column per varied parameter
    with its value, and for sampled designs ``u.<name>`` with the unit
    coordinate.  A grid is generated lazily, so its size is not limited by memory.
    """
    names = spec.names
    if spec.design == "grid":
        combos = itertools.product(*(v.values for v in spec.varied))
        start = 0
        while True:
            rows = list(itertools.islice(combos, chunk))
            if not rows:
                return
            cols = list(zip(*rows)) if names else []
            df = pd.DataFrame({"point": np.arange(start, start + len(rows), dtype="int64")})
            for name, col in zip(names, cols):
                df[name] = _typed(spec, name, list(col))
            yield df
            start += len(rows)
            if not names:
                return
        return
    unit = _unit_points(spec)
    for start in range(0, len(unit), chunk):
        block = unit[start:start + chunk]
        df = pd.DataFrame({"point": np.arange(start, start + len(block), dtype="int64")})
        for j, v in enumerate(spec.varied):
            df[v.name] = _typed(spec, v.name, v.from_unit(block[:, j]))
        for j, v in enumerate(spec.varied):
            df[unit_column(v.name)] = block[:, j]
        yield df
