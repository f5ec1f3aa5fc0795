"""Views that follow the running clinic without re-rendering the page.

Solara (reacton) re-renders by walking the *whole* widget tree and setting every
widget's properties again, about 50 ms for this page even when one number
changed.  Doing that every simulated week, for every student, was most of the
server's work.  So a week does not re-render anything: each view on screen owns
a widget, subscribes to its session's :class:`LiveHub`, and the hub, after a
week, sets that widget's content directly (one small message to the browser).

Only views on the visible tab exist, so only they are drawn; a view may ask
to be refreshed at most every ``min_interval`` seconds while the clinic plays
(a slow matplotlib picture), and is always refreshed when play stops or after
a Step, so the screen always ends on the current week.

The page still re-renders the ordinary way when the person does something
(changes a tab, a filter, a setting): the live views then recompute at once.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections.abc import Callable

import ipywidgets
import solara
import solara.widgets

logger = logging.getLogger(__name__)


class LiveHub:
    """One browser session's list of views to refresh after a week."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subscribers: dict[int, list] = {}  # token -> [refresh, min_interval, last refresh time]
        self._tokens = itertools.count()

    def subscribe(self, refresh: Callable[[], None], min_interval: float = 0.0) -> Callable[[], None]:
        """Call ``refresh()`` after each week (at most every ``min_interval`` s while playing);
        returns the function that ends the subscription."""
        token = next(self._tokens)
        with self._lock:
            self._subscribers[token] = [refresh, float(min_interval), time.monotonic()]

        def unsubscribe() -> None:
            with self._lock:
                self._subscribers.pop(token, None)

        return unsubscribe

    def __len__(self) -> int:
        return len(self._subscribers)

    def clear(self) -> None:
        with self._lock:
            self._subscribers.clear()

    def refresh(self, force: bool = True) -> None:
        """Refresh the views (all of them with ``force``; else those whose interval has passed)."""
        now = time.monotonic()
        with self._lock:
            due = [entry for entry in self._subscribers.values() if force or now - entry[2] >= entry[1]]
            for entry in due:
                entry[2] = now
        for refresh, _, _ in due:
            try:
                refresh()
            except Exception:  # noqa: BLE001 - one broken view must not stop the clock
                logger.exception("a live view failed to refresh")


def _owned_widget(factory: Callable[[], ipywidgets.Widget]) -> ipywidgets.Widget:
    """A widget made once for this component and closed when the component goes away."""
    widget = solara.use_memo(factory, [])
    solara.use_effect(lambda: widget.close, [])
    return widget


def _follow(hub: LiveHub | None, update: Callable[[], None], min_interval: float) -> None:
    """Run ``update`` after every render of the component and after every week (through ``hub``).

    Reacton skips rendering a component whose arguments are equal, and it compares
    functions by their code and the values they close over: a ``content`` function
    must close over what it shows (the model, the filters), not over an object that
    holds them, or a change would not redraw it until the next week.
    """
    latest = solara.use_ref(update)
    latest.current = update  # the newest closure: filters and choices made since the first render
    solara.use_effect(lambda: latest.current and latest.current(), None)  # after every render

    def forget() -> None:  # the view is gone: its closure (and the model in it) must not linger
        latest.current = None

    solara.use_effect(lambda: forget, [])
    if hub is not None:
        solara.use_effect(lambda: hub.subscribe(lambda: latest.current and latest.current(), min_interval),
                          [hub])


@solara.component
def LiveHTML(hub: LiveHub | None, content: Callable[[], str], classes: list[str] | None = None,
             tag: str = "div", min_interval: float = 0.0):
    """HTML from ``content()`` (called after each week), in one widget with CSS ``classes``."""
    widget = _owned_widget(lambda: solara.widgets.HTML(tag=tag, attributes={"class": " ".join(classes or [])},
                                                       unsafe_innerHTML=""))

    def update() -> None:
        text = content()
        if widget.unsafe_innerHTML != text:
            widget.unsafe_innerHTML = text

    _follow(hub, update, min_interval)
    solara.v.Html(tag="div", children=[widget], style_="display: contents")


@solara.component
def LiveImage(hub: LiveHub | None, content: Callable[[], tuple[bytes, str, str]], name: str,
              min_interval: float = 0.0):
    """A picture and its caption from ``content()`` -> (image bytes, "png"/"jpeg", caption).

    The picture has CSS classes ``as-figure as-<name>``, the caption ``as-caption as-<name>-caption``.
    """
    caption = _owned_widget(lambda: solara.widgets.HTML(
        tag="div", attributes={"class": f"as-caption as-{name}-caption"}, unsafe_innerHTML=""))
    image = _owned_widget(lambda: ipywidgets.Image(format="png", layout=ipywidgets.Layout(width="100%"),
                                                   _dom_classes=("as-figure", f"as-{name}")))

    def update() -> None:
        data, fmt, words = content()
        with image.hold_sync():
            if image.format != fmt:
                image.format = fmt
            if bytes(image.value) != data:
                image.value = data
        if caption.unsafe_innerHTML != words:
            caption.unsafe_innerHTML = words

    _follow(hub, update, min_interval)
    solara.v.Html(tag="div", children=[caption, image], class_=f"as-picture as-picture-{name}")
