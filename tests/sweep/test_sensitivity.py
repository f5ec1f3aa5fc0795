"""Sensitivity: the cost is printed first; Sobol' S1/ST with CIs and Morris mu*/sigma, table and PNGs."""

from __future__ import annotations

import pandas as pd
from PIL import Image

from alliancesim.cli import main
from alliancesim.sweep import analyse, load_runs, load_spec, run_sweep

from .support import TINY, write_spec

# introduction_trust_carry only acts at a handover with a warm introduction: with
# handover_policy = "none" it cannot change anything.  With common random numbers its
# indices must come out exactly zero, while self-awareness must matter.
COMMON = """
years = 0.5
seed = 17
seeding = "common"
""" + TINY + """handover_policy = "none"
[outputs]
metrics = ["sessions", "mean_alliance", "dropout_share", "stayed_with_successor"]
"""


def _png(path) -> None:
    with Image.open(path) as im:
        assert im.format == "PNG" and im.width >= 500 and im.height >= 200


def test_morris_prints_its_cost_first_and_finds_the_inert_parameter(tmp_path, capsys):
    spec = write_spec(tmp_path, COMMON + """
[design]
method = "morris"
samples = 4
[vary.self_awareness_mean]
range = [0.1, 0.9]
[vary.trust_growth_rate]
range = [0.05, 0.5]
[vary.introduction_trust_carry]
range = [0.0, 1.0]
""")
    out = tmp_path / "out"
    assert main(["sensitivity", str(spec), "--out", str(out), "--dry-run"]) == 0
    dry = capsys.readouterr().out.splitlines()
    assert dry[0].startswith("sensitivity (Morris): this costs ")
    assert [line.split(":")[0] for line in dry[1:]] == ["estimated time", "estimated disk"]
    assert "4 trajectories x (3 parameters + 1) = 16 points" in dry[0]
    assert not out.exists()  # the cost is known before anything runs

    assert main(["sensitivity", str(spec), "--out", str(out), "--workers", "2", "--quiet"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == dry[0]
    runs = load_runs(out)
    assert f"this costs {len(runs)} runs" in lines[0] and (runs["status"] == "ok").all()
    text = "\n".join(lines)
    assert "sessions  (Morris elementary effects per full range, +/- 95% half-width)" in text
    assert "stayed_with_successor: skipped: 16 of 16 design points have no value" in text
    table = pd.read_csv(out / "sensitivity" / "indices.csv")
    assert list(table.columns) == ["metric", "parameter", "mu", "mu_star", "mu_star_conf", "sigma"]
    inert = table[table["parameter"] == "introduction_trust_carry"]
    assert len(inert) == 3 and (inert[["mu", "mu_star", "mu_star_conf", "sigma"]] == 0).all().all()
    aware = table[(table["parameter"] == "self_awareness_mean") & (table["metric"] == "sessions")]
    assert aware["mu_star"].item() > 0
    for name in ("sessions.png", "mean_alliance.png", "dropout_share.png", "overview.png"):
        _png(out / "sensitivity" / name)


def test_sobol_indices_with_confidence_intervals(tmp_path):
    spec_path = write_spec(tmp_path, COMMON + """
[design]
method = "sobol"
samples = 8
[vary.self_awareness_mean]
range = [0.1, 0.9]
[vary.introduction_trust_carry]
range = [0.0, 1.0]
[sensitivity]
metrics = ["sessions", "mean_alliance"]
resamples = 200
""")
    spec = load_spec(spec_path)
    result = run_sweep(spec, tmp_path / "out", workers=2, progress=False)
    assert result.ok == 8 * (2 + 2) == result.runs
    ind = analyse(spec, tmp_path / "out")
    t = ind.table.set_index(["metric", "parameter"])
    assert list(t.columns) == ["S1", "S1_conf", "ST", "ST_conf"]
    assert ind.metrics == ["sessions", "mean_alliance"]
    for metric in ind.metrics:
        assert (t.loc[(metric, "introduction_trust_carry")] == 0).all()  # exactly, CIs included
        aware = t.loc[(metric, "self_awareness_mean")]
        assert aware["ST"] > 0.5 and aware["ST_conf"] > 0  # the only parameter that acts
    # The same analysis twice gives the same numbers (bootstrap seeded from the spec).
    pd.testing.assert_frame_equal(analyse(spec, tmp_path / "out").table, ind.table)
    from alliancesim.sweep.sensitivity import write_outputs

    written = write_outputs(ind, tmp_path / "out" / "sensitivity")
    assert [p.name for p in written] == ["indices.csv", "summary.txt", "sessions.png", "mean_alliance.png",
                                         "overview.png"]
    for p in written[2:]:
        _png(p)


def test_sensitivity_needs_a_sobol_or_morris_design(tmp_path, capsys):
    spec = write_spec(tmp_path, "[vary.warmth_mean]\nvalues = [0.2, 0.4]\n")
    assert main(["sensitivity", str(spec), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "needs [design] method = \"sobol\" or \"morris\"" in err
