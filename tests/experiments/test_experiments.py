"""The experiments in ``experiments/``: the reduced run writes every output, and the committed
outputs come from a full-size run of the current specs and scripts."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[2]
EXPERIMENTS = ROOT / "experiments"

#: Every file each experiment writes, besides run_info.json (figures first).
EXPECTED = {
    "01_handover": ["handover.png", "table.csv", "table.md", "differences.csv", "differences.md",
                    "t1_clients.csv", "t1_clients.md"],
    "02_self_awareness": ["self_awareness.png", "table.csv", "table.md"],
    "03_prior_negative": ["prior_negative.png", "table.csv", "table.md", "per_client.csv", "per_client.md"],
    "04_talk": ["talk.png", "table.csv", "table.md", "per_client.csv", "per_client.md", "advantage.csv",
                "advantage.md"],
    "05_holding_space": ["holding_space.png", "table.csv", "table.md"],
    "06_boundaries": ["boundaries.png", "table.csv", "table.md"],
    "07_calibration": ["calibration.png", "table.csv", "table.md", "dose_response.csv", "dose_response.md",
                       "calibration.md"],
}
#: Experiments 01-06 also write their results note (from RESULTS.template.md) and its quotes.
for _name in list(EXPECTED)[:6]:
    EXPECTED[_name] = [*EXPECTED[_name], "RESULTS.md", "quotes.json"]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def check_figure(path: Path) -> None:
    from PIL import Image

    with Image.open(path) as im:
        assert im.format == "PNG", path
        width, height = im.size
        assert width >= 600 and height >= 300, f"{path.name} is only {width}x{height}"
        pixels = np.asarray(im.convert("L"), dtype=float)
    # A figure with axes, lines and text, not a blank canvas.
    assert pixels.std() > 10 and (pixels < 128).mean() > 0.005, f"{path.name} looks empty"


def check_table(path: Path) -> None:
    df = pd.read_csv(path)
    assert len(df) >= 2 and df.shape[1] >= 3, f"{path.name}: {df.shape}"
    numbers = df.select_dtypes("number")
    assert numbers.shape[1] >= 2, f"{path.name} has no numbers"
    assert np.isfinite(numbers.to_numpy(dtype=float)).any(axis=0).sum() >= 2, f"{path.name} is all NaN"


def check_output(path: Path, reduced: bool) -> None:
    """One output of an experiment: a figure that is not blank, a table with numbers, a Markdown
    table that says whether it comes from a reduced run."""
    assert path.is_file(), f"{path.parent.name}/{path.name} was not written"
    if path.suffix == ".png":
        check_figure(path)
    elif path.suffix == ".csv":
        check_table(path)
    elif path.suffix == ".json":
        assert json.loads(path.read_text())["results"], path
    elif path.name == "RESULTS.md":
        text = path.read_text()
        assert ("REDUCED SIZE" in text) == reduced, path
        assert "python experiments/" in text and "{" not in text, path
    elif path.suffix == ".md":
        text = path.read_text()
        if not reduced:
            assert "REDUCED SIZE" not in text, path
        elif path.name != "calibration.md":
            assert text.count("\n|") >= 3 and "REDUCED SIZE" in text, path


def test_every_experiment_folder_is_known():
    found = sorted(p.name for p in EXPERIMENTS.iterdir() if p.is_dir() and p.name[:2].isdigit())
    assert found == sorted(EXPECTED)
    for name in found:
        for f in ("spec.toml", "run.py", "RESULTS.md"):
            assert (EXPERIMENTS / name / f).is_file(), f"{name}/{f} is missing"


def test_specs_load():
    from alliancesim.sweep import load_spec, plan_sweep

    for name in EXPECTED:
        spec = load_spec(EXPERIMENTS / name / "spec.toml")
        assert plan_sweep(spec).runs >= 10, name


def test_reduced_run_all_writes_every_output(tmp_path):
    """``run_all.py --reduced`` in a fresh interpreter, as CI and a new user would run it."""
    out = tmp_path / "out"
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, str(EXPERIMENTS / "run_all.py"), "--reduced", "--out", str(out)],
                          cwd=tmp_path, capture_output=True, text=True, timeout=240,
                          env={**os.environ, "MPLBACKEND": "Agg"})
    seconds = time.perf_counter() - started
    assert proc.returncode == 0, proc.stderr[-3000:]
    for name, files in EXPECTED.items():
        folder = out / name
        info = json.loads((folder / "run_info.json").read_text())
        assert info["reduced"] is True and info["sweep_runs"] >= 2, info
        assert sorted(info["outputs"]) == sorted(files), (name, info["outputs"])
        for f in files:
            check_output(folder / f, reduced=True)
    # The reduced notes quote their own (reduced) tables.
    from .test_prose import problems

    for name in EXPECTED:
        if "RESULTS.md" in EXPECTED[name]:
            assert problems(out / name, EXPERIMENTS / name) == []
    # The committed figures are never touched by a reduced run.
    for name in EXPECTED:
        assert not (EXPERIMENTS / name / "sweep").exists()
    assert "total" in proc.stdout
    print(f"reduced run_all: {seconds:.1f} s")


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_committed_outputs_come_from_a_full_run_of_the_current_files(name):
    """The figures, tables and run_info.json in the repository come from the full-size run of the
    spec, script and model code as they are now: change any and ``python experiments/run_all.py``
    must run again."""
    folder = EXPERIMENTS / name
    info = json.loads((folder / "run_info.json").read_text())
    assert info["reduced"] is False
    assert info["spec_sha256"] == sha256(folder / "spec.toml"), f"{name}/spec.toml changed since the full run"
    assert info["script_sha256"] == sha256(folder / "run.py"), f"{name}/run.py changed since the full run"
    assert info["common_sha256"] == sha256(EXPERIMENTS / "common.py"), "experiments/common.py changed since the full run"
    from alliancesim.runner import code_fingerprint

    assert info["code_fingerprint"] == code_fingerprint(), "the model code changed since the full run"
    assert sorted(info["outputs"]) == sorted(EXPECTED[name])
    for f in EXPECTED[name]:
        check_output(folder / f, reduced=False)
    results = (folder / "RESULTS.md").read_text()
    assert "python experiments/" in results, f"{name}/RESULTS.md does not say which command produced it"


def test_readme_shows_the_current_experiment_figure():
    sys.path.insert(0, str(EXPERIMENTS))
    try:
        import run_all
    finally:
        sys.path.remove(str(EXPERIMENTS))
    name, figure, copy = run_all.README_FIGURE
    assert copy.is_file() and sha256(copy) == sha256(EXPERIMENTS / name / figure), \
        "docs/images has an older copy of the figure: run python experiments/run_all.py"
    readme = (ROOT / "README.md").read_text()
    assert f"]({copy.relative_to(ROOT).as_posix()})" in readme
