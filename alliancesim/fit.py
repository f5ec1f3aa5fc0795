"""Fitting the parameters to the calibration targets: likelihood-free inference by ABC-SMC.

The model has no likelihood one could write down, so the fit is Approximate Bayesian
Computation with Sequential Monte Carlo (Toni et al. 2009; Beaumont et al. 2009), run by
pyabc (Schälte et al. 2022), a maintained library with a multicore and a Dask sampler:

* **free parameters**: :data:`FREE_PARAMETERS`, each with a uniform prior on a range inside the
  registry's allowed range (:data:`alliancesim.params.REGISTRY`), narrowed where the registry's
  range is far wider than any plausible clinic (the reason is written beside each);
* **summary statistics** of a particle (one parameter set): every target of
  :data:`alliancesim.targets.TARGETS`, measured by :func:`alliancesim.calibration.run_seed` on
  ``fit_seeds`` runs (seeds 1..k, the same for every particle: common random numbers make the
  distance a smoother function of the parameters) and averaged over them;
* **distance**: the root mean square, over the targets that enter the fit (``Target.fit``), of
  each target's deviation from its published value (or its band's middle) in units of its
  band's half-width; a target a particle cannot measure (no course long enough) counts
  :data:`MISSING_DEVIATION` half-widths.  A distance of 1 is on average at a band's edge;
* **output** (written to a new folder that appears only when complete): the posterior of each
  parameter (weighted mean, median, 90 % interval) from the last generation, that generation's
  particles, the calibration table of the *estimate* on ``table_seeds`` seeds, ``fit_info.json``
  (settings, epsilon per generation, run time, the candidates for the estimate) and pyabc's
  history database ``abc.db``;
* **the estimate** (the point the registry defaults take): with few seeds per particle the
  smallest distance partly picks lucky seeds, and the means of a wide posterior taken one
  parameter at a time ignore how the parameters trade off; so the ``refine`` particles of the
  last generation with the smallest distances, and the posterior mean, are each measured again
  on ``table_seeds`` seeds, and the one with the smallest distance there is the estimate.

``alliancesim calibrate --fit`` runs it; ``--dask ADDRESS`` evaluates particles on a Dask
cluster.  The fit is reproducible from its ``seed`` with any number of jobs or Dask workers:
:class:`OrderedSampler` accepts particles in a fixed order (pyabc's own parallel samplers accept
them in the order they finish).
"""

from __future__ import annotations

import functools
import json
import logging
import math
import os
import shutil
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .params import REGISTRY, ParameterError
from .targets import TARGETS

#: Deviation (in band half-widths) counted for a target a particle cannot measure.
MISSING_DEVIATION = 10.0
#: Quantiles of the posterior interval (a 90 % interval).
INTERVAL = (0.05, 0.95)


@dataclass(frozen=True)
class FreeParameter:
    """A parameter the fit searches, with its prior range (uniform) and why it is free."""

    name: str
    low: float
    high: float
    why: str


#: The parameters the fit searches, with uniform priors.  Ranges are the registry's unless a
#: narrower one is given with its reason.  Each is chosen because it moves one or more targets.
FREE_PARAMETERS: tuple[FreeParameter, ...] = (
    FreeParameter("distress_effect", 0.02, 0.6,
                  "relief per session: Howard's curve, the course SMD; narrowed from 0-1 because above 0.6 "
                  "a single session removes most distress (Moyer et al. 2004: it does not)"),
    FreeParameter("remoralisation", 0.0, 5.0, "early relief before the alliance is built: improvement by "
                  "session 8 and the shape of Howard's curve"),
    FreeParameter("alliance_outcome_weight", 0.0, 6.0, "how much the alliance speeds change: the "
                  "alliance-outcome r"),
    FreeParameter("trait_sd", 0.0, 0.5, "spread of therapist traits: the therapist share of variance"),
    FreeParameter("harm_effect", 0.0, 5.0, "distress a misattuned session adds: deterioration"),
    FreeParameter("dropout_base", 0.0, 0.03,
                  "dropout hazard per session: the dropout share; narrowed from 0-1 because 0.03 per "
                  "session already loses over half of clients within 26 sessions"),
)


