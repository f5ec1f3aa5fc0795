"""Shared fixtures for the sweep tests.

Runs are kept tiny (a small town, few clients, half a year to a year) so the
whole folder runs in a few minutes on two cores.  ``reference`` is one serial
run of :data:`support.REFERENCE_SPEC`, the yardstick every other backend,
resume and kill test is compared with.
"""

from __future__ import annotations

import os
import time

import pytest

from .support import REFERENCE_SPEC, alive, descendants, write_spec


@pytest.fixture(scope="session")
def reference(tmp_path_factory):
    """``(spec_path, out_dir, runs)`` of a serial run of REFERENCE_SPEC."""
    from alliancesim.sweep import load_runs, run_sweep

    folder = tmp_path_factory.mktemp("reference")
    spec = write_spec(folder, REFERENCE_SPEC)
    out = folder / "out"
    result = run_sweep(spec, out, workers=1, progress=False)
    assert result.complete and result.ok == 40 and result.failed == 0
    return spec, out, load_runs(out)


@pytest.fixture(autouse=True)
def _no_stray_children(request):
    """Fail a test that leaves worker processes of its own behind.

    Tests marked ``own_processes`` (the Dask cluster, whose nannies restart
    killed workers) check their processes themselves.
    """
    if request.node.get_closest_marker("own_processes"):
        yield
        return
    before = set(descendants(os.getpid()))
    yield
    import psutil

    def strays():
        out = []
        for pid in alive(set(descendants(os.getpid())) - before):
            try:
                cmd = " ".join(psutil.Process(pid).cmdline())
            except psutil.NoSuchProcess:
                continue
            # The fork server and resource tracker live as long as this process, by design.
            if "forkserver import main" in cmd and _is_forkserver(pid):
                continue
            if "resource_tracker" in cmd:
                continue
            out.append(f"{pid}: {cmd[:80]}")
        return out

    left = []
    end = time.monotonic() + 10
    while time.monotonic() < end:
        left = strays()
        if not left:
            break
        time.sleep(0.2)
    assert not left, f"processes left running: {left}"


def _is_forkserver(pid: int) -> bool:
    """The fork server itself (a direct child of this process), not a worker forked from it."""
    import psutil

    try:
        return psutil.Process(pid).ppid() == os.getpid()
    except psutil.NoSuchProcess:
        return False


def pytest_configure(config):
    config.addinivalue_line("markers", "own_processes: the test checks its own child processes")
