"""From a finished model to tables, and from tables to files.

Data flows one way: parameters -> model -> tables -> plots.  Every table is a
:class:`pandas.DataFrame` built from what the model recorded:

=================  ===========================================================
``weekly``         one row per week: caseload, sessions, ruptures, repairs,
                   dropouts, referrals, handovers, mean alliance/distress/burnout
``therapists``     one row per therapist per week: caseload, burnout, skill ...
``relationships``  one row per therapist-client pair: start, end, end reason,
                   sessions, alliance and distress at start and end, ruptures,
                   repairs, handover details
``sessions``       one row per session: quality, bond, alliance parts, the four
                   themes, distress and pain before/after, rupture and repair
``ruptures``       one row per rupture episode: cause, kind, path through the
                   state machine, who repaired it, bond before and after
``events``         the event log: week, kind, client, therapist, detail, sentence
=================  ===========================================================

:func:`write_outputs` writes them as Parquet (and CSV on request) with a
``summary.json``; the files are byte-identical for the same parameters and seed.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd


if TYPE_CHECKING:  # pragma: no cover
    from .model import AllianceModel

from .readout import readout
from .schema import OUTPUTS, SESSION, TOPICS, TableSpec

#: Columns of the session table, in order (declared in :data:`alliancesim.schema.OUTPUTS`).
SESSION_COLUMNS = OUTPUTS["sessions"].names
#: Session-record fields that go into the session table as they are.
_SESSION_NUMBERS = tuple(n for n in SESSION_COLUMNS if n in SESSION.by_name and n not in ("week", "session",
                                                                                           "topic", "rupture"))


def conform(df: pd.DataFrame | dict, spec: TableSpec) -> pd.DataFrame:
    """``df`` with exactly the declared columns of ``spec``, in order, with the declared types.

    An empty table gets the same columns and types as a full one.

    Raises
    ------
    ValueError
        If a declared column is missing or an undeclared one is present
        (naming it), so a table and its declaration never drift apart.
    """
    df = pd.DataFrame(df) if not isinstance(df, pd.DataFrame) else df
    declared = spec.names
    extra = [c for c in df.columns if c not in spec.by_name]
    missing = [c for c in declared if c not in df.columns]
    if extra or missing:
        raise ValueError(f"table {spec.name!r} does not match its declaration in alliancesim/schema.py: "
                         + (f"undeclared column {extra[0]!r}" if extra else f"missing column {missing[0]!r}"))
    return df[list(declared)].astype(spec.pandas_dtypes())


def weekly_table(model: AllianceModel) -> pd.DataFrame:
    """Weekly model reporters, with a ``week`` column starting at 1."""
    weekly = readout(model).weekly
    cols = {"week": np.arange(1, len(weekly["sessions"]) + 1, dtype="int64")}
    cols.update({name: weekly[name] for name in OUTPUTS["weekly"].names if name != "week"})
    return conform(cols, OUTPUTS["weekly"])


def therapist_table(model: AllianceModel) -> pd.DataFrame:
    """One row per therapist on the payroll per week: caseload, burnout, skill, self-awareness."""
    read = readout(model)
    rec = read.therapist_weeks
    week = rec["week"]
    # On the payroll: started, and not yet gone (a successor is hired at notice but starts later).
    on = (rec["start_week"] <= week) & ((rec["left_week"] < 0) | (rec["left_week"] >= week))
    rec = rec[on]
    labels, sites = read.therapist_labels, read.therapist_sites
    week = rec["week"]
    return conform({
        "week": week,
        "therapist": labels[rec["therapist"]],
        "site": sites[rec["therapist"]],
        "caseload": rec["caseload"],
        "burnout": rec["burnout"],
        "manual_skill": rec["manual_skill"],
        "self_awareness": rec["self_awareness"],
        "on_notice": (rec["leaving_week"] >= 0) & ((rec["left_week"] < 0) | (rec["left_week"] > week)),
    }, OUTPUTS["therapists"])


def relationship_table(model: AllianceModel) -> pd.DataFrame:
    """One row per therapist-client pair (ongoing ones have ``end_reason`` ``"ongoing"``)."""
    from .session import NEEDS

    R, C, T = model.R, model.C, model.T
    read = readout(model)
    n = R.n
    rels = model.relationships
    ci, ti = R.used("client"), R.used("therapist")
    ongoing = R.used("active")
    # Ongoing relationships: distress and pain as they stand this week (no state is changed).
    now = [model.clients_all[int(c)].now(model.week) if o else (np.nan, np.nan)
           for c, o in zip(ci.tolist(), ongoing.tolist(), strict=True)]
    distress_now = np.array([x[0] for x in now], dtype=float)
    pain_now = np.array([x[1] for x in now], dtype=float)
    alliance_now = (R.used("bond") + R.used("goal") + R.used("task")) / 3.0

    def opt(name: str) -> pd.array:
        v = R.used(name)
        return pd.array(np.where(v < 0, pd.NA, v).tolist(), dtype="Int64")

    site_km = np.hypot(C.home_x[ci] - model.site_xy[T.site[ti], 0], C.home_y[ci] - model.site_xy[T.site[ti], 1])
    current_sa, current_skill = T.self_awareness[ti], T.manual_skill[ti]
    df = {
        "relationship_id": np.arange(1, n + 1, dtype=np.int64),
        "client": read.client_labels[ci],
        "therapist": read.therapist_labels[ti],
        "start_week": R.used("start_week").copy(),
        "end_week": opt("end_week"),
        "end_reason": read.end_reasons,
        "sessions": R.used("sessions").copy(),
        "bond_start": R.used("bond_start").copy(),
        "bond_end": R.used("bond").copy(),
        "alliance_start": R.used("alliance_start").copy(),
        "alliance_end": np.where(ongoing, alliance_now, R.used("alliance_end")),
        "distress_start": R.used("distress_start").copy(),
        "distress_end": np.where(ongoing, distress_now, R.used("distress_end")),
        "pain_start": R.used("pain_start").copy(),
        "pain_end": np.where(ongoing, pain_now, R.used("pain_end")),
        "ruptures": R.used("ruptures").copy(),
        "repairs": R.used("repairs").copy(),
        "repairs_by_therapist": R.used("repairs_by_therapist").copy(),
        "repairs_by_client": R.used("repairs_by_client").copy(),
        "sealed": R.used("sealed").copy(),
        "unresolved_rupture": np.where(ongoing, R.used("open"), R.used("unresolved_at_end")),
        "countertransference": R.used("enactments").copy(),
        "boundary_incidents": R.used("boundary_incidents").copy(),
        "sessions_to_trust": opt("sessions_to_trust"),
        "separateness": R.used("separateness").copy(),
        "pleasure": R.used("pleasure").copy(),
        "merging": R.used("merging").copy(),
        "internalisation": R.used("internalisation").copy(),
        "knowledge": R.used("knowledge").copy(),
        "maintenance": R.used("maintenance").copy(),
        "referred_by": [r.referred_by for r in rels],
        "predecessor_id": pd.array([r.predecessor.rid if r.predecessor is not None else pd.NA for r in rels],
                                   dtype="Int64"),
        "handover_policy": [r.handover_policy for r in rels],
        "introduced": R.used("introduced").copy(),
        "file_transferred": R.used("file_transferred").copy(),
        "handover_outcome": [r.handover_outcome for r in rels],
        "recovery_target": R.used("recovery_target").copy(),
        "recovery_weeks": opt("recovery_weeks"),
        "recovery_sessions": opt("recovered_sessions"),
        "client_need": [NEEDS[int(x)] for x in C.need[ci].tolist()],
        "client_in_scope": C.in_scope[ci],
        "client_prior_negative": C.prior_negative[ci],
        "client_trust_propensity": C.trust_propensity[ci],
        "client_talk_preference": C.talk_preference[ci],
        "client_goals_met": C.goals_met[ci],
        "client_distress_arrival": C.distress_start[ci],
        "client_alliance_capacity": C.alliance_capacity[ci],
        "scar": R.used("scar").copy(),
        "travel_km": site_km,
        "therapist_talkativeness": T.talkativeness[ti],
        "therapist_boundary_firmness": T.boundary_firmness[ti],
        "therapist_fixing_stance": T.fixing_stance[ti],
        # History stays history: traits as they were during the relationship, not as they are now.
        "therapist_self_awareness": R.used("therapist_self_awareness_start").copy(),
        "therapist_manual_skill": R.used("therapist_manual_skill_start").copy(),
        "therapist_self_awareness_end": np.where(ongoing, current_sa, R.used("therapist_self_awareness_end")),
        "therapist_manual_skill_end": np.where(ongoing, current_skill, R.used("therapist_manual_skill_end")),
    }
    return conform(df, OUTPUTS["relationships"])


def session_table(model: AllianceModel, relationship_id: int | None = None) -> pd.DataFrame:
    """One row per session (empty if the model ran with ``record_sessions=False``).

    With ``relationship_id``, only that relationship's sessions (cheap: for the
    dashboard's relationship inspector).
    """
    read = readout(model)
    if relationship_id is None:
        rec = read.sessions
    else:  # cheap: only this relationship's chunks, for the dashboard's inspector
        rec = np.concatenate([c[c["relationship"] == relationship_id - 1] for c in model.session_chunks]
                             or [np.zeros(0, SESSION.dtype)])
    rel = rec["relationship"]
    R = model.R
    client_labels, therapist_labels = read.client_labels, read.therapist_labels
    topic_names = np.array(("",) + TOPICS, dtype=object)
    cause_names = np.array(("", "misattunement", "countertransference", "boundary"), dtype=object)
    return conform({
        "week": rec["week"],
        "relationship_id": rel + 1,
        "session": rec["session"],
        "client": client_labels[R.client[rel]],
        "therapist": therapist_labels[R.therapist[rel]],
        **{name: rec[name] for name in _SESSION_NUMBERS},
        "topic": topic_names[rec["topic"] + 1],
        "rupture": cause_names[rec["rupture"]],
    }, OUTPUTS["sessions"])


def rupture_table(model: AllianceModel) -> pd.DataFrame:
    """One row per rupture episode, with the path it took through the state machine."""
    from .relationship import CAUSES, REPAIRERS, decode_path

    rec = readout(model).ruptures
    n = len(rec)

    def opt(name: str) -> pd.array:
        v = rec[name]
        return pd.array(np.where(v < 0, pd.NA, v).tolist(), dtype="Int64")

    topic_names = np.array(("",) + TOPICS, dtype=object)
    states = [decode_path(int(p), int(k)) for p, k in zip(rec["path"].tolist(), rec["path_length"].tolist(),
                                                          strict=True)]
    return conform({
        "rupture_id": np.arange(1, n + 1, dtype=np.int64),
        "relationship_id": rec["relationship"] + 1,
        "week": rec["week"],
        "session": rec["session"],
        "kind": np.where(rec["confrontation"], "confrontation", "withdrawal"),
        "cause": [CAUSES[c].value for c in rec["cause"].tolist()],
        "topic": np.where(rec["topic"] >= 0, topic_names[rec["topic"] + 1], None),
        "bond_before": rec["bond_before"],
        "bond_at_rupture": rec["bond_at_rupture"],
        "noticed": rec["noticed"],
        "client_tried": rec["client_tried"],
        "attempts": rec["attempts"],
        "repaired_by": [REPAIRERS[x] for x in rec["repaired_by"].tolist()],
        "resolved": rec["resolved_week"] >= 0,
        "resolved_week": opt("resolved_week"),
        "resolved_session": opt("resolved_session"),
        "bond_after": rec["bond_after"],
        "sealed_week": opt("sealed_week"),
        "state": [s[-1].value for s in states],
        "path": [("... > " if k > len(s) else "") + " > ".join(x.value for x in s)
                 for s, k in zip(states, rec["path_length"].tolist(), strict=True)],
    }, OUTPUTS["ruptures"])


#: How each table is built from a model.
BUILDERS = {
    "weekly": weekly_table,
    "therapists": therapist_table,
    "relationships": relationship_table,
    "sessions": session_table,
    "ruptures": rupture_table,
    "events": lambda model: conform(model.events.to_frame(), OUTPUTS["events"]),
}


def all_tables(model: AllianceModel) -> dict[str, pd.DataFrame]:
    """Every table, by name (see :data:`TABLES`)."""
    return {name: build(model) for name, build in BUILDERS.items()}


TABLES = tuple(BUILDERS)


def _atomic_write(path: Path, write) -> None:
    """Write through a temporary file in the same folder, then rename over ``path``.

    An OSError names ``path`` (the file the user asked for), not the temporary file.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise OSError(exc.errno, exc.strerror, str(path)) from None
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600 files; outputs are ordinary files
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_table(df: pd.DataFrame, path: Path) -> None:
    """Write one table as Parquet (``.parquet``) or CSV (``.csv``), atomically and reproducibly."""
    if path.suffix == ".csv":
        _atomic_write(path, lambda tmp: df.to_csv(tmp, index=False, float_format="%.10g", lineterminator="\n"))
    else:
        _atomic_write(path, lambda tmp: df.to_parquet(tmp, index=False, engine="pyarrow", compression="zstd"))


