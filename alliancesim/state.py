"""Where the model keeps its numbers: growable tables of records.

Every therapist, client and relationship is one row (a numpy record) in a
:class:`Table`; each state variable is one named field.  The week's sessions
update the rows they touch in one compiled loop (:mod:`alliancesim.kernel`),
while agent and relationship objects read and write their own row through
:class:`Column` attributes, so ``client.distress`` still reads like any Mesa
model.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def record_dtype(fields: dict[str, tuple]) -> tuple[np.dtype, dict[str, Any]]:
    """Build a record dtype and its fill values from ``{name: (dtype, fill[, shape])}``."""
    spec, fills = [], {}
    for name, item in fields.items():
        spec.append((name, item[0], item[2]) if len(item) > 2 else (name, item[0]))
        fills[name] = item[1]
    return np.dtype(spec), fills


class Table:
    """Rows of one record dtype, growing by doubling.

    ``table.data`` is the record array (all capacity); rows ``0 .. n-1`` are in
    use.  ``table.bond`` (any field name) is that field over the whole capacity
    and ``table.used("bond")`` over the rows in use.  The arrays are replaced
    when the table grows: hold on to the table, not to an array.
    """

    def __init__(self, fields: dict[str, tuple], capacity: int = 64) -> None:
        self.dtype, self._fills = record_dtype(fields)
        self._default = list(self._fills.values())
        self._position = {name: k for k, name in enumerate(self._fills)}
        self.n = 0
        self.data = self._blank(capacity)

    def _blank(self, rows: int) -> np.ndarray:
        data = np.zeros(rows, dtype=self.dtype)
        for name, fill in self._fills.items():
            if fill != 0:
                data[name] = fill
        return data

    def reserve(self, extra: int) -> None:
        """Make room for ``extra`` more rows (doubling as often as needed)."""
        size = len(self.data)
        if self.n + extra > size:
            while self.n + extra > size:
                size *= 2
            grown = self._blank(size)
            grown[: self.n] = self.data[: self.n]
            self.data = grown

    def add(self, **values: Any) -> int:
        """Append a row (unset fields take their fill value); returns its index."""
        self.reserve(1)
        i = self.n
        self.n += 1
        # One assignment of the whole record is much cheaper than one per field.
        row = self._default.copy()
        position = self._position
        for name, value in values.items():
            row[position[name]] = value
        self.data[i] = tuple(row)
        return i

    def used(self, name: str) -> np.ndarray:
        """Field ``name`` over the rows in use (a view)."""
        return self.data[name][: self.n]

    def __getattr__(self, name: str) -> np.ndarray:
        # Only called for names that are not ordinary attributes: the fields.
        try:
            return self.__dict__["data"][name]
        except (KeyError, ValueError):
            raise AttributeError(name) from None


class Column:
    """Attribute of an agent or relationship object stored in its :class:`Table` row.

    The owner object needs ``_table`` (the Table) and ``idx`` (its row).
    """

    __slots__ = ("name", "cast")

    def __init__(self, cast=float) -> None:
        self.cast = cast
        self.name = ""

    def __set_name__(self, owner, name: str) -> None:
        self.name = name

    def __get__(self, obj, owner=None):
        if obj is None:
            return self
        return self.cast(obj._table.data[self.name][obj.idx])

    def __set__(self, obj, value) -> None:
        obj._table.data[self.name][obj.idx] = value
