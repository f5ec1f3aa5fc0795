"""The parameter registry: every tunable number in alliancesim, in one place.

Each :class:`Param` carries its type, default, unit, allowed range, group and a
one-line help text.  The registry is the single source for

* the model (:class:`~alliancesim.model.AllianceModel` reads a validated
  :class:`Params`),
* the command line (``alliancesim run --set key=value``),
* the dashboard controls (grouped sliders and selects with their help text),
* sweep bounds (a sweep may only vary a registered parameter inside its range),
* the parameter table in ``docs/odd.md`` (see :func:`markdown_table`).

Validation errors name the parameter, the value and the allowed range::

    >>> validate({"self_awareness_mean": 1.5})
    Traceback (most recent call last):
    ...
    alliancesim.params.ParameterError: self_awareness_mean=1.5 is out of range: allowed 0 to 1 (0-1 scale)
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "GROUPS",
    "REGISTRY",
    "HANDOVER_POLICIES",
    "Param",
    "ParameterError",
    "Params",
    "coerce",
    "defaults",
    "markdown_table",
    "validate",
]

#: Display order of parameter groups (dashboard panels, docs table).
GROUPS: tuple[str, ...] = ("clinic", "therapists", "clients", "sessions", "handover")

#: What the retiring therapist passes on to the successor who takes the room.
HANDOVER_POLICIES: tuple[str, ...] = ("none", "file", "file_and_introduction")


class ParameterError(ValueError):
    """A parameter value (or combination of values) that the model cannot use."""


@dataclass(frozen=True)
class Param:
    """One registered model parameter.

    Attributes:
        name: identifier used everywhere (model attribute, CLI key, TOML key).
        type: ``int``, ``float``, ``str`` (a choice) or ``bool``.
        default: value used when neither a preset nor the user sets one.
        unit: unit of measurement shown beside the value ("weeks", "0-1 scale").
        low, high: inclusive bounds for numbers; ``None`` for choices and flags.
        group: one of :data:`GROUPS`.
        help: one-line explanation for people who are not modellers.
        choices: allowed values for a ``str`` parameter.
        step: suggested slider step for the dashboard.
    """

    name: str
    type: type
    default: Any
    unit: str
    low: float | None
    high: float | None
    group: str
    help: str
    choices: tuple[str, ...] | None = None
    step: float | None = None

    def allowed(self) -> str:
        """Human-readable allowed range, e.g. ``0 to 1 (proportion)``."""
        if self.choices is not None:
            return "one of " + ", ".join(self.choices)
        if self.type is bool:
            return "true or false"
        return f"{_fmt(self.low)} to {_fmt(self.high)} ({self.unit})"

    def check(self, value: Any) -> Any:
        """Return ``value`` converted to this parameter's type, or raise ParameterError."""
        v = coerce(self, value)
        if self.choices is not None and v not in self.choices:
            raise ParameterError(f"{self.name}={value!r} is not allowed: choose {self.allowed()}")
        if self.type in (int, float):
            if not math.isfinite(v) or v < self.low or v > self.high:
                raise ParameterError(
                    f"{self.name}={_fmt(value)} is out of range: allowed {self.allowed()}"
                )
        return v


def _fmt(x: Any) -> str:
    if isinstance(x, float) and x.is_integer() and abs(x) < 1e15:
        return str(int(x))
    return str(x)


def coerce(param: Param, value: Any) -> Any:
    """Convert ``value`` (possibly a string from the CLI) to ``param.type``.

    Raises ParameterError naming the parameter when the value has the wrong type.
    """
    t = param.type
    try:
        if t is bool:
            if isinstance(value, bool):
                return value
            if isinstance(value, str) and value.strip().lower() in ("true", "1", "yes", "on"):
                return True
            if isinstance(value, str) and value.strip().lower() in ("false", "0", "no", "off"):
                return False
            raise ValueError
        if t is int:
            if isinstance(value, bool):
                raise ValueError
            if isinstance(value, float):
                if not value.is_integer():
                    raise ValueError
                return int(value)
            if isinstance(value, str):
                f = float(value)
                if not f.is_integer():
                    raise ValueError
                return int(f)
            return int(value)
        if t is float:
            if isinstance(value, bool):
                raise ValueError
            return float(value)
        if t is str:
            if not isinstance(value, str):
                raise ValueError
            return value.strip()
    except (TypeError, ValueError, OverflowError):
        pass
    expected = {bool: "true/false", int: "a whole number", float: "a number", str: "text"}[t]
    raise ParameterError(
        f"{param.name}={value!r} is not {expected}: allowed {param.allowed()}"
    )