def jsonable(x: Any) -> Any:
    """Convert numpy scalars and NaN to JSON-friendly values (NaN becomes null)."""
    if isinstance(x, dict):
        return {k: jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [jsonable(v) for v in x]
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, (np.floating, float)):
        x = float(x)
        return None if math.isnan(x) or math.isinf(x) else round(x, 10)
    if isinstance(x, np.bool_):
        return bool(x)
    return x


class OutputFolderError(OSError):
    """A result folder that cannot be written (one line naming the folder and why)."""


class OutputExistsError(OutputFolderError, FileExistsError):
    """A result folder that is already there and may not be replaced (one line)."""


#: Names of the files :func:`write_outputs` writes; ``*.png`` pictures (dashboard export) too.
OUTPUT_FILES = frozenset({"summary.json", *(f"{t}.{ext}" for t in BUILDERS for ext in ("parquet", "csv"))})


def _is_result_folder(folder: Path) -> bool:
    """True if ``folder`` holds nothing but files alliancesim writes (so replacing it loses nothing else)."""
    entries = list(folder.iterdir())
    return any(p.name == "summary.json" for p in entries) and all(
        p.is_file() and not p.is_symlink() and (p.name in OUTPUT_FILES or p.suffix == ".png")
        for p in entries)


def check_out_folder(out: str | Path, *, replace: bool = False) -> Path:
    """Check that results can go to ``out`` (before anything is computed); returns it as a Path.

    Raises
    ------
    ValueError
        ``out`` is empty text.
    OutputExistsError
        ``out`` is a file, or a folder that is not empty (unless ``replace`` and it holds
        only alliancesim results: a folder with other files is never replaced).
    """
    if str(out).strip() == "":
        raise ValueError("the output folder is empty text: name a folder")
    out = Path(out)
    if out.is_symlink():  # replacing it would replace the link, not the folder it points to
        raise OutputExistsError(f"{str(out)!r} is a symbolic link: give the folder it points to")
    if out.exists() and not out.is_dir():
        raise OutputExistsError(f"{str(out)!r} exists and is not a directory")
    if out.is_dir() and any(out.iterdir()):
        if not replace:
            raise OutputExistsError(f"{str(out)!r} already holds files; choose a new folder "
                                    "or replace the earlier results (--replace; replace=True)")
        if not _is_result_folder(out):
            raise OutputExistsError(f"{str(out)!r} holds files that are not alliancesim results; "
                                    "it is never replaced: choose a new folder")
    return out


