"""A sweep's output folder: a Parquet dataset written as runs finish.

Layout of ``DIR``::

    manifest.json        what the sweep is (its spec in canonical form, version, code
                         fingerprint, counts)
    spec.toml            the spec file as given, for the record
    design.parquet       the design points (values, and unit coordinates for sampled designs)
    runs/part-000001.parquet, ...
                         one row per finished run: key, point, replicate, seed, status,
                         error, traceback, duration, worker, version, code fingerprint of
                         the worker that made it, every parameter, every stored metric
    weekly/part-000001.parquet, ...
                         with ``[outputs] weekly = true``: one row per run and week
    .lock                held while a sweep writes (a second writer is refused)

Every file is written to a hidden temporary name in the same folder, flushed
to disk and then renamed into place, so a reader never sees half a file: a
process killed mid-write leaves only a hidden ``.tmp`` file, which readers
ignore and the next sweep removes.  A weekly part is written before the runs
part of the same number; a weekly part without its runs part (the sweep died
between the two) is removed on the next start, and its runs are redone.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import os
import re
import warnings
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ..params import REGISTRY

__all__ = [
    "DamagedPartWarning",
    "IncompleteSweepWarning",
    "META_COLUMNS",
    "RunWriter",
    "SweepDir",
    "SweepError",
    "load_runs",
    "load_weekly",
    "read_manifest",
    "run_schema",
]

FORMAT = 1
_PART = re.compile(r"^part-(\d{6,})\.parquet$")

#: Bookkeeping columns of the runs dataset, before the parameters and metrics.
META_COLUMNS: dict[str, pa.DataType] = {
    "key": pa.string(),
    "point": pa.int64(),
    "point_id": pa.string(),
    "replicate": pa.int64(),
    "seed": pa.int64(),
    "status": pa.string(),
    "error": pa.string(),
    "traceback": pa.string(),
    "duration_s": pa.float64(),
    "worker": pa.string(),
    "alliancesim_version": pa.string(),
    "code_fingerprint": pa.string(),
    "finished_at": pa.timestamp("ms", tz="UTC"),
}
_PARAM_TYPES = {int: pa.int64(), float: pa.float64(), bool: pa.bool_(), str: pa.string()}


class SweepError(Exception):
    """A sweep that cannot start or go on (one line; the CLI exits with status 2)."""


def run_schema(metrics: Iterable[str]) -> pa.Schema:
    """Schema of the runs dataset: bookkeeping, every parameter, the stored metrics."""
    fields = [pa.field(n, t) for n, t in META_COLUMNS.items()]
    fields += [pa.field(p.name, _PARAM_TYPES[p.type]) for p in REGISTRY.values()]
    fields += [pa.field(m, pa.float64()) for m in metrics]
    names = [f.name for f in fields]
    clash = sorted({n for n in names if names.count(n) > 1})
    if clash:
        raise SweepError(f"column name {clash[0]!r} is both a parameter/bookkeeping column and a metric")
    return pa.schema(fields)


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def atomic_write(path: Path, write) -> None:
    """Call ``write(tmp_path)``, flush it to disk, then rename it to ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.{os.getpid()}.tmp"
    try:
        write(tmp)
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    _fsync_dir(path.parent)


class DamagedPartWarning(UserWarning):
    """A part file of a sweep folder that cannot be read (truncated, empty, overwritten)."""


#: Where damaged parts are moved (inside the sweep folder), so that no one reads them again.
DAMAGED = "damaged"


