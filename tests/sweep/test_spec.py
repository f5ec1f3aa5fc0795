"""Spec parsing: the example specs load, and every kind of bad spec is one line naming the problem."""

from __future__ import annotations

import numpy as np
import pytest

from alliancesim.cli import main
from alliancesim.sweep import SpecError, load_spec, plan_sweep
from alliancesim.sweep.design import design_chunks, n_points

from .support import EXAMPLES, write_spec

EXAMPLE_FILES = sorted(EXAMPLES.glob("*.toml"))


def test_examples_exist():
    names = {p.stem for p in EXAMPLE_FILES}
    assert {"boundaries_grid", "handover_policies", "clients_lhs", "sobol_therapists",
            "morris_screening"} <= names


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: p.stem)
def test_example_specs_load_and_plan(path):
    spec = load_spec(path)
    plan = plan_sweep(spec)
    assert plan.points == n_points(spec) == sum(len(df) for df in design_chunks(spec))
    assert plan.runs == plan.distinct * spec.replicates > 0
    for name, value in spec.base.items():  # every base value is a registered, allowed value
        from alliancesim.params import REGISTRY

        assert REGISTRY[name].check(value) == value


BAD = {
    "malformed_toml": ('name = "x"\n[vary.self_awareness_mean\nvalues = [0.1]\n',
                       ["is not valid TOML", "line 2"]),
    "unknown_parameter": ("[vary.self_awarenes]\nvalues = [0.1, 0.2]\n",
                          ["unknown parameter 'self_awarenes'", "did you mean 'self_awareness_mean'"]),
    "unknown_fixed_parameter": ("[fixed]\nwarmth = 0.5\n", ["[fixed] unknown parameter 'warmth'"]),
    "range_above_allowed": ("[vary.self_awareness_mean]\nrange = [0.2, 1.5]\nsteps = 3\n",
                            ["[vary.self_awareness_mean]", "self_awareness_mean=1.5", "allowed 0 to 1"]),
    "value_below_allowed": ("[vary.n_therapists]\nvalues = [0, 5]\n",
                            ["n_therapists=0", "allowed 1 to 60"]),
    "distribution_outside": ('[design]\nmethod = "lhs"\nsamples = 8\n[vary.warmth_mean]\n'
                             'distribution = "uniform"\nlow = -0.5\nhigh = 0.5\n',
                             ["[vary.warmth_mean]", "warmth_mean=-0.5", "allowed 0 to 1"]),
    "unbounded_normal": ('[design]\nmethod = "lhs"\nsamples = 8\n[vary.warmth_mean]\n'
                         'distribution = "normal"\nmean = 0.5\nsd = 0.2\n',
                         ["[vary.warmth_mean]", "unbounded", "allowed range 0 to 1"]),
    "bad_choice": ('[vary.handover_policy]\nvalues = ["none", "fax"]\n',
                   ["handover_policy='fax'", "one of none, file, file_and_introduction"]),
    "range_on_choice": ('[vary.handover_policy]\nrange = [0, 1]\n', ["give values = [...]"]),
    "grid_distribution": ('[vary.warmth_mean]\ndistribution = "uniform"\nlow = 0.1\nhigh = 0.9\n',
                          ["grid design cannot use a distribution"]),
    "grid_range_without_steps": ("[vary.warmth_mean]\nrange = [0.1, 0.9]\n", ["needs steps"]),
    "sobol_not_power_of_two": ('[design]\nmethod = "sobol"\nsamples = 100\n[vary.warmth_mean]\n'
                               'range = [0.1, 0.9]\n', ["samples=100 must be a power of 2", "64 or 128"]),
    "unknown_top_key": ("repliactes = 3\n", ["unknown key 'repliactes'", "did you mean 'replicates'"]),
    "unknown_metric": ('[outputs]\nmetrics = ["dropout"]\n', ["unknown metric 'dropout'"]),
    "fixed_and_varied": ("[fixed]\nwarmth_mean = 0.5\n[vary.warmth_mean]\nvalues = [0.1, 0.2]\n",
                         ["warmth_mean is both fixed and varied"]),
    "unknown_preset": ('preset = "nonesuch"\n', ["unknown preset 'nonesuch'"]),
    "duplicate_values": ("[vary.warmth_mean]\nvalues = [0.1, 0.1]\n", ["lists 0.1 twice"]),
    "bad_design": ('[design]\nmethod = "factorial"\n', ["method 'factorial' is not one of"]),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_spec_is_one_line_naming_the_problem(case, tmp_path, capsys):
    text, expected = BAD[case]
    path = write_spec(tmp_path, text)
    with pytest.raises(SpecError) as info:
        load_spec(path)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"spec {str(path)!r}")
    for fragment in expected:
        assert fragment in message
    # The command line: exit status 2, exactly one line on stderr, nothing created.
    out = tmp_path / "out"
    assert main(["sweep", str(path), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("alliancesim: error: spec ")
    assert not out.exists()


def test_missing_spec_file(tmp_path, capsys):
    assert main(["sweep", str(tmp_path / "nope.toml"), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err == f"alliancesim: error: spec file {str(tmp_path / 'nope.toml')!r} does not exist\n"


def test_grid_ranges_and_types(tmp_path):
    spec = load_spec(write_spec(tmp_path, """
[vary.self_awareness_mean]
range = [0.2, 0.8]
steps = 4
[vary.n_therapists]
range = [2, 6]
step = 2
[vary.handover_policy]
values = ["none", "file"]
"""))
    by = {v.name: v for v in spec.varied}
    assert by["self_awareness_mean"].values == (0.2, 0.4, 0.6, 0.8)  # rounded, not 0.4000000000000001
    assert by["n_therapists"].values == (2, 4, 6)
    df = next(design_chunks(spec))
    assert len(df) == 4 * 3 * 2
    assert df["n_therapists"].dtype == "int64"
    assert set(df["handover_policy"]) == {"none", "file"}


def test_from_unit_mappings(tmp_path):
    spec = load_spec(write_spec(tmp_path, """
[design]
method = "lhs"
samples = 10
[vary.n_therapists]
range = [2, 5]
[vary.handover_policy]
values = ["none", "file", "file_and_introduction"]
[vary.warmth_mean]
distribution = "normal"
mean = 0.9
sd = 0.3
low = 0.4
high = 0.95
[vary.trust_growth_rate]
distribution = "loguniform"
low = 0.01
high = 1.0
[vary.prior_negative_mean]
distribution = "triangular"
low = 0.0
mode = 0.5
high = 3.0
"""))
    u = np.linspace(0, 1, 4001)
    by = {v.name: v for v in spec.varied}
    ints = by["n_therapists"].from_unit(u)
    assert sorted(set(ints)) == [2, 3, 4, 5]
    counts = np.bincount(ints)[2:]
    assert counts.max() - counts.min() <= 2  # equal slices of [0, 1]
    choices = by["handover_policy"].from_unit(u)
    assert set(choices) == {"none", "file", "file_and_introduction"}
    warm = np.array(by["warmth_mean"].from_unit(u))
    assert warm.min() == pytest.approx(0.4) and warm.max() == pytest.approx(0.95)
    assert np.median(warm) > 0.7  # mass pulled towards the mean 0.9, truncated at 0.95
    logu = np.array(by["trust_growth_rate"].from_unit(u))
    assert np.median(logu) == pytest.approx(0.1, rel=1e-3)  # geometric midpoint of 0.01 and 1
    tri = np.array(by["prior_negative_mean"].from_unit(u))
    assert tri.min() == 0.0 and tri.max() == pytest.approx(3.0)
    assert np.all(np.diff(tri) >= 0)  # a quantile function is monotone


def test_preset_path_is_relative_to_the_spec_and_fixed_values_apply(tmp_path):
    write_spec(tmp_path / "presets", 'title = "Mine"\n[params]\nwarmth_mean = 0.31\nn_sites = 2\n', "mine.toml")
    spec = load_spec(write_spec(tmp_path / "specs", """
preset = "../presets/mine.toml"
years = 2
[fixed]
n_sites = 4
[vary.self_awareness_mean]
values = [0.5]
"""))
    assert spec.base["warmth_mean"] == 0.31  # from the preset
    assert spec.base["n_sites"] == 4  # [fixed] over the preset
    assert spec.base["years"] == 2.0 and spec.years == 2.0
    bad = write_spec(tmp_path / "specs", 'preset = "../presets/missing.toml"\n', "bad.toml")
    with pytest.raises(SpecError, match="missing.toml' does not exist"):
        load_spec(bad)
