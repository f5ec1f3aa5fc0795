"""Reset, play, pause and step: one browser session's clock, in a trainer's words.

This replaces Mesa's SolaraViz controller, for three reasons a classroom meets:

* **Cost.** SolaraViz re-renders the whole page after every week (about 50 ms of
  server time per week per student even with nothing on screen changing).  Here a
  week only refreshes the views on screen (:mod:`alliancesim.dashboard.live`).
* **The end of the run.** With "Render Interval" above 1, SolaraViz stepped past
  the end ("week 294 of 260").  Here every advance is clamped to the horizon, and
  play stops there.
* **Words.** "Weeks per update" and "Pause between updates" instead of "Render
  Interval (steps)" and "Play Interval (ms)"; no "Use Threads".

A Reset while the settings cannot run does not start anything: it says why, and
the clinic on screen stays as it was.
"""

from __future__ import annotations

import threading
import time

import solara

from .clinic import DashboardClinic, Settings
from .live import LiveHTML, LiveHub

#: Default pause between updates while playing, in milliseconds.
PLAY_PAUSE_MS = 200
#: Pause slider range, ms.
PAUSE_MIN_MS, PAUSE_MAX_MS = 0, 1000
#: Weeks per update slider range (a year at most: one update still shows one week's state).
WEEKS_PER_UPDATE_MAX = 52
#: While playing, slow pictures (matplotlib) are redrawn at most this often, seconds.
SLOW_VIEW_INTERVAL = 0.5


class Clock:
    """The session's clinic, whether it plays, and the views to refresh after a week.

    ``generation`` (bumped by Reset), ``playing``, ``weeks_per_update``, ``pause_ms``,
    ``message`` and ``finished`` are reactive values owned by the page
    (``solara.use_reactive``).  The model itself is a plain attribute, dropped by
    :meth:`close` when the browser session ends: Solara may keep a closed session's
    widgets (and so this clock) a while, but never its model.
    """

    def __init__(self, settings: Settings, model: DashboardClinic, generation: solara.Reactive,
                 playing: solara.Reactive, weeks_per_update: solara.Reactive, pause_ms: solara.Reactive,
                 message: solara.Reactive, finished: solara.Reactive) -> None:
        self.settings = settings
        self._model: DashboardClinic | None = model
        self.generation = generation
        self.playing = playing
        self.weeks_per_update = weeks_per_update
        self.pause_ms = pause_ms
        self.message = message
        self.finished = finished
        self.hub = LiveHub()
        self._advancing = threading.Lock()  # one advance at a time (Step and Play never overlap)

    # ------------------------------------------------------------------ reading
    @property
    def model(self) -> DashboardClinic:
        """The clinic on screen (components that show it read ``generation`` to follow Reset)."""
        if self._model is None:
            raise RuntimeError("this browser session has closed")
        return self._model

    @property
    def at_end(self) -> bool:
        model = self._model
        return model is None or model.week >= model.horizon

    def close(self) -> None:
        """The browser session ended: stop, and let go of the model and the views."""
        self._model = None
        self.hub.clear()

    # ------------------------------------------------------------------ actions
    def advance(self, weeks: int | None = None, force: bool = True) -> int:
        """Run up to ``weeks`` weeks (default: the weeks-per-update setting), never past the
        horizon, then refresh the views on screen; returns the weeks run."""
        with self._advancing:
            model = self._model
            if model is None:
                return 0
            wanted = self.weeks_per_update.value if weeks is None else weeks
            n = max(0, min(int(wanted), model.horizon - model.week))
            for _ in range(n):
                model.step()
            at_end = model.week >= model.horizon
        self.hub.refresh(force=force or at_end)
        if at_end and not self.finished.value:
            self.finished.set(True)
        return n

    def step(self) -> None:
        self.message.set(None)
        self.advance()

    def play_pause(self) -> None:
        self.message.set(None)
        self.playing.set(not self.playing.value and not self.at_end)

    def reset(self) -> None:
        """A new run with the settings, or a message saying why they cannot run."""
        problem = self.settings.problem()
        if problem:
            self.message.set(f"Reset did not start a new run: {problem}. Fix the value (or press "
                             "Restore preset) and press Reset again. The clinic on screen is unchanged.")
            return
        self.playing.set(False)
        with self._advancing:
            self._model = DashboardClinic(self.settings)
        self.generation.set(self.generation.value + 1)
        self.finished.set(False)
        self.message.set(None)

    def play_loop(self, cancel: threading.Event) -> None:
        """While playing: an update, a pause, an update...; stops at the end of the run."""
        if not self.playing.value:
            return
        while self.playing.value and not cancel.is_set() and self._model is not None:
            started = time.monotonic()
            self.advance(force=False)
            if self.at_end:
                self.playing.set(False)
                break
            pause = self.pause_ms.value / 1000 - (time.monotonic() - started) / 2  # half the work counts
            cancel.wait(max(0.005, pause))  # always yield a little: other students share this server
        self.hub.refresh(force=True)  # end on the current week in every view


