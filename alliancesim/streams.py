"""Random numbers keyed by name: one independent stream per mechanism.

Every mechanism draws from its own stream, derived from the run's seed and the
stream's name (``SeedSequence(seed, spawn_key=(crc32(name),))``).  A new
mechanism gets a new stream, so adding one, or switching one off, leaves every
other mechanism's numbers exactly as they were: runs stay comparable before and
after a change to the model.

>>> s = Streams(7)
>>> s.python("arrivals").random() == Streams(7).python("arrivals").random()
True
"""

from __future__ import annotations

import random
import zlib

import numpy as np

__all__ = ["SEED_LIMIT", "Streams", "check_seed"]

#: Seeds are whole numbers from 0 to 2**63 - 1.
SEED_LIMIT = 2**63
#: Streams read through :meth:`Streams.uniforms` and :meth:`Streams.normals` are drawn this many
#: numbers at a time (one numpy call per stream per block instead of per week).  A stream's numbers
#: come in the same order however they are split up, so this changes no result.
DRAW_AHEAD = 4096


def check_seed(seed) -> int | np.random.SeedSequence:
    """Return ``seed`` as an int or SeedSequence, or raise ParameterError naming it.

    Accepts ``None`` (a fresh random seed, recorded by the model), an int in
    ``0 .. 2**63 - 1``, a :class:`numpy.random.SeedSequence`, or a
    :class:`numpy.random.Generator` (one seed is drawn from it).
    """
    from .params import ParameterError

    if seed is None:
        return int(np.random.SeedSequence().generate_state(1, np.uint64)[0] >> np.uint64(1))
    if isinstance(seed, np.random.SeedSequence):
        return seed
    if isinstance(seed, np.random.Generator):
        return int(seed.integers(0, SEED_LIMIT))
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)):
        raise ParameterError(f"seed={seed!r} is not a whole number: allowed 0 to {SEED_LIMIT - 1}")
    if not 0 <= int(seed) < SEED_LIMIT:
        raise ParameterError(f"seed={int(seed)} is out of range: allowed 0 to {SEED_LIMIT - 1}")
    return int(seed)


class Streams:
    """The random streams of one run.

    Parameters
    ----------
    seed : int or numpy.random.SeedSequence
        The run's seed (see :func:`check_seed`).
    """

    def __init__(self, seed: int | np.random.SeedSequence) -> None:
        if isinstance(seed, np.random.SeedSequence):
            self._entropy, self._spawn_key = seed.entropy, tuple(seed.spawn_key)
        else:
            self._entropy, self._spawn_key = int(seed), ()
        self._numpy: dict[str, np.random.Generator] = {}
        self._python: dict[str, random.Random] = {}
        self._ahead: dict[tuple[str, tuple[str, ...]], list] = {}  # (kind, names) -> [draws, next column]
        self._drawn_ahead: dict[str, tuple[str, tuple[str, ...]]] = {}  # stream -> its group

    def _sequence(self, name: str) -> np.random.SeedSequence:
        return np.random.SeedSequence(self._entropy, spawn_key=(*self._spawn_key, zlib.crc32(name.encode())))

    def numpy(self, name: str) -> np.random.Generator:
        """The numpy Generator of stream ``name`` (for arrays of draws).

        Raises
        ------
        ValueError
            If ``name`` is read through :meth:`uniforms` or :meth:`normals`, which draw ahead.
        """
        if name in self._drawn_ahead:
            raise ValueError(f"stream {name!r} is drawn ahead by Streams.uniforms/normals; read it only there")
        return self._generator(name)

    def _generator(self, name: str) -> np.random.Generator:
        gen = self._numpy.get(name)
        if gen is None:
            gen = self._numpy[name] = np.random.default_rng(self._sequence(name))
        return gen

    def python(self, name: str) -> random.Random:
        """The Python Random of stream ``name`` (for single draws, which it makes fastest)."""
        gen = self._python.get(name)
        if gen is None:
            state = self._sequence(name).generate_state(4, np.uint64)
            gen = self._python[name] = random.Random(int.from_bytes(state.tobytes(), "little"))
        return gen

    def uniforms(self, names: tuple[str, ...], n: int) -> np.ndarray:
        """The next ``n`` uniform draws from each stream in ``names``: shape ``(len(names), n)``.

        The streams are drawn :data:`DRAW_AHEAD` numbers at a time, so each stream
        in ``names`` is read only through this group of names.

        Raises
        ------
        ValueError
            If a stream in ``names`` is also read on its own or in another group.
        """
        return self._next(("uniform", tuple(names)), n)

    def normals(self, names: tuple[str, ...], n: int) -> np.ndarray:
        """The next ``n`` standard-normal draws from each stream in ``names`` (as :meth:`uniforms`)."""
        return self._next(("normal", tuple(names)), n)

    def _next(self, group: tuple[str, tuple[str, ...]], n: int) -> np.ndarray:
        ahead = self._ahead.get(group)
        if ahead is None:
            for name in group[1]:
                if self._drawn_ahead.setdefault(name, group) != group or name in self._numpy:
                    raise ValueError(f"stream {name!r} is read elsewhere too; a stream drawn ahead is read "
                                     "only through one group of Streams.uniforms/normals")
            ahead = self._ahead[group] = [np.empty((len(group[1]), 0)), 0]
        draws, at = ahead
        if at + n > draws.shape[1]:
            # Draw the next block, after what is left of this one.
            kind, names = group
            size = max(DRAW_AHEAD, n)
            fresh = np.empty((len(names), draws.shape[1] - at + size))
            fresh[:, :draws.shape[1] - at] = draws[:, at:]
            for k, name in enumerate(names):
                gen = self._generator(name)
                fresh[k, draws.shape[1] - at:] = gen.random(size) if kind == "uniform" else gen.standard_normal(size)
            ahead[0], at, draws = fresh, 0, fresh
        ahead[1] = at + n
        return draws[:, at:at + n].copy()
