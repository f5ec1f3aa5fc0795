"""The setup in the page's address: reload keeps it, and a link shares it.

The address holds the preset, the seed, every value that differs from the preset,
the tab and the chosen pair, e.g.::

    http://127.0.0.1:8765/?preset=retiring_file&seed=7&notice_weeks=12&tab=handover

Only the page's first render reads it (:func:`setup_from_query`); afterwards the
page writes it whenever the setup changes (:class:`AddressBar`, with
``history.replaceState``: the Back button leaves the dashboard instead of stepping
through every slider move).  A value that cannot be read shows the registry's
message in the sidebar, as if typed there.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode

import ipyvuetify as v
import solara
import traitlets

from .. import presets
from ..params import REGISTRY
from .clinic import Settings, preset

#: URL names of the tabs, in the order of the page's tabs.
TAB_NAMES = ("map", "over-time", "relationship", "event-log", "handover", "run-n-times", "compare", "export",
             "info")


@dataclass
class Setup:
    """What the address said: settings for the controls, the tab, the chosen pair."""

    settings: Settings
    tab: int = 0
    pair: int | None = None


def setup_from_query(search: str | None, preset_name: str = "default", seed: int = 1) -> Setup:
    """Settings, tab and pair from a query string (``preset_name``/``seed``: when it has none)."""
    query = dict(parse_qsl(search or "", keep_blank_values=True))
    name = query.pop("preset", preset_name)
    if name not in presets.names():
        name = preset_name
    settings = Settings(name, seed)
    if "seed" in query:
        settings.set_seed(query.pop("seed"))
    tab = query.pop("tab", "")
    pair = query.pop("pair", "")
    for key, text in query.items():
        if key in REGISTRY:
            settings.set_value(key, text)
    return Setup(settings, TAB_NAMES.index(tab) if tab in TAB_NAMES else 0,
                 int(pair) if pair.isdigit() else None)


def query_of(settings: Settings, tab: int = 0, pair: int | None = None) -> str:
    """The query string for this setup (edited values in registry order, so a setup has one address)."""
    base = preset(settings.preset.value).validated().as_dict()
    values = settings.values.value
    items: list[tuple[str, Any]] = [("preset", settings.preset.value), ("seed", settings.seed.value)]
    items += [(name, _text(values[name])) for name in REGISTRY if name in values and values[name] != base.get(name)]
    if tab:
        items.append(("tab", TAB_NAMES[tab]))
    if pair is not None:
        items.append(("pair", pair))
    return urlencode(items)


def _text(value: Any) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


class AddressBarWidget(v.VuetifyTemplate):
    """Puts ``query`` into the browser's address (replacing the entry: no new history step)."""

    query = traitlets.Unicode("").tag(sync=True)
    template = traitlets.Unicode("""
<template><span style="display: none"></span></template>
<script>
module.exports = {
  mounted() { this.apply(this.query); },
  watch: { query(value) { this.apply(value); } },
  methods: {
    apply(value) {
      const url = new URL(window.location.href);
      url.search = value ? "?" + value : "";
      if (url.href !== window.location.href) {
        window.history.replaceState(window.history.state, "", url.href);
      }
    },
  },
};
</script>
""").tag(sync=True)


@solara.component
def AddressBar(settings: Settings, tab: int, pair: int | None):
    """Keep the address in step with the setup (re-renders only itself when a control changes)."""
    AddressBarWidget.element(query=query_of(settings, tab, pair))