def _parts(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted((p for p in folder.iterdir() if _PART.match(p.name)), key=lambda p: p.name)


def part_problem(part: Path) -> str | None:
    """Why ``part`` cannot be a whole Parquet file (one line), or None if it looks whole.

    Reads 12 bytes: the magic number at both ends and the footer's length, which
    a truncated or empty file cannot have right; cheap enough for every part of
    a big sweep at every start.  (Damage inside the data is found when the data
    is read: see :func:`_read_parts`.)
    """
    try:
        size = part.stat().st_size
        if size == 0:
            return "empty file (0 bytes)"
        with part.open("rb") as fh:
            head = fh.read(4)
            fh.seek(max(0, size - 8))
            tail = fh.read(8)
    except OSError as exc:
        return exc.strerror or type(exc).__name__
    if size < 12 or head != b"PAR1" or tail[4:] != b"PAR1":
        return f"not a whole Parquet file: magic bytes not found ({size} bytes; truncated?)"
    if int.from_bytes(tail[:4], "little") > size - 12:
        return f"not a whole Parquet file: its footer is longer than the file ({size} bytes; truncated?)"
    return None


def _warn_damaged(part: Path, problem: str, action: str) -> None:
    import warnings

    where = f"{part.parent.name}/{part.name}"
    warnings.warn(f"{where} in {str(part.parent.parent)!r} is damaged ({problem}); {action}",
                  DamagedPartWarning, stacklevel=3)


def read_manifest(path: str | Path) -> dict[str, Any]:
    """The ``manifest.json`` of a sweep folder (raises SweepError if there is none)."""
    path = Path(path)
    file = path / "manifest.json"
    if not file.exists():
        if not path.exists():
            raise SweepError(f"{str(path)!r} does not exist")
        raise SweepError(f"{str(path)!r} is not a sweep folder (no manifest.json)")
    try:
        return json.loads(file.read_text())
    except (OSError, ValueError) as exc:
        raise SweepError(f"cannot read {str(file)!r}: {exc}") from None


def _read_parts(parts: list[Path], columns: list[str] | None, filter_=None,
                on_damaged=None) -> pa.Table | None:
    """The rows of the readable ``parts``, or None.

    Damaged parts are skipped with a DamagedPartWarning, or handed to
    ``on_damaged(part, problem)`` when given (the sweep sets them aside).
    """
    def damaged(part: Path, problem: str, in_data: bool = False) -> None:
        if on_damaged is not None:
            on_damaged(part, problem)
        elif in_data:  # the footer reads, so a sweep's start does not notice: say what to do
            _warn_damaged(part, problem, "skipped; to redo its runs, move it out of the folder and run "
                                         "the same sweep again")
        else:
            _warn_damaged(part, problem, "skipped; running the same sweep again sets it aside and redoes "
                                         "its runs")

    good = []
    for part in parts:
        problem = part_problem(part)
        if problem is None:
            good.append(part)
        else:
            damaged(part, problem)
    parts = good
    if not parts:
        return None
    import pyarrow.dataset as ds

    try:
        dataset = ds.dataset([str(p) for p in parts], format="parquet")
        return dataset.to_table(columns=columns, filter=filter_)
    except (OSError, pa.ArrowException):
        pass
    # A part whose footer reads but whose data does not: find it by reading the parts one by one.
    tables = []
    for part in parts:
        try:
            tables.append(ds.dataset(str(part), format="parquet").to_table(columns=columns, filter=filter_))
        except (OSError, pa.ArrowException) as exc:
            damaged(part, " ".join(str(exc).split()), in_data=True)
    return pa.concat_tables(tables, promote_options="default") if tables else None


class IncompleteSweepWarning(UserWarning):
    """A sweep folder holds fewer runs than its design plans (stopped early, or still running)."""


def warn_if_incomplete(path: str | Path, manifest: Mapping[str, Any], stored: int) -> None:
    """Warn (:class:`IncompleteSweepWarning`) when ``stored`` runs are fewer than ``manifest`` plans.

    Reports and discoveries read whatever a folder holds; this says so when it is not the whole
    design, so a partial plot never passes for a finished one.
    """
    planned = int(manifest.get("runs", 0))
    if stored < planned:
        warnings.warn(IncompleteSweepWarning(
            f"{str(path)!r} holds {stored} of the {planned} planned runs (the sweep stopped early or is "
            "still running): these results are from those runs only; run the sweep again to finish it"),
            stacklevel=3)


def load_runs(path: str | Path, columns: list[str] | None = None, *,
              status: str | None = None) -> pd.DataFrame:
    """The runs of a sweep folder as a DataFrame, one row per run, in design order.

    Parameters
    ----------
    path : str or Path
        The sweep folder (``--out`` of ``alliancesim sweep``).
    columns : list of str, optional
        Only these columns (``key`` and ``point`` are always read).
    status : {"ok", "failed"}, optional
        Only runs with this status.
    """
    import pyarrow.compute as pc

    path = Path(path)
    read_manifest(path)
    wanted = None
    if columns is not None:
        wanted = list(dict.fromkeys(["key", "point", "replicate", *columns]))
    flt = pc.field("status") == status if status else None
    table = _read_parts(_parts(path / "runs"), wanted, flt)
    if table is None:
        schema = run_schema(read_manifest(path).get("metrics", []))
        names = wanted or schema.names
        return pd.DataFrame({n: pd.Series(dtype=schema.field(n).type.to_pandas_dtype()) for n in names})
    df = table.to_pandas()
    # A key is written once; dropping repeats only guards against hand-copied parts.
    df = df.drop_duplicates("key", keep="last")
    return df.sort_values(["point", "replicate"], kind="stable").reset_index(drop=True)


def load_weekly(path: str | Path) -> pd.DataFrame:
    """The weekly series of a sweep run with ``[outputs] weekly = true`` (``key``, ``week``, ...)."""
    path = Path(path)
    read_manifest(path)
    table = _read_parts(_parts(path / "weekly"), None)
    if table is None:
        return pd.DataFrame({"key": pd.Series(dtype=object), "week": pd.Series(dtype="int64")})
    return table.to_pandas().sort_values(["key", "week"], kind="stable").reset_index(drop=True)


#: What a sweep folder holds (a folder holding anything else, and no manifest, is not a sweep's).
SWEEP_ENTRIES = frozenset({"manifest.json", "design.parquet", "spec.toml", "runs", "weekly", "report",
                           "damaged", "discovery"})


class SweepDir:
    """The output folder of one sweep, opened for writing.

    Use as a context manager: entering takes the folder's lock (a second
    sweep writing to the same folder is refused) and removes leftovers of a
    sweep that was killed; leaving releases the lock.
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.runs_dir = self.path / "runs"
        self.weekly_dir = self.path / "weekly"
        self.manifest_path = self.path / "manifest.json"
        self.design_path = self.path / "design.parquet"
        self._lock_fd: int | None = None
        #: One line per damaged part that entering the folder set aside (for the sweep to show).
        self.set_aside: list[str] = []

    # --- lock and cleanup ----------------------------------------------------------------------
    def __enter__(self) -> SweepDir:
        if self.path.exists() and not self.path.is_dir():
            raise SweepError(f"--out {str(self.path)!r} exists and is not a folder")
        if self.path.is_dir() and not self.manifest_path.exists() and any(
                p.name not in SWEEP_ENTRIES and not p.name.startswith(".") for p in self.path.iterdir()):
            raise SweepError(f"--out {str(self.path)!r} holds files that are not a sweep of alliancesim; "
                             "choose a new or empty folder")
        self.path.mkdir(parents=True, exist_ok=True)
        self._lock()
        self._clean()
        return self

    def __exit__(self, *exc) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # closing releases the flock
            self._lock_fd = None

    def _lock(self) -> None:
        fd = os.open(self.path / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            import fcntl
        except ImportError:  # pragma: no cover - Windows: no advisory locks, trust the user
            self._lock_fd = fd
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 64).decode(errors="replace").strip() or "?"
            os.close(fd)
            raise SweepError(f"{str(self.path)!r} is being written by another sweep (pid {holder}); "
                             "wait for it to finish or choose another --out") from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._lock_fd = fd

    def _clean(self) -> None:
        for folder in (self.path, self.runs_dir, self.weekly_dir):
            if folder.is_dir():
                for p in folder.iterdir():
                    if p.name.startswith(".") and p.name.endswith(".tmp"):
                        p.unlink(missing_ok=True)
        self.set_aside = self._set_aside_damaged()
        runs = {p.name for p in _parts(self.runs_dir)}
        for p in _parts(self.weekly_dir):
            if p.name not in runs:
                p.unlink()

    def _set_aside_damaged(self) -> list[str]:
        """Move unreadable parts (and their runs/weekly partner) to ``damaged/``; one line each.

        Their runs are then missing from the folder, so this sweep redoes them.
        A part is moved, not deleted: what was in it may still be of use to someone.
        """
        notes: list[str] = []
        for folder in (self.runs_dir, self.weekly_dir):
            for part in _parts(folder):
                problem = part_problem(part)
                if problem is not None:
                    notes.append(self._set_aside(part, problem))
        return notes

    def _set_aside(self, part: Path, problem: str) -> str:
        """Move ``part`` and its partner (runs/weekly of the same number) to ``damaged/``."""
        import datetime

        stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
        target = self.path / DAMAGED
        target.mkdir(exist_ok=True)
        moved = []
        for partner in (self.runs_dir / part.name, self.weekly_dir / part.name):
            if partner.exists():
                dest = target / f"{partner.parent.name}-{partner.stem}-{stamp}{partner.suffix}"
                os.replace(partner, dest)
                moved.append(f"{partner.parent.name}/{partner.name}")
                _fsync_dir(partner.parent)
        return (f"warning: {part.parent.name}/{part.name} is damaged ({problem}); moved "
                f"{' and '.join(moved)} to {DAMAGED}/ and its runs will be redone")

    # --- manifest and design -----------------------------------------------------------------
    def prepare(self, spec, design_chunks, n_points: int, n_runs: int) -> None:
        """Write the manifest and design of a new sweep, or check they match ``spec``.

        Raises SweepError when the folder holds a different sweep (another
        spec, another alliancesim version, or other model code: see
        :func:`alliancesim.runner.code_fingerprint`), rather than mixing the two.
        """
        from .. import __version__
        from ..runner import code_fingerprint

        fingerprint = code_fingerprint()
        canonical = json.loads(json.dumps(spec.canonical()))
        if self.manifest_path.exists():
            old = read_manifest(self.path)
            if old.get("canonical") != canonical:
                raise SweepError(f"{str(self.path)!r} holds a different sweep "
                                 f"({_difference(old.get('canonical') or {}, canonical)}); "
                                 "use the spec it was started with, or another --out")
            if old.get("alliancesim_version") != __version__:
                raise SweepError(f"{str(self.path)!r} was started with alliancesim "
                                 f"{old.get('alliancesim_version')} and this is {__version__}; "
                                 "finish it with that version or choose another --out")
            # Same version, edited model: resuming would mix two models' runs in one table.
            # (Sweeps started before fingerprints were stored have none to compare.)
            if old.get("code_fingerprint", fingerprint) != fingerprint:
                raise SweepError(f"{str(self.path)!r} was started with other model code (fingerprint "
                                 f"{old['code_fingerprint']}, this is {fingerprint}); "
                                 "finish it with that code or choose another --out")
            if not self.design_path.exists():
                raise SweepError(f"{str(self.path)!r} has a manifest but no design.parquet")
            return
        if _parts(self.runs_dir):
            raise SweepError(f"{str(self.path)!r} holds runs but no manifest.json; choose another --out")

        def write_design(tmp: Path) -> None:
            writer = None
            try:
                for df in design_chunks:
                    table = pa.Table.from_pandas(df, preserve_index=False)
                    if writer is None:
                        writer = pq.ParquetWriter(tmp, table.schema, compression="zstd")
                    writer.write_table(table)
            finally:
                if writer is not None:
                    writer.close()

        atomic_write(self.design_path, write_design)
        if spec.text:
            atomic_write(self.path / "spec.toml", lambda tmp: Path(tmp).write_text(spec.text))
        manifest = {
            "format": FORMAT,
            "alliancesim_version": __version__,
            "code_fingerprint": fingerprint,
            "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
            "name": spec.name,
            "source": spec.source,
            "design": spec.design,
            "varied": spec.names,
            "metrics": list(spec.metrics),
            "points": n_points,
            "runs": n_runs,
            "canonical": canonical,
        }
        text = json.dumps(manifest, indent=2) + "\n"
        # The manifest goes last: its presence means the design is complete.
        atomic_write(self.manifest_path, lambda tmp: Path(tmp).write_text(text))

    def record_counts(self, runs: int, distinct: int) -> None:
        """Store the run count once the design's distinct points are known."""
        manifest = read_manifest(self.path)
        if manifest.get("runs") == runs and manifest.get("distinct_points") == distinct:
            return
        manifest.update(runs=runs, distinct_points=distinct)
        text = json.dumps(manifest, indent=2) + "\n"
        atomic_write(self.manifest_path, lambda tmp: Path(tmp).write_text(text))

    def design_batches(self, batch_size: int = 20_000):
        """The stored design, in order, as DataFrames (SweepError if the file is damaged)."""
        try:
            pf = pq.ParquetFile(self.design_path)
            batches = pf.iter_batches(batch_size=batch_size)
            for batch in batches:
                yield batch.to_pandas()
        except (OSError, pa.ArrowException) as exc:
            raise SweepError(f"{str(self.design_path)!r} cannot be read ({exc}): the sweep's design is damaged; "
                             "its stored runs are intact, but to go on, start the sweep in a new --out") from None

    # --- finished runs -----------------------------------------------------------------------
    def finished(self) -> dict[str, str]:
        """``{key: status}`` of every run already stored.

        A part that cannot be read is set aside (see :meth:`_set_aside_damaged`; its
        note joins :attr:`set_aside`), so its runs count as not done and are redone.
        """
        table = _read_parts(_parts(self.runs_dir), ["key", "status"],
                            on_damaged=lambda part, problem: self.set_aside.append(self._set_aside(part, problem)))
        if table is None:
            return {}
        return dict(zip(table.column("key").to_pylist(), table.column("status").to_pylist()))

    def drop_failed(self) -> int:
        """Remove the rows of failed runs (so they run again); returns how many."""
        import pyarrow.compute as pc

        dropped = 0
        for part in _parts(self.runs_dir):
            try:
                problem = part_problem(part)
                table = pq.read_table(part) if problem is None else None
            except (OSError, pa.ArrowException) as exc:
                problem, table = " ".join(str(exc).split()), None
            if table is None:  # damaged: set aside, and its runs (failed or not) are redone
                self.set_aside.append(self._set_aside(part, problem))
                continue
            failed = pc.equal(table.column("status"), "failed")
            n = pc.sum(failed).as_py() or 0
            if not n:
                continue
            kept = table.filter(pc.invert(failed))
            if kept.num_rows:
                atomic_write(part, lambda tmp, t=kept: pq.write_table(t, tmp, compression="zstd"))
            else:
                part.unlink()
                _fsync_dir(part.parent)
            dropped += n
        return dropped

    def next_part(self) -> int:
        numbers = [int(_PART.match(p.name).group(1)) for p in _parts(self.runs_dir) + _parts(self.weekly_dir)]
        return max(numbers, default=0) + 1


def _difference(old: Mapping[str, Any], new: Mapping[str, Any]) -> str:
    """Which part of two canonical specs differs, in a few words."""
    for key in sorted(set(old) | set(new)):
        if old.get(key) == new.get(key):
            continue
        a, b = old.get(key), new.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            names = [k for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)]
            shown = ", ".join(f"{k}: {a.get(k)!r} -> {b.get(k)!r}" for k in names[:2])
            more = f" and {len(names) - 2} more" if len(names) > 2 else ""
            return f"{key} differs: {shown}{more}"
        text = f"{key} differs: {a!r} -> {b!r}"
        return text if len(text) < 160 else f"{key} differs"
    return "unknown difference"