def check_free_parameters(free: Sequence[FreeParameter] = FREE_PARAMETERS) -> None:
    """Raise :class:`ParameterError` if a free parameter is not a registered number or its prior
    leaves the registry's range (e.g. after a parameter was renamed)."""
    for p in free:
        reg = REGISTRY.get(p.name)
        if reg is None:
            raise ParameterError(f"free parameter {p.name!r} is not a model parameter (see 'alliancesim params')")
        if reg.type is not float:
            raise ParameterError(f"free parameter {p.name!r} is {reg.type.__name__}, the fit needs a float")
        if not (reg.low <= p.low < p.high <= reg.high):
            raise ParameterError(f"free parameter {p.name}: prior {p.low:g} to {p.high:g} is not inside its "
                                 f"allowed range {reg.allowed()}")


def distance(summary: Mapping[str, float], _observed: Mapping[str, float] | None = None) -> float:
    """Root mean square deviation of ``summary`` from the targets, in band half-widths.

    Parameters
    ----------
    summary : ``{target name: value}`` (values for targets with ``fit`` false are ignored).
    _observed : ignored (pyabc passes the observed data; the targets are fixed).
    """
    dev = []
    for t in TARGETS:
        if not t.fit:
            continue
        x = summary.get(t.name, math.nan)
        x = float(x) if x is not None else math.nan
        dev.append((x - t.centre) / t.half_width if math.isfinite(x) else MISSING_DEVIATION)
    return float(math.sqrt(sum(d * d for d in dev) / len(dev)))


def observed() -> dict[str, float]:
    """The "observed data" given to pyabc: each target's value to aim at."""
    return {t.name: t.centre for t in TARGETS if t.fit}


@dataclass
class Simulator:
    """A particle's summary statistics: the targets averaged over ``seeds`` (picklable for workers)."""

    seeds: tuple[int, ...]
    years: float | None

    def __call__(self, parameters: Mapping[str, float]) -> dict[str, float]:
        from .calibration import SeedTask, run_seed

        overrides = tuple(sorted((k, float(v)) for k, v in parameters.items()))
        rows = [run_seed(SeedTask(s, self.years, overrides)) for s in self.seeds]
        out = {}
        for t in TARGETS:
            x = np.asarray([r[t.name] for r in rows], dtype=float)
            x = x[np.isfinite(x)]
            out[t.name] = float(x.mean()) if x.size else math.nan
        return out


@dataclass
class FitSettings:
    """Everything that decides a fit (written to ``fit_info.json``)."""

    population: int = 200
    generations: int = 8
    fit_seeds: int = 3
    years: float | None = 10.0
    table_seeds: int = 20
    jobs: int = 1
    seed: int = 1
    min_epsilon: float = 0.0
    dask: str | None = None
    free: tuple[FreeParameter, ...] = field(default=FREE_PARAMETERS)
    #: The estimate (the point the defaults take): of the final generation, this many particles
    #: with the smallest distance on their ``fit_seeds``, and the posterior mean, are each measured
    #: again on ``table_seeds`` seeds; the one closest to the targets there is the estimate.
    refine: int = 8
    #: None: each prior is the free parameter's whole range.  A share w in (0, 1]: a local fit,
    #: each prior a window w times as wide as that range, centred on the current default (and
    #: moved inside the range where it would stick out): it refines the defaults and measures
    #: their uncertainty at a small fraction of a full fit's cost.
    prior_width: float | None = None

    def priors(self) -> tuple[FreeParameter, ...]:
        """The free parameters with the priors this fit uses (see ``prior_width``)."""
        if self.prior_width is None:
            return tuple(self.free)
        out = []
        for p in self.free:
            width = self.prior_width * (p.high - p.low)
            low = min(max(p.low, float(REGISTRY[p.name].default) - width / 2), p.high - width)
            out.append(FreeParameter(p.name, low, low + width,
                                     f"{p.why} (local fit: {self.prior_width:g} of {p.low:g} to {p.high:g}, "
                                     f"centred on the default)"))
        return tuple(out)

    def check(self) -> None:
        """Raise :class:`ParameterError` naming the first setting out of range."""
        for name, value, low in (("population", self.population, 2), ("generations", self.generations, 1),
                                 ("fit_seeds", self.fit_seeds, 1), ("table_seeds", self.table_seeds, 2),
                                 ("refine", self.refine, 0),
                                 ("jobs", self.jobs, 1)):
            if value < low:
                raise ParameterError(f"{name}={value} is out of range: allowed {low} or more")
        if self.seed < 0:
            raise ParameterError(f"seed={self.seed} is out of range: allowed 0 or more")
        if self.min_epsilon < 0 or not math.isfinite(self.min_epsilon):
            raise ParameterError(f"min_epsilon={self.min_epsilon} is out of range: allowed 0 or more")
        if self.prior_width is not None and not (0.0 < self.prior_width <= 1.0):
            raise ParameterError(f"prior_width={self.prior_width} is out of range: allowed above 0 up to 1 "
                                 "(share of each free parameter's range)")
        check_free_parameters(self.free)
        if self.years is not None:
            REGISTRY["years"].check(self.years)


