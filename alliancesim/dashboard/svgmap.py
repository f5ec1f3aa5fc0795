"""The clinic map as SVG text: the server sends the shapes and the browser draws them.

Why not matplotlib for the map: the map changes every week, and drawing it with
matplotlib and encoding the picture cost about 40 ms of server time per week per
browser (most of a classroom server's budget).  Writing the same shapes as SVG
takes a few milliseconds; the browser draws them (crisp at any screen size, and
on the student's computer, not the server).  Pictures that change rarely or are
exported stay with matplotlib (:mod:`alliancesim.dashboard.figures`).

What the map shows is :func:`map_state`: plain numbers read from the model under
its lock, so the SVG text can be written after the lock is released.

Legibility after a year: a clinic of two hundred clients is two hundred lines
across the town.  The map has two ways to draw them (:data:`LINE_MODES`):

* *by neighbourhood* (the default): clients are grouped by where they live (a
  grid of :data:`GRID` x :data:`GRID` squares over the town) and by the room they
  go to; each group is one line from where its clients live to the room, thicker
  for more clients and darker for a stronger mean alliance.  What a trainer points
  at stays on the client's own dot: vermillion for an open rupture, purple for a
  relationship that continues after a handover;
* *each client*: one line per relationship, thin and pale (darker as the alliance
  grows), with open ruptures, relationships that continue after a handover and the
  line back to the therapist who left drawn bold.
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass, field

import numpy as np

from ..readout import readout
from .digest import digest, model_lock
from .figures import ALLIANCE_CMAP, BLACK, BURNOUT_BANDS, GREY, INK, LIGHT, PURPLE, VERMILLION, burnout_colour


@dataclass
class MapState:
    """What the map draws, in km (y up), read from the model in one go.

    ``clients``: (x, y, paused) per client on the books; ``lines``: (x0, y0, x1, y1,
    kind, alliance) with kind one of "plain", "rupture", "handover", "ended";
    ``therapists``: (label, x, y, colour, on_notice, left).
    """

    week: int
    horizon: int
    town_km: float
    sites: list[tuple[float, float]]
    clients: list[tuple[float, float, bool]] = field(default_factory=list)
    lines: list[tuple[float, float, float, float, str, float]] = field(default_factory=list)
    therapists: list[tuple[str, float, float, str, bool, bool]] = field(default_factory=list)
    open_ruptures: int = 0
    #: (home x, home y, room, kind, alliance) per client on the books: kind as in ``lines``.
    links: list[tuple[float, float, int, str, float]] = field(default_factory=list)

    @property
    def caption(self) -> str:
        working = sum(1 for t in self.therapists if not t[5])
        return (f"Week {self.week}: {working} therapists, {len(self.clients)} clients on the books, "
                f"{self.open_ruptures} open ruptures")


def therapist_positions(sites, town_km: float, therapists: list[tuple[str, int]]) -> dict[str, tuple[float, float]]:
    """Colleagues sharing a room sit on a small ring around it, in order of arrival."""
    by_site: dict[int, list[str]] = {}
    for label, site in therapists:
        by_site.setdefault(site, []).append(label)
    pos = {}
    for site, labels in by_site.items():
        cx, cy = sites[site]
        ring = 0.09 * town_km * (1.0 + 0.1 * max(0, len(labels) - 4))
        for k, label in enumerate(labels):
            angle = math.pi / 2 + 2 * math.pi * k / len(labels)
            pos[label] = (cx + ring * math.cos(angle), cy + ring * math.sin(angle))
    return pos


def map_state(model) -> MapState:
    """Read the clinic as it is now (under the model's lock).

    Read as whole columns of the record tables (:mod:`alliancesim.readout`), not client by
    client: this runs every week for every student on the map tab.
    """
    with model_lock(model):
        sites = [(float(x), float(y)) for x, y in model.site_xy]
        state = MapState(int(model.week), int(model.horizon), float(model.params.town_radius_km), sites)
        therapists = sorted(model.therapists_all, key=lambda t: (len(t.label), t.label))  # T2 before T10
        pos = therapist_positions(sites, state.town_km, [(t.label, int(t.site)) for t in therapists])
        for t in therapists:
            x, y = pos[t.label]
            left = t.left_week is not None
            state.therapists.append((t.label, x, y, "white" if left else burnout_colour(float(t.burnout)),
                                     bool(t.on_notice), left))
        read = readout(model)
        clients, rels = read.clients, read.relationships
        on = np.flatnonzero(clients["relationship"] >= 0)  # on the books, in order of arrival
        rel = clients["relationship"][on]
        home_x, home_y = clients["home_x"][on].tolist(), clients["home_y"][on].tolist()
        paused = (clients["paused_until"][on] >= 0).tolist()
        therapist = rels["therapist"][rel]
        room = read.therapists["site"][therapist].tolist()
        alliance = ((rels["bond"][rel] + rels["goal"][rel] + rels["task"][rel]) / 3.0).tolist()
        ruptured = (rels["open_episode"][rel] >= 0).tolist()
        before = digest(model).predecessor_rows()[rel]
        before_therapist = np.where(before >= 0, rels["therapist"][np.maximum(before, 0)], -1).tolist()
        labels = read.therapist_labels
        therapist = therapist.tolist()
    xy = {i: pos[label] for i, label in enumerate(labels)}
    for hx, hy, p, t, site, a, rup, old in zip(home_x, home_y, paused, therapist, room, alliance, ruptured,
                                               before_therapist, strict=True):
        state.clients.append((hx, hy, p))
        tx, ty = xy[t]
        kind = "rupture" if rup else ("handover" if old >= 0 else "plain")
        state.open_ruptures += rup
        state.lines.append((tx, ty, hx, hy, kind, a))
        state.links.append((hx, hy, site, kind, a))
        if old >= 0:
            ox, oy = xy[old]
            state.lines.append((ox, oy, hx, hy, "ended", 0.0))
    return state


def _hex(rgba) -> str:
    r, g, b = (int(round(255 * v)) for v in rgba[:3])
    return f"#{r:02x}{g:02x}{b:02x}"


#: Ten shades for alliance 0.0-0.1, ..., 0.9-1.0 (one path per shade keeps the SVG short).
ALLIANCE_SHADES = tuple(_hex(ALLIANCE_CMAP(0.3 + 0.7 * (k + 0.5) / 10)) for k in range(10))

LINE_STYLE = {  # kind -> stroke, width (px on screen), dash, opacity
    "ended": (GREY, 1.2, "2 3", 0.9),
    "handover": (PURPLE, 2.2, "6 4", 1.0),
    "rupture": (VERMILLION, 1.8, None, 0.9),
}


def _path(segments) -> str:
    return "".join(f"M{x0:.2f} {-y0:.2f}L{x1:.2f} {-y1:.2f}" for x0, y0, x1, y1 in segments)


#: How the map draws relationships: words on the toggle -> mode.
LINE_MODES = {"by neighbourhood": "neighbourhood", "each client": "each"}
#: Squares per side of the neighbourhood grid over the town.
GRID = 4
#: Client dot colours in the neighbourhood map (the lines no longer carry these).
DOT_COLOURS = {"plain": INK, "rupture": VERMILLION, "handover": PURPLE}


def neighbourhood_lines(state: MapState) -> list[tuple[float, float, float, float, int, float]]:
    """One line per (neighbourhood, room): from where its clients live on average to the room.

    Returns (x0, y0, x1, y1, clients, mean alliance) per group, most clients last (drawn on top).
    """
    k = state.town_km
    cell = 2 * k / GRID
    groups: dict[tuple[int, int, int], list] = {}
    for x, y, room, _, alliance in state.links:
        gx = min(GRID - 1, max(0, int((x + k) // cell)))  # clients who moved out of town: the edge square
        gy = min(GRID - 1, max(0, int((y + k) // cell)))
        g = groups.setdefault((gx, gy, room), [0.0, 0.0, 0, 0.0])
        g[0] += x
        g[1] += y
        g[2] += 1
        g[3] += alliance
    out = []
    for (_, _, room), (sx, sy, n, sa) in groups.items():
        rx, ry = state.sites[room]
        out.append((sx / n, sy / n, rx, ry, n, sa / n))
    out.sort(key=lambda line: line[4])
    return out


def map_svg(state: MapState, mode: str = "each") -> str:
    """The map as an ``<svg>`` element, scaled to its box (km coordinates, y flipped).

    ``mode``: ``"each"`` one line per relationship, ``"neighbourhood"`` one line per
    neighbourhood and room (see the module's notes).
    """
    k = state.town_km
    # clients who moved out of town still come: keep their homes on the map
    far = max((max(abs(x), abs(y)) for x, y, _ in state.clients), default=0.0)
    lim = max(k * 1.04, far * 1.02)
    out = [f"<svg class='as-map-svg' viewBox='{-lim:.2f} {-lim:.2f} {2 * lim:.2f} {2 * lim:.2f}' "
           "xmlns='http://www.w3.org/2000/svg' role='img' aria-label='clinic map'>",
           f"<circle cx='0' cy='0' r='{k:.2f}' fill='#f7f7f7' stroke='{LIGHT}' stroke-width='1.5' "
           "vector-effect='non-scaling-stroke'/>"]
    for x, y in state.sites:
        out.append(f"<circle cx='{x:.2f}' cy='{-y:.2f}' r='{0.16 * k:.2f}' fill='white' stroke='{GREY}' "
                   "stroke-dasharray='4 3' stroke-width='1.2' vector-effect='non-scaling-stroke'/>")
    shades: dict[int, list] = {}
    special: dict[str, list] = {kind: [] for kind in LINE_STYLE}
    if mode == "neighbourhood":  # one path per shade and width keeps the SVG short
        bundles: dict[tuple[int, float], list] = {}
        for x0, y0, x1, y1, n, alliance in neighbourhood_lines(state):
            key = (min(9, max(0, int(alliance * 10))), round(1.0 + 2.0 * math.sqrt(n)))
            bundles.setdefault(key, []).append((x0, y0, x1, y1))
        for (shade, width), segments in sorted(bundles.items(), key=lambda item: item[0][1]):
            out.append(f"<path d='{_path(segments)}' stroke='{ALLIANCE_SHADES[shade]}' stroke-width='{width}' "
                       "stroke-linecap='round' fill='none' opacity='0.75' vector-effect='non-scaling-stroke'/>")
    for x0, y0, x1, y1, kind, alliance in (state.lines if mode != "neighbourhood" else ()):
        if kind == "plain":
            shades.setdefault(min(9, max(0, int(alliance * 10))), []).append((x0, y0, x1, y1))
        else:
            special[kind].append((x0, y0, x1, y1))
    for shade, segments in sorted(shades.items()):
        width = 0.4 + 1.6 * ((shade + 0.5) / 10) ** 2
        out.append(f"<path d='{_path(segments)}' stroke='{ALLIANCE_SHADES[shade]}' stroke-width='{width:.2f}' "
                   "fill='none' opacity='0.6' vector-effect='non-scaling-stroke'/>")
    for kind in ("ended", "handover", "rupture"):
        if special[kind]:
            stroke, width, dash, opacity = LINE_STYLE[kind]
            out.append(f"<path d='{_path(special[kind])}' stroke='{stroke}' stroke-width='{width}' fill='none' "
                       f"opacity='{opacity}' vector-effect='non-scaling-stroke'"
                       + (f" stroke-dasharray='{dash}'" if dash else "") + "/>")
    dot = 0.011 * k
    attending = "".join(f"M{x - dot:.2f} {-y:.2f}a{dot:.2f} {dot:.2f} 0 1 0 {2 * dot:.2f} 0"
                        f"a{dot:.2f} {dot:.2f} 0 1 0 {-2 * dot:.2f} 0"
                        for x, y, paused in state.clients if not paused)
    pausing = "".join(f"M{x - dot:.2f} {-y:.2f}a{dot:.2f} {dot:.2f} 0 1 0 {2 * dot:.2f} 0"
                      f"a{dot:.2f} {dot:.2f} 0 1 0 {-2 * dot:.2f} 0"
                      for x, y, paused in state.clients if paused)
    if mode == "neighbourhood":  # the dot says what the line used to: open rupture, after a handover
        attending = ""
        for kind, colour in DOT_COLOURS.items():
            big = dot * (1.0 if kind == "plain" else 1.5)
            dots = "".join(f"M{x - big:.2f} {-y:.2f}a{big:.2f} {big:.2f} 0 1 0 {2 * big:.2f} 0"
                           f"a{big:.2f} {big:.2f} 0 1 0 {-2 * big:.2f} 0"
                           for (x, y, paused), (_, _, _, k_, _) in zip(state.clients, state.links, strict=True)
                           if k_ == kind and not paused)
            if dots:
                out.append(f"<path d='{dots}' fill='{colour}'/>")
    if attending:
        out.append(f"<path d='{attending}' fill='{INK}'/>")
    if pausing:
        out.append(f"<path d='{pausing}' fill='white' stroke='{INK}' stroke-width='1' "
                   "vector-effect='non-scaling-stroke'/>")
    for k_site, (x, y) in enumerate(state.sites):
        out.append(f"<text x='{x:.2f}' y='{-y + 0.235 * k:.2f}' font-size='{0.06 * k:.2f}' text-anchor='middle' "
                   f"fill='{INK}' stroke='white' stroke-width='{0.012 * k:.3f}' paint-order='stroke'>"
                   f"room {k_site + 1}</text>")
    radius = 0.045 * k
    for label, x, y, colour, notice, left in state.therapists:
        ring = 4.0 if notice else 1.4
        out.append(f"<circle cx='{x:.2f}' cy='{-y:.2f}' r='{radius:.2f}' fill='{colour}' "
                   f"stroke='{GREY if left else BLACK}' stroke-width='{ring}' vector-effect='non-scaling-stroke'/>"
                   f"<text x='{x:.2f}' y='{-y:.2f}' dy='0.35em' font-size='{0.042 * k:.2f}' font-weight='700' "
                   f"text-anchor='middle' fill='{GREY if left else 'white'}'>{html.escape(label)}</text>")
    out.append("</svg>")
    return "".join(out)


def legend_html(mode: str = "each") -> str:
    """How to read the map (``mode`` as in :func:`map_svg`), as HTML beside it (sent once, not every week)."""
    def swatch(svg: str) -> str:
        return f"<svg width='34' height='18' viewBox='0 0 34 18' aria-hidden='true'>{svg}</svg>"

    def line(colour: str, width: float, dash: str | None = None) -> str:
        extra = f" stroke-dasharray='{dash}'" if dash else ""
        return swatch(f"<line x1='2' y1='9' x2='32' y2='9' stroke='{colour}' stroke-width='{width}'{extra}/>")

    def dot(fill: str, stroke: str, r: float = 4, width: float = 1.0) -> str:
        return swatch(f"<circle cx='17' cy='9' r='{r}' fill='{fill}' stroke='{stroke}' stroke-width='{width}'/>")

    if mode == "neighbourhood":
        rows = [
            (line(ALLIANCE_SHADES[7], 7), "many clients from one neighbourhood to one room"),
            (line(ALLIANCE_SHADES[7], 2), "a few clients"),
            (line(ALLIANCE_SHADES[9], 4), "strong alliance (on average)"),
            (line(ALLIANCE_SHADES[1], 4), "weak alliance"),
            (dot(INK, INK, 3), "client at home"),
            (dot(VERMILLION, VERMILLION, 4.5), "client with an open rupture"),
            (dot(PURPLE, PURPLE, 4.5), "client continuing after a handover"),
            (dot("white", INK, 3), "client pausing"),
        ]
    else:
        rows = [
            (line(ALLIANCE_SHADES[9], 3), "strong alliance"),
            (line(ALLIANCE_SHADES[1], 1.2), "weak alliance"),
            (line(VERMILLION, 2.5), "open rupture"),
            (line(PURPLE, 2.5, "6 4"), "continues after a handover"),
            (line(GREY, 1.5, "2 3"), "back to the therapist who left"),
            (dot(INK, INK, 3), "client at home"),
            (dot("white", INK, 3), "client pausing"),
        ]
    # The therapists look the same in both modes.
    rows += [(dot(colour, BLACK, 7), f"therapist, {words}") for _, colour, words in BURNOUT_BANDS]
    rows += [(dot(BURNOUT_BANDS[0][1], BLACK, 6.5, 3), "therapist on notice"),
             (dot("white", GREY, 7), "therapist who left")]
    items = "".join(f"<li>{symbol}<span>{html.escape(words)}</span></li>" for symbol, words in rows)
    return f"<div class='as-legend-title'>How to read the map</div><ul class='as-legend'>{items}</ul>"