class RunWriter:
    """Buffers finished runs and writes them as Parquet parts, atomically.

    A part is written every ``flush_runs`` runs or ``flush_seconds`` seconds,
    whichever comes first, and on :meth:`close`; at most one part's worth of
    rows is ever held in memory, so memory stays flat however many runs a
    sweep has.  If the process is killed, only the unwritten runs are lost and
    a resumed sweep redoes them.
    """

    def __init__(self, sweep_dir: SweepDir, schema: pa.Schema, *, flush_runs: int = 200,
                 flush_seconds: float = 30.0, clock=None):
        import time

        self.dir = sweep_dir
        self.schema = schema
        self.flush_runs = flush_runs
        self.flush_seconds = flush_seconds
        self._clock = clock or time.monotonic
        self._rows: list[dict[str, Any]] = []
        self._weekly: list[pd.DataFrame] = []
        self._last = self._clock()
        self._next = sweep_dir.next_part()
        self.written = 0

    def add(self, row: Mapping[str, Any], weekly: pd.DataFrame | None = None) -> None:
        """Queue one finished run (and its weekly series); writes a part when one is due."""
        self._rows.append(dict(row))
        if weekly is not None and len(weekly):
            weekly = weekly.copy()
            weekly.insert(0, "key", row["key"])
            self._weekly.append(weekly)
        if len(self._rows) >= self.flush_runs or self._clock() - self._last >= self.flush_seconds:
            self.flush()

    def tick(self) -> None:
        """Write the queued runs if they have waited ``flush_seconds``."""
        if self._rows and self._clock() - self._last >= self.flush_seconds:
            self.flush()

    @property
    def pending(self) -> int:
        """Runs held in memory, not yet on disk."""
        return len(self._rows)

    def flush(self) -> None:
        """Write the queued runs now (no-op when none are queued)."""
        self._last = self._clock()
        if not self._rows:
            return
        name = f"part-{self._next:06d}.parquet"
        table = pa.Table.from_pylist(self._rows, schema=self.schema)
        if self._weekly:
            # Columns keep the types the weekly table declares (counts stay whole numbers).
            weekly = pd.concat(self._weekly, ignore_index=True)
            wtable = pa.Table.from_pandas(weekly, preserve_index=False)
            atomic_write(self.dir.weekly_dir / name,
                         lambda tmp: pq.write_table(wtable, tmp, compression="zstd"))
        self.dir.runs_dir.mkdir(parents=True, exist_ok=True)
        atomic_write(self.dir.runs_dir / name, lambda tmp: pq.write_table(table, tmp, compression="zstd"))
        self._next += 1
        self.written += len(self._rows)
        self._rows = []
        self._weekly = []

    def close(self) -> None:
        self.flush()
