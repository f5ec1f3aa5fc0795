"""Rerun every experiment: its sweep, its figure(s) and its results tables.

    python experiments/run_all.py                  # full size, into each experiment's folder (~10 min on 2 cores)
    python experiments/run_all.py --reduced        # tiny sizes, a few seconds each, into a temporary folder
    python experiments/run_all.py --out DIR        # full size, into DIR/<experiment>/
    python experiments/run_all.py --only 01,06     # some of them

At full size the sweeps are kept in runs/experiments/<experiment>/ (not committed), so a second
call only redraws; --fresh starts them again.  The full-size run also copies the figure shown in
the README to docs/images/ and rewrites the README's experiment table from the headlines.  --reduced checks that everything runs (CI does this); its numbers
mean little.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import common as C  # noqa: E402

#: The experiment figure the README shows, and where it is copied.
README_FIGURE = ("01_handover", "handover.png", C.REPO / "docs" / "images" / "experiment-handover.png")


#: The README's experiment table lies between these markers; a full-size run rewrites its rows.
README = C.REPO / "README.md"
TABLE_START, TABLE_END = "<!-- experiments:start -->", "<!-- experiments:end -->"
TABLE_HEAD = "| experiment | question | what the model says |\n|---|---|---|"


def readme_row(name: str, headline: dict) -> str:
    """One row of the README's experiment table from an experiment's headline (quotes.json)."""
    return f"| [{name}](experiments/{name}/RESULTS.md) | {headline['question']} | {headline['text']} |"


def readme_rows(text: str) -> tuple[str, dict[str, str], str]:
    """The README split at the table markers: text before, ``{experiment: row}``, text after.

    Raises
    ------
    ValueError
        If the markers are missing or out of order.
    """
    start, end = text.find(TABLE_START), text.find(TABLE_END)
    if start < 0 or end < start:
        raise ValueError(f"README.md has no experiment table between {TABLE_START} and {TABLE_END}")
    rows = {}
    for line in text[start + len(TABLE_START):end].splitlines():
        if line.startswith("| [") and "](experiments/" in line:
            rows[line[3:line.index("]")]] = line
    return text[:start + len(TABLE_START)], rows, text[end:]


def update_readme(folders: list[Path]) -> None:
    """Rewrite the rows of ``folders`` that have a headline; the other rows stay as they are."""
    before, rows, after = readme_rows(README.read_text(encoding="utf-8"))
    for folder in folders:
        quotes = folder / C.QUOTES
        if quotes.exists():
            headline = json.loads(quotes.read_text(encoding="utf-8")).get("headline")
            if headline:
                rows[folder.name] = readme_row(folder.name, headline)
    body = "\n".join([TABLE_HEAD, *(rows[k] for k in sorted(rows))])
    tmp = README.with_name("README.md.tmp")
    tmp.write_text(f"{before}\n{body}\n{after}", encoding="utf-8")
    tmp.replace(README)
    print(f"updated the experiment table in {README.relative_to(C.REPO)}", file=sys.stderr)


def experiments() -> list[Path]:
    """The experiment folders, in order (``01_handover`` ... ``07_calibration``)."""
    return sorted(p for p in HERE.iterdir() if p.is_dir() and p.name[:2].isdigit() and (p / "run.py").exists())


def load(folder: Path):
    spec = importlib.util.spec_from_file_location(f"experiment_{folder.name}", folder / "run.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python experiments/run_all.py", description=__doc__.split("\n\n")[0])
    C.add_options(parser)
    parser.add_argument("--only", metavar="NN,NN", help="only these experiments (by number or folder name)")
    args = parser.parse_args(argv)
    folders = experiments()
    if args.only:
        wanted = [w.strip() for w in args.only.split(",") if w.strip()]
        folders = [f for f in folders if any(f.name == w or f.name.startswith(w.zfill(2) + "_") for w in wanted)]
        if not folders:
            parser.error(f"--only {args.only}: no such experiment")
    out = args.out
    if args.reduced and not out:
        out = tempfile.mkdtemp(prefix="alliancesim-experiments-")
    command = "python experiments/run_all.py" + (" --reduced" if args.reduced else "")
    common = (["--reduced"] if args.reduced else []) + (["--out", str(out)] if out else []) \
        + (["--workers", str(args.workers)] if args.workers else []) + (["--fresh"] if args.fresh else []) \
        + ["--via", command]
    started = time.perf_counter()
    times = {}
    for folder in folders:
        t0 = time.perf_counter()
        load(folder).main(common)
        times[folder.name] = time.perf_counter() - t0
    where = Path(out).resolve() if out else HERE
    if not args.reduced and not args.out:
        name, figure, target = README_FIGURE
        if (HERE / name / figure).exists() and any(f.name == name for f in folders):
            shutil.copyfile(HERE / name / figure, target)
            print(f"copied {name}/{figure} to {target.relative_to(C.REPO)}", file=sys.stderr)
        update_readme(folders)
    print(f"\n{'experiment':<22} {'seconds':>8}  outputs in {where}")
    for name, seconds in times.items():
        info = json.loads((where / name / "run_info.json").read_text())
        print(f"{name:<22} {seconds:8.1f}  {info['sweep_runs']} sweep runs, {info['reruns']} re-runs")
    print(f"{'total':<22} {time.perf_counter() - started:8.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