def private_dir(parent: Path, name: str) -> Path:
    """A new hidden folder ``parent/.NAME.*.tmp`` with ordinary permissions, to stage results in."""
    tmp = Path(tempfile.mkdtemp(dir=parent, prefix=f".{name}.", suffix=".tmp"))
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o777 & ~umask)  # mkdtemp makes 0700 folders; results are ordinary folders
    return tmp


def _publish(tmp: Path, out: Path, *, replace: bool) -> None:
    """Move the finished folder ``tmp`` to ``out`` in one rename (the old one, if replaced, goes after)."""
    try:
        os.rename(tmp, out)  # succeeds onto a missing or (POSIX) empty folder, atomically
        return
    except OSError as exc:
        if not out.is_dir():
            raise
        if not any(out.iterdir()):  # Windows will not rename onto an empty folder: remove it first
            out.rmdir()
            os.rename(tmp, out)
            return
        if not replace:  # someone else's results arrived while this run was computed
            raise OutputExistsError(f"{str(out)!r} was filled by someone else while this run was "
                                    "written; its files are kept, choose a new folder") from exc
    check_out_folder(out, replace=True)
    old = private_dir(out.parent, out.name + ".old")
    os.rename(out, old / "results")
    os.rename(tmp, out)
    shutil.rmtree(old, ignore_errors=True)