def time_one_particle(settings: FitSettings) -> float:
    """Seconds one particle takes here (the default parameters, ``fit_seeds`` seeds)."""
    started = time.perf_counter()
    Simulator(tuple(range(1, settings.fit_seeds + 1)), settings.years)({})
    return time.perf_counter() - started


def estimate_text(settings: FitSettings, seconds: float) -> str:
    """A rough run-time estimate for a fit from one particle's time.

    A generation needs ``population`` accepted particles; as epsilon shrinks, acceptance falls
    (typically from about 1/2 to 1/10), so a generation costs about 2-10 populations of particle
    evaluations, plus one calibration population before the first generation.
    """
    workers = settings.jobs if settings.dask is None else None
    per = seconds / (workers or 1)
    low = settings.population * (1 + 2 * settings.generations) * per
    high = settings.population * (1 + 10 * settings.generations) * per
    table = (settings.refine + 1) * settings.table_seeds * seconds / settings.fit_seeds / (workers or 1)
    who = f"{workers} job{'s' if workers != 1 else ''}" if workers else "one Dask worker (divide by their number)"
    return (f"one particle takes {seconds:.1f} s ({settings.fit_seeds} seed(s) x 2 runs of "
            f"{settings.years or 'the preset'} years); with {who}, expect roughly "
            f"{_duration(low)} to {_duration(high)} for {settings.generations} generation(s) of "
            f"{settings.population}, then {_duration(table)} to choose the estimate")


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def _evaluate(simulate_one, seed: int):
    """One particle evaluation with numpy's global generator (pyabc's) seeded for this index."""
    np.random.seed(seed)
    return simulate_one()


def _evaluate_pickled(payload: bytes, seed: int):
    """:func:`_evaluate` in a local worker process; pyabc's closure comes cloudpickled."""
    import cloudpickle

    return _evaluate(cloudpickle.loads(payload), seed)


class OrderedSampler:
    """pyabc sampler that gives the same fit with any number of workers, local or on Dask.

    pyabc's own parallel samplers accept particles in the order they finish, so a fit depends
    on timing.  Here evaluation ``i`` of generation ``t`` draws its parameters with numpy's
    generator seeded from ``(seed, t, i)``; evaluations run in parallel batches, and the
    generation takes the first ``n`` accepted *in index order*.  Which particles are accepted,
    and how many evaluations it took, therefore depend on the seed only; the batch size (from
    the acceptance rate so far and the number of workers) changes only how many evaluations past
    the ``n``-th acceptance are computed and dropped.
    """

    def __new__(cls, *args, **kwargs):
        return object.__new__(_with_pyabc_sampler(cls))

    def __init__(self, seed: int, workers: int = 1, client=None):
        import pyabc

        pyabc.sampler.Sampler.__init__(self)
        self.seed, self.workers, self.client = seed, workers, client
        self._pool = None

    def _seeds(self, t: int, start: int, count: int) -> list[int]:
        """numpy seeds of evaluations ``start .. start + count - 1`` of generation ``t`` (-1: pyabc's
        calibration sample): each from ``(seed, t, index)`` alone."""
        return [int(np.random.SeedSequence([self.seed, t + 1, i]).generate_state(1, dtype=np.uint32)[0])
                for i in range(start, start + count)]

    def _map(self, simulate_one, seeds: list[int]) -> list:
        if self.client is not None:
            futures = self.client.map(_evaluate, [simulate_one] * len(seeds), seeds, pure=False)
            return self.client.gather(futures)
        if self.workers == 1 or len(seeds) == 1:
            state = np.random.get_state()  # leave this process's generator as a worker process would
            try:
                return [_evaluate(simulate_one, s) for s in seeds]
            finally:
                np.random.set_state(state)
        import cloudpickle

        if self._pool is None:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            # Not fork: the fitting process may have threads (pyabc's database, a Dask client).
            methods = multiprocessing.get_all_start_methods()
            context = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
            from .calibration import settle_worker

            self._pool = ProcessPoolExecutor(self.workers, mp_context=context, initializer=settle_worker)
        payload = cloudpickle.dumps(simulate_one)
        return list(self._pool.map(_evaluate_pickled, [payload] * len(seeds), seeds))

    def stop(self) -> None:
        """Shut the local worker processes down (the fit calls this at its end)."""
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None

    def sample_until_n_accepted(self, n, simulate_one, t, *, max_eval=np.inf, all_accepted=False, ana_vars=None):
        sample = self._create_empty_sample()
        index, evaluations, accepted = 0, 0, 0
        parallel = self.workers if self.client is None else max(1, len(self.client.nthreads()))
        while accepted < n and evaluations < max_eval:
            rate = (accepted + 1) / (evaluations + 2)  # a cautious estimate of the acceptance rate
            batch = max(parallel, min(4 * n, int(math.ceil((n - accepted) / rate))))
            batch = int(math.ceil(batch / parallel) * parallel)
            seeds = self._seeds(t, index, batch)
            for particle in self._map(simulate_one, seeds):
                if accepted >= n or evaluations >= max_eval:
                    break  # evaluations past the n-th acceptance are dropped: the result does not depend on them
                sample.append(particle)
                evaluations += 1
                accepted += bool(particle.accepted)
            index += batch
        self.nr_evaluations_ = evaluations
        if accepted < n:
            sample.ok = False
        return sample


