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


def town_network(population: int, radius_km: float, rng: np.random.Generator) -> tuple[nx.Graph, np.ndarray]:
    """The town: a graph of family and friend ties, and each person's home (km).

    Returns ``(graph, homes)`` where ``homes[i]`` is the (x, y) home of person
    ``i`` in km from the town centre, and each edge has ``tie`` set to
    ``"family"`` or ``"friend"``.
    """
    sizes = rng.choice(HOUSEHOLD_SIZES, size=population, p=HOUSEHOLD_SHARES)
    ends = np.cumsum(sizes)
    ends = ends[: np.searchsorted(ends, population)]
    bounds = np.concatenate(([0], ends, [population]))
    bounds = np.unique(bounds)
    n_households = len(bounds) - 1
    # Homes uniform over a disc, one per household.
    r = radius_km * np.sqrt(rng.random(n_households))
    a = 2 * math.pi * rng.random(n_households)
    hx, hy = r * np.cos(a), r * np.sin(a)
    household = np.repeat(np.arange(n_households), np.diff(bounds))
    homes = np.column_stack((hx[household], hy[household]))

    g = nx.Graph()
    g.add_nodes_from(range(population))
    family = []
    for h in range(n_households):
        members = range(bounds[h], bounds[h + 1])
        family.extend((i, j) for i in members for j in members if i < j)
    g.add_edges_from(family, tie="family")

    # Friends: mostly the nearest people along a space-filling order (neighbours),
    # some anywhere in town.
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
    friends = [(int(s), int(d)) for s, d in zip(src, dst, strict=True) if s != d and not g.has_edge(s, d)]
    g.add_edges_from(friends, tie="friend")
    return g, homes


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
