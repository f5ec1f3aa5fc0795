"""The sweep's progress bar: runs done, failures, rate and time left (tqdm)."""

from __future__ import annotations

import sys
from typing import TextIO

__all__ = ["Progress"]


class Progress:
    """A tqdm bar counting finished runs, with the number of failed runs beside it.

    Parameters
    ----------
    total : int
        Runs this call will make.
    desc : str
        Label on the left of the bar.
    enabled : bool
        ``False`` for no bar at all (``--quiet``); notes still print.
    file : text stream
        Where the bar goes (standard error by default).  On a terminal it
        redraws twice a second; in a log file it writes a line every 30 s.
    """

    def __init__(self, total: int, desc: str, *, enabled: bool = True, file: TextIO | None = None):
        from tqdm import tqdm

        class _Bar(tqdm):
            # No monitor thread: a sweep process without threads can fork its workers
            # directly (fast start, see backends.PoolBackend).
            monitor_interval = 0

        self.file = file or sys.stderr
        tty = bool(getattr(self.file, "isatty", lambda: False)())
        self.failed = 0
        self.bar = _Bar(total=total, desc=desc, unit="run", file=self.file, disable=not enabled,
                        dynamic_ncols=tty, mininterval=0.5 if tty else 30.0, smoothing=0.05,
                        leave=True)

    def update(self, status: str) -> None:
        """One more run finished with ``status`` (``"ok"`` or ``"failed"``)."""
        if status != "ok":
            self.failed += 1
            self.bar.set_postfix(failed=self.failed, refresh=False)
        self.bar.update(1)

    def note(self, message: str) -> None:
        """Print a line above the bar."""
        if self.bar.disable:
            print(message, file=self.file, flush=True)
        else:
            self.bar.write(message, file=self.file)

    def close(self) -> None:
        self.bar.close()