def _p(name, type_, default, unit, low, high, group, help_, choices=None, step=None) -> Param:
    return Param(name, type_, default, unit, low, high, group, help_, choices, step)


# The registry.  Defaults are the calibrated default clinic: the free parameters of the fit
# (alliancesim/fit.py) are the estimate of the fit in experiments/07_calibration/fit;
# docs/calibration.md says how it ran and how the estimate is chosen.
_PARAMS: list[Param] = [
    # --- clinic -------------------------------------------------------------
    _p("years", float, 10.0, "years", 0.1, 100.0, "clinic",
       "Length of the simulated run.", step=0.5),
    _p("n_therapists", int, 10, "therapists", 1, 60, "clinic",
       "Therapists working in the clinic at the start."),
    _p("n_sites", int, 3, "sites", 1, 10, "clinic",
       "Treatment rooms in different parts of town; therapists are spread across them."),
    _p("town_radius_km", float, 12.0, "km", 1.0, 100.0, "clinic",
       "Radius of the town the clients live in.", step=0.5),
    _p("population", int, 4000, "people", 200, 50000, "clinic",
       "People in the town's family/friend network from whom clients come."),
    _p("initial_clients", int, 150, "clients", 0, 5000, "clinic",
       "Clients who ask for a first appointment in the clinic's opening weeks."),
    _p("arrival_rate", float, 6.0, "clients/week", 0.0, 100.0, "clinic",
       "New clients who find the clinic by themselves each week (Poisson mean).", step=0.1),
    _p("word_of_mouth_rate", float, 0.01, "referrals/satisfied client/week", 0.0, 0.2, "clinic",
       "Chance per week that a satisfied client sends a family member or friend.", step=0.001),
    _p("weekly_capacity", int, 20, "sessions/week", 1, 60, "clinic",
       "Sessions one therapist can give in a week."),
    # --- therapists ---------------------------------------------------------
    _p("manual_skill_mean", float, 0.65, "0-1 scale", 0.0, 1.0, "therapists",
       "Average hands-on skill of the therapists.", step=0.01),
    _p("warmth_mean", float, 0.65, "0-1 scale", 0.0, 1.0, "therapists",
       "Average warmth and empathy the therapists bring.", step=0.01),
    _p("boundary_firmness_mean", float, 0.55, "0-1 scale", 0.0, 1.0, "therapists",
       "How firmly therapists hold professional boundaries: 0 loose, 1 fenced off.", step=0.01),
    _p("self_awareness_mean", float, 0.55, "0-1 scale", 0.0, 1.0, "therapists",
       "How well therapists notice their own reactions (countertransference, ruptures).",
       step=0.01),
    _p("talkativeness_mean", float, 0.5, "share of session", 0.0, 1.0, "therapists",
       "Share of the session the therapist fills with talk: 0 talk-restricted, 1 talk-laden.",
       step=0.01),
    _p("fixing_stance_mean", float, 0.5, "0-1 scale", 0.0, 1.0, "therapists",
       "Stance: 0 holds space for the client's own change, 1 feels they must fix everyone.",
       step=0.01),
    _p("trait_sd", float, 0.0979, "0-1 scale", 0.0, 0.5, "therapists",
       "Spread of therapist traits around their means (normal SD, clipped to 0-1).",
       step=0.01),
    _p("triggers_mean", float, 1.5, "topics", 0.0, 5.0, "therapists",
       "Average number of topics that touch a therapist's own history (Poisson mean).",
       step=0.1),
    _p("trigger_intensity_mean", float, 0.5, "0-1 scale", 0.0, 1.0, "therapists",
       "How strongly a triggering topic pulls the therapist's own feelings in.", step=0.01),
    _p("experience_years_mean", float, 8.0, "years", 0.0, 40.0, "therapists",
       "Average years in practice of the starting therapists.", step=0.5),
    _p("career_years_mean", float, 15.0, "years", 1.0, 60.0, "therapists",
       "Average years each therapist has left before retiring.", step=0.5),
    _p("learning_rate", float, 0.00005, "per session", 0.0, 0.005, "therapists",
       "How fast skill and self-awareness grow with each client seen (clients as teachers).",
       step=0.00001),
    _p("burnout_rate", float, 0.03, "per week at full strain", 0.0, 0.5, "therapists",
       "How fast strain from a full book of clients who do not improve builds up.",
       step=0.001),
    _p("burnout_recovery", float, 0.04, "per week", 0.0, 0.5, "therapists",
       "How fast burnout eases when the week is lighter.", step=0.001),
    _p("burnout_leave_threshold", float, 0.85, "0-1 scale", 0.1, 1.0, "therapists",
       "Burnout level at which a therapist gives notice and leaves.", step=0.01),
    # --- clients ------------------------------------------------------------
    _p("prior_negative_mean", float, 0.6, "experiences", 0.0, 5.0, "clients",
       "Average number of earlier poor massage experiences a client brings (Poisson mean).",
       step=0.1),
    _p("trust_propensity_mean", float, 0.5, "0-1 scale", 0.0, 1.0, "clients",
       "How readily clients trust a new therapist.", step=0.01),
    _p("talk_preference_mean", float, 0.4, "share of session", 0.0, 1.0, "clients",
       "Share of the session clients would like to spend talking (0 quiet, 1 chatty).",
       step=0.01),
    _p("share_physical", float, 0.45, "proportion", 0.0, 1.0, "clients",
       "Share of clients on a course (not occasional visitors) who come with a purely physical complaint.", step=0.01),
    _p("share_overwhelmed", float, 0.2, "proportion", 0.0, 1.0, "clients",
       "Share who come overwhelmed by life; the rest bring a physical issue with an emotional part.",
       step=0.01),
    _p("share_out_of_scope", float, 0.08, "proportion", 0.0, 1.0, "clients",
       "Share whose needs exceed massage (physiotherapy, counselling).", step=0.01),
    _p("alliance_trait_sd", float, 0.25, "0-1 scale", 0.0, 0.5, "clients",
       "How much clients differ in how readily they form alliances at all (trait-like alliance).",
       step=0.01),
    _p("share_occasional", float, 0.25, "proportion", 0.0, 1.0, "clients",
       "Share of newcomers who are occasional visitors (relaxation, a one-off sore neck, a gift voucher).",
       step=0.01),
    _p("occasional_cadence_weeks", float, 16.0, "weeks", 2.0, 52.0, "clients",
       "Average weeks between an occasional visitor's visits.", step=1.0),
    _p("course_sessions_mean", float, 12.0, "sessions", 1.0, 60.0, "clients",
       "Sessions a client means to come for when they start a course (they stop sooner once goals are met).",
       step=0.5),
    _p("town_turnover_rate", float, 0.1, "per year", 0.0, 1.0, "clients",
       "Share of former clients' places in town taken by newcomers each year (moves, children growing up).",
       step=0.01),
    _p("responsiveness_sd", float, 0.5, "log-scale SD", 0.0, 2.0, "clients",
       "How much clients differ in how strongly massage relieves their distress and pain (lognormal).",
       step=0.05),
    _p("cadence_weeks_mean", float, 2.5, "weeks", 1.0, 12.0, "clients",
       "Average weeks between booked sessions during a course of treatment.", step=0.1),
    _p("maintenance_cadence_weeks", float, 4.5, "weeks", 1.0, 26.0, "clients",
       "Average weeks between sessions for maintenance clients.", step=0.1),
    _p("travel_tolerance_km", float, 8.0, "km", 0.5, 100.0, "clients",
       "Distance a client would happily travel to a session.", step=0.5),
    _p("move_rate", float, 0.08, "per year", 0.0, 2.0, "clients",
       "Chance per year that a client moves house.", step=0.01),
    _p("pause_rate", float, 0.25, "per year", 0.0, 5.0, "clients",
       "Chance per year that a client pauses sessions (holiday, money, illness).", step=0.01),
    _p("setback_rate", float, 0.5, "per year", 0.0, 5.0, "clients",
       "Life events per year that set distress back (loss, job, family).", step=0.01),
    _p("relapse_rate", float, 0.015, "per week", 0.0, 0.5, "clients",
       "Weekly drift of distress back towards its starting level without care.", step=0.001),
    _p("self_care_rate", float, 0.12, "per week", 0.0, 0.5, "clients",
       "Weekly fall of distress from fully internalised self-care between sessions.",
       step=0.001),
    # --- sessions -----------------------------------------------------------
    _p("trust_growth_rate", float, 0.3, "per session", 0.0, 1.0, "sessions",
       "How fast trust grows in a good session for a typical client.", step=0.01),
    _p("prior_negative_slowdown", float, 0.5, "per experience", 0.0, 5.0, "sessions",
       "How much each earlier poor experience slows trust growth.", step=0.05),
    _p("distress_effect", float, 0.194, "per session", 0.0, 1.0, "sessions",
       "Share of excess distress a session with a full alliance and full quality relieves.",
       step=0.005),
    _p("pain_effect", float, 0.15, "per session", 0.0, 1.0, "sessions",
       "Share of pain a fully skilled, good-quality session relieves.", step=0.005),
    _p("remoralisation", float, 3.06, "relative to the alliance", 0.0, 5.0, "sessions",
       "Early relief that comes before the alliance is built (hope, a first good experience); fades over "
       "the first sessions.", step=0.05),
    _p("alliance_outcome_weight", float, 5.16, "exponent", 0.0, 6.0, "sessions",
       "How much a stronger alliance speeds change: relief grows as (alliance / 0.6) to this power.",
       step=0.1),
    _p("harm_effect", float, 3.2, "PHQ-9 points/session", 0.0, 5.0, "sessions",
       "Distress a fully misattuned session adds (boundary incidents, acted-out countertransference and "
       "fixing a client who needs space held add too).", step=0.05),
    _p("rupture_lasting_cost", float, 0.08, "share per session", 0.0, 1.0, "sessions",
       "Lasting cost of a rupture left unrepaired, per session it stays open, and of acted-out "
       "countertransference: caps trust, raises distress, weakens the wish to come back.", step=0.01),
    _p("repair_window_weeks", float, 8.0, "weeks", 0.0, 520.0, "sessions",
       "Weeks over which an unaddressed rupture sinks out of reach: the chance to notice and repair it "
       "falls as exp(-weeks open / this).", step=1.0),
    _p("misattunement_rate", float, 1.0, "per session", 0.0, 1.0, "sessions",
       "Chance of a small rupture in a session of zero quality (scaled down as quality rises).",
       step=0.01),
    _p("countertransference_rate", float, 0.7, "0-1 scale", 0.0, 1.0, "sessions",
       "Chance that a triggering topic is acted out by a therapist with no self-awareness.",
       step=0.01),
    _p("boundary_loose_below", float, 0.35, "0-1 scale", 0.0, 1.0, "sessions",
       "Firmness below which boundaries are loose enough to risk incidents.", step=0.01),
    _p("boundary_rigid_above", float, 0.7, "0-1 scale", 0.0, 1.0, "sessions",
       "Firmness above which boundaries fence the client off and block merging.", step=0.01),
    _p("boundary_incident_rate", float, 0.1, "per session", 0.0, 1.0, "sessions",
       "Chance of a boundary incident per session at the loosest boundaries.", step=0.005),
    _p("client_repair_rate", float, 0.35, "0-1 scale", 0.0, 1.0, "sessions",
       "Chance a fully trusting client repairs a rupture the therapist missed.", step=0.01),
    _p("repair_bond_gain", float, 0.5, "share of the loss", 0.0, 2.0, "sessions",
       "How much more trust than a rupture took a complete repair gives back.", step=0.05),
    _p("dropout_base", float, 0.00226, "per session", 0.0, 1.0, "sessions",
       "Chance of leaving without notice after a session with an average alliance.",
       step=0.001),
    _p("maintenance_propensity", float, 0.7, "0-1 scale", 0.0, 1.0, "sessions",
       "Chance that a client who fully trusts the therapist stays on for maintenance at the end of a course.",
       step=0.01),
    # --- handover -----------------------------------------------------------
    _p("handover_policy", str, "file", "policy", None, None, "handover",
       "What a leaving therapist hands to the successor: none, the file, or the file and a "
       "warm introduction.", choices=HANDOVER_POLICIES),
    _p("notice_weeks", int, 8, "weeks", 0, 52, "handover",
       "Weeks between announcing retirement and the last day."),
    _p("scheduled_retirement_week", int, 0, "week", 0, 5200, "handover",
       "Week in which therapist T1 retires (0: no scheduled retirement)."),
    _p("introduction_trust_carry", float, 0.5, "0-1 scale", 0.0, 1.0, "handover",
       "Share of the old bond carried to the successor by a warm introduction.", step=0.01),
    _p("file_knowledge_carry", float, 0.8, "0-1 scale", 0.0, 1.0, "handover",
       "Share of what the old therapist knew that a transferred file passes on.", step=0.01),
    _p("successor_experience_years", float, 2.0, "years", 0.0, 40.0, "handover",
       "Years in practice of a therapist who takes over a room.", step=0.5),
]

