"""Export the run on screen: every table as CSV (and Parquet, with summary.json), every picture as PNG.

Files go to a new folder under the export root: ``$ALLIANCESIM_EXPORT_DIR`` if
set (``alliancesim dashboard --export-dir`` sets it), else ``./runs/dashboard``.
The page never lets a visitor choose the folder: whoever can reach the page
could otherwise write files anywhere the server can.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import time
import zipfile
from pathlib import Path

from ..tables import private_dir, publish_new, write_outputs_into
from . import figures as F
from .digest import model_lock

EXPORT_DIR_ENV = "ALLIANCESIM_EXPORT_DIR"


def export_root() -> Path:
    """Where exports go (not created until something is written)."""
    configured = os.environ.get(EXPORT_DIR_ENV, "").strip()
    return Path(configured).expanduser() if configured else Path.cwd() / "runs" / "dashboard"


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-") or "run"


def run_folder(root: Path, preset: str, seed, week: int) -> Path:
    """A folder name for an export: ``<preset>-seed<seed>-week<week>-<date>-<time>``.

    The name may already be taken (two exports in the same second):
    :func:`~alliancesim.tables.publish_new` then adds ``-2``, ``-3`` ... at the
    moment the finished folder is moved into place.
    """
    stamp = time.strftime("%Y%m%d-%H%M%S")
    return root / f"{_slug(preset)}-seed{seed}-week{week}-{stamp}"


def export_run(model, *, preset: str, rid: int | None = None, spread: tuple[list[dict], str] | None = None,
               root: Path | None = None) -> tuple[Path, list[Path]]:
    """Write the current state of ``model``; returns the folder and the files written.

    ``rid``: the relationship on show in the inspector (its chart is exported);
    ``spread``: results and title of the last "run N times", if any.  Everything
    is written into a hidden folder first and moved into place when complete,
    so each export folder holds one run's files, whole.
    """
    root = export_root() if root is None else root
    root.mkdir(parents=True, exist_ok=True)
    staging = private_dir(root, "export")
    try:
        # One consistent week, even while the clinic plays: tables and pictures take their data
        # under the model's lock; drawing the pictures (the slow part) happens after it is released.
        with model_lock(model):
            folder = run_folder(root, preset, model.seed, model.week)
            write_outputs_into(model, staging, csv=True,
                               extra={"preset": preset, "exported_from": "dashboard"})
            pictures: list[tuple[F.Painter, str]] = [
                (F.NetworkPainter(model.site_xy, model.params.town_radius_km).update(model), "clinic_map.png"),
                (F.TimeSeriesPainter(model.horizon).update(model), "over_time.png"),
            ]
            if rid is not None:
                pictures.append((F.RelationshipPainter().update(model, rid), f"relationship_{rid}.png"))
            departures = F.handover_departures(model)
            if departures:
                pictures.append((F.HandoverPainter(departures).update(departures), "handover.png"))
            patterns = F.patterns_figure(model)  # its data now; drawn below, after the lock
        for painter, name in pictures:
            painter.save(staging / name)
        patterns.savefig(staging / "dropouts_and_ruptures.png", dpi=F.EXPORT_DPI)
        if not departures:
            F.message_figure(F.NO_HANDOVER_YET).savefig(staging / "handover.png", dpi=F.EXPORT_DPI)
        if spread is not None and spread[0]:
            F.spread_figure(*spread).savefig(staging / "spread.png", dpi=F.EXPORT_DPI)
        folder = publish_new(staging, folder)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    files = sorted(p for p in folder.iterdir() if p.is_file())
    return folder, files


def zip_folder(folder: Path) -> bytes:
    """Every file of an export folder in one zip (for the browser's download), under the folder's name."""
    folder = Path(folder)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
        for path in sorted(p for p in folder.iterdir() if p.is_file()):
            archive.write(path, arcname=f"{folder.name}/{path.name}")
    return buf.getvalue()
