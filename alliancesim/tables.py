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

import json
import math
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:  # pragma: no cover
    from .model import AllianceModel

SESSION_COLUMNS = (
    "week", "relationship_id", "session", "client", "therapist", "quality", "bond", "goal", "task",
    "alliance", "separateness", "pleasure", "merging", "internalisation", "knowledge",
    "distress_before", "distress_after", "pain_before", "pain_after", "talk_share", "talk_fit",
    "topic", "countertransference", "boundary_incident", "rupture", "repaired", "rupture_open",
)
TABLES = ("weekly", "therapists", "relationships", "sessions", "ruptures", "events")


def weekly_table(model: AllianceModel) -> pd.DataFrame:
    """Weekly model reporters, with a ``week`` column starting at 1."""
    df = model.datacollector.get_model_vars_dataframe().reset_index(drop=True)
    df.insert(0, "week", np.arange(1, len(df) + 1, dtype="int64"))
    return df


def therapist_table(model: AllianceModel) -> pd.DataFrame:
    """One row per therapist per week (Mesa agent-type reporters)."""
    from .agents import Therapist

    df = model.datacollector.get_agenttype_vars_dataframe(Therapist).reset_index()
    df = df.rename(columns={"Step": "week", "AgentID": "agent_id"})
    df["week"] = df["week"].astype("int64")
    return df


def relationship_table(model: AllianceModel) -> pd.DataFrame:
    """One row per therapist-client pair (ongoing ones have ``end_reason`` ``"ongoing"``)."""
    rows = []
    for r in model.relationships:
        c, t = r.client, r.therapist
        ongoing = r.end_week is None
        distress_now, pain_now = c.now(model.week) if ongoing else (r.distress_end, r.pain_end)
        rows.append({
            "relationship_id": r.rid,
            "client": c.label,
            "therapist": t.label,
            "start_week": r.start_week,
            "end_week": r.end_week if not ongoing else None,
            "end_reason": r.end_reason if not ongoing else "ongoing",
            "sessions": r.sessions,
            "bond_start": r.bond_start,
            "bond_end": r.bond,
            "alliance_start": r.alliance_start,
            "alliance_end": r.alliance if ongoing else r.alliance_end,
            "distress_start": r.distress_start,
            "distress_end": distress_now,
            "pain_start": r.pain_start,
            "pain_end": pain_now,
            "ruptures": r.ruptures,
            "repairs": r.repairs,
            "repairs_by_therapist": r.repairs_by_therapist,
            "repairs_by_client": r.repairs_by_client,
            "unresolved_rupture": r.open_rupture is not None if ongoing else r.unresolved_at_end,
            "countertransference": r.enactments,
            "boundary_incidents": r.boundary_incidents,
            "sessions_to_trust": r.sessions_to_trust,
            "separateness": r.separateness,
            "pleasure": r.pleasure,
            "merging": r.merging,
            "internalisation": r.internalisation,
            "knowledge": r.file.knowledge,
            "maintenance": r.maintenance,
            "referred_by": r.referred_by,
            "predecessor_id": r.predecessor.rid if r.predecessor is not None else None,
            "handover_policy": r.handover_policy,
            "introduced": r.introduced,
            "file_transferred": r.file_transferred,
            "handover_outcome": r.handover_outcome,
            "recovery_target": r.recovery_target,
            "recovery_weeks": r.recovered_week,
            "recovery_sessions": r.recovered_sessions,
            "client_need": c.need,
            "client_in_scope": c.in_scope,
            "client_prior_negative": c.prior_negative,
            "client_trust_propensity": c.trust_propensity,
            "client_talk_preference": c.talk_preference,
            "client_goals_met": c.goals_met,
            "client_distress_arrival": c.distress_start,
            "travel_km": model.distance(c.home, model.site_xy[t.site]),
            "therapist_talkativeness": t.talkativeness,
            "therapist_self_awareness": t.self_awareness,
            "therapist_boundary_firmness": t.boundary_firmness,
            "therapist_fixing_stance": t.fixing_stance,
            "therapist_manual_skill": t.manual_skill,
        })
    df = pd.DataFrame(rows)
    if df.empty:
        return df
    for col in ("end_week", "sessions_to_trust", "predecessor_id", "recovery_weeks", "recovery_sessions"):
        df[col] = df[col].astype("Int64")
    return df


def session_table(model: AllianceModel) -> pd.DataFrame:
    """One row per session (empty if the model ran with ``record_sessions=False``)."""
    return pd.DataFrame.from_records(model.session_rows, columns=list(SESSION_COLUMNS))


def rupture_table(model: AllianceModel) -> pd.DataFrame:
    """One row per rupture episode."""
    rows = [{
        "rupture_id": x.rupture_id,
        "relationship_id": x.relationship_id,
        "week": x.week,
        "session": x.session,
        "kind": x.kind.value,
        "cause": x.cause.value,
        "topic": x.topic,
        "bond_before": x.bond_before,
        "bond_at_rupture": x.bond_at_rupture,
        "noticed": x.noticed,
        "repaired_by": x.repaired_by,
        "resolved": x.resolved,
        "resolved_week": x.resolved_week,
        "resolved_session": x.resolved_session,
        "bond_after": x.bond_after,
        "sessions_open": x.sessions_open,
        "state": x.state.value,
        "path": " > ".join(x.path),
    } for x in model.ruptures]
    df = pd.DataFrame(rows)
    if not df.empty:
        for col in ("resolved_week", "resolved_session"):
            df[col] = df[col].astype("Int64")
    return df


def all_tables(model: AllianceModel) -> dict[str, pd.DataFrame]:
    """Every table, by name (see :data:`TABLES`)."""
    return {
        "weekly": weekly_table(model),
        "therapists": therapist_table(model),
        "relationships": relationship_table(model),
        "sessions": session_table(model),
        "ruptures": rupture_table(model),
        "events": model.events.to_frame(),
    }


def _atomic_write(path: Path, write) -> None:
    """Write through a temporary file in the same folder, then rename over ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
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


def write_outputs(model: AllianceModel, out: str | Path, *, csv: bool = False,
                  extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """Write every table and ``summary.json`` to ``out``; returns the summary dict.

    Parquet always; CSV too when ``csv`` is true.  The summary holds the
    package version, seed, parameters and the headline metrics of
    :func:`alliancesim.metrics.summary_metrics`.
    """
    from . import __version__
    from .metrics import summary_metrics

    out = Path(out)
    tables = all_tables(model)
    for name, df in tables.items():
        write_table(df, out / f"{name}.parquet")
        if csv:
            write_table(df, out / f"{name}.csv")
    summary = {
        "alliancesim_version": __version__,
        "seed": model.seed,
        "weeks": model.week,
        "params": model.params.as_dict(),
        "metrics": summary_metrics(model, tables),
        **(extra or {}),
    }
    summary = jsonable(summary)
    text = json.dumps(summary, indent=2, sort_keys=False) + "\n"
    _atomic_write(out / "summary.json", lambda tmp: Path(tmp).write_text(text))
    return summary
