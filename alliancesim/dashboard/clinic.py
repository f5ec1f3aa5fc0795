"""The model as the dashboard runs it, and what the controls hand to it.

Mesa's SolaraViz rebuilds the model on *Reset* by calling
``type(model)(**model_params)``.  We give it one fixed parameter, the browser
session's :class:`Settings`, so a reset reads whatever the controls say at that
moment (preset, parameter values, seed) instead of a copy taken at start-up.
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

#: Seeds a person can type: numpy and the stdlib accept any non-negative int; keep it readable.
SEED_MAX = 2**32 - 1
#: Longest a step waits for the page to finish drawing the previous week (then it goes ahead).
PAGE_WAIT_SECONDS = 3.0


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

    @property
    def title(self) -> str:
        return preset(self.preset).title


def parse_seed(text: Any) -> int:
    """A seed from a control: a whole number from 0 to SEED_MAX, or ParameterError."""
    try:
        value = float(str(text).strip())
        if not value.is_integer():
            raise ValueError
        seed = int(value)
    except (TypeError, ValueError, OverflowError):
        raise ParameterError(f"seed={text!r} is not a whole number: allowed 0 to {SEED_MAX}") from None
    if not 0 <= seed <= SEED_MAX:
        raise ParameterError(f"seed={seed} is out of range: allowed 0 to {SEED_MAX}")
    return seed


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


class DashboardClinic(AllianceModel):
    """An AllianceModel built from a browser session's settings, safe to draw while it plays.

    SolaraViz steps the model in a worker thread while the page may redraw from
    another, so a step holds ``lock`` and views read the model under it.

    A step also waits until the page has finished drawing the week before.  When
    SolaraViz plays faster than the page can draw (a short Play Interval, a slow
    computer), the thread that draws would otherwise be handed a new week before
    it finished the last, again and again, until Solara stops the page with "Too
    many renders triggered".  Waiting makes play as fast as drawing allows, no faster.
    """

    def __init__(self, settings: Settings | Mapping[str, Any] | None = None) -> None:
        if isinstance(settings, Settings):
            spec = settings.next_run()
        else:
            spec = RunSpec("default", validate(settings or preset("default").params), 1)
        self.lock = threading.RLock()
        self.spec = spec
        self._page = None  # weak reference to the page's render context, once it draws this model
        super().__init__(spec.params, rng=spec.seed)

    def attach_page(self, render_context) -> None:
        """Called by the page that draws this model (see :meth:`step`)."""
        self._page = weakref.ref(render_context) if render_context is not None else None

    def _wait_for_page(self) -> None:
        page = self._page() if self._page is not None else None
        drawing = getattr(page, "thread_lock", None)  # held while the page renders
        if drawing is not None and drawing.acquire(timeout=PAGE_WAIT_SECONDS):
            drawing.release()

    def step(self) -> None:
        self._wait_for_page()
        with self.lock:
            super().step()