@functools.cache
def _with_pyabc_sampler(cls: type) -> type:
    """``cls`` as a subclass of pyabc's Sampler, made once: pyabc is imported only when a fit runs."""
    import pyabc

    return type(cls.__name__, (cls, pyabc.sampler.Sampler), {"__module__": cls.__module__})


def _sampler(settings: FitSettings, client=None):
    """The sampler for these settings (``client``: a connected Dask client for ``--dask``)."""
    return OrderedSampler(settings.seed, workers=settings.jobs, client=client)


def posterior_table(particles: pd.DataFrame, weights: np.ndarray,
                    free: Sequence[FreeParameter] = FREE_PARAMETERS) -> pd.DataFrame:
    """Per free parameter: default, prior range, weighted posterior mean, median and 90 % interval."""
    from pyabc.weighted_statistics import weighted_mean, weighted_quantile

    w = np.asarray(weights, dtype=float) / np.sum(weights)
    rows = []
    for p in free:
        x = particles[p.name].to_numpy(dtype=float)
        rows.append({"parameter": p.name, "default": float(REGISTRY[p.name].default), "prior_low": p.low,
                     "prior_high": p.high, "mean": float(weighted_mean(x, w)),
                     "median": float(weighted_quantile(x, w, alpha=0.5)),
                     "q05": float(weighted_quantile(x, w, alpha=INTERVAL[0])),
                     "q95": float(weighted_quantile(x, w, alpha=INTERVAL[1]))})
    return pd.DataFrame(rows)


def posterior_markdown(post: pd.DataFrame, digits: int = 4) -> str:
    """The posterior table as Markdown."""
    from .calibration import fmt

    lines = ["| parameter | default when fitted | prior (uniform) | posterior mean | median | 90 % interval |",
             "|---|---|---|---|---|---|"]
    for r in post.itertuples():
        lines.append(f"| `{r.parameter}` | {fmt(r.default, digits)} | {fmt(r.prior_low, digits)} to "
                     f"{fmt(r.prior_high, digits)} | {fmt(r.mean, digits)} | {fmt(r.median, digits)} | "
                     f"{fmt(r.q05, digits)} to {fmt(r.q95, digits)} |")
    return "\n".join(lines) + "\n"


def _prepare_out(out: Path) -> Path:
    """A temporary folder beside ``out`` (which must not exist yet or be an empty folder)."""
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ParameterError(f"output folder {str(out)!r} already exists and is not empty: choose a new one")
    out.parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".partial", dir=out.parent))


