"""Which engine runs the week's sessions: Numba-compiled or pure Python.

The session code (:mod:`alliancesim.session` and :mod:`alliancesim.week`) is
ordinary Python over numpy record arrays.  It runs as it is (the **python**
reference engine), or compiled by Numba from the very same source (the
**numba** fast engine); both give identical results (a test compares every
output table).

Choose with the environment variable ``ALLIANCESIM_ENGINE`` (``numba``,
``python``, or ``auto``, the default: Numba when it imports) or with
``alliancesim run --engine``.  The choice is made once per process, when
:mod:`alliancesim.week` is first imported; :data:`ENGINE` says which one runs.

No stale code can run: compiled code is cached on disk (so a new process
loads it in a fraction of a second) in a folder named after a fingerprint of
the compiled sources (:data:`KERNEL_SOURCES`, :func:`kernel_fingerprint`), so
any edit to them compiles afresh (about 10-20 s, once).  Numba needs no C compiler; on
a machine where Numba cannot be installed, the python engine runs instead and
says so.
"""

from __future__ import annotations

import functools
import gc
import os
import sys
import threading
import warnings
from collections.abc import Callable
from pathlib import Path

__all__ = ["ENGINE", "ENGINES", "EngineError", "compiled", "direct", "requested_engine", "settle"]

#: Engines a user can ask for.
ENGINES = ("auto", "numba", "python")
#: The environment variable that selects the engine.
ENV = "ALLIANCESIM_ENGINE"


class EngineError(ValueError):
    """An engine that is unknown or cannot run here."""


def requested_engine() -> str:
    """The engine asked for by ``ALLIANCESIM_ENGINE`` (``auto`` when unset).

    Raises
    ------
    EngineError
        If the variable names no known engine.
    """
    value = os.environ.get(ENV, "auto").strip().lower() or "auto"
    if value not in ENGINES:
        raise EngineError(f"{ENV}={value!r} is not an engine: choose one of {', '.join(ENGINES)}")
    return value


#: The files whose code the compiled session code is made of (Numba itself notices a change of
#: argument types, not of a function's callees or constants in other files, so these key the cache).
KERNEL_SOURCES = ("arrivals.py", "engine.py", "relationship.py", "schema.py", "session.py", "week.py")


def kernel_fingerprint(package_dir: str | None = None) -> str:
    """A short hash of :data:`KERNEL_SOURCES` and the Numba version: the key of the compiled-code cache."""
    import hashlib

    try:
        import numba
        version = numba.__version__
    except ImportError:  # pragma: no cover
        version = "none"
    here = Path(package_dir) if package_dir else Path(__file__).resolve().parent
    digest = hashlib.sha256(version.encode())
    for name in KERNEL_SOURCES:
        digest.update(name.encode() + b"\0" + (here / name).read_bytes().replace(b"\r\n", b"\n"))
    return digest.hexdigest()[:16]


def cache_is_warm() -> bool:
    """True when this code was compiled before on this machine (a run starts at once)."""
    folder = _cache_dir()
    # Numba keeps its index files in a subfolder named after the source folder.
    return folder.is_dir() and any(folder.rglob("week.*.nbi"))


def _cache_dir() -> Path:
    """Where compiled code is kept: one folder per fingerprint of the compiled sources."""
    base = os.environ.get("ALLIANCESIM_CACHE_DIR")
    if base:
        root = Path(base)
    else:
        xdg = os.environ.get("XDG_CACHE_HOME")
        root = (Path(xdg) if xdg else Path.home() / ".cache") / "alliancesim"
    return root / f"numba-{kernel_fingerprint()}-py{sys.version_info[0]}{sys.version_info[1]}"


def _choose() -> str:
    want = requested_engine()
    if want == "python":
        return "python"
    try:
        import numba  # noqa: F401
    except ImportError as exc:  # pragma: no cover - numba is a dependency; this is the fallback
        if want == "numba":
            raise EngineError(f"{ENV}=numba but Numba cannot be imported here ({exc})") from None
        warnings.warn(f"Numba is not available ({exc}); running the pure-Python engine (slower, same results)",
                      RuntimeWarning, stacklevel=3)
        return "python"
    return "numba"


_chosen: str | None = None


def __getattr__(name: str):
    # ``ENGINE`` is chosen on first use (when the session code is imported), so that a command
    # line can still set ALLIANCESIM_ENGINE after importing this module.
    if name == "ENGINE":
        return _engine()
    raise AttributeError(f"module 'alliancesim.engine' has no attribute {name!r}")


def _engine() -> str:
    """The engine of this process: ``"numba"`` or ``"python"`` (chosen once)."""
    global _chosen, _jit
    if _chosen is None:
        _chosen = _choose()
        _jit = _numba_jit() if _chosen == "numba" else None
    return _chosen


def _numba_jit() -> Callable[[Callable], Callable]:
    import numba
    from numba.core import config

    folder = _cache_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        cache = os.access(folder, os.W_OK)
    except OSError:
        cache = False

    def jit(fn: Callable) -> Callable:
        if not cache:
            return numba.njit(cache=False)(fn)
        # Numba picks the cache folder when the function is decorated: point it at ours for
        # this decoration only, so the user's own Numba code keeps its own setting.
        saved = config.CACHE_DIR
        config.CACHE_DIR = str(folder)
        try:
            return numba.njit(cache=True)(fn)
        finally:
            config.CACHE_DIR = saved

    return jit


