"""Networks: the town's family/friend ties, and the clinic as a graph.

* :func:`town_network` builds the people clients come from: households share a
  home and are tied as **family**; each person also has a few **friends** who
  mostly live nearby.  Word of mouth travels along these ties ("I'm treating
  the teenager now").
* :func:`clinic_graph` draws the clinic at one moment: therapists and clients
  as nodes, relationships as edges carrying alliance, rupture and handover
  state, for the dashboard's network view.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import networkx as nx
import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from .model import AllianceModel

#: Household sizes and their shares (a town of singles, couples and families).
HOUSEHOLD_SIZES = (1, 2, 3, 4, 5)
HOUSEHOLD_SHARES = (0.28, 0.34, 0.16, 0.15, 0.07)
#: Friend ties per person (each tie is shared by two people).
FRIENDS_PER_PERSON = 3
#: Share of friend ties that reach across town rather than to a neighbour.
LONG_RANGE_FRIENDS = 0.2


class Town:
    """The people clients come from: homes, and family/friend ties as compact adjacency lists.

    ``ties_of(person)`` lists ``(other, tie)`` pairs; :meth:`graph` gives the
    same ties as a :class:`networkx.Graph` (edge attribute ``tie``).
    """

    def __init__(self, homes: np.ndarray, indptr: np.ndarray, indices: np.ndarray, family: np.ndarray) -> None:
        self.homes = homes
        self.indptr = indptr
        self.indices = indices
        self.family = family
        self._graph: nx.Graph | None = None

    @property
    def population(self) -> int:
        return len(self.homes)

    def ties_of(self, person: int) -> list[tuple[int, str]]:
        """Family and friends of ``person``: ``[(other, "family" | "friend"), ...]``."""
        lo, hi = self.indptr[person], self.indptr[person + 1]
        return [(o, "family" if f else "friend")
                for o, f in zip(self.indices[lo:hi].tolist(), self.family[lo:hi].tolist(), strict=True)]

    def graph(self) -> nx.Graph:
        """The town as a networkx graph (built on first use)."""
        if self._graph is None:
            g = nx.Graph()
            g.add_nodes_from(range(self.population))
            src = np.repeat(np.arange(self.population), np.diff(self.indptr))
            keep = src < self.indices
            for tie, mask in (("family", self.family[keep]), ("friend", ~self.family[keep])):
                g.add_edges_from(zip(src[keep][mask].tolist(), self.indices[keep][mask].tolist(), strict=True),
                                 tie=tie)
            self._graph = g
        return self._graph


def town_network(population: int, radius_km: float, rng: np.random.Generator) -> Town:
    """The town: each person's home (km from the centre) and their family and friend ties.

    Households share a home and everyone in a household is family; each person
    also has about :data:`FRIENDS_PER_PERSON` friends, mostly living nearby.
    """
    sizes = rng.choice(HOUSEHOLD_SIZES, size=population, p=HOUSEHOLD_SHARES)
    ends = np.cumsum(sizes)
    ends = ends[: np.searchsorted(ends, population)]
    bounds = np.unique(np.concatenate(([0], ends, [population])))
    n_households = len(bounds) - 1
    # Homes uniform over a disc, one per household.
    r = radius_km * np.sqrt(rng.random(n_households))
    a = 2 * math.pi * rng.random(n_households)
    hx, hy = r * np.cos(a), r * np.sin(a)
    size = np.diff(bounds)
    household = np.repeat(np.arange(n_households), size)
    homes = np.column_stack((hx[household], hy[household]))

    # Family: every pair within a household.
    fam_src, fam_dst = [], []
    for s in range(2, int(size.max(initial=1)) + 1):
        starts = bounds[:-1][size == s]
        for i in range(s):
            for j in range(i + 1, s):
                fam_src.append(starts + i)
                fam_dst.append(starts + j)
    fam = np.stack((np.concatenate(fam_src or [np.empty(0, np.int64)]),
                    np.concatenate(fam_dst or [np.empty(0, np.int64)])), axis=1).astype(np.int64)

    # Friends: mostly the nearest people along a space-filling order (neighbours), some anywhere in town.
    order = np.lexsort((np.round(homes[:, 1] / 2.0), np.round(homes[:, 0] / 2.0)))
    rank = np.empty(population, dtype=np.int64)
    rank[order] = np.arange(population)
    n_friend = population * FRIENDS_PER_PERSON // 2
    src = rng.integers(0, population, n_friend)
    long_range = rng.random(n_friend) < LONG_RANGE_FRIENDS
    offset = rng.integers(1, 25, n_friend) * rng.choice((-1, 1), n_friend)
    near = order[np.clip(rank[src] + offset, 0, population - 1)]
    far = rng.integers(0, population, n_friend)
    dst = np.where(long_range, far, near)
    pairs = np.sort(np.stack((src, dst), axis=1), axis=1)
    pairs = pairs[pairs[:, 0] != pairs[:, 1]]
    key = pairs[:, 0] * population + pairs[:, 1]
    key, first = np.unique(key, return_index=True)
    pairs = pairs[first]
    pairs = pairs[~np.isin(key, fam[:, 0] * population + fam[:, 1])]  # already family

    # Both directions, sorted by person: compact adjacency lists.
    a_src = np.concatenate((fam[:, 0], fam[:, 1], pairs[:, 0], pairs[:, 1]))
    a_dst = np.concatenate((fam[:, 1], fam[:, 0], pairs[:, 1], pairs[:, 0]))
    is_family = np.concatenate((np.ones(2 * len(fam), bool), np.zeros(2 * len(pairs), bool)))
    by = np.lexsort((a_dst, a_src))
    indptr = np.concatenate(([0], np.cumsum(np.bincount(a_src, minlength=population))))
    return Town(homes, indptr, a_dst[by], is_family[by])


def clinic_graph(model: AllianceModel, include_ended: bool = False) -> nx.DiGraph:
    """The clinic now, as a directed graph therapist -> client.

    Nodes carry ``kind`` ("therapist"/"client"), ``label``, ``site`` or ``pos``
    and state (burnout, retired; distress, maintenance).  Edges carry
    ``alliance``, ``bond``, ``ruptured`` (an unresolved rupture is open),
    ``sessions`` and ``handover`` (the relationship continues one with a
    therapist who left).  With ``include_ended`` the ended relationships of
    therapists who left are also drawn, as ``ended`` edges, so a handover shows
    both the old and the new tie.
    """
    g = nx.DiGraph()
    for t in model.therapists_all:
        g.add_node(t.label, kind="therapist", site=t.site, burnout=t.burnout,
                   left=t.left_week is not None, on_notice=t.on_notice,
                   pos=tuple(model.site_xy[t.site]))
    for c in model.clients():
        g.add_node(c.label, kind="client", pos=tuple(c.home), distress=c.distress,
                   maintenance=c.maintenance, paused=c.paused_until is not None)
        r = c.relationship
        g.add_edge(r.therapist.label, c.label, alliance=r.alliance, bond=r.bond,
                   ruptured=r.open_rupture is not None, sessions=r.sessions,
                   handover=r.predecessor is not None, ended=False)
        if include_ended and r.predecessor is not None:
            old = r.predecessor
            g.add_edge(old.therapist.label, c.label, alliance=old.alliance_end or 0.0,
                       bond=old.bond, ruptured=False, sessions=old.sessions,
                       handover=False, ended=True)
    return g
