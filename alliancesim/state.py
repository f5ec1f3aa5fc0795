"""Where the model keeps its numbers: growable tables of records.

Every therapist, client and relationship is one row (a numpy record) in a
:class:`Table` whose fields are declared once in :mod:`alliancesim.schema`.
The week's sessions update the rows they touch (:mod:`alliancesim.week`),
while agent and relationship objects read and write their own row through
:class:`Column` attributes, so ``client.distress`` reads like any Mesa model.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .schema import TableSpec


class Table:
    """Rows of one declared record type, growing by doubling.

    ``table.data`` is the record array (all capacity); rows ``0 .. n-1`` are in
    use.  ``table.bond`` (any field name) is that field over the whole capacity
    and ``table.used("bond")`` over the rows in use.  The arrays are replaced
    when the table grows: hold on to the table, not to an array.
    """

    def __init__(self, spec: TableSpec, capacity: int = 64) -> None:
        self.spec = spec
        self.dtype = spec.dtype
        self._fills = spec.fills
        self._default = list(self._fills.values())
        self._position = {name: k for k, name in enumerate(self._fills)}
        clash = set(spec.names) & set(dir(self))
        if clash:
            raise TypeError(f"the {spec.name} table declares fields named like Table attributes: {sorted(clash)}")
        self.n = 0
        self._use(self._blank(capacity))

    def _use(self, data: np.ndarray) -> None:
        """Hold ``data`` as the table's array, with each field's view as an attribute (``table.bond``)."""
        self.data = data
        # Plain attributes: reading a field is the commonest thing the model does with a table.
        self.__dict__.update({name: data[name] for name in self.spec.names})

    def __getstate__(self) -> dict:
        # The field views are rebuilt from the array (a pickled view would come back as a copy).
        return {k: v for k, v in self.__dict__.items() if k not in self.spec.by_name}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._use(state["data"])

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
            self._use(grown)

    def add(self, **values: Any) -> int:
        """Append a row (unset fields take their declared fill); returns its index.

        Raises
        ------
        KeyError
            If a name is not a field of the table.
        """
        self.reserve(1)
        i = self.n
        # One assignment of the whole record is much cheaper than one per field.
        row = self._default.copy()
        position = self._position
        for name, value in values.items():
            try:
                row[position[name]] = value
            except KeyError:
                raise KeyError(f"{name!r} is not a field of the {self.spec.name} table") from None
        self.data[i] = tuple(row)
        self.n += 1
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

    The owner object needs ``_table`` (the Table) and ``idx`` (its row).  The
    field must be declared in the table's spec (checked when the owner class is
    bound with :func:`bind_columns`).
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
        return self.cast(getattr(obj._table, self.name)[obj.idx])

    def __set__(self, obj, value) -> None:
        getattr(obj._table, self.name)[obj.idx] = value


def check_columns(cls: type, spec: TableSpec) -> type:
    """Class decorator: every :class:`Column` of ``cls`` must be a field of ``spec``.

    Raises
    ------
    TypeError
        Naming the attribute and the table, at import, so drift is never silent.
    """
    for name, value in vars(cls).items():
        if isinstance(value, Column) and name not in spec.by_name:
            raise TypeError(f"{cls.__name__}.{name} reads a field the {spec.name} table does not declare")
    return cls
