"""scripts/same_outputs.py: two versions of the code compared output file by output file."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "same_outputs.py"


def _load():
    spec = importlib.util.spec_from_file_location("same_outputs", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_only_the_code_fingerprint_may_differ(tmp_path):
    same = _load()
    before, after = tmp_path / "before" / "run", tmp_path / "after" / "run"
    for folder, fingerprint in ((before, "aaa"), (after, "bbb")):
        folder.mkdir(parents=True)
        (folder / "summary.json").write_text(json.dumps({"code_fingerprint": fingerprint, "seed": 1}))
        (folder / "weekly.parquet").write_bytes(b"same")
    assert same.compare(tmp_path / "before", tmp_path / "after") == (2, [])
    (after / "weekly.parquet").write_bytes(b"other")
    (after / "summary.json").write_text(json.dumps({"code_fingerprint": "bbb", "seed": 2}))
    (after / "sessions.parquet").write_bytes(b"new")
    assert same.compare(tmp_path / "before", tmp_path / "after") == (
        3, ["run/sessions.parquet", "run/summary.json", "run/weekly.parquet"])


def test_the_checkout_against_its_own_commit():
    """End to end on a short run: a clean checkout gives the outputs of its own commit (with uncommitted
    edits to the package either answer can be right, but the exit code must agree with the last line)."""
    out = subprocess.run([sys.executable, str(SCRIPT), "HEAD", "--presets", "default", "--seeds", "1",
                          "--years", "0.2"], capture_output=True, text=True, cwd=ROOT)
    last = out.stdout.strip().splitlines()[-1]
    assert last.startswith("7 files compared, ") and "HEAD against this checkout" in last, out.stdout + out.stderr
    edited = subprocess.run(["git", "status", "--porcelain", "alliancesim"], capture_output=True, text=True,
                            cwd=ROOT, check=True).stdout.strip()
    if not edited:
        assert ", 0 differ" in last and out.returncode == 0
    assert out.returncode == (0 if ", 0 differ" in last else 1)
    refused = subprocess.run([sys.executable, str(SCRIPT), "no-such-revision"], capture_output=True, text=True,
                             cwd=ROOT)
    assert refused.returncode == 2 and "no-such-revision" in refused.stderr
