"""The model as the dashboard runs it, and what the controls hand to it.

Reset (:mod:`alliancesim.dashboard.controller`) builds a new model from the
browser session's :class:`Settings`, so it reads whatever the controls say at
that moment (preset, parameter values, seed) instead of a copy taken at start-up.
"""

from __future__ import annotations

import functools
import random
import threading
import weakref
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import solara

from .. import presets
from ..model import AllianceModel
from ..params import REGISTRY, ParameterError, Params, validate
from ..streams import SEED_LIMIT, check_seed

#: The largest seed a person can type: the model's own limit, so any run's or sweep's seed fits.
SEED_MAX = SEED_LIMIT - 1


@functools.cache
def preset(name: str) -> presets.Preset:
    """A shipped preset, read once (the page asks for titles and values at every redraw)."""
    return presets.load(name)


@dataclass(frozen=True)
class RunSpec:
    """Everything needed to start a run: where the values came from, the values, the seed."""

    preset: str
    params: Params
    seed: int

    @functools.cached_property
    def title(self) -> str:
        """The preset's title, saying how many values differ from it (never a preset's name alone
        on values that are not the preset's)."""
        base = preset(self.preset).validated().as_dict()
        changed = sum(1 for name, value in self.params.as_dict().items() if base.get(name) != value)
        if not changed:
            return preset(self.preset).title
        return f"{preset(self.preset).title} ({changed} value{'s' if changed != 1 else ''} changed)"


def parse_seed(text: Any) -> int:
    """A seed from a control or the address: a whole number from 0 to SEED_MAX, or ParameterError.

    The range is the model's (:func:`alliancesim.streams.check_seed`), so any seed a run or a
    sweep used can be typed in; ``"3.0"`` is read as 3.
    """
    raw = str(text).strip()
    try:
        seed = int(raw)
    except ValueError:
        try:
            value = float(raw)
            if not value.is_integer():
                raise ValueError
            seed = int(value)
        except (TypeError, ValueError, OverflowError):
            raise ParameterError(f"seed={text!r} is not a whole number: allowed 0 to {SEED_MAX}") from None
    return check_seed(seed)


class Settings:
    """What the controls say, for one browser session (every field is reactive).

    * ``preset``: name of the preset the values were loaded from;
    * ``values``: one value per registry parameter, as last accepted from a control;
    * ``unreadable``: parameter -> message, for text a control could not turn into a
      value (the value stays at the last good one);
    * ``seed``: the seed the next reset uses.

    A combination the registry rejects stays in ``values`` so the person can fix it;
    :meth:`problem` says what is wrong and :meth:`next_run` falls back to the last
    valid settings, so Reset never fails.
    """

    def __init__(self, preset_name: str = "default", seed: int = 1) -> None:
        loaded = preset(preset_name)
        params = loaded.validated()
        self.preset = solara.reactive(loaded.name)
        self.values = solara.reactive(params.as_dict())
        self.unreadable: solara.Reactive[dict[str, str]] = solara.reactive({})
        self.seed = solara.reactive(parse_seed(seed))
        self._last_good = RunSpec(loaded.name, params, self.seed.value)

    # ---------------------------------------------------------------- changes
    def load_preset(self, name: str) -> None:
        """Put a preset's values into the controls (the seed stays)."""
        loaded = preset(name)
        self.values.set(loaded.validated().as_dict())
        self.unreadable.set({})
        self.preset.set(loaded.name)
        self._remember()

    def set_value(self, name: str, value: Any) -> None:
        """Accept a control's value, or remember why it cannot be read."""
        param = REGISTRY[name]
        try:
            checked = param.check(value)
        except ParameterError as exc:
            self.unreadable.set({**self.unreadable.value, name: str(exc)})
            return
        self.unreadable.set({k: v for k, v in self.unreadable.value.items() if k != name})
        self.values.set({**self.values.value, name: checked})
        self._remember()

    def set_seed(self, text: Any) -> None:
        try:
            seed = parse_seed(text)
        except ParameterError as exc:
            self.unreadable.set({**self.unreadable.value, "seed": str(exc)})
            return
        self.unreadable.set({k: v for k, v in self.unreadable.value.items() if k != "seed"})
        self.seed.set(seed)
        self._remember()

    def new_seed(self) -> None:
        self.set_seed(random.SystemRandom().randrange(1, 100_000))

    # ---------------------------------------------------------------- reading
    def problem(self) -> str | None:
        """The first thing that stops these settings from running (the registry's message), or None."""
        unreadable = self.unreadable.value
        if unreadable:
            return next(iter(unreadable.values()))
        try:
            validate(self.values.value)
        except ParameterError as exc:
            return str(exc)
        return None

    def spec(self) -> RunSpec | None:
        """The run these settings describe, or None while they are invalid."""
        if self.problem() is not None:
            return None
        return RunSpec(self.preset.value, validate(self.values.value), self.seed.value)

    def _remember(self) -> None:
        spec = self.spec()
        if spec is not None:
            self._last_good = spec

    def next_run(self) -> RunSpec:
        """What Reset starts: these settings, or the last valid ones while these are invalid."""
        self._remember()
        return self._last_good

    def edited(self) -> list[str]:
        """Parameters whose value differs from the loaded preset's."""
        base = preset(self.preset.value).validated().as_dict()
        return [name for name, value in self.values.value.items() if base.get(name) != value]


#: Every dashboard model not yet freed (for the memory check in ``benchmarks/dashboard_memory.py``).
LIVE_MODELS: weakref.WeakSet = weakref.WeakSet()


class DashboardClinic(AllianceModel):
    """An AllianceModel built from a browser session's settings, safe to draw while it plays.

    The clock steps the model in a worker thread while the page may read it from
    another, so a step holds ``lock`` and views read the model under it.  A step at
    the horizon does nothing (``running`` becomes False): neither the week nor
    Mesa's step counter moves, and nothing enters the tables.
    """

    def __init__(self, settings: Settings | Mapping[str, Any] | None = None) -> None:
        if isinstance(settings, Settings):
            spec = settings.next_run()
        else:
            spec = RunSpec("default", validate(settings or preset("default").params), 1)
        self.lock = threading.RLock()
        self.spec = spec
        super().__init__(spec.params, rng=spec.seed)
        # Mesa's __init__ replaced ``step`` with its own wrapper, which counts a step and then
        # calls ours: refuse before it counts, so a step at the horizon changes nothing at all.
        self._mesa_step = self.step
        self.step = self._step_within_horizon
        LIVE_MODELS.add(self)

    def _step_within_horizon(self) -> None:
        if self.week >= self.horizon:
            self.running = False  # the run is over: nothing happens, nothing is recorded
            return
        with self.lock:
            self._mesa_step()
