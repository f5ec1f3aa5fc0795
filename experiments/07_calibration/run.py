"""Experiment 7: calibration -- the default preset against the published figures.

The figures in ``shared/domain.md`` (dropout, its front-loading, dose-response, massage and
depression, how often ruptures happen, talk-restricted massage) are listed with their sources
and accepted bands in :data:`alliancesim.calibration.TARGETS`.  This experiment runs the default
clinic as a sweep (spec.toml: 20 replicates of ten years) and compares each metric's mean, with
its spread and 95 % CI over runs, with the target; Moyer's talk-restricted advantage comes from
:func:`alliancesim.calibration.talk_restricted_advantage` (the talk_restricted and talk_laden
presets with the same seeds), pooled over seeds as ``alliancesim calibrate`` does, with its
spread over seeds from one seed at a time.

    python experiments/07_calibration/run.py [--reduced] [--out DIR] [--workers N] [--fresh]
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import common as C  # noqa: E402

REDUCED = {"replicates": 2, "years": 2}
TALK = "talk_restricted_advantage"


def talk_one(args: tuple[int, float]) -> float:
    """Moyer's comparison for one seed."""
    from alliancesim.calibration import talk_restricted_advantage

    seed, years = args
    return talk_restricted_advantage([seed], years)


def main(argv=None) -> None:
    from alliancesim.calibration import TARGETS, markdown, talk_restricted_advantage

    ctx = C.parse_args(__file__, argv)
    spec = C.load_spec(ctx, REDUCED)
    runs = C.run_sweep(ctx, spec)

    talk_seeds = list(range(1, ctx.size(12, 2) + 1))
    years = spec.years
    per_seed = C.pmap(ctx, talk_one, [(s, years) for s in talk_seeds])
    if ctx.workers > 1:
        from concurrent.futures import ProcessPoolExecutor
        from multiprocessing import get_context

        with ProcessPoolExecutor(ctx.workers, mp_context=get_context("spawn")) as pool:
            pooled = talk_restricted_advantage(talk_seeds, years, pool.map)
    else:
        pooled = talk_restricted_advantage(talk_seeds, years)
    ctx.reruns += 4 * len(talk_seeds)

    rows = []
    values = {}
    for t in TARGETS:
        if t.metric == TALK:
            x = np.asarray(per_seed, dtype=float)
            model = float(pooled)
            mean, lo, hi, n = C.mean_ci(x)
            how = (f"pooled over seeds 1-{len(talk_seeds)} of the talk_restricted and talk_laden presets; "
                   f"interval and sd: one seed at a time (mean {mean:.3f})")
        else:
            x = runs[t.metric].to_numpy(dtype=float)
            model, lo, hi, n = C.mean_ci(x)
            how = f"mean over {n} runs of the default preset"
        values[t.metric] = x
        rows.append({
            "meaning": t.meaning, "metric": t.metric, "model": model,
            "model_sd": float(np.std(x[np.isfinite(x)], ddof=1)) if np.isfinite(x).sum() > 1 else np.nan,
            "model_lo": lo, "model_hi": hi, "runs": n, "target": t.target, "low": t.low, "high": t.high,
            "within": bool(t.low <= model <= t.high), "source": t.source, "how": how,
        })
    table = pd.DataFrame(rows)

    # ---- figure -------------------------------------------------------------------------
    fig, (ax,) = C.figure(1, 1, size=(11.5, 5.4))
    y = np.arange(len(table))[::-1]
    rng = np.random.default_rng(0)
    for yi, r in zip(y, table.itertuples()):
        ax.barh(yi, r.high - r.low, left=r.low, height=0.55, color="#d9d9d9", zorder=1)
        ax.plot([r.target, r.target], [yi - 0.3, yi + 0.3], color="#4c78a8", lw=2.5, zorder=2)
        x = values[r.metric]
        x = x[np.isfinite(x)]
        ax.scatter(x, yi + rng.uniform(-0.18, 0.18, x.size), s=9, color="#9e9e9e", zorder=3)
        err = [[np.nan_to_num(r.model - r.model_lo)], [np.nan_to_num(r.model_hi - r.model)]]
        ax.errorbar([r.model], [yi], xerr=err, fmt="o", color="black", capsize=3, zorder=4)
    ax.set_yticks(y, [f"{r.meaning}\n({r.source})" for r in table.itertuples()], fontsize=7.5)
    ax.set_xlabel("value (shares of clients, sessions or dropouts; SMD and the talk advantage in SD units)")
    ax.axvline(0, color="black", lw=0.6)
    ax.grid(axis="x", alpha=0.3)
    ax.set_title(f"Experiment 7: the default clinic ({len(runs)} runs of {years:g} years) against the published "
                 "figures\ngrey: accepted band; blue: target; dots: single runs (seeds in the talk row); "
                 "black: model value, 95 % CI", fontsize=8.5)
    C.save_figure(ctx, fig, "calibration.png")

    # ---- tables -------------------------------------------------------------------------
    text = C.with_ci(table, ["model"], 3)
    text["target (band)"] = [f"{r.target:.2f} ({r.low:.2f}–{r.high:.2f})" for r in table.itertuples()]
    text["sd over runs"] = table["model_sd"]
    text = text[["meaning", "metric", "model", "sd over runs", "target (band)", "within", "source", "how"]]
    C.write_table(ctx, table, "table", title="Experiment 7: the default clinic against the published figures",
                  text=text, notes=["within: the model value lies inside the accepted band. Targets, bands and "
                                    "sources: alliancesim.calibration.TARGETS (from shared/domain.md)."])
    md = ctx.out / "calibration.md"
    md.write_text(markdown(table), encoding="utf-8")
    ctx.written.append(md)
    C.finish(ctx, {"replicates": int(spec.replicates), "years": years, "talk_seeds": len(talk_seeds),
                   "all_within": bool(table["within"].all())})


if __name__ == "__main__":
    main()
