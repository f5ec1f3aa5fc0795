"""The package route: the built wheel, installed into a fresh venv with no repository on the path,
runs a simulation and serves the dashboard offline in Chromium.  And a front-end file that cannot
be loaded is a message on the page, never a white page.

Speed: the sdist and the wheel (from the sdist) are built without build isolation (the backend is
the same setuptools, from the ``dev`` extra; only fetching it again is skipped), and the fresh venv gets alliancesim's *dependencies* from the test
environment's site-packages through a ``.pth`` line (and their Jupyter widget configs from
its ``etc/jupyter`` and ``share/jupyter``, which pip would have installed with them).  Such a line only adds a path: the ``.pth``
files *inside* that folder (e.g. an editable install's finder pointing at a checkout) are not
processed, and the venv's own site-packages, where the wheel is installed, comes first.
``test_the_installed_wheel_is_what_runs`` proves it: the only ``alliancesim`` on the fresh venv's
``sys.path`` is the installed one, and nothing on it lies in the repository.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from alliancesim.dashboard import offline

from .conftest import REPO_ROOT, _answers, _free_port, _missing_assets_reason, _skip_or_fail, _stop

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@dataclass
class FreshVenv:
    root: Path
    site_packages: Path
    work: Path  # a folder outside the repository to run in
    env: dict[str, str]

    def bin(self, name: str) -> str:
        return str(self.root / "bin" / name)

    def run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        return subprocess.run(args, cwd=self.work, env=self.env, stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, timeout=timeout)


def _check(proc: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert proc.returncode == 0, f"{' '.join(map(str, proc.args))} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc


@pytest.fixture(scope="module")
def fresh_venv(tmp_path_factory) -> FreshVenv:
    reason = _missing_assets_reason()  # the build hook would need npm and the registry
    if reason is not None:
        _skip_or_fail(reason)
    base = tmp_path_factory.mktemp("installed")
    wheels, root, work = base / "wheels", base / "venv", base / "work"
    work.mkdir()
    quiet = dict(os.environ, PIP_DISABLE_PIP_VERSION_CHECK="1")
    # the sdist first, then the wheel from it (as from PyPI): the sdist must carry everything, and no
    # leftover of an earlier in-tree build can slip into the wheel
    _check(subprocess.run([sys.executable, "-m", "build", "--sdist", "--no-isolation", "--outdir", str(wheels),
                           str(REPO_ROOT)], env=quiet, capture_output=True, text=True, timeout=600))
    (sdist,) = wheels.glob("alliancesim-*.tar.gz")
    _check(subprocess.run([sys.executable, "-m", "pip", "wheel", str(sdist), "--no-deps", "--no-build-isolation",
                           "-q", "-w", str(wheels)], cwd=base, env=quiet, capture_output=True, text=True,
                          timeout=600))
    (wheel,) = wheels.glob("alliancesim-*.whl")
    _check(subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root)],
                          capture_output=True, text=True, timeout=120))
    python = root / "bin" / "python"
    site = Path(subprocess.check_output(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], text=True).strip())
    # alliancesim's dependencies, as a plain path after the venv's own site-packages
    (site / "zz_test_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    for data in ("etc/jupyter", "share/jupyter"):  # the dependencies' data files (widget configs)
        if (Path(sys.prefix) / data).is_dir():
            (root / data).parent.mkdir(parents=True, exist_ok=True)
            (root / data).symlink_to(Path(sys.prefix) / data)
    _check(subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps",
                           "--no-index", "-q", str(wheel)],
                          env=quiet, capture_output=True, text=True, timeout=300))
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    env["PATH"] = f"{root / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    # the reference engine: Numba would compile the installed copy's session code afresh (its
    # cache is keyed by file location), 10-30 s that tell nothing about the packaging
    env["ALLIANCESIM_ENGINE"] = "python"
    return FreshVenv(root, site, work, env)


def test_the_installed_wheel_is_what_runs(fresh_venv):
    probe = fresh_venv.run(fresh_venv.bin("python"), "-c",
                           "import json, sys, alliancesim; print(json.dumps([alliancesim.__file__, sys.path]))")
    module, path = json.loads(_check(probe).stdout)
    assert Path(module).parent == fresh_venv.site_packages / "alliancesim"
    with_package = [p for p in path if p and (Path(p) / "alliancesim" / "__init__.py").is_file()]
    assert with_package == [str(fresh_venv.site_packages)]
    # No entry is the repository itself or its source tree (the test environment's own site-packages,
    # which lends the dependencies, may lie inside the clone, as .venv does in CI).
    source = [p for p in path if p and Path(p).resolve().is_relative_to(REPO_ROOT.resolve())
              and "site-packages" not in Path(p).parts]
    assert not source, source
    # the front-end files came with the wheel
    assert (fresh_venv.site_packages / "alliancesim" / "dashboard" / "frontend" / "requirejs@2.3.6"
            / "require.js").is_file()


def test_the_installed_command_runs_a_simulation(fresh_venv):
    out = fresh_venv.work / "runs" / "one_year"
    proc = _check(fresh_venv.run(fresh_venv.bin("alliancesim"), "run", "--years", "1", "--seed", "2",
                                 "--out", str(out)))
    assert "dropout" in proc.stdout
    summary = json.loads((out / "summary.json").read_text())
    assert summary["seed"] == 2 and "dropout_share" in summary["metrics"]
    assert (out / "weekly.parquet").is_file()
    assert _check(fresh_venv.run(fresh_venv.bin("alliancesim"), "--version")).stdout.startswith("alliancesim ")
    # the example sweep specs came with the wheel
    _check(fresh_venv.run(fresh_venv.bin("alliancesim"), "examples", "specs"))
    assert (fresh_venv.work / "specs" / "boundaries_grid.toml").is_file()


def test_the_installed_dashboard_renders_offline_in_chromium(fresh_venv, offline_page, artifacts_dir):
    port = _free_port()
    log_path = artifacts_dir / "installed-dashboard.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [fresh_venv.bin("alliancesim"), "dashboard", "--port", str(port),
             "--export-dir", str(fresh_venv.work / "exports")],
            cwd=fresh_venv.work, env=fresh_venv.env, stdin=subprocess.DEVNULL, stdout=log,
            stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 90
        while not _answers(f"http://127.0.0.1:{port}/readyz"):
            assert process.poll() is None, log_path.read_text()
            assert time.monotonic() < deadline, "the installed dashboard did not start within 90 s"
            time.sleep(0.3)
        assert "warning" not in log_path.read_text()  # no "front-end files are missing"
        offline_page.goto(f"http://127.0.0.1:{port}/")
        offline_page.step()
        offline_page.wait_for_time(1)
        assert offline_page.page.locator("#alliancesim-asset-error").count() == 0
        offline_page.assert_clean()  # no failed request, nothing off this machine, no page error
        assert any("/_solara/cdn/@widgetti/solara-vuetify-app@10.1.1/" in url for url in offline_page.requests)
    finally:
        _stop(process)


def test_a_missing_front_end_file_is_a_message_not_a_white_page(tmp_path, page, artifacts_dir):
    reason = _missing_assets_reason()
    if reason is not None:
        _skip_or_fail(reason)
    frontend = tmp_path / "frontend"
    shutil.copytree(offline.solara_cdn_dir(), frontend)
    (frontend / "requirejs@2.3.6" / "require.js").unlink()  # the page cannot start without it
    port = _free_port()
    env = {**os.environ, **offline.dashboard_env(), "SOLARA_ASSETS_PROXY_CACHE_DIR": str(frontend)}
    log_path = artifacts_dir / "missing-asset-server.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(offline.solara_command("127.0.0.1", port), cwd=tmp_path, env=env,
                                   stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    try:
        deadline = time.monotonic() + 90
        while not _answers(f"http://127.0.0.1:{port}/readyz"):
            assert process.poll() is None, log_path.read_text()
            assert time.monotonic() < deadline, "solara did not start within 90 s"
            time.sleep(0.3)
        page.goto(f"http://127.0.0.1:{port}/")
        message = page.locator("#alliancesim-asset-error")
        message.wait_for(timeout=30_000)
        text = message.inner_text()
        assert "requirejs@2.3.6/require.js" in text and "python -m alliancesim.dashboard.assets" in text
        assert message.is_visible()
    finally:
        _stop(process)
