"""Sweep specifications: what to vary, how to sample it, how often to repeat it.

A spec is a TOML file.  Every key is checked: unknown keys, unknown parameters,
values outside a parameter's allowed range and impossible designs raise
:class:`SpecError` with a one-line message that names the file, the table and
the problem.

Example::

    name = "Boundaries and self-awareness"
    preset = "default"          # a shipped preset, or a preset .toml path (relative to this file)
    years = 3                   # run length; default: the preset's
    replicates = 4              # runs per design point, each with its own seed
    seed = 20240611             # root seed of the whole sweep
    seeding = "independent"     # or "common": replicate r shares its random stream across points

    [design]
    method = "grid"             # grid | lhs | sobol | morris
    # samples = 64              # lhs: points; sobol: base samples N (a power of 2); morris: trajectories
    # second_order = false      # sobol: also estimate second-order indices (N * (2D + 2) points)
    # levels = 4                # morris: grid levels (even)

    [fixed]                     # on top of the preset, for every run
    initial_clients = 60

    [vary.boundary_firmness_mean]
    values = [0.2, 0.4, 0.6, 0.8]

    [vary.self_awareness_mean]
    range = [0.2, 0.9]
    steps = 3                   # grid only: evenly spaced values, ends included

    [outputs]
    metrics = ["dropout_share", "mean_alliance"]   # default: every metric
    weekly = false              # also store each run's weekly series

A varied parameter gives exactly one of

``values = [...]``
    a list (the only choice for text and true/false parameters);
``range = [low, high]``
    with ``steps = n`` or ``step = s`` in a grid; uniform on ``[low, high]``
    in the sampled designs (whole numbers stay whole);
``distribution = "..."``
    sampled designs only: ``uniform`` (``low``, ``high``), ``loguniform``
    (``low`` > 0, ``high``), ``triangular`` (``low``, ``mode``, ``high``) or
    ``normal`` (``mean``, ``sd``, truncated to ``low`` and ``high``, which
    are required so the values cannot leave the allowed range).
"""

from __future__ import annotations

import difflib
import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..metrics import METRICS
from ..params import REGISTRY, Param, ParameterError

__all__ = [
    "DESIGNS",
    "DISTRIBUTIONS",
    "SEEDINGS",
    "Spec",
    "SpecError",
    "Varied",
    "load_spec",
]

#: Design methods a spec may name.
DESIGNS: tuple[str, ...] = ("grid", "lhs", "sobol", "morris")
#: Distributions a varied parameter may follow in sampled designs, with their keys.
DISTRIBUTIONS: dict[str, tuple[str, ...]] = {
    "uniform": ("low", "high"),
    "loguniform": ("low", "high"),
    "triangular": ("low", "mode", "high"),
    "normal": ("mean", "sd", "low", "high"),
}
#: At most this many values per varied parameter in a grid (``steps``, or a range over ``step``).
MAX_VALUES = 1_000_000
#: At most this many points in a sampled design (LHS, Sobol', Morris: built in memory).
MAX_SAMPLED_POINTS = 5_000_000
#: How run seeds relate across design points.
SEEDINGS: tuple[str, ...] = ("independent", "common")

_TOP_KEYS = ("name", "description", "preset", "years", "replicates", "seed", "seeding",
             "design", "fixed", "vary", "outputs", "sensitivity")
_DESIGN_KEYS = ("method", "samples", "second_order", "levels")
_OUTPUT_KEYS = ("metrics", "weekly", "flush_runs", "flush_seconds")
_SENSITIVITY_KEYS = ("metrics", "conf_level", "resamples")
_VARY_KEYS = ("values", "range", "steps", "step", "distribution", "low", "high", "mode", "mean", "sd")


class SpecError(ParameterError):
    """A sweep spec that cannot be used (reported as one line, exit status 2)."""