def publish_new(tmp: Path, folder: Path) -> Path:
    """Move the finished folder ``tmp`` to ``folder``, or ``folder-2``, ``folder-3`` ... if taken.

    Each attempt is one rename, so two writers racing for the same name each get
    their own folder, whole (a rename onto a folder that has files fails).  Returns
    the folder the files are now in.
    """
    candidate, n = folder, 1
    while True:
        try:
            os.rename(tmp, candidate)
            return candidate
        except OSError:
            if not candidate.exists():
                raise
        n += 1
        candidate = folder.with_name(f"{folder.name}-{n}")


@contextlib.contextmanager
def staged_folder(out: str | Path, *, replace: bool = False) -> Iterator[Path]:
    """A hidden temporary folder beside ``out`` that becomes ``out`` when the block ends without error.

    ``out`` is checked first (:func:`check_out_folder`) and the temporary folder is
    made at once, so an unusable destination is found before any work is done.
    Readers never see a half-written or mixed folder: either the old ``out``
    (or none) or the complete new one.  On an error, or if the process is
    stopped, the temporary folder is removed (``kill -9`` leaves a hidden
    ``.NAME.*.tmp`` folder, never a partial ``out``).

    Yields
    ------
    Path
        The folder to write into.
    """
    # Absolute and normalised: "." or "runs/.." name a real folder with a parent to stage in.
    out = Path(os.path.abspath(check_out_folder(out, replace=replace)))
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = private_dir(out.parent, out.name)
    except OSError as exc:
        raise OutputFolderError(f"{str(out)!r} cannot be created: {exc.strerror or exc}") from None
    try:
        yield tmp
        _publish(tmp, out, replace=replace)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def write_outputs(model: AllianceModel, out: str | Path, *, csv: bool = False,
                  extra: dict[str, Any] | None = None, replace: bool = False) -> dict[str, Any]:
    """Write every table and ``summary.json`` to the folder ``out``; returns the summary dict.

    Parquet always; CSV too when ``csv`` is true.  The summary holds the
    package version, the code fingerprint, the engine that ran, the seed,
    parameters and the headline metrics of
    :func:`alliancesim.metrics.summary_metrics`.  The folder appears complete
    or not at all (see :func:`staged_folder`).

    Raises
    ------
    OutputExistsError
        ``out`` is a file or a folder with files in it; with ``replace=True`` a
        folder of earlier alliancesim results is replaced as a whole.
    """
    with staged_folder(out, replace=replace) as tmp:
        return write_outputs_into(model, tmp, csv=csv, extra=extra)


def write_outputs_into(model: AllianceModel, out: Path, *, csv: bool = False,
                       extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """What :func:`write_outputs` writes, into the existing folder ``out`` (use a :func:`staged_folder`)."""
    from . import __version__
    from .metrics import summary_metrics

    out = Path(out)
    # One table at a time, so a big run never holds all of them in memory at once.
    for name, build in BUILDERS.items():
        df = build(model)
        write_table(df, out / f"{name}.parquet")
        if csv:
            write_table(df, out / f"{name}.csv")
        del df
    from .fingerprint import code_fingerprint

    summary = {
        "alliancesim_version": __version__,
        "code_fingerprint": code_fingerprint(),
        "engine": model.engine,
        "seed": model.seed,
        "weeks": model.week,
        "params": model.params.as_dict(),
        "metrics": summary_metrics(model),
        **(extra or {}),
    }
    summary = jsonable(summary)
    text = json.dumps(summary, indent=2, sort_keys=False) + "\n"
    _atomic_write(out / "summary.json", lambda tmp: Path(tmp).write_text(text))
    return summary