#: All parameters by name, in display order.
REGISTRY: dict[str, Param] = {p.name: p for p in _PARAMS}

assert all(p.group in GROUPS for p in _PARAMS)


def _cross_check(p) -> None:
    """Checks that involve more than one parameter (``p``: a Params being built)."""
    values = {name: getattr(p, name) for name in ("share_physical", "share_overwhelmed",
                                                  "boundary_loose_below", "boundary_rigid_above",
                                                  "scheduled_retirement_week", "years")}
    share = values["share_physical"] + values["share_overwhelmed"]
    if share > 1.0 + 1e-9:
        raise ParameterError(
            f"share_physical + share_overwhelmed = {share:g} exceeds 1: the shares of need "
            "profiles must leave room for (or exactly fill) the whole client population"
        )
    if values["boundary_loose_below"] >= values["boundary_rigid_above"]:
        raise ParameterError(
            f"boundary_loose_below={_fmt(values['boundary_loose_below'])} must be below "
            f"boundary_rigid_above={_fmt(values['boundary_rigid_above'])}: the safe middle "
            "band of boundary firmness would be empty"
        )
    if values["scheduled_retirement_week"] > values["years"] * 52:
        raise ParameterError(
            f"scheduled_retirement_week={values['scheduled_retirement_week']} is after the end "
            f"of the run (years={_fmt(values['years'])} is {int(values['years'] * 52)} weeks)"
        )