def fit(settings: FitSettings, out: str | Path, log=print) -> dict[str, Any]:
    """Run the ABC-SMC fit and write its results to the new folder ``out``.

    Parameters
    ----------
    settings : sizes, seeds, workers (checked first).
    out : folder to create; it appears, complete, only at the end.
    log : where progress lines go.

    Returns
    -------
    The contents of ``fit_info.json``.

    Raises
    ------
    alliancesim.params.ParameterError
        For a bad setting, a free parameter the model does not have, or an existing ``out``.
    """
    settings.check()
    import pyabc

    from . import __version__
    from .calibration import calibrate, markdown, write_csv, write_text
    from .runner import code_fingerprint

    out = Path(out)
    tmp = _prepare_out(out)
    client = sampler = None
    try:
        started = time.perf_counter()
        seconds = time_one_particle(settings)
        log(estimate_text(settings, seconds))
        np.random.seed(settings.seed)  # pyabc draws from numpy's global generator
        free = settings.priors()
        prior = pyabc.Distribution(**{p.name: pyabc.RV("uniform", p.low, p.high - p.low) for p in free})
        simulator = Simulator(tuple(range(1, settings.fit_seeds + 1)), settings.years)
        if settings.dask is not None:
            from distributed import Client

            client = Client(settings.dask, set_as_default=False, timeout="20s")
        sampler = _sampler(settings, client)
        abc = pyabc.ABCSMC(simulator, prior, distance, population_size=settings.population,
                           sampler=sampler)
        logging.getLogger("ABC").setLevel(logging.INFO)
        abc.new("sqlite:///" + str(tmp / "abc.db"), observed())
        history = abc.run(max_nr_populations=settings.generations, minimum_epsilon=settings.min_epsilon)
        fitted_seconds = time.perf_counter() - started

        particles, weights = history.get_distribution(m=0, t=history.max_t)
        particles = particles.reset_index(drop=True)
        post = posterior_table(particles, weights, free)
        population = history.get_population(t=history.max_t)
        candidates = [("particle", float(p.distance), {k: float(v) for k, v in p.parameter.items()})
                      for p in sorted(population.particles, key=lambda p: p.distance)[:settings.refine]]
        candidates.append(("posterior mean", math.nan, {r.parameter: float(r.mean) for r in post.itertuples()}))
        log(f"the estimate: re-measuring {len(candidates)} candidates on {settings.table_seeds} seeds each")
        refined = []
        for kind, fit_distance, params in candidates:
            cal = calibrate(seeds=tuple(range(1, settings.table_seeds + 1)), years=settings.years,
                            jobs=settings.jobs if settings.dask is None else 1, overrides=params)
            table_distance = distance(dict(zip(cal.table["target"], cal.table["model"], strict=True)))
            refined.append({"candidate": kind, "fit_distance": fit_distance, "table_distance": table_distance,
                            "parameters": params, "_table": cal})
        chosen = min(refined, key=lambda r: r["table_distance"])
        table, best_params = chosen["_table"], chosen["parameters"]
        eps = history.get_all_populations()
        info = {
            "alliancesim_version": __version__,
            "code_fingerprint": code_fingerprint(),
            "pyabc_version": pyabc.__version__,
            "settings": {k: v for k, v in vars(settings).items() if k != "free"},
            "free_parameters": [vars(p) for p in free],
            "targets_in_distance": [t.name for t in TARGETS if t.fit],
            "generations_run": int(history.max_t + 1),
            "epsilon": [float(e) for e in eps.loc[eps["t"] >= 0, "epsilon"]],
            "evaluations": int(history.total_nr_simulations),
            "estimate": chosen["candidate"],
            "best_distance": chosen["table_distance"],
            "best_parameters": best_params,
            "refined": [{k: v for k, v in r.items() if k != "_table"} for r in refined],
            "seconds_per_particle": round(seconds, 2),
            "seconds": round(time.perf_counter() - started, 1),
            "seconds_fitting": round(fitted_seconds, 1),
        }
        last = particles.copy()
        last["weight"] = np.asarray(weights, dtype=float)
        write_csv(post, tmp / "posterior.csv")
        write_text(posterior_markdown(post), tmp / "posterior.md")
        write_csv(last, tmp / "particles.csv")
        write_csv(table.table, tmp / "best_calibration.csv")
        write_csv(table.curve, tmp / "best_dose_response.csv")
        write_text(markdown(table.table), tmp / "best_calibration.md")
        write_text(json.dumps(info, indent=2) + "\n", tmp / "fit_info.json")
        os.chmod(tmp, 0o777 & ~_umask())
        os.replace(tmp, out)  # the folder appears complete, or not at all
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    finally:
        if sampler is not None:
            sampler.stop()
        if client is not None:
            client.close()
    return info


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
