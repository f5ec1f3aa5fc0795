"""In-process dashboard tests: render the page with ``solara.render`` and click its widgets.

Each test gets its own Solara virtual kernel, so reactive state does not leak between tests, and a fresh page whose
exports go to a temporary folder.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

import ipyvuetify as v
import ipywidgets
import pytest
import solara
from reacton.find import Finder

from alliancesim.dashboard._widgets import widgets_under as _widgets_under
from alliancesim.dashboard.app import PRESET_ENV, SEED_ENV, Page
from alliancesim.dashboard.export import EXPORT_DIR_ENV

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
JPEG_SIGNATURE = b"\xff\xd8\xff"


@pytest.fixture(autouse=True)
def kernel_context():
    import solara.server.app  # noqa: F401 - patches ipywidgets for virtual kernels, as in the server
    from solara.server import kernel, kernel_context

    context = kernel_context.VirtualKernelContext(id="dashboard-test", kernel=kernel.Kernel(), session_id="s1")
    try:
        with context:
            yield context
    finally:
        context.close()


def widgets_under(root) -> list:
    """``root`` (a Finder or a widget) and every widget below it, once each."""
    return _widgets_under(*(root.widgets if isinstance(root, Finder) else [root]))


def walk(root, cls=ipywidgets.Widget, pred=lambda w: True) -> list:
    """Every widget under ``root`` (a Finder or widget) of type ``cls`` for which ``pred`` holds."""
    return [w for w in widgets_under(root) if isinstance(w, cls) and pred(w)]


def has_class(widget, name: str) -> bool:
    classes = str(getattr(widget, "class_", "") or "").split()
    classes += list(getattr(widget, "_dom_classes", ()) or ())
    classes += str((getattr(widget, "attributes", None) or {}).get("class", "")).split()  # solara.HTML
    return name in classes


def _all_text(widget) -> str:
    """The text a person would read under ``widget``: strings in children, HTML, values, labels."""
    parts = []
    for w in widgets_under(widget):
        for name in ("children", "unsafe_innerHTML", "value", "label", "v_model", "template"):
            value = getattr(w, name, None) if name in w.keys else None
            if isinstance(value, str):
                parts.append(value)
            elif name == "children" and isinstance(value, (list, tuple)):
                parts.extend(x for x in value if isinstance(x, str))
    return "\n".join(parts)


@dataclass
class Dashboard:
    """The rendered page and the clicks a person would make."""

    box: ipywidgets.Widget
    rc: object

    # ---- reading
    def text(self) -> str:
        return _all_text(self.box)

    def time(self) -> int:
        """The week in the sidebar's "Week N of H" line."""
        match = re.search(r"as-week-now'>(\d+)<", self.text())
        assert match, "no 'Week N of H' on the page"
        return int(match.group(1))

    def images(self, name: str) -> list:
        return walk(self.box, ipywidgets.Image, lambda w: has_class(w, f"as-{name}"))

    def png(self, name: str) -> bytes:
        found = self.images(name)
        assert len(found) == 1, f"expected one as-{name} picture, found {len(found)}"
        return bytes(found[0].value)

    def with_class(self, name: str, cls=ipywidgets.Widget) -> list:
        return walk(self.box, cls, lambda w: has_class(w, name))

    # ---- clicking
    def button(self, label: str):
        found = walk(self.box, v.Btn, lambda w: label in [c for c in w.children if isinstance(c, str)])
        assert found, f"no button {label!r}"
        return found[0]

    def click(self, label: str) -> None:
        self.button(label).click()

    def step(self, n: int = 1) -> None:
        for _ in range(n):
            self.click("Step")

    def reset(self) -> None:
        self.click("Reset")

    def tab(self, label: str) -> None:
        tabs = walk(self.box, v.Tab, lambda w: label in _all_text(w))
        assert tabs, f"no tab {label!r}"
        parent = walk(self.box, v.Tabs, lambda w: "as-tabs" in str(w.class_))[0]
        index = [t for t in parent.children if isinstance(t, v.Tab)].index(tabs[0])
        parent.v_model = index

    def control(self, name: str):
        found = self.with_class(f"as-param-{name}")
        assert found, f"no control for {name!r} (is its group open?)"
        return found[0]

    def open_group(self, index: int) -> None:
        panels = walk(self.box, v.ExpansionPanels)
        groups = [p for p in panels if any(has_class(x, "as-group-title") for x in widgets_under(p))]
        assert len(groups) == 1
        groups[0].v_model = index

    def type_value(self, name: str, text: str) -> None:
        """Type into a parameter's value box and press Enter."""
        self.type_into(walk(self.control(name), v.TextField)[0], text)

    @staticmethod
    def type_into(field, text: str) -> None:
        field.v_model = text
        field.fire_event("keyup.enter", None)

    def choose_preset(self, name: str) -> None:
        select = self.with_class("as-preset-select", v.Select)[0]
        select.v_model = name

    def weeks_per_update(self, weeks: int) -> None:
        """The "Weeks per update" slider: one Step advances this many weeks."""
        sliders = walk(self.box, v.Slider, lambda w: "Weeks per update" in str(w.label))
        assert len(sliders) == 1
        sliders[0].v_model = weeks

    def wait(self, condition, timeout: float = 60.0, what: str = "condition") -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}")
            time.sleep(0.05)


@pytest.fixture
def render_dashboard(kernel_context, monkeypatch, tmp_path):
    """Render the dashboard page; ``render_dashboard(preset=..., seed=...)`` returns a Dashboard."""
    monkeypatch.setenv(EXPORT_DIR_ENV, str(tmp_path / "exports"))
    contexts = []

    def render(preset: str = "default", seed: int = 1) -> Dashboard:
        monkeypatch.setenv(PRESET_ENV, preset)
        monkeypatch.setenv(SEED_ENV, str(seed))
        box, rc = solara.render(solara.AppLayout(children=[Page()]), handle_error=False)
        contexts.append(rc)
        return Dashboard(box, rc)

    yield render
    for rc in contexts:
        rc.close()


def pytest_configure(config: pytest.Config) -> None:
    # solara's virtual kernel asks asyncio for an event loop outside of one (harmless in tests)
    config.addinivalue_line("filterwarnings", "ignore:There is no current event loop:DeprecationWarning")
