"""Named presets: TOML files of parameter values with teaching notes.

A preset file looks like::

    title = "Clients slow to trust"
    summary = "One line on what this clinic is."
    extends = "default"            # optional: start from another preset (a name, or a
                                   # .toml path relative to this file's folder)
    things_to_notice = ["...", "..."]
    things_to_try = ["..."]

    [params]
    prior_negative_mean = 2.5

``[params]`` may only name registered parameters (see :mod:`alliancesim.params`);
values are validated when the preset is loaded.  The presets shipped with the
package live beside this file; any other ``.toml`` path can be loaded the same way.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..params import ParameterError, Params, validate

HERE = Path(__file__).parent


class PresetError(ParameterError):
    """A preset that cannot be found, read or used."""


@dataclass(frozen=True)
class Preset:
    """A named set of parameter values with teaching notes."""

    name: str
    title: str
    summary: str
    params: dict[str, Any]
    things_to_notice: tuple[str, ...] = ()
    things_to_try: tuple[str, ...] = ()
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
    allowed = {"title", "summary", "extends", "things_to_notice", "things_to_try", "params"}
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
        path=path,
    )


def all_presets() -> list[Preset]:
    """Every shipped preset, loaded."""
    return [load(n) for n in names()]
