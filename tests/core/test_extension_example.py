"""The worked example of docs/extending.md works: a new mechanism touches at most four files,
needs no build step, and leaves every existing output unchanged while it is switched off."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PATCH = ROOT / "docs" / "extending" / "no_show.patch"

_RUN = """
import json, sys
from alliancesim import simulate
from alliancesim.tables import write_outputs
extra = json.loads(sys.argv[2])
write_outputs(simulate("default", seed=4, years=1.0, n_therapists=6, population=1500, initial_clients=90,
                       arrival_rate=1.5, **extra), sys.argv[1])
"""


def _run(tree: Path, out: Path, env: dict, **extra) -> None:
    subprocess.run([sys.executable, "-c", _RUN, str(out), json.dumps(extra)], check=True, cwd=tree,
                   env={**env, "PYTHONPATH": str(tree)})


def test_the_worked_extension_example(tmp_path):
    tree = tmp_path / "repo"
    for part in ("alliancesim", "docs", "tests", "scripts"):
        shutil.copytree(ROOT / part, tree / part, ignore=shutil.ignore_patterns("__pycache__", "*.png"))
    numstat = subprocess.run(["git", "apply", "--numstat", str(PATCH)], cwd=tree, capture_output=True,
                             text=True, check=True).stdout.splitlines()
    touched = [line.split("\t")[2] for line in numstat]
    assert len(touched) <= 4, touched
    # One line of context is enough to place each change, so unrelated edits nearby do not break it.
    subprocess.run(["git", "apply", "-C1", str(PATCH)], cwd=tree, check=True)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    # The guide's last step: regenerate the ODD's parameter table (docs/odd.md, already touched).
    subprocess.run([sys.executable, "scripts/update_param_table.py"], cwd=tree, check=True,
                   env={**env, "PYTHONPATH": str(tree)})

    # No build step: the edited tree runs as it is (the reference engine keeps this test quick;
    # the engines agree, see test_engine.py).
    env["ALLIANCESIM_ENGINE"] = "python"
    _run(ROOT, tmp_path / "before", env)
    _run(tree, tmp_path / "off", env)
    _run(tree, tmp_path / "on", env, no_show_rate=0.5)
    for table in ("weekly", "therapists", "relationships", "sessions", "ruptures", "events"):
        before = (tmp_path / "before" / f"{table}.parquet").read_bytes()
        assert (tmp_path / "off" / f"{table}.parquet").read_bytes() == before, f"{table} changed with the mechanism off"
    summary = lambda name: json.loads((tmp_path / name / "summary.json").read_text())["metrics"]  # noqa: E731
    assert summary("off") == summary("before")
    assert summary("on") != summary("before")

    # The example's own test, and the docs checks, pass in the edited tree.
    tests = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                            "tests/core/test_no_show.py", "tests/core/test_docs.py"],
                           cwd=tree, env={**env, "PYTHONPATH": str(tree)}, capture_output=True, text=True)
    assert tests.returncode == 0, tests.stdout[-2000:] + tests.stderr[-2000:]