@dataclass(frozen=True)
class Varied:
    """One varied parameter.

    Attributes
    ----------
    name : str
        Registered parameter name.
    kind : {"values", "range", "distribution"}
        How the spec gave it.
    values : tuple
        The list (``kind="values"``) or the grid values of a range.
    low, high : float
        Support of a range or distribution (``None`` for lists).
    distribution : str
        ``"uniform"`` for ranges, the named distribution otherwise.
    options : dict
        The distribution's other numbers (``mode``, ``mean``, ``sd``).
    """

    name: str
    kind: str
    values: tuple = ()
    low: float | None = None
    high: float | None = None
    distribution: str | None = None
    options: dict[str, float] = field(default_factory=dict)

    @property
    def param(self) -> Param:
        return REGISTRY[self.name]

    def describe(self) -> str:
        """Short text, e.g. ``range 0.2 to 0.8`` or ``4 values``."""
        if self.kind == "values":
            return "values " + ", ".join(_fmt(v) for v in self.values)
        if self.kind == "range":
            text = f"range {_fmt(self.low)} to {_fmt(self.high)}"
            return text + (f" ({len(self.values)} steps)" if self.values else "")
        opts = ", ".join(f"{k}={_fmt(v)}" for k, v in self.options.items())
        return f"{self.distribution}({opts + ', ' if opts else ''}{_fmt(self.low)} to {_fmt(self.high)})"

    def from_unit(self, u: np.ndarray) -> list[Any]:
        """Map points of ``[0, 1]`` to parameter values (inverse CDF).

        Lists and whole-number ranges are cut into equal slices of ``[0, 1]``,
        so every value is equally likely; continuous ranges are uniform;
        distributions use their quantile function.
        """
        u = np.clip(np.asarray(u, dtype=float), 0.0, 1.0)
        p = self.param
        if self.kind == "values":
            idx = np.minimum((u * len(self.values)).astype(int), len(self.values) - 1)
            return [self.values[i] for i in idx]
        if p.type is int and self.kind == "range":
            n = int(self.high) - int(self.low) + 1
            idx = np.minimum((u * n).astype(int), n - 1)
            return [int(self.low) + int(i) for i in idx]
        x = _ppf(self, u)
        x = np.clip(x, self.low, self.high)
        if p.type is int:
            return [int(round(v)) for v in x]
        return [float(v) for v in x]

    def canonical(self) -> dict[str, Any]:
        """Plain-data form (used to tell whether two specs describe the same runs)."""
        return {"name": self.name, "kind": self.kind, "values": list(self.values), "low": self.low,
                "high": self.high, "distribution": self.distribution, "options": dict(self.options)}


def _ppf(v: Varied, u: np.ndarray) -> np.ndarray:
    from scipy import stats

    lo, hi = float(v.low), float(v.high)
    if v.distribution == "uniform":
        return lo + u * (hi - lo)
    if v.distribution == "loguniform":
        return np.exp(np.log(lo) + u * (np.log(hi) - np.log(lo)))
    if v.distribution == "triangular":
        c = (v.options["mode"] - lo) / (hi - lo) if hi > lo else 0.5
        return stats.triang.ppf(u, c, loc=lo, scale=hi - lo)
    if v.distribution == "normal":
        mean, sd = v.options["mean"], v.options["sd"]
        a, b = (lo - mean) / sd, (hi - mean) / sd
        return stats.truncnorm.ppf(u, a, b, loc=mean, scale=sd)
    raise AssertionError(v.distribution)  # pragma: no cover - checked when parsing


