"""Parameter sweeps and sensitivity analysis, from a laptop to a Dask cluster.

>>> from alliancesim.sweep import load_spec, run_sweep, load_runs, analyse
>>> spec = load_spec("experiments/examples/sobol_small.toml")
>>> run_sweep(spec, "runs/sobol", workers=2)              # resumable; Ctrl-C keeps what finished
>>> runs = load_runs("runs/sobol")                         # one row per run (pandas)
>>> indices = analyse(spec, "runs/sobol")                  # Sobol' S1/ST or Morris mu*/sigma

The command line does the same: ``alliancesim sweep``, ``alliancesim sensitivity``
and ``alliancesim report`` (see :mod:`alliancesim.sweep.cli`).
"""

from pathlib import Path

#: The example sweep specs (shipped with the package; ``alliancesim examples DIR`` copies them).
#: In a checkout this is a link to ``experiments/examples/``.
EXAMPLES_DIR = Path(__file__).resolve().parent / "examples"

from .execute import Plan, SweepResult, plan_sweep, run_sweep
from .spec import Spec, SpecError, Varied, load_spec
from .storage import SweepError, load_runs, load_weekly, read_manifest
from .sensitivity import analyse  # noqa: E402
from .report import make_report  # noqa: E402

__all__ = [
    "EXAMPLES_DIR",
    "Plan",
    "Spec",
    "SpecError",
    "SweepError",
    "SweepResult",
    "Varied",
    "analyse",
    "load_runs",
    "load_spec",
    "load_weekly",
    "plan_sweep",
    "read_manifest",
    "make_report",
    "run_sweep",
]

