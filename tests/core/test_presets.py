"""Presets: every shipped preset loads; broken preset files give one-line errors."""

from __future__ import annotations

import pytest

from alliancesim import presets
from alliancesim.params import REGISTRY
from alliancesim.presets import PresetError

REQUIRED = {"default", "slow_to_trust", "retiring_none", "retiring_file", "retiring_file_and_introduction",
            "countertransference", "talk_laden", "talk_restricted", "fixing", "holding_space", "boundaried",
            "fenced_off"}


def test_required_presets_ship_and_load():
    names = set(presets.names())
    assert REQUIRED <= names
    for p in presets.all_presets():
        assert p.title and p.summary and p.things_to_notice and p.things_to_try, p.name
        assert set(p.params) <= set(REGISTRY)
        p.validated()


def test_retiring_presets_differ_only_in_policy():
    a, b, c = (presets.load(f"retiring_{x}") for x in ("none", "file", "file_and_introduction"))
    assert {a.params["handover_policy"], b.params["handover_policy"], c.params["handover_policy"]} == {
        "none", "file", "file_and_introduction"}
    strip = lambda d: {k: v for k, v in d.items() if k != "handover_policy"}  # noqa: E731
    assert strip(a.params) == strip(b.params) == strip(c.params)


def test_unknown_preset(tmp_path):
    with pytest.raises(PresetError, match="unknown preset 'nope': choose one of default"):
        presets.load("nope")
    with pytest.raises(PresetError, match="does not exist"):
        presets.load(str(tmp_path / "missing.toml"))


@pytest.mark.parametrize("text,message", [
    ("title = 'x'\n[params\n", "is not valid TOML"),
    ("[params]\nnope = 1\n", "unknown parameter 'nope'"),
    ("[params]\nn_therapists = 0\n", "n_therapists=0 is out of range"),
    ("colour = 'blue'\n", "unknown key 'colour'"),
    ("extends = 'nope'\n", "unknown preset 'nope'"),
])
def test_broken_preset_files(tmp_path, text, message):
    f = tmp_path / "mine.toml"
    f.write_text(text)
    with pytest.raises(PresetError, match=message) as err:
        presets.load(str(f))
    assert "\n" not in str(err.value)


def test_extends(tmp_path):
    f = tmp_path / "mine.toml"
    f.write_text("extends = 'slow_to_trust'\n[params]\nn_therapists = 12\n")
    p = presets.load(str(f))
    assert p.params["n_therapists"] == 12
    assert p.params["prior_negative_mean"] == presets.load("slow_to_trust").params["prior_negative_mean"]