def use_clock(settings: Settings) -> Clock:
    """The session's clock (call once, in the page)."""
    generation = solara.use_reactive(0)
    playing = solara.use_reactive(False)
    weeks_per_update = solara.use_reactive(1)
    pause_ms = solara.use_reactive(PLAY_PAUSE_MS)
    message = solara.use_reactive(None)
    finished = solara.use_reactive(False)
    clock = solara.use_memo(lambda: Clock(settings, DashboardClinic(settings), generation, playing,
                                          weeks_per_update, pause_ms, message, finished), [])
    solara.use_effect(lambda: clock.close, [])  # on closing: drop the model
    solara.use_thread(clock.play_loop, dependencies=[playing.value, generation.value], intrusive_cancel=False)
    return clock


@solara.component
def RunButtons(clock: Clock, model=None):
    """Reset / ▶ / Step and the week, in the bar at the top: on every screen, sidebar open or not
    (``model``: the clinic on screen, passed so that a Reset redraws them)."""
    playing = clock.playing.value
    model = clock.model if model is None else model
    finished = clock.finished.value or clock.at_end
    with solara.Div(classes=["as-run-buttons"]):
        solara.Button("Reset", on_click=clock.reset, icon_name="mdi-restart", classes=["as-reset"])
        solara.Button("❚❚" if playing else "▶", on_click=clock.play_pause, disabled=finished and not playing,
                      classes=["as-play"])
        solara.Button("Step", on_click=clock.step, disabled=playing or finished, classes=["as-step"])
        # (the model as an argument of the lambda: a new model is a new view to draw)
        LiveHTML(clock.hub, lambda: _week_line(model), classes=["as-week-line"])


@solara.component
def ResetRefused(clock: Clock, settings: Settings):
    """Why Reset did not start a new run (gone once the settings can run)."""
    if clock.message.value and settings.problem():
        solara.Error(clock.message.value, dense=True, icon="mdi-alert", classes=["as-reset-refused"])


@solara.component
def RunControls(clock: Clock, model=None):
    """The pace of the run, at the top of the sidebar."""
    with solara.Card("Pace", classes=["as-card", "as-run-card"]):
        with solara.Column(classes=["as-weeks-per-update"], gap="0px"):
            solara.SliderInt("Weeks per update (Step and ▶)", value=clock.weeks_per_update, min=1,
                             max=WEEKS_PER_UPDATE_MAX, thumb_label=True)
        with solara.Column(classes=["as-pause"], gap="0px"):
            solara.SliderInt("Pause between updates (ms)", value=clock.pause_ms, min=PAUSE_MIN_MS,
                             max=PAUSE_MAX_MS, step=50, thumb_label=True)


def _week_line(model) -> str:
    end = "<span class='as-over'> · the run is over: press Reset for a new one</span>" \
        if model.week >= model.horizon else ""
    return f"Week <b class='as-week-now'>{model.week}</b> of {model.horizon}{end}"