_jit: Callable | None = None


def compiled(fn: Callable) -> Callable:
    """Decorator for session code: compiled by Numba under the numba engine, as written otherwise."""
    return _jit(fn) if _engine() == "numba" else fn


#: For each compiled function called through :func:`direct`: its compiled version for the argument
#: types of its first call from Python.
_DIRECT: dict = {}


def direct(fn: Callable) -> Callable:
    """``fn``'s compiled code, called without Numba's typing of its arguments on every call.

    Numba types every argument of every call to choose the compiled version to
    run; for the record arrays of the tables that costs a few microseconds a call,
    more than the call itself for the small ones the model makes thousands of
    times a run.  After the first call (made through Numba, which compiles or
    loads the version for these argument types), this is that version itself.
    So use it only where the argument types never change from call to call: the
    model's tables, and ints, floats and bools in fixed places, contiguous arrays
    of fixed dtype and dimension (Numba does not check them again).  Under the
    python engine it is ``fn`` itself.

    Only the version typed from Python's arguments is taken, never one Numba
    made for a call inside compiled code, which may have fixed an argument's
    value (a literal ``-1`` or ``True``) into the code.
    """
    entry = _DIRECT.get(fn)
    if entry is None:
        if _engine() != "numba":
            entry = _DIRECT[fn] = fn
        else:
            return functools.partial(_first_call, fn)
    return entry


def _first_call(fn, *args):
    """Call ``fn`` through Numba and keep, for :func:`direct`, the version that ran."""
    result = fn(*args)
    version = fn.overloads.get(tuple(fn.typeof_pyval(a) for a in args))
    if version is not None:
        _DIRECT[fn] = version.entry_point
    return result


_settled = False
_settling = threading.Lock()


def settle(warm_up: Callable[[], object] | None = None) -> None:
    """In a process that exists to run models: keep Python's full garbage collections off what is alive now.

    The imported scientific stack (numpy, pandas, Mesa, Numba) and the loaded
    compiled code are some 180,000 objects that the cyclic garbage collector
    would otherwise walk in every full collection: about 0.1 s each on a 2-core
    machine, one every three 10-year runs of the default clinic, so about 30 ms a
    run of a sweep worker's 0.2 s (``python benchmarks/gc_settle.py``).  This calls
    ``warm_up()`` (which should load the compiled code), collects the garbage
    there is, and moves **every object then alive** to the permanent generation
    (:func:`gc.freeze`, CPython's tool for long-lived start-up objects).  Frozen
    objects are still freed by reference counting, but cycles among them are
    never collected again: so alliancesim calls it only in processes it starts
    to run models (sweep and calibration workers, the command line when it runs
    the models itself); a user's own session settles only if it asks to
    (:func:`alliancesim.model.settle_process`).  :func:`gc.unfreeze` undoes it.
    Once per process (later calls, from any thread, do nothing).
    """
    global _settled
    with _settling:
        if _settled:
            return
        if warm_up is not None:
            warm_up()
        gc.collect()
        gc.freeze()
        _settled = True


# ---------------------------------------------------------------------------------------------
# What the session code is handed: tables and parameters in the form each engine reads fastest.
# Either way the code reads ``r.bond`` and ``P.distress_effect``.
# ---------------------------------------------------------------------------------------------


class Rows:
    """A record array seen by the python engine: ``rows[i].field`` reads and writes the array.

    (Numba reads record arrays directly; numpy's own record objects are about ten
    times slower than this view for the python engine.)
    """

    __slots__ = ("_columns", "array")

    def __init__(self, array) -> None:
        self.array = array
        self._columns = {name: array[name] for name in array.dtype.names}

    def __getitem__(self, i) -> _Row:
        return _Row(self._columns, int(i))

    def __len__(self) -> int:
        return len(self.array)

    @property
    def shape(self) -> tuple[int, ...]:
        return self.array.shape


class _Row:
    __slots__ = ("_columns", "_i")

    def __init__(self, columns, i: int) -> None:
        object.__setattr__(self, "_columns", columns)
        object.__setattr__(self, "_i", i)

    def __getattr__(self, name):
        return self._columns[name][self._i]

    def __setattr__(self, name, value) -> None:
        self._columns[name][self._i] = value


def rows(array):
    """``array`` (a record array) as the session code of this engine reads it."""
    return array if _engine() == "numba" else Rows(array)


def pack_params(params):
    """The numeric parameters of a validated :class:`~alliancesim.params.Params` for the session code.

    One structure, generated from the registry, so no parameter is ever copied
    by hand: a one-element record array under the numba engine, a one-element
    list of a plain namespace under the python engine; either way
    ``PA[0].name`` reads a parameter.
    """
    import types

    import numpy as np

    from .params import REGISTRY

    kinds = {float: np.float64, int: np.int64, bool: np.bool_}
    numeric = [p for p in REGISTRY.values() if p.type in kinds]
    if _engine() != "numba":
        return [types.SimpleNamespace(**{p.name: getattr(params, p.name) for p in numeric})]
    record = np.zeros(1, dtype=[(p.name, kinds[p.type]) for p in numeric])
    for p in numeric:
        record[0][p.name] = getattr(params, p.name)
    return record
