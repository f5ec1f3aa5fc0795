"""A fingerprint of the code that decides what a run produces."""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

#: The files whose contents decide what a run produces, relative to the package: the model,
#: its parameters, presets and metrics, and the sweep code that turns a task into a run.
#: The dashboard, the CLI's wording and the sweep's reports do not change a run's numbers.
FINGERPRINT_FILES = ("*.py", "presets/*.toml", "sweep/worker.py", "sweep/seeding.py", "sweep/design.py")


@functools.cache
def code_fingerprint(package_dir: str | None = None) -> str:
    """A short hash (16 hex digits) of the source files that decide a run's results.

    Both engines run these very files (Numba compiles them; its cache is keyed by
    this fingerprint), so the fingerprint is of the code that actually runs.  Two
    installs with the same fingerprint give the same numbers for the same
    parameters and seed.  A sweep stores it and will not resume, or use Dask
    workers, under different code.
    """
    root = Path(package_dir) if package_dir else Path(__file__).resolve().parent
    digest = hashlib.sha256()
    files = sorted({f for pattern in FINGERPRINT_FILES for f in root.glob(pattern) if f.is_file()})
    for f in files:
        digest.update(f.relative_to(root).as_posix().encode() + b"\0")
        digest.update(f.read_bytes().replace(b"\r\n", b"\n") + b"\0")
    return digest.hexdigest()[:16]
