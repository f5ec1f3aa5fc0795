"""Named presets: TOML files of parameter values with teaching notes.

A preset file looks like::

    title = "Clients slow to trust"
    summary = "One line on what this clinic is."
    extends = "default"            # optional: start from another preset (a name, or a
                                   # .toml path relative to this file's folder)
    things_to_notice = ["...", "..."]
    things_to_try = ["..."]

    [[questions]]                  # optional, any number: "predict, then run"
    ask = "Of the clients who drop out, what share leave after their first or second session?"
    answer = "early_dropout_share" # a headline metric (alliancesim.metrics.METRICS)
    choices = ["under a third", "a third to two thirds", "over two thirds"]
    edges = [0.33, 0.67]           # where one choice ends and the next begins, in the
                                   # metric's unit (a share: 0-1); one fewer than choices
    explain = "One line shown with the measured answer."   # optional

    [params]
    prior_negative_mean = 2.5

``[params]`` may only name registered parameters (see :mod:`alliancesim.params`);
values are validated when the preset is loaded, and so are the questions (the
answer of a question is measured from the run's tables by
:func:`alliancesim.metrics.summary_metrics`, never written in the preset).  The presets shipped with the
package live beside this file; any other ``.toml`` path can be loaded the same way.
"""

from __future__ import annotations

import bisect
import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..params import ParameterError, Params, validate

HERE = Path(__file__).parent


class PresetError(ParameterError):
    """A preset that cannot be found, read or used."""


#: The keys of one ``[[questions]]`` table (``explain`` may be left out).
QUESTION_KEYS = ("ask", "answer", "choices", "edges", "explain")
#: The unit :data:`alliancesim.metrics.METRIC_UNITS` gives a share; shown as a percentage.
SHARE_UNIT = "share (0-1)"


@dataclass(frozen=True)
class Question:
    """A question a preset asks before a run, answered by the run's own figures.

    The student picks one of ``choices``; choice ``k`` covers the values from
    ``edges[k - 1]`` (inclusive) up to ``edges[k]`` (exclusive), the first choice
    everything below ``edges[0]`` and the last everything from ``edges[-1]`` up.
    The measured value is the headline metric ``answer`` (:data:`alliancesim.metrics.METRICS`)
    of the finished run.
    """

    ask: str
    answer: str
    choices: tuple[str, ...]
    edges: tuple[float, ...]
    explain: str = ""

    @property
    def unit(self) -> str:
        from ..metrics import METRIC_UNITS

        return METRIC_UNITS[self.answer]

    def choice_of(self, value: float) -> int | None:
        """Index of the choice that covers ``value`` (None for NaN: the run gave nothing to measure)."""
        if value is None or not math.isfinite(value):
            return None
        return bisect.bisect_right(self.edges, value)

    def words(self, value: float) -> str:
        """The measured value as a person reads it: ``62%`` for a share, else ``4.5 weeks``."""
        if value is None or not math.isfinite(value):
            return "nothing to measure"
        if self.unit == SHARE_UNIT:
            return f"{100 * value:.0f}%"
        return f"{value:.3g} {self.unit}"


def _question(data: Any, where: str) -> Question:
    """One ``[[questions]]`` table, checked; PresetError names the preset and the field."""
    from ..metrics import METRIC_UNITS, METRICS

    if not isinstance(data, dict):
        raise PresetError(f"{where} must be a table (write [[questions]] with ask, answer, choices, edges)")
    extra = sorted(set(data) - set(QUESTION_KEYS))
    if extra:
        raise PresetError(f"{where}: unknown key {extra[0]!r} (allowed: {', '.join(QUESTION_KEYS)})")
    missing = [k for k in QUESTION_KEYS[:4] if k not in data]
    if missing:
        raise PresetError(f"{where}: {missing[0]} is missing (a question needs ask, answer, choices and edges)")
    for key in ("ask", "explain"):
        if key in data and (not isinstance(data[key], str) or not data[key].strip()):
            raise PresetError(f"{where}.{key} must be a sentence, got {data[key]!r}")
    answer = data["answer"]
    if answer not in METRICS:
        raise PresetError(f"{where}.answer={answer!r} is not a headline metric: choose one of "
                          f"{', '.join(METRICS)} (see 'alliancesim metrics')")
    choices = data["choices"]
    if (not isinstance(choices, list) or len(choices) < 2
            or not all(isinstance(c, str) and c.strip() for c in choices)):
        raise PresetError(f"{where}.choices must be a list of two or more answers in words, got {choices!r}")
    if len(set(choices)) != len(choices):
        raise PresetError(f"{where}.choices has the same answer twice: {choices!r}")
    edges = data["edges"]
    if (not isinstance(edges, list) or len(edges) != len(choices) - 1
            or not all(isinstance(e, (int, float)) and not isinstance(e, bool) and math.isfinite(e)
                       for e in edges)):
        raise PresetError(f"{where}.edges must be {len(choices) - 1} number{'s' if len(choices) != 2 else ''} "
                          f"(one fewer than choices: where one choice ends and the next begins), got {edges!r}")
    if any(b <= a for a, b in zip(edges, edges[1:])):
        raise PresetError(f"{where}.edges must rise from one to the next, got {edges!r}")
    if METRIC_UNITS[answer] == SHARE_UNIT and not all(0 < e < 1 for e in edges):
        raise PresetError(f"{where}.edges={edges!r}: {answer} is a share, so its edges lie between 0 and 1 "
                          "(0.33 for a third)")
    return Question(ask=data["ask"].strip(), answer=answer, choices=tuple(c.strip() for c in choices),
                    edges=tuple(float(e) for e in edges), explain=str(data.get("explain", "")).strip())


