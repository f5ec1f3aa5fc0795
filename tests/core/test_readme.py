"""Every code block of README.md (and of docs/mesa_and_ema.md) works exactly as written, in order.

``bash`` blocks run in ``bash -e`` and ``python`` blocks in ``python -``, in one shared folder that
looks like a set-up clone (the repository's ``experiments/`` and ``notebooks/``, and ``.venv``
standing for this test's environment) with that environment activated, as the README asks.
``PYTHONPATH`` names this checkout, so its code is what runs even when the environment holds an
editable install of another checkout.  ``toml`` blocks must load as sweep specs.  Blocks marked
``serves`` start, answer at their URL and stop on Ctrl-C; the quick start is run by ``.ci/run``
and the two ``not-run`` blocks say why and what runs them instead.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from processes import stop_with_ctrl_c

ROOT = Path(__file__).resolve().parents[2]

_spec = importlib.util.spec_from_file_location("readme_blocks", ROOT / "scripts" / "readme_blocks.py")
readme_blocks = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = readme_blocks
_spec.loader.exec_module(readme_blocks)

BLOCKS = readme_blocks.blocks()
#: Pages whose every block runs too, after the README's (same folder, same activated shell).
PAGES = [ROOT / "docs" / "mesa_and_ema.md"]


def _runnable(blocks):
    return [b for b in blocks if b.language in ("bash", "python", "toml") and b.kind not in ("quick-start", "not-run")]


RUNNABLE = [("README.md", b) for b in _runnable(BLOCKS)] + [
    (page.relative_to(ROOT).as_posix(), b) for page in PAGES for b in _runnable(readme_blocks.blocks(page))]


@pytest.fixture(scope="module")
def clone(tmp_path_factory) -> tuple[Path, dict[str, str]]:
    """A folder laid out like a set-up clone, and the environment of a shell that activated .venv."""
    folder = tmp_path_factory.mktemp("readme")
    for name in ("experiments", "notebooks", "docs", "scripts"):
        (folder / name).symlink_to(ROOT / name)
    (folder / ".venv").symlink_to(sys.prefix)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONHOME",)}
    env.update(VIRTUAL_ENV=str(folder / ".venv"), PATH=f"{folder / '.venv' / 'bin'}{os.pathsep}{env['PATH']}",
               PYTHONPATH=str(ROOT), MPLBACKEND="Agg")
    return folder, env


def test_the_readme_has_the_blocks_this_test_knows():
    kinds = [b.kind for b in BLOCKS]
    assert kinds.count("quick-start") == 1 and kinds.count("serves") >= 1
    assert all(b.kind in ("", "quick-start", "serves", "not-run") for b in BLOCKS)
    assert all(b.note for b in BLOCKS if b.kind == "not-run"), "a not-run block must say why"
    assert len([b for b in BLOCKS if b.kind == "not-run"]) <= 2  # keep it that way


def test_ci_runs_the_quick_start_as_written():
    ci = (ROOT / ".ci" / "run").read_text()
    assert "scripts/readme_blocks.py quick-start" in ci
    quick = next(b for b in BLOCKS if b.kind == "quick-start").code
    assert "bash scripts/setup.sh" in quick and "source .venv/bin/activate" in quick


def test_readme_commands_assume_the_activated_venv_consistently():
    for block in BLOCKS:
        if block.language == "bash":
            used = block.code.replace("source .venv/bin/activate", "")
            assert ".venv/bin/" not in used, f"README line {block.line}: use the activated .venv"


@pytest.mark.parametrize("source, block", RUNNABLE, ids=[f"{src}:{b.line}-{b.language}" for src, b in RUNNABLE])
def test_block_works_as_written(source, block, clone):
    folder, env = clone
    if block.language == "toml":
        from alliancesim.sweep import load_spec

        path = folder / f"readme_line{block.line}.toml"
        path.write_text(block.code)
        load_spec(path)  # raises with the parameter's name if the example went stale
        return
    if block.kind == "serves":
        serve(block, folder, env)
        return
    command = ["bash", "-e", "-c", block.code] if block.language == "bash" else ["python", "-"]
    proc = subprocess.run(command, cwd=folder, env=env, input=block.code if block.language == "python" else None,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"{source} line {block.line} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    if "for policy in" in block.code:  # each line of the handover loop names its policy
        lines = proc.stdout.splitlines()
        assert [line.split()[0] for line in lines] == ["none", "file", "file_and_introduction"], proc.stdout


def _answers(url: str) -> bool:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def serve(block, folder: Path, env: dict[str, str]) -> None:
    process = subprocess.Popen(["bash", "-e", "-c", block.code], cwd=folder, env=env, stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 90
        while not _answers(block.note.rstrip("/") + "/readyz"):
            assert process.poll() is None, process.stdout.read().decode()
            assert time.monotonic() < deadline, f"README line {block.line} did not serve {block.note} within 90 s"
            time.sleep(0.3)
    finally:
        stop_with_ctrl_c(process)
    assert process.returncode in (0, 130, -signal.SIGINT), process.stdout.read().decode()
