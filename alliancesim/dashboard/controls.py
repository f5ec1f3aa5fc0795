"""The sidebar: preset, seed and every registered parameter, generated from the registry.

Nothing here lists parameters by hand: groups, order, ranges, steps, units and
help texts all come from :mod:`alliancesim.params`, so a parameter added to the
registry appears in the dashboard without touching this file.

Controls only change the :class:`~alliancesim.dashboard.clinic.Settings`; the
clinic on screen changes when the person presses Reset (as in every Mesa
model).  A value a control cannot read, or a combination the registry rejects,
shows the registry's message; Reset then keeps the last valid settings.
"""

from __future__ import annotations

import functools
import html
import math
from typing import Any

import solara
from solara.toestand import Ref

from .. import presets
from ..params import REGISTRY, Param, by_group
from .clinic import Settings, preset

GROUP_TITLES = {
    "clinic": "The clinic",
    "therapists": "Therapists",
    "clients": "Clients",
    "sessions": "What happens in a session",
    "handover": "Retirement and handover",
}


@functools.cache
def preset_values(name: str) -> dict[str, Any]:
    """A preset's full set of values (to mark the controls that differ from it)."""
    return preset(name).validated().as_dict()


def display_label(p: Param) -> str:
    """A readable label from a registry name: ``self_awareness_mean`` -> "Self awareness (average)"."""
    words = p.name
    average = words.endswith("_mean")
    if average:
        words = words[: -len("_mean")]
    if words.startswith("n_"):
        words = "number of " + words[2:]
    for unit in ("_km", "_weeks", "_years"):
        if words.endswith(unit) and unit.strip("_") in p.unit:
            words = words[: -len(unit)]
    words = words.replace("_", " ").replace(" sd", " spread")
    words = words[:1].upper() + words[1:]
    return words + (" (average)" if average else "")


def decimals(step: float) -> int:
    text = f"{step:.10f}".rstrip("0")
    return len(text.split(".")[1]) if "." in text else 0


def format_value(p: Param, value: Any) -> str:
    if p.type is float:
        return f"{value:.{decimals(p.step or 0.01)}f}".rstrip("0").rstrip(".") if value != 0 else "0"
    return str(value)


def slider_range(p: Param) -> tuple[float, float, float]:
    """Slider (min, max, step) on the step's grid inside the allowed range (the text box reaches the rest)."""
    step = p.step or (1 if p.type is int else (p.high - p.low) / 100)
    lo = math.ceil(round(p.low / step, 9)) * step
    hi = math.floor(round(p.high / step, 9)) * step
    digits = decimals(step)
    return round(lo, digits), round(hi, digits), step


def help_html(p: Param, label: str, problem: str | None) -> str:
    """Label, help text, allowed range and the registry name, in one block (one widget: cheap to redraw)."""
    trouble = f"<div class='as-problem'>{_esc(problem)}</div>" if problem else ""
    return (f"<div class='as-label'>{_esc(label)}</div>{trouble}<div class='as-help'>{_esc(p.help)} "
            f"<span class='as-unit'>{_esc(p.allowed())}</span> <code class='as-code'>{p.name}</code></div>")


@solara.component
def ParameterControl(settings: Settings, name: str):
    """One parameter: label and help text, then a value box and a slider (or a list, or a tick box).

    Every widget on the page costs time at every redraw, so a control is kept to a few.
    """
    p = REGISTRY[name]
    value = Ref(settings.values.fields[name]).value
    problem = settings.unreadable.value.get(name)
    changed = preset_values(settings.preset.value).get(name) != value
    label = display_label(p) + (" •" if changed else "")

    classes = ["as-control", f"as-param-{name}"] + (["as-changed"] if changed else [])
    with solara.Column(gap="2px", classes=classes):
        solara.HTML(tag="div", unsafe_innerHTML=help_html(p, label, problem))
        if p.choices is not None:
            solara.Select(label="", value=value, values=list(p.choices),
                          on_value=lambda v: settings.set_value(name, v))
        elif p.type is bool:
            solara.Checkbox(label="yes", value=bool(value), on_value=lambda v: settings.set_value(name, v))
        else:
            lo, hi, step = slider_range(p)
            shown = min(max(value, lo), hi)
            with solara.Row(gap="10px", style={"align-items": "center"}):
                solara.InputText(
                    label="", value=format_value(p, value), continuous_update=False,
                    on_value=lambda text: settings.set_value(name, text),
                    error=bool(problem), dense=True, hide_details=True, classes=["as-number"],
                )
                if p.type is int:
                    solara.SliderInt(label="", value=int(shown), min=int(lo), max=int(hi), step=int(step),
                                     on_value=lambda v: settings.set_value(name, int(v)))
                else:
                    digits = decimals(step)
                    solara.SliderFloat(label="", value=float(shown), min=lo, max=hi, step=step,
                                       on_value=lambda v: settings.set_value(name, round(float(v), digits)))


