"""The one place tables, metrics and the dashboard read a model's records from.

A model keeps its state in record tables (:mod:`alliancesim.state`) and its
history in chunks (one array of session records and one of therapist-week
records per week).  :func:`readout` gives a :class:`Readout` of the model as it
stands: the records joined once and cached until the model takes another step,
with the labels and end reasons that every reader needs.  Readers never reach
into the model's tables themselves, so a change to how the model stores
something is a change here only.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

import numpy as np

from .schema import SESSION, THERAPIST_WEEK

if TYPE_CHECKING:  # pragma: no cover
    from .model import AllianceModel

__all__ = ["Readout", "readout"]


class Readout:
    """What a model has recorded up to its current week (arrays are read-only views or copies).

    Attributes are computed on first use and kept while the model does not step.
    """

    def __init__(self, model: AllianceModel) -> None:
        self.model = model
        self.week = model.week

    @functools.cached_property
    def sessions(self) -> np.ndarray:
        """Every session record so far, in the order held (:data:`schema.SESSION`)."""
        return _join(self.model.session_chunks, SESSION.dtype)

    @functools.cached_property
    def therapist_weeks(self) -> np.ndarray:
        """One record per therapist per week so far (:data:`schema.THERAPIST_WEEK`)."""
        return _join(self.model.therapist_weeks, THERAPIST_WEEK.dtype)

    @functools.cached_property
    def weekly(self) -> dict[str, np.ndarray]:
        """The weekly tallies (:data:`alliancesim.model.WEEKLY_COLUMNS`), one array per column."""
        from .model import WEEKLY_COLUMNS

        v = self.model.datacollector.model_vars
        return {name: np.asarray(v.get(name, ()), dtype=float) for name in WEEKLY_COLUMNS}

    @property
    def relationships(self) -> np.ndarray:
        """The relationship records in use (:data:`schema.RELATIONSHIP`), a view."""
        R = self.model.R
        return R.data[: R.n]

    @property
    def clients(self) -> np.ndarray:
        C = self.model.C
        return C.data[: C.n]

    @property
    def therapists(self) -> np.ndarray:
        T = self.model.T
        return T.data[: T.n]

    @property
    def ruptures(self) -> np.ndarray:
        Rup = self.model.Rup
        return Rup.data[: Rup.n]

    @functools.cached_property
    def end_reasons(self) -> np.ndarray:
        """Why each relationship ended (``"ongoing"`` while it lasts), by relationship row."""
        return np.array([r.end_reason or "ongoing" for r in self.model.relationships], dtype=object)

    @functools.cached_property
    def client_labels(self) -> np.ndarray:
        return np.array([c.label for c in self.model.clients_all], dtype=object)

    @functools.cached_property
    def therapist_labels(self) -> np.ndarray:
        return np.array([t.label for t in self.model.therapists_all], dtype=object)

    @functools.cached_property
    def therapist_sites(self) -> np.ndarray:
        return np.array([t.site for t in self.model.therapists_all], dtype=np.int64)


def _join(chunks: list[np.ndarray], dtype: np.dtype) -> np.ndarray:
    """The record arrays ``chunks`` (all of ``dtype``) one after another, in a new array.

    (``np.concatenate`` would work out a common record type for every chunk first, which for
    hundreds of chunks of a wide record costs more than the copying.)
    """
    out = np.empty(sum(len(c) for c in chunks), dtype=dtype)
    at = 0
    for c in chunks:
        out[at:at + len(c)] = c
        at += len(c)
    return out


def readout(model: AllianceModel) -> Readout:
    """The :class:`Readout` of ``model`` at its current week (cached until it steps)."""
    cached = getattr(model, "_readout", None)
    if cached is None or cached.week != model.week or cached.model is not model:
        cached = Readout(model)
        model._readout = cached
    return cached
