"""alliancesim: an agent-based model of therapeutic relationships between therapists and clients.

Quick use::

    from alliancesim import simulate, summary_metrics
    model = simulate("default", seed=1, years=2)
    print(summary_metrics(model)["dropout_share"])
"""

import hashlib
import os
import sys
from pathlib import Path

__version__ = "0.1.0"


def _compiled_code_cache() -> None:
    """Keep numba's compiled session code in a cache keyed on all of its source files.

    numba only notices a change to a compiled function's own file; the weekly
    kernel inlines functions from several files, so an edit to one of them must
    start a fresh cache.  Set ``NUMBA_CACHE_DIR`` yourself to override.
    """
    if "NUMBA_CACHE_DIR" in os.environ:
        return
    here = Path(__file__).parent
    digest = hashlib.sha256()
    for name in ("session.py", "kernel.py", "relationship.py", "agents.py", "state.py"):
        digest.update((here / name).read_bytes())
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    os.environ["NUMBA_CACHE_DIR"] = str(base / "alliancesim" / "numba" / digest.hexdigest()[:16])
    if "numba" in sys.modules:  # numba read its settings already: make it read them again
        from numba.core import config

        config.reload_config()


_compiled_code_cache()

from .metrics import METRICS, summary_metrics  # noqa: E402
from .model import AllianceModel  # noqa: E402
from .params import REGISTRY, ParameterError, Params, validate  # noqa: E402
from .runner import run_metrics, simulate  # noqa: E402

__all__ = [
    "METRICS",
    "REGISTRY",
    "AllianceModel",
    "ParameterError",
    "Params",
    "run_metrics",
    "simulate",
    "summary_metrics",
    "validate",
]
