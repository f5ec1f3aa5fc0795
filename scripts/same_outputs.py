"""Does a change to the code leave every output as it was?  Compare the outputs of two versions, byte by byte.

Runs the same presets and seeds with the code of a git revision (checked out
into a temporary worktree) and with this checkout, writes every output table
(:func:`alliancesim.tables.write_outputs`: the Parquet tables and
``summary.json``) for each, and compares the files.  ``summary.json`` is compared
without its ``code_fingerprint``, which names the code and so always differs.
Use it for work that must not change the model (speed, refactoring), and for a
new mechanism switched off.

Usage::

    python scripts/same_outputs.py REVISION [--presets default talk_restricted ...] [--seeds 1 2 3]
                                            [--years 10] [--engine numba|python]

Prints one line per differing file and a last line ``N files compared, M differ``;
exits with 0 when nothing differs, 1 when something does, 2 on a usage error.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: Between them every mechanism runs, a handover included.
DEFAULT_PRESETS = ("default", "talk_restricted", "retiring_file_and_introduction", "countertransference",
                   "loose_boundaries")

_WRITE = """
import json, sys
from alliancesim import simulate
from alliancesim.tables import write_outputs
for preset, seed, years, out in json.loads(sys.argv[1]):
    write_outputs(simulate(preset, seed=seed, years=years), out)
"""


def write_all(tree: Path, out: Path, presets, seeds, years: float, engine: str) -> None:
    """Every output of ``presets`` x ``seeds`` with the code in ``tree``, one folder each under ``out``."""
    jobs = [(preset, seed, years, str(out / f"{preset}-{seed}")) for preset in presets for seed in seeds]
    env = {**os.environ, "PYTHONPATH": str(tree), "ALLIANCESIM_ENGINE": engine}
    subprocess.run([sys.executable, "-c", _WRITE, json.dumps(jobs)], check=True, cwd=tree, env=env)


def _content(path: Path) -> bytes:
    if path.name == "summary.json":
        summary = json.loads(path.read_text())
        summary.pop("code_fingerprint", None)
        return json.dumps(summary, sort_keys=True).encode()
    return path.read_bytes()


def compare(before: Path, after: Path) -> tuple[int, list[str]]:
    """(files compared, those that differ or are missing on either side), paths relative to the folders."""
    names = sorted({p.relative_to(before).as_posix() for p in before.rglob("*") if p.is_file()}
                   | {p.relative_to(after).as_posix() for p in after.rglob("*") if p.is_file()})
    differ = [n for n in names if not ((before / n).is_file() and (after / n).is_file()
                                       and _content(before / n) == _content(after / n))]
    return len(names), differ


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("revision", help="the git revision to compare this checkout with (e.g. main, HEAD~1)")
    parser.add_argument("--presets", nargs="+", default=list(DEFAULT_PRESETS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[1, 2, 3])
    parser.add_argument("--years", type=float, default=10.0)
    parser.add_argument("--engine", choices=("numba", "python"), default="numba")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="same_outputs_") as tmp:
        tmp = Path(tmp)
        tree = tmp / "before"
        added = subprocess.run(["git", "worktree", "add", "--detach", str(tree), args.revision], cwd=ROOT,
                               capture_output=True, text=True)
        if added.returncode != 0:
            print(f"same_outputs: cannot check out {args.revision!r}: {added.stderr.strip().splitlines()[-1]}",
                  file=sys.stderr)
            return 2
        try:
            write_all(tree, tmp / "out_before", args.presets, args.seeds, args.years, args.engine)
            write_all(ROOT, tmp / "out_after", args.presets, args.seeds, args.years, args.engine)
            n, differ = compare(tmp / "out_before", tmp / "out_after")
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=ROOT, capture_output=True)
    for name in differ:
        print(f"differs: {name}")
    print(f"{n} files compared, {len(differ)} differ ({len(args.presets)} presets x {len(args.seeds)} seeds, "
          f"{args.years:g} years, {args.engine} engine, {args.revision} against this checkout)")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