#: What __post_init__ checks, flattened for speed: (name, type, low, high, choices, Param).
_CHECKS = tuple((p.name, p.type, -math.inf if p.low is None else p.low, math.inf if p.high is None else p.high,
                 p.choices, p) for p in _PARAMS)


def _post_init(self) -> None:
    """Check every value (converting it to the parameter's type) and the cross-parameter rules.

    This is the one place where parameters are checked: :func:`validate`, presets,
    sweep specs, the CLI and the dashboard all end in ``Params(...)``, so a Params
    that exists is a usable one.
    """
    for name, kind, low, high, choices, param in _CHECKS:
        value = getattr(self, name)
        # Fast path for values already of the right type and in range (NaN fails `low <= value`).
        if type(value) is kind and (low <= value <= high if choices is None else value in choices):
            continue
        checked = param.check(value)
        if checked is not value:
            object.__setattr__(self, name, checked)  # frozen: only while being built
    _cross_check(self)


def _make_params_class() -> type:
    fields = [(p.name, p.type, dataclasses.field(default=p.default)) for p in _PARAMS]
    cls = dataclasses.make_dataclass(
        "Params", fields, frozen=True, slots=True, module=__name__,
        namespace={"__post_init__": _post_init},
    )
    cls.__doc__ = (
        "A validated, immutable set of model parameters (one attribute per registry entry).\n\n"
        "``Params(name=value, ...)`` checks every value and the rules between them and raises\n"
        ":class:`ParameterError` (naming parameter, value and allowed range) when one is\n"
        "unusable; ``Params()`` gives the registry defaults.  :func:`validate` builds one from\n"
        "a mapping (refusing unknown names with a suggestion)."
    )

    def replace(self, **changes):
        """Return a validated copy with ``changes`` applied."""
        return validate({**dataclasses.asdict(self), **changes})

    def as_dict(self) -> dict[str, Any]:
        """Plain ``{name: value}`` dict in registry order."""
        return {name: getattr(self, name) for name in REGISTRY}

    cls.replace = replace
    cls.as_dict = as_dict
    return cls