@dataclass(frozen=True)
class Spec:
    """A parsed, checked sweep spec.

    Build one with :func:`load_spec` (from a file) or :meth:`Spec.from_dict`.

    Attributes
    ----------
    name : str
        Title for progress bars and reports.
    preset : str
        Preset name or resolved preset path.
    base : dict
        Every registered parameter's value before varying: registry defaults,
        then the preset, then ``[fixed]`` and ``years``.
    varied : tuple of Varied
        The varied parameters, in spec order.
    design : str
        ``grid``, ``lhs``, ``sobol`` or ``morris``.
    samples : int or None
        Points (lhs), base samples N (sobol) or trajectories (morris).
    replicates : int
        Runs per design point.
    seed : int
        Root seed of the sweep.
    seeding : str
        ``independent`` (each run its own stream) or ``common`` (replicate r
        uses the same stream at every point: common random numbers).
    metrics : tuple of str
        Metrics stored per run.
    weekly : bool
        Also store each run's weekly series.
    second_order : bool
        Sobol' design with second-order indices.
    levels : int
        Grid levels of the Morris design.
    flush_runs, flush_seconds : int, float
        A part file is written every ``flush_runs`` runs or ``flush_seconds``
        seconds; at most that much work is redone after a crash.
    sensitivity_metrics : tuple of str or None
        Metrics ``alliancesim sensitivity`` analyses (None: all stored).
    conf_level, resamples : float, int
        Confidence level and bootstrap resamples of the indices.
    notes : tuple of str
        Warnings found while checking (e.g. some design points break a rule
        between parameters, so their runs will fail); one line each.
    """

    name: str
    source: str
    preset: str
    base: dict[str, Any]
    varied: tuple[Varied, ...]
    design: str = "grid"
    samples: int | None = None
    second_order: bool = False
    levels: int = 4
    replicates: int = 1
    seed: int = 1
    seeding: str = "independent"
    metrics: tuple[str, ...] = tuple(METRICS)
    weekly: bool = False
    flush_runs: int = 200
    flush_seconds: float = 30.0
    sensitivity_metrics: tuple[str, ...] | None = None
    conf_level: float = 0.95
    resamples: int = 1000
    description: str = ""
    text: str = field(default="", compare=False, repr=False)
    notes: tuple[str, ...] = field(default=(), compare=False, repr=False)

    @property
    def years(self) -> float:
        return float(self.base["years"])

    @property
    def names(self) -> list[str]:
        """Names of the varied parameters."""
        return [v.name for v in self.varied]

    def canonical(self) -> dict[str, Any]:
        """Everything that decides which runs the sweep makes and what they store.

        Two specs with equal ``canonical()`` make exactly the same runs; a
        sweep directory remembers it so that resuming with a different spec is
        refused instead of mixing two experiments.
        """
        return {
            "base": dict(sorted(self.base.items())),
            "varied": [v.canonical() for v in self.varied],
            "design": {"method": self.design, "samples": self.samples,
                       "second_order": self.second_order, "levels": self.levels},
            "replicates": self.replicates,
            "seed": self.seed,
            "seeding": self.seeding,
            "metrics": list(self.metrics),
            "weekly": self.weekly,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, source: str = "<spec>",
                  root: Path | None = None, text: str = "") -> Spec:
        """Check a spec given as nested dicts (as :mod:`tomllib` returns it).

        Parameters
        ----------
        data : mapping
            The spec's tables.
        source : str
            Name used in error messages (the file name).
        root : Path, optional
            Folder that relative preset paths are resolved against.
        """
        return _parse(data, source=source, root=root or Path.cwd(), text=text)


