"""Helpers the test packages share for processes they start."""

from __future__ import annotations

import os
import signal
import subprocess


def stop_with_ctrl_c(process: subprocess.Popen, timeout: float = 20) -> None:
    """Send Ctrl-C (SIGINT) to ``process``'s group, as a terminal would; kill it if it does not stop."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGINT)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