Params = _make_params_class()


def defaults() -> dict[str, Any]:
    """The registry defaults as a plain dict."""
    return {p.name: p.default for p in _PARAMS}


def validate(values: Mapping[str, Any] | None = None, *, base: Mapping[str, Any] | None = None) -> Params:
    """Validate ``values`` on top of ``base`` (default: registry defaults).

    Unknown names, wrong types, out-of-range values and impossible combinations
    raise :class:`ParameterError` with a one-line message naming the parameter,
    the value and what is allowed.
    """
    merged = dict(defaults() if base is None else base)
    for name, value in (values or {}).items():
        if name not in REGISTRY:
            raise ParameterError(f"unknown parameter {name!r}{_suggest(name)}")
        merged[name] = value
    unknown = [k for k in merged if k not in REGISTRY]
    if unknown:
        raise ParameterError(f"unknown parameter {unknown[0]!r}{_suggest(unknown[0])}")
    # Params(...) checks each value and the rules between them (once: see _post_init).
    return Params(**merged)


def _suggest(name: str) -> str:
    import difflib

    close = difflib.get_close_matches(name, list(REGISTRY), n=1)
    return f" (did you mean {close[0]!r}?)" if close else " (see 'alliancesim params')"


def parse_assignment(text: str) -> tuple[str, Any]:
    """Parse ``key=value`` from the command line into a checked ``(name, value)``."""
    if "=" not in text:
        raise ParameterError(f"--set expects key=value, got {text!r}")
    name, _, raw = text.partition("=")
    name = name.strip()
    param = REGISTRY.get(name)
    if param is None:
        raise ParameterError(f"unknown parameter {name!r}{_suggest(name)}")
    return name, param.check(raw.strip())


def by_group(names: Iterable[str] | None = None) -> dict[str, list[Param]]:
    """Parameters grouped in :data:`GROUPS` order (optionally only ``names``)."""
    wanted = set(REGISTRY if names is None else names)
    return {g: [p for p in _PARAMS if p.group == g and p.name in wanted] for g in GROUPS}


def markdown_table() -> str:
    """The parameter table for the docs, generated from the registry."""
    lines = [
        "| group | parameter | type | default | unit | allowed | meaning |",
        "|---|---|---|---|---|---|---|",
    ]
    for group, params in by_group().items():
        for p in params:
            allowed = (
                ", ".join(f"`{c}`" for c in p.choices)
                if p.choices
                else f"{_fmt(p.low)} – {_fmt(p.high)}"
            )
            lines.append(
                f"| {group} | `{p.name}` | {p.type.__name__} | `{_fmt(p.default)}` | {p.unit} "
                f"| {allowed} | {p.help} |"
            )
    return "\n".join(lines) + "\n"