def load_spec(path: str | Path) -> Spec:
    """Read and check a spec file.

    Raises
    ------
    SpecError
        One line naming the file and the problem: unreadable or malformed
        TOML, unknown keys or parameters, values out of range, impossible
        designs.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError(f"spec file {str(path)!r} does not exist") from None
    except IsADirectoryError:
        raise SpecError(f"spec {str(path)!r} is a folder, not a .toml file") from None
    except UnicodeDecodeError:
        raise SpecError(f"spec file {str(path)!r} is not UTF-8 text") from None
    except OSError as exc:
        raise SpecError(f"cannot read spec file {str(path)!r}: {exc.strerror}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(f"spec {str(path)!r} is not valid TOML: {exc}") from None
    return Spec.from_dict(data, source=str(path), root=path.resolve().parent, text=text)


# --------------------------------------------------------------------------------------------
# parsing


def _fmt(x: Any) -> str:
    """Numbers as people write them: ``0.5``, ``3`` (not ``3.0``)."""
    if isinstance(x, float) and x.is_integer() and abs(x) < 1e15:
        return str(int(x))
    return str(x)


def _suggest(name: str, options) -> str:
    close = difflib.get_close_matches(name, list(options), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _check_keys(table: Mapping[str, Any], allowed, where: str, err) -> None:
    for key in table:
        if key not in allowed:
            hint = _suggest(key, allowed) or f" (allowed: {', '.join(allowed)})"
            raise err(f"{where + ': ' if where else ''}unknown key {key!r}{hint}")


def _table(data: Mapping[str, Any], key: str, err) -> dict[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise err(f"{key!r} must be a table ([{key}]), not {type(value).__name__}")
    return value


def _int(value: Any, what: str, err, minimum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise err(f"{what} must be a whole number, got {value!r}")
    if minimum is not None and value < minimum:
        raise err(f"{what} must be at least {minimum}, got {value}")
    return value


def _number(value: Any, what: str, err) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise err(f"{what} must be a number, got {value!r}")
    return float(value)


def _parse(data: Mapping[str, Any], *, source: str, root: Path, text: str) -> Spec:
    def err(message: str) -> SpecError:
        return SpecError(f"spec {source!r}: {message}")

    _check_keys(data, _TOP_KEYS, "top level", err)
    from .. import presets

    # --- base parameters: registry defaults <- preset <- [fixed] <- years ---------------------
    preset_ref = data.get("preset", "default")
    if not isinstance(preset_ref, str) or not preset_ref:
        raise err(f"preset must be a preset name or a .toml path, got {preset_ref!r}")
    if preset_ref.endswith(".toml") or "/" in preset_ref or "\\" in preset_ref:
        preset_path = Path(preset_ref)
        if not preset_path.is_absolute():
            preset_path = root / preset_path
        preset_ref = str(preset_path)
    try:
        preset = presets.load(preset_ref)
    except ParameterError as exc:
        raise err(str(exc)) from None
    base = {name: p.default for name, p in REGISTRY.items()}
    base.update(preset.params)

    fixed = _table(data, "fixed", err)
    for name, value in fixed.items():
        param = REGISTRY.get(name)
        if param is None:
            raise err(f"[fixed] unknown parameter {name!r}{_suggest(name, REGISTRY) or ' (see alliancesim params)'}")
        try:
            base[name] = param.check(value)
        except ParameterError as exc:
            raise err(f"[fixed] {exc}") from None
    if "years" in data:
        if "years" in fixed:
            raise err("years is given both at the top level and in [fixed]; keep one")
        try:
            base["years"] = REGISTRY["years"].check(data["years"])
        except ParameterError as exc:
            raise err(str(exc)) from None
    base = {name: REGISTRY[name].check(value) for name, value in base.items()}

    # --- design ------------------------------------------------------------------------------
    design = _table(data, "design", err)
    _check_keys(design, _DESIGN_KEYS, "[design]", err)
    method = design.get("method", "grid")
    if method not in DESIGNS:
        raise err(f"[design] method {method!r} is not one of {', '.join(DESIGNS)}{_suggest(str(method), DESIGNS)}")
    samples = design.get("samples")
    if method == "grid":
        for key in ("samples", "second_order", "levels"):
            if key in design:
                raise err(f"[design] {key} does not apply to the grid design (it runs every combination)")
    else:
        if samples is None:
            raise err(f"[design] the {method} design needs samples = "
                      + {"lhs": "number of points", "sobol": "N base samples (a power of 2)",
                         "morris": "number of trajectories"}[method])
        samples = _int(samples, "[design] samples", err, minimum=2 if method != "lhs" else 1)
        d = len(data.get("vary", {}) if isinstance(data.get("vary"), dict) else ())
        per = {"lhs": 1, "sobol": (2 * d + 2) if design.get("second_order") is True else d + 2,
               "morris": d + 1}[method]
        if samples * per > MAX_SAMPLED_POINTS:
            raise err(f"[design] samples={samples:,} gives {samples * per:,} design points, more than "
                      f"{MAX_SAMPLED_POINTS:,} (a sampled design is built in memory): choose fewer samples")
        if method == "sobol" and samples & (samples - 1):
            lower = 1 << (samples.bit_length() - 1)
            raise err(f"[design] samples={samples} must be a power of 2 for the Sobol' design "
                      f"(try {lower} or {lower * 2})")
    second_order = design.get("second_order", False)
    if "second_order" in design and method != "sobol":
        raise err("[design] second_order only applies to the sobol design")
    if not isinstance(second_order, bool):
        raise err(f"[design] second_order must be true or false, got {second_order!r}")
    levels = design.get("levels", 4)
    if "levels" in design and method != "morris":
        raise err("[design] levels only applies to the morris design")
    levels = _int(levels, "[design] levels", err, minimum=2)
    if levels % 2:
        raise err(f"[design] levels={levels} must be even for the Morris design")

    # --- varied parameters -----------------------------------------------------------------
    vary = _table(data, "vary", err)
    varied = []
    for name, table in vary.items():
        param = REGISTRY.get(name)
        if param is None:
            raise err(f"[vary] unknown parameter {name!r}{_suggest(name, REGISTRY) or ' (see alliancesim params)'}")
        if name in fixed or (name == "years" and "years" in data):
            raise err(f"{name} is both fixed and varied; keep one")
        if not isinstance(table, dict):
            raise err(f"[vary] {name} must be a table such as [vary.{name}] with values, range or "
                      "distribution")
        varied.append(_parse_varied(name, param, table, method, lambda m, n=name: err(f"[vary.{n}] {m}")))
    if method != "grid" and not varied:
        raise err(f"the {method} design needs at least one [vary.NAME] table")
    notes = _check_combinations(base, varied, err)

    # --- run counts and seeds ----------------------------------------------------------------
    replicates = _int(data.get("replicates", 1), "replicates", err, minimum=1)
    seed = _int(data.get("seed", 1), "seed", err, minimum=0)
    seeding = data.get("seeding", "independent")
    if seeding not in SEEDINGS:
        raise err(f"seeding {seeding!r} is not one of {', '.join(SEEDINGS)}")

    # --- outputs ---------------------------------------------------------------------------
    outputs = _table(data, "outputs", err)
    _check_keys(outputs, _OUTPUT_KEYS, "[outputs]", err)
    metrics = _metric_list(outputs.get("metrics", list(METRICS)), "[outputs] metrics", err)
    weekly = outputs.get("weekly", False)
    if not isinstance(weekly, bool):
        raise err(f"[outputs] weekly must be true or false, got {weekly!r}")
    flush_runs = _int(outputs.get("flush_runs", 200), "[outputs] flush_runs", err, minimum=1)
    flush_seconds = _number(outputs.get("flush_seconds", 30.0), "[outputs] flush_seconds", err)
    if flush_seconds <= 0:
        raise err(f"[outputs] flush_seconds must be above 0, got {_fmt(flush_seconds)}")

    # --- sensitivity analysis ----------------------------------------------------------------
    sens = _table(data, "sensitivity", err)
    _check_keys(sens, _SENSITIVITY_KEYS, "[sensitivity]", err)
    sens_metrics = None
    if "metrics" in sens:
        sens_metrics = _metric_list(sens["metrics"], "[sensitivity] metrics", err)
        missing = [m for m in sens_metrics if m not in metrics]
        if missing:
            raise err(f"[sensitivity] metric {missing[0]!r} is not among [outputs] metrics")
    conf_level = _number(sens.get("conf_level", 0.95), "[sensitivity] conf_level", err)
    if not 0 < conf_level < 1:
        raise err(f"[sensitivity] conf_level must be between 0 and 1, got {_fmt(conf_level)}")
    resamples = _int(sens.get("resamples", 1000), "[sensitivity] resamples", err, minimum=10)

    name = data.get("name", Path(source).stem)
    description = data.get("description", "")
    for key, value in (("name", name), ("description", description)):
        if not isinstance(value, str):
            raise err(f"{key} must be text, got {value!r}")
    return Spec(
        name=name, source=source, preset=preset_ref, base=base, varied=tuple(varied), design=method,
        samples=samples if method != "grid" else None, second_order=second_order,
        levels=levels, replicates=replicates, seed=seed, seeding=seeding, metrics=metrics,
        weekly=weekly, flush_runs=flush_runs, flush_seconds=flush_seconds,
        sensitivity_metrics=sens_metrics, conf_level=conf_level, resamples=resamples,
        description=description, text=text, notes=notes,
    )


#: Above this many corners of the varied box, corners are checked one parameter at a time.
_MAX_CORNERS = 4096


def _check_combinations(base: dict[str, Any], varied: list[Varied], err) -> tuple[str, ...]:
    """Find runs that would break a rule between parameters; returns warnings (one line each).

    The rules (:class:`alliancesim.params.Params` checks them) are sums and
    orderings of numbers, so if any point of the design breaks one, a corner of
    the box spanned by the varied parameters' lowest and highest values does:
    checking the corners, not the points, keeps this instant for any design size.

    Raises ``err(...)`` when every corner breaks a rule (every run would fail: a
    ``[fixed]`` value, the preset and ``years``, or the whole varied box);
    returns a warning naming one bad corner when only some runs would fail.
    """
    import itertools

    from ..params import Params

    def extremes(v: Varied) -> list[Any]:
        if v.param.type in (int, float):
            ends = v.values or (v.low, v.high)
            return sorted({min(ends), max(ends)})
        return list(dict.fromkeys(v.values))

    def problem(changes: dict[str, Any]) -> str | None:
        try:
            Params(**{**base, **changes})
        except ParameterError as exc:
            at = ", ".join(f"{k}={_fmt(x)}" for k, x in changes.items())
            return f"[vary] at {at}: {exc}" if at else str(exc)
        return None

    options = [extremes(v) for v in varied]
    names = [v.name for v in varied]
    if math.prod(len(o) for o in options) <= _MAX_CORNERS:
        corners = [dict(zip(names, c)) for c in itertools.product(*options)]
    else:  # too many corners: each parameter alone at its ends
        corners = [{name: value} for name, opts in zip(names, options) for value in opts]
    problems = [problem(c) for c in corners]
    bad = [p for p in problems if p is not None]
    if bad and len(bad) == len(problems):
        common = problem({})  # the same rule broken whatever is varied: name it without a corner
        raise err(common if common is not None and all(p.endswith(common) for p in bad) else bad[0])
    if bad:
        return (f"some runs will fail and be recorded as failed: {bad[0]}",)
    return ()


def _metric_list(value: Any, what: str, err) -> tuple[str, ...]:
    if not isinstance(value, list) or not value or not all(isinstance(m, str) for m in value):
        raise err(f"{what} must be a non-empty list of metric names")
    for m in value:
        if m not in METRICS:
            raise err(f"{what}: unknown metric {m!r}{_suggest(m, METRICS) or ' (see alliancesim.metrics.METRICS)'}")
    if len(set(value)) != len(value):
        dup = next(m for m in value if value.count(m) > 1)
        raise err(f"{what} lists {dup!r} twice")
    return tuple(value)


def _check_value(param: Param, value: Any, what: str, err) -> Any:
    try:
        return param.check(value)
    except ParameterError as exc:
        raise err(f"{what}: {exc}") from None


def _parse_varied(name: str, param: Param, table: dict[str, Any], method: str, err) -> Varied:
    _check_keys(table, _VARY_KEYS, "", err)
    given = [k for k in ("values", "range", "distribution") if k in table]
    if len(given) != 1:
        raise err("give exactly one of values, range or distribution"
                  + (f" (got {', '.join(given)})" if given else ""))
    kind = given[0]
    numeric = param.type in (int, float)
    extra = set(table) - {kind}
    if kind == "values":
        if extra:
            raise err(f"{sorted(extra)[0]} does not go with values")
        values = table["values"]
        if not isinstance(values, list) or not values:
            raise err("values must be a non-empty list")
        checked = tuple(_check_value(param, v, "values", err) for v in values)
        if len(set(checked)) != len(checked):
            dup = next(v for v in checked if checked.count(v) > 1)
            raise err(f"values lists {_fmt(dup)} twice")
        return Varied(name, "values", values=checked)

    if not numeric:
        raise err(f"{name} is {'true/false' if param.type is bool else 'a choice'} "
                  f"({param.allowed()}): give values = [...]")
    if kind == "range":
        rng = table["range"]
        if (not isinstance(rng, list) or len(rng) != 2
                or not all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in rng)):
            raise err(f"range must be [low, high], got {rng!r}")
        low = _check_value(param, rng[0], "range", err)
        high = _check_value(param, rng[1], "range", err)
        if not low < high:
            raise err(f"range [{_fmt(low)}, {_fmt(high)}] must have low < high")
        bad = extra - {"steps", "step"}
        if bad:
            raise err(f"{sorted(bad)[0]} does not go with range")
        if method != "grid":
            if extra:
                raise err(f"{sorted(extra)[0]} only applies to the grid design; the {method} "
                          "design samples the range")
            return Varied(name, "range", low=low, high=high, distribution="uniform")
        if len(extra) != 1:
            raise err("a range in a grid needs steps = n (evenly spaced values, ends included) "
                      "or step = size" + (", not both" if extra else ""))
        if "steps" in table:
            steps = _int(table["steps"], "steps", err, minimum=2)
            if steps > MAX_VALUES:
                raise err(f"steps={steps:,} is more than {MAX_VALUES:,} values: choose fewer steps")
            grid = np.linspace(low, high, steps)
        else:
            step = table["step"]
            if isinstance(step, bool) or not isinstance(step, (int, float)) or not step > 0:
                raise err(f"step must be a number above 0, got {step!r}")
            n = math.floor((high - low) / step + 1e-9)
            if n + 1 > MAX_VALUES:
                raise err(f"step={_fmt(step)} gives {n + 1:,} values from {_fmt(low)} to {_fmt(high)}, "
                          f"more than {MAX_VALUES:,}: choose a larger step")
            grid = low + step * np.arange(n + 1)
        if param.type is int:
            vals = tuple(dict.fromkeys(int(round(x)) for x in grid))
        else:
            vals = tuple(float(f"{x:.12g}") for x in grid)
        vals = tuple(_check_value(param, v, "range", err) for v in vals)
        return Varied(name, "range", values=vals, low=low, high=high, distribution="uniform")

    # distribution
    if method == "grid":
        raise err("the grid design cannot use a distribution; give values or a range with steps")
    dist = table["distribution"]
    if dist not in DISTRIBUTIONS:
        raise err(f"distribution {dist!r} is not one of {', '.join(DISTRIBUTIONS)}")
    needed = DISTRIBUTIONS[dist]
    bad = extra - set(needed)
    if bad:
        raise err(f"{sorted(bad)[0]} does not go with the {dist} distribution (it takes {', '.join(needed)})")
    missing = [k for k in needed if k not in table]
    if missing:
        if dist == "normal" and set(missing) & {"low", "high"}:
            raise err(f"a normal distribution is unbounded and would leave the allowed range "
                      f"{param.allowed()}; give low and high to truncate it inside that range")
        raise err(f"the {dist} distribution needs {', '.join(missing)}")
    nums = {k: _number(table[k], k, err) for k in needed}
    low = _check_value(param, nums["low"], "low", err)
    high = _check_value(param, nums["high"], "high", err)
    if not low < high:
        raise err(f"low={_fmt(low)} must be below high={_fmt(high)}")
    options: dict[str, float] = {}
    if dist == "loguniform" and not low > 0:
        raise err(f"a loguniform distribution needs low > 0, got {_fmt(low)}")
    if dist == "triangular":
        mode = nums["mode"]
        if not low <= mode <= high:
            raise err(f"mode={_fmt(mode)} must lie between low={_fmt(low)} and high={_fmt(high)}")
        options["mode"] = mode
    if dist == "normal":
        if not nums["sd"] > 0:
            raise err(f"sd must be above 0, got {_fmt(nums['sd'])}")
        options.update(mean=nums["mean"], sd=nums["sd"])
    return Varied(name, "distribution", low=float(low), high=float(high), distribution=dist,
                  options=options)