@dataclass(frozen=True)
class Preset:
    """A named set of parameter values with teaching notes."""

    name: str
    title: str
    summary: str
    params: dict[str, Any]
    things_to_notice: tuple[str, ...] = ()
    things_to_try: tuple[str, ...] = ()
    #: What to predict before the run (:class:`Question`), in the order asked.
    questions: tuple[Question, ...] = ()
    path: Path | None = field(default=None, compare=False)

    def validated(self, overrides: dict[str, Any] | None = None) -> Params:
        """The preset's values on top of the registry defaults, plus ``overrides``, validated."""
        base = validate(self.params).as_dict()
        return validate(overrides or {}, base=base)


def names() -> list[str]:
    """Names of the presets shipped with the package, ``default`` first."""
    found = sorted(p.stem for p in HERE.glob("*.toml"))
    return ["default"] + [n for n in found if n != "default"]


def _read(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise PresetError(f"preset file {str(path)!r} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise PresetError(f"preset file {str(path)!r} is not valid TOML: {exc}") from None
    except UnicodeDecodeError:
        raise PresetError(f"preset file {str(path)!r} is not a TOML text file (not UTF-8 text)") from None
    except IsADirectoryError:
        raise PresetError(f"preset {str(path)!r} is a folder, not a .toml file") from None
    except OSError as exc:
        raise PresetError(f"cannot read preset file {str(path)!r}: {exc.strerror}") from None


def _is_path(text: str) -> bool:
    """A preset given as a file (``x.toml``, ``dir/x``) rather than a shipped preset's name."""
    return Path(text).suffix == ".toml" or "/" in text or "\\" in text


def load(name_or_path: str | Path, _seen: tuple[str, ...] = ()) -> Preset:
    """Load a shipped preset by name, or any preset file by path.

    Raises :class:`PresetError` (one line, naming the problem) for an unknown
    name, an unreadable or malformed file, unknown keys or invalid values.
    """
    text = str(name_or_path)
    path = Path(text)
    if not _is_path(text):
        path = HERE / f"{text}.toml"
        if not path.exists():
            raise PresetError(f"unknown preset {text!r}: choose one of {', '.join(names())}"
                              " (see 'alliancesim scenarios') or give a .toml file")
    data = _read(path)
    name = path.stem
    if name in _seen:
        raise PresetError(f"preset {name!r} extends itself through {' -> '.join(_seen)}")
    allowed = {"title", "summary", "extends", "things_to_notice", "things_to_try", "questions", "params"}
    extra = sorted(set(data) - allowed)
    if extra:
        raise PresetError(f"preset {str(path)!r}: unknown key {extra[0]!r} (allowed: {', '.join(sorted(allowed))})")
    params = data.get("params", {})
    if not isinstance(params, dict):
        raise PresetError(f"preset {str(path)!r}: [params] must be a table of name = value")
    notes = {}
    for key in ("things_to_notice", "things_to_try"):
        value = data.get(key, [])
        if not isinstance(value, list) or not all(isinstance(x, str) for x in value):
            raise PresetError(f"preset {str(path)!r}: {key} must be a list of sentences "
                              f'(["...", "..."]), got {value!r}')
        notes[key] = tuple(value)
    for key in ("title", "summary"):
        if key in data and not isinstance(data[key], str):
            raise PresetError(f"preset {str(path)!r}: {key} must be text, got {data[key]!r}")
    asked = data.get("questions", [])
    if not isinstance(asked, list):
        raise PresetError(f"preset {str(path)!r}: questions must be written as [[questions]] tables, got {asked!r}")
    questions = tuple(_question(q, f"preset {str(path)!r}: questions[{k + 1}]") for k, q in enumerate(asked))
    merged: dict[str, Any] = {}
    if "extends" in data:
        parent = data["extends"]
        if not isinstance(parent, str) or not parent:
            raise PresetError(f"preset {str(path)!r}: extends must be a preset name or a .toml path, "
                              f"got {parent!r}")
        if _is_path(parent) and not Path(parent).is_absolute():
            parent = str(path.parent / parent)  # a path is relative to this preset's own folder
        merged.update(load(parent, _seen + (name,)).params)
    merged.update(params)
    try:
        validate(merged)
    except ParameterError as exc:
        raise PresetError(f"preset {str(path)!r}: {exc}") from None
    return Preset(
        name=name,
        title=str(data.get("title", name)),
        summary=str(data.get("summary", "")),
        params=merged,
        things_to_notice=notes["things_to_notice"],
        things_to_try=notes["things_to_try"],
        questions=questions,
        path=path,
    )


def all_presets() -> list[Preset]:
    """Every shipped preset, loaded."""
    return [load(n) for n in names()]
