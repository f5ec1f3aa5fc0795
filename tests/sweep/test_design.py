"""Designs and seeds: sizes, determinism, stratification; keys and seeds independent of order."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from alliancesim.sweep import load_spec, plan_sweep
from alliancesim.sweep.design import design_chunks, n_points, unit_column
from alliancesim.sweep.seeding import canonical_params, point_id, run_key, run_seed

from .support import write_spec

FOUR = """
[vary.self_awareness_mean]
range = [0.1, 0.9]
[vary.warmth_mean]
range = [0.3, 0.9]
[vary.n_therapists]
range = [2, 8]
[vary.handover_policy]
values = ["none", "file", "file_and_introduction"]
"""


def _design(tmp_path, head: str, name="s.toml") -> tuple:
    spec = load_spec(write_spec(tmp_path, head + FOUR, name))
    return spec, pd.concat(design_chunks(spec, chunk=7), ignore_index=True)


@pytest.mark.parametrize("head,expected", [
    ('[design]\nmethod = "lhs"\nsamples = 20\n', 20),
    ('[design]\nmethod = "sobol"\nsamples = 16\n', 16 * (4 + 2)),
    ('[design]\nmethod = "sobol"\nsamples = 8\nsecond_order = true\n', 8 * (2 * 4 + 2)),
    ('[design]\nmethod = "morris"\nsamples = 5\n', 5 * (4 + 1)),
])
def test_sampled_design_sizes_and_bounds(tmp_path, head, expected):
    spec, df = _design(tmp_path, head)
    assert n_points(spec) == expected == len(df)
    assert df["point"].tolist() == list(range(expected))  # chunks come back in order
    assert df["self_awareness_mean"].between(0.1, 0.9).all()
    assert df["warmth_mean"].between(0.3, 0.9).all()
    assert set(df["n_therapists"]) <= set(range(2, 9)) and df["n_therapists"].dtype == "int64"
    assert set(df["handover_policy"]) <= {"none", "file", "file_and_introduction"}
    for name in spec.names:
        assert df[unit_column(name)].between(0, 1).all()


def test_designs_are_deterministic_and_follow_the_seed(tmp_path):
    head = '[design]\nmethod = "lhs"\nsamples = 12\n'
    _, a = _design(tmp_path / "a", "seed = 5\n" + head)
    _, b = _design(tmp_path / "b", "seed = 5\n" + head)
    _, c = _design(tmp_path / "c", "seed = 6\n" + head)
    pd.testing.assert_frame_equal(a, b)
    assert not np.allclose(a[unit_column("warmth_mean")], c[unit_column("warmth_mean")])


def test_latin_hypercube_is_stratified(tmp_path):
    _, df = _design(tmp_path, '[design]\nmethod = "lhs"\nsamples = 25\n')
    for col in [c for c in df.columns if c.startswith("u.")]:
        strata = np.floor(df[col].to_numpy() * 25).astype(int)
        assert sorted(strata) == list(range(25))  # one point in every twenty-fifth


def test_morris_trajectories_move_one_parameter_per_step(tmp_path):
    spec, df = _design(tmp_path, '[design]\nmethod = "morris"\nsamples = 4\nlevels = 4\n')
    u = df[[unit_column(n) for n in spec.names]].to_numpy()
    for t in range(4):
        steps = np.diff(u[t * 5:(t + 1) * 5], axis=0)
        assert ((np.abs(steps) > 1e-12).sum(axis=1) == 1).all()
        assert np.allclose(np.abs(steps[np.abs(steps) > 1e-12]), 4 / (2 * 3))  # delta = p / (2 (p - 1))


def test_grid_is_the_full_product(tmp_path):
    spec = load_spec(write_spec(tmp_path, """
replicates = 3
[vary.self_awareness_mean]
values = [0.2, 0.5, 0.8]
[vary.handover_policy]
values = ["none", "file"]
"""))
    df = next(design_chunks(spec))
    assert len(df) == 6 == n_points(spec)
    assert set(zip(df["self_awareness_mean"], df["handover_policy"])) == {
        (a, h) for a in (0.2, 0.5, 0.8) for h in ("none", "file")}
    assert plan_sweep(spec).runs == 18


def test_replicates_only_sweep_has_one_point(tmp_path):
    spec = load_spec(write_spec(tmp_path, "replicates = 5\nyears = 2\n"))
    assert n_points(spec) == 1 and plan_sweep(spec).runs == 5


def test_point_id_is_content_not_order():
    a = {"x": 1, "y": 0.5, "z": "file", "w": True}
    b = dict(reversed(list(a.items())))
    assert point_id(a) == point_id(b)
    assert point_id(a) != point_id({**a, "y": 0.5000000001})
    assert canonical_params({"y": np.float64(0.5), "x": np.int64(1)}) == '{"x":1,"y":0.5}'
    assert run_key(point_id(a), 3) == point_id(a) + "-3"


def test_run_seeds():
    p, q = point_id({"x": 1}), point_id({"x": 2})
    s = run_seed(7, p, 0)
    assert s == run_seed(7, p, 0) and 0 <= s < 2**63
    assert len({run_seed(7, p, 0), run_seed(7, p, 1), run_seed(7, q, 0), run_seed(8, p, 0)}) == 4
    # common random numbers: the same stream at every point, a different one per replicate
    assert run_seed(7, p, 0, "common") == run_seed(7, q, 0, "common") != run_seed(7, p, 1, "common")
    # the common stream is the root's replicate-th child, as SeedSequence.spawn makes it
    child = np.random.SeedSequence(7).spawn(2)[1]
    assert run_seed(7, p, 1, "common") == int(child.generate_state(1, np.uint64)[0]) & (2**63 - 1)
