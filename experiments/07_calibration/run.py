"""Experiment 7: calibration -- the default preset against the published figures.

Every target of :data:`alliancesim.targets.TARGETS` is measured from the raw tables of each run
(the default preset with seeds 1..N for ``years`` years, as ``alliancesim calibrate``; Moyer's
comparison from the ``talk_restricted`` preset against the default with the same seeds) and
aggregated over seeds: mean and 95 % CI.  The size (replicates, years) is in ``spec.toml``.

Writes ``table.csv``/``table.md`` (one row per target), ``dose_response.csv``/``.md`` (Howard's
curve, sessions 1-26), ``calibration.md`` (the table as in the docs) and ``calibration.png``.
At full size in the experiment's own folder it also regenerates ``RESULTS.md`` and the
generated blocks of ``docs/calibration.md`` from those tables (and from the fit in ``fit/``,
written by ``alliancesim calibrate --fit --out experiments/07_calibration/fit``, if there is
one), so no number in the prose is copied by hand.

    python experiments/07_calibration/run.py [--reduced] [--out DIR] [--workers N]
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import common as C  # noqa: E402

HERE = Path(__file__).resolve().parent
DOC = C.REPO / "docs" / "calibration.md"
FIT = HERE / "fit"
REDUCED = {"replicates": 2, "years": 2}

RESULTS_TEMPLATE = """# Experiment 7: calibration

**Question.** How far is the default clinic from the published figures it should reproduce?
Each target is measured from the raw output tables the way the literature measures it; targets,
bands, sources and definitions are `alliancesim.targets.TARGETS`, the procedure is in
`docs/calibration.md`. Every number on this page is written by `run.py` from `table.csv`,
`dose_response.csv` and the fit in `fit/`: a rerun cannot leave stale prose.

**What ran.** `python experiments/07_calibration/run.py` (or `python experiments/run_all.py`):
<!-- BEGIN generated:size -->
<!-- END generated:size -->

![calibration](calibration.png)

## Findings

<!-- BEGIN generated:findings -->
<!-- END generated:findings -->

<!-- BEGIN generated:table -->
<!-- END generated:table -->

## Dose-response (Howard et al. 1986)

<!-- BEGIN generated:curve -->
<!-- END generated:curve -->

## Fitted parameters

Free parameters of the fit (`alliancesim calibrate --fit`, see `docs/calibration.md`):

<!-- BEGIN generated:free -->
<!-- END generated:free -->

<!-- BEGIN generated:posterior -->
<!-- END generated:posterior -->

## How each target is measured

<!-- BEGIN generated:definitions -->
<!-- END generated:definitions -->

## Caveats

* The intervals say how precisely the model's value is known over seeds, not how far the model
  is from real clinics: each target is one published figure with its own uncertainty, and the
  bands are ours unless the source gives one.
* The therapist share of variance is computed per run and then averaged: therapists differ
  between runs, so pooling courses across runs would mix clinics.