@solara.component
def GroupTitle(settings: Settings, group: str, names: tuple[str, ...]):
    """A group's title, with how many of its values differ from the preset."""
    base = preset_values(settings.preset.value)
    values = settings.values.value
    n_changed = sum(1 for name in names if values.get(name) != base.get(name))
    title = f"{GROUP_TITLES.get(group, group.title())} ({len(names)})"
    solara.Text(title + (f" · {n_changed} changed" if n_changed else ""), classes=["as-group-title"])


@solara.component
def ParameterGroups(settings: Settings):
    """One panel per registry group, all closed at first; only the open panel's controls exist.

    (Solara re-walks the whole page at every redraw, so controls nobody looks at would
    slow every week of a playing clinic.)
    """
    open_panel = solara.use_reactive(None)
    groups = [(g, [p.name for p in params]) for g, params in by_group().items() if params]
    with solara.v.ExpansionPanels(v_model=open_panel.value, on_v_model=open_panel.set, accordion=True,
                                  flat=True):
        for i, (group, names) in enumerate(groups):
            with solara.v.ExpansionPanel():
                with solara.v.ExpansionPanelHeader():
                    GroupTitle(settings, group, tuple(names))
                with solara.v.ExpansionPanelContent():
                    if open_panel.value == i:
                        for name in names:
                            ParameterControl(settings, name)


@solara.component
def ProblemBanner(settings: Settings):
    """The registry's own message for settings that cannot run."""
    problem = settings.problem()
    if problem:
        solara.Error(f"These settings cannot run: {problem}. Reset keeps the last valid settings until "
                     "this is fixed.", icon="mdi-alert", dense=True, classes=["as-problem-banner"])


@solara.component
def PresetPicker(settings: Settings):
    name = settings.preset.value
    info = preset(name)
    items = [{"text": preset(n).title, "value": n} for n in presets.names()]
    solara.v.Select(label="Preset clinic", items=items, v_model=name, outlined=True, dense=True,
                    hide_details=True, on_v_model=lambda n: n and settings.load_preset(n),
                    class_="as-preset-select")
    solara.HTML(tag="div", classes=["as-summary"], unsafe_innerHTML=_esc(info.summary))
    edited = settings.edited()
    if edited:
        with solara.Row(style={"align-items": "center"}):
            solara.Text(f"{len(edited)} value{'s' if len(edited) != 1 else ''} changed from the preset (marked •)",
                        classes=["as-help"])
            solara.Button("Restore preset", text=True, color="primary", small=True,
                          on_click=lambda: settings.load_preset(name))
    if info.things_to_notice:
        # a plain <details>: opens and closes in the browser, and takes its own height (no overlap)
        items = "".join(f"<li>{_esc(t)}</li>" for t in info.things_to_notice)
        solara.HTML(tag="details", classes=["as-details"], attributes={"open": ""},
                    unsafe_innerHTML=f"<summary>Things to notice in this clinic</summary>"
                                     f"<ul class='as-notice'>{items}</ul>")


@solara.component
def SeedPicker(settings: Settings):
    problem = settings.unreadable.value.get("seed")
    with solara.Row(gap="8px", style={"align-items": "center"}):
        solara.InputText(label="Seed (a whole number, 0 or more)", value=str(settings.seed.value), continuous_update=False,
                         on_value=settings.set_seed, error=bool(problem), dense=True, hide_details=True,
                         classes=["as-seed"])
        solara.Button("New seed", icon_name="mdi-dice-5", text=True, color="primary",
                      on_click=settings.new_seed)
    if problem:
        solara.Text(problem, classes=["as-problem"])
    solara.HTML(tag="div", classes=["as-help"],
                unsafe_innerHTML="The same preset, values and seed always give the same run; "
                                 "another seed shows another story from the same clinic.")


@solara.component
def PendingNote(settings: Settings, running_spec):
    """Tell the person their changes start with Reset (or why they cannot)."""
    spec = settings.spec()
    if spec is None:
        return
    if spec.params != running_spec.params or spec.seed != running_spec.seed:
        solara.Warning("Changed since the last Reset: press Reset (in the bar at the top) to start a new run "
                       "with these settings.", dense=True, icon="mdi-restart", classes=["as-pending"])


@solara.component
def SettingsPanel(settings: Settings, running_spec):
    """Everything the person can set, in the sidebar under the pace sliders."""
    with solara.Card("Clinic to simulate", classes=["as-card"]):
        PresetPicker(settings)
        SeedPicker(settings)
        PendingNote(settings, running_spec)
    with solara.Card("Parameters", subtitle="Changes start when you press Reset.", classes=["as-card"]):
        ProblemBanner(settings)
        ParameterGroups(settings)


def _esc(text) -> str:
    return html.escape(str(text), quote=True)