"""


def main(argv=None) -> None:
    from alliancesim.calibration import calibrate, curve_markdown, markdown

    ctx = C.parse_args(__file__, argv)
    spec = C.load_spec(ctx, REDUCED)
    seeds = tuple(range(1, int(spec.replicates) + 1))
    years = float(spec.years)
    ctx.log(f"calibrating: {len(seeds)} seeds x {years:g} years (x 2 presets) on {ctx.workers} worker(s)")
    result = calibrate(seeds, years=years, jobs=ctx.workers)
    ctx.sweep_runs, ctx.reruns = len(seeds), len(seeds)  # default preset; the talk-restricted preset
    table, curve = result.table, result.curve

    # ---- figure -------------------------------------------------------------------------
    fig, (ax, ax2) = C.figure(2, 1, size=(13.5, 5.6))
    banded = table[table["band_low"].notna()].reset_index(drop=True)
    y = np.arange(len(banded))[::-1]
    rng = np.random.default_rng(0)
    for yi, r in zip(y, banded.itertuples()):
        ax.barh(yi, r.band_high - r.band_low, left=r.band_low, height=0.55, color="#d9d9d9", zorder=1)
        if np.isfinite(r.published):
            ax.plot([r.published] * 2, [yi - 0.3, yi + 0.3], color="#4c78a8", lw=2.5, zorder=2)
        x = result.runs[r.target].to_numpy(dtype=float)
        x = x[np.isfinite(x)]
        ax.scatter(x, yi + rng.uniform(-0.18, 0.18, x.size), s=9, color="#9e9e9e", zorder=3)
        err = [[np.nan_to_num(r.model - r.ci_low)], [np.nan_to_num(r.ci_high - r.model)]]
        ax.errorbar([r.model], [yi], xerr=err, fmt="o", color="black", capsize=3, zorder=4)
    ax.set_yticks(y, [f"{r.label}\n({r.source})" for r in banded.itertuples()], fontsize=7)
    ax.set_xlabel("value (shares, correlation, SD units)")
    ax.axvline(0, color="black", lw=0.6)
    ax.grid(axis="x", alpha=0.3)
    ax.set_title("grey: band; blue: published value; dots: single seeds; black: mean, 95 % CI", fontsize=8.5)
    C.errorbar(ax2, curve["session"], curve["model"], curve["ci_low"], curve["ci_high"], color="black",
               markersize=3, label="model, 95 % CI")
    for k, name in ((8, "improved_by_8"), (26, "improved_by_26")):
        r = table.set_index("target").loc[name]
        ax2.errorbar([k], [r.published], yerr=[[r.published - r.band_low], [r.band_high - r.published]],
                     fmt="s", color="#4c78a8", capsize=4, label="Howard et al. 1986 (band)" if k == 8 else None)
    ax2.set_xlabel("course session k (courses with at least k sessions, start distress >= 10)")
    ax2.set_ylabel("share reliably improved (fall >= 5 points)")
    ax2.set_ylim(0, 1)
    ax2.grid(alpha=0.3)
    ax2.legend(fontsize=8, loc="upper left")
    ax2.set_title("Dose-response", fontsize=8.5)
    fig.suptitle(f"Experiment 7: the default clinic ({len(seeds)} seeds x {years:g} years) against the "
                 "published figures", fontsize=10)
    C.save_figure(ctx, fig, "calibration.png")

    # ---- tables -------------------------------------------------------------------------
    text = table.drop(columns=["definition"]).copy()
    C.write_table(ctx, table, "table", title="Experiment 7: the default clinic against the published figures",
                  text=text, notes=["inside: the model mean lies inside the band (blank: reported only). "
                                    "Definitions: docs/calibration.md and alliancesim.targets.TARGETS."])
    C.write_table(ctx, curve, "dose_response", title="Experiment 7: Howard's dose-response curve",
                  notes=["Share of courses starting at distress >= 10 with at least that many sessions whose "
                         "distress fell at least 5 points below the start by that course session."])
    md = ctx.out / "calibration.md"
    md.write_text(markdown(table) + "\n" + curve_markdown(curve), encoding="utf-8")
    ctx.written.append(md)

    # ---- prose (full size, in the repository only) ----------------------------------------
    if not ctx.reduced and ctx.out == ctx.folder:
        write_prose(ctx.command, len(seeds), years)
    C.finish(ctx, {"seeds": len(seeds), "years": years, "all_inside": result.all_inside})


def size_text(command: str, seeds: int, years: float) -> str:
    return (f"`{command}`: the default preset with seeds 1-{seeds} for {years:g} years each, and the "
            f"`talk_restricted` preset with the same seeds ({2 * seeds} runs); 95 % "
            f"intervals over seeds (t distribution). The same table: `alliancesim calibrate --seeds {seeds} "
            f"--years {years:g}`.")


def blocks_from_files(command: str | None = None) -> dict[str, str]:
    """The generated blocks, from the committed tables (the test regenerates them this way)."""
    import json

    import pandas as pd

    from alliancesim.calibration import doc_blocks, read_fit, read_table

    info = json.loads((HERE / "run_info.json").read_text())
    table = read_table(HERE / "table.csv")
    curve = pd.read_csv(HERE / "dose_response.csv")
    posterior, fit_info, best = read_fit(FIT)
    return doc_blocks(table, curve, size_text(command or info["command"], info["seeds"], info["years"]),
                      posterior, fit_info, best, info["code_fingerprint"])


def write_prose(command: str, seeds: int, years: float) -> None:
    import pandas as pd

    from alliancesim.calibration import doc_blocks, fill_blocks, read_fit, read_table, write_text
    from alliancesim.runner import code_fingerprint

    table = read_table(HERE / "table.csv")
    curve = pd.read_csv(HERE / "dose_response.csv")
    blocks = doc_blocks(table, curve, size_text(command, seeds, years), *read_fit(FIT), code_fingerprint())
    write_text(fill_blocks(RESULTS_TEMPLATE, blocks), HERE / "RESULTS.md")
    write_text(fill_blocks(DOC.read_text(encoding="utf-8"), blocks), DOC)


if __name__ == "__main__":
    main()
