"""The dashboard's pictures, drawn with matplotlib for a projector at the back of a room.

Redrawing a whole matplotlib figure every week is too slow for a clinic that
plays at several weeks a second, so the views that change every week are
*painters*: a painter draws its axes, labels and legend once (the background)
and then, each week, only the artists that carry data (lines, dots, the title),
on top of a saved copy of that background.  This is matplotlib's blitting, done
off-screen with the Agg canvas.  The background is redrawn only when an axis
range has to grow.  ``painter.frame()`` returns PNG bytes for the page;
``painter.save(path)`` writes a full-resolution PNG for an export.

Figures that change rarely (handovers, the spread of outcomes) are drawn whole
by a function.  No pyplot anywhere: figures are plain objects, safe in the
server's threads, and nothing global is left open.

Colours are the Okabe-Ito palette, readable with the common colour-vision
deficiencies; lines are thick and fonts large, because the person who most
needs to read them sits furthest from the screen.
"""

from __future__ import annotations

import io
import math
import threading
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # the server has no display; never pick an interactive backend

import numpy as np  # noqa: E402
from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.collections import LineCollection, PolyCollection  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.patches import Circle, Patch  # noqa: E402
from PIL import Image  # noqa: E402

from ..network import clinic_graph  # noqa: E402
from ..metrics import dropout_sessions  # noqa: E402
from ..readout import readout  # noqa: E402
from .digest import OUTCOMES, digest, model_lock, rolling_mean  # noqa: E402

# Okabe-Ito
ORANGE, SKY, GREEN, YELLOW, BLUE, VERMILLION, PURPLE, BLACK = (
    "#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7", "#000000")
GREY, LIGHT, INK = "#7f7f7f", "#d9d9d9", "#404040"

#: Pixels per inch on screen (the page scales the picture to its width) and in exported PNGs.
SCREEN_DPI = 80
EXPORT_DPI = 150

STYLE = {
    "font.size": 13,
    "axes.titlesize": 14,
    "axes.titleweight": "bold",
    "axes.titlelocation": "left",
    "axes.labelsize": 12,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.color": "#e6e6e6",
    "grid.linewidth": 0.8,
    "legend.fontsize": 11,
    "legend.frameon": False,
    "lines.linewidth": 2.4,
    "xtick.labelsize": 12,
    "ytick.labelsize": 12,
    "figure.facecolor": "white",
}

#: Burnout bands for a therapist's colour on the map: (upper limit, colour, words).
BURNOUT_BANDS = ((0.4, GREEN, "coping"), (0.7, ORANGE, "strained"), (math.inf, VERMILLION, "near burnout"))
#: Handover outcomes: colour and words.
OUTCOME_STYLE = {
    "stayed_with_successor": (BLUE, "stayed with the successor"),
    "moved_to_colleague": (ORANGE, "moved to a colleague"),
    "left": (VERMILLION, "stopped coming"),
}
THEMES = (("separateness", BLUE), ("pleasure", ORANGE), ("merging", GREEN), ("internalisation", PURPLE))
ALLIANCE_CMAP = matplotlib.colormaps["Blues"]


def burnout_colour(burnout: float) -> str:
    for limit, colour, _ in BURNOUT_BANDS:
        if burnout < limit:
            return colour
    return VERMILLION


def alliance_colours(alliances) -> np.ndarray:
    """RGBA rows: pale blue for a weak alliance, dark blue for a strong one (one colormap call)."""
    return ALLIANCE_CMAP(0.25 + 0.75 * np.clip(np.asarray(alliances, dtype=float), 0.0, 1.0))


def nice_ceiling(value: float) -> float:
    """Smallest of 1, 1.5, 2, 3, 4, 5, 6, 8, 10 x 10^k at or above ``value`` (axes grow in steps)."""
    if not np.isfinite(value) or value <= 0:
        return 1.0
    scale = 10 ** math.floor(math.log10(value))
    for m in (1, 1.5, 2, 3, 4, 5, 6, 8, 10):
        if m * scale >= value - 1e-12:
            return m * scale
    return 10 * scale


def growing_limit(n: float, smallest: float, largest: float | None = None, factor: float = 2.0) -> float:
    """An axis end that grows in steps as the data grows (``smallest``, x factor, ...), capped at ``largest``.

    Steps, not a snug fit: every change of range means redrawing the background.
    """
    end = smallest
    while end < n and (largest is None or end < largest):
        end = math.ceil(end * factor)
    return min(end, largest) if largest is not None else end


def encode(canvas: FigureCanvasAgg, fmt: str = "png") -> bytes:
    """The canvas as PNG (fast compression) or JPEG bytes: these go to the browser every week.

    JPEG (quality 92, no colour subsampling, so thin coloured lines keep their colour) is
    ten times faster to encode than PNG for a busy picture such as the clinic map.
    """
    w, h = canvas.get_width_height(physical=True)
    image = Image.frombuffer("RGBA", (w, h), canvas.buffer_rgba(), "raw", "RGBA", 0, 1).convert("RGB")
    buf = io.BytesIO()
    if fmt == "jpeg":
        image.save(buf, format="JPEG", quality=92, subsampling=0)
    else:
        image.save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


def png(fig: Figure, dpi: int = SCREEN_DPI) -> bytes:
    """A whole figure as PNG bytes."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


def new_figure(width: float, height: float, layout: str | None = None) -> Figure:
    """A figure in the dashboard style (rcParams apply to artists created inside ``styled``)."""
    fig = Figure(figsize=(width, height), dpi=SCREEN_DPI, layout=layout)
    FigureCanvasAgg(fig)
    return fig


class styled:
    """Context: create artists with the dashboard's rcParams."""

    def __enter__(self):
        self._ctx = matplotlib.rc_context(STYLE)
        self._ctx.__enter__()

    def __exit__(self, *exc):
        return self._ctx.__exit__(*exc)


def message_figure(text: str, width: float = 12.0, height: float = 4.0) -> Figure:
    with styled():
        fig = new_figure(width, height)
        ax = fig.add_axes((0, 0, 1, 1))
        ax.set_axis_off()
        ax.text(0.5, 0.5, text, ha="center", va="center", fontsize=17, color=GREY, transform=ax.transAxes)
    return fig


class Painter:
    """A figure whose background is drawn once and whose data artists are redrawn on top of it."""

    #: Image format of :meth:`frame` ("png" or "jpeg").
    format = "png"

    def __init__(self, fig: Figure) -> None:
        self.fig = fig
        self.canvas = fig.canvas if isinstance(fig.canvas, FigureCanvasAgg) else FigureCanvasAgg(fig)
        self.lock = threading.RLock()
        self._dynamic: list = []
        self._background = None
        self._background_key: object = None
        #: One line saying what the picture shows now; the page prints it above the picture as
        #: text (cheap), an exported PNG carries it as a title.
        self.caption = ""

    def live(self, artist):
        """Mark ``artist`` as data: left out of the background, drawn every frame."""
        artist.set_animated(True)
        self._dynamic.append(artist)
        return artist

    def background_key(self) -> object:
        """Anything that, when it changes, means the background must be redrawn (axis ranges)."""
        return None

    def frame(self) -> bytes:
        """The current state as an image (:attr:`format`): the saved background plus the data artists."""
        with self.lock, styled():
            key = self.background_key()
            if self._background is None or key != self._background_key:
                self.canvas.draw()
                self._background = self.canvas.copy_from_bbox(self.fig.bbox)
                self._background_key = key
            else:
                self.canvas.restore_region(self._background)
            renderer = self.canvas.get_renderer()
            for artist in self._dynamic:
                if artist.get_visible():
                    artist.draw(renderer)
            return encode(self.canvas, self.format)

    def save(self, path: str | Path, dpi: int = EXPORT_DPI) -> Path:
        """Write the whole figure (background, data and the caption as a title) as a PNG file."""
        path = Path(path)
        with self.lock, styled():
            for artist in self._dynamic:
                artist.set_animated(False)
            title = self.fig.text(0.01, 1.0, self.caption, fontsize=16, fontweight="bold", va="bottom")
            try:
                self.fig.savefig(path, format="png", dpi=dpi, bbox_inches="tight", pad_inches=0.15)
            finally:
                title.remove()
                for artist in self._dynamic:
                    artist.set_animated(True)
                self._background = None  # savefig redrew the canvas at another size
        return path


# ---------------------------------------------------------------------------------- the clinic map
class NetworkPainter(Painter):
    """The clinic now: rooms, therapists, clients at home, relationships as lines.

    A line darkens with the alliance; an open rupture is a thick vermillion line; a
    relationship that continues after a handover is purple and dashed, with a dotted
    grey line back to the therapist who left.  Therapists sit on a small ring around
    their room, coloured by burnout.
    """

    format = "jpeg"  # hundreds of lines: PNG takes ten times longer to encode

    def __init__(self, site_xy, town_radius_km: float, width: float = 11.0, height: float = 7.6) -> None:
        with styled():
            fig = new_figure(width, height)
            super().__init__(fig)
            self.sites = [tuple(map(float, xy)) for xy in site_xy]
            self.town = float(town_radius_km)
            ax = self.ax = fig.add_axes((0.005, 0.01, 0.64, 0.98))
            ax.set_aspect("equal")
            ax.set_axis_off()
            lim = self.town * 1.04
            ax.set_xlim(-lim, lim)
            ax.set_ylim(-lim, lim)
            ax.add_patch(Circle((0, 0), self.town, facecolor="#f7f7f7", edgecolor=LIGHT, linewidth=1.5, zorder=0))
            for k, (x, y) in enumerate(self.sites):
                ax.add_patch(Circle((x, y), 0.16 * self.town, facecolor="white", edgecolor=GREY, linewidth=1.2,
                                    linestyle="--", zorder=0.5))
                # on top of the lines (drawn with the data), so the room's name stays readable
                self.live(ax.text(x, y - 0.19 * self.town, f"room {k + 1}", ha="center", va="top", fontsize=13,
                                  color=INK, zorder=8,
                                  bbox={"boxstyle": "round,pad=0.2", "facecolor": "white", "edgecolor": "none",
                                        "alpha": 0.85}))
            self.plain = self.live(LineCollection([], linewidths=1.0, alpha=0.8, zorder=1))
            self.ended = self.live(LineCollection([], colors=GREY, linewidths=1.3, linestyles=":", zorder=1))
            self.handed = self.live(LineCollection([], colors=PURPLE, linewidths=2.2, linestyles="--", zorder=2))
            self.ruptured = self.live(LineCollection([], colors=VERMILLION, linewidths=1.9, alpha=0.9, zorder=3))
            for c in (self.plain, self.ended, self.handed, self.ruptured):
                ax.add_collection(c)
            self.clients = self.live(ax.scatter([], [], s=18, color=INK, linewidths=0, zorder=4))
            self.paused = self.live(ax.scatter([], [], s=18, facecolor="white", edgecolor=INK, linewidths=0.9,
                                               zorder=4))
            self.therapists = self.live(ax.scatter([], [], s=620, zorder=6))
            self.labels: dict[str, object] = {}
            fig.legend(handles=self._legend_handles(), loc="center left", bbox_to_anchor=(0.655, 0.5),
                       fontsize=13, handlelength=2.4, labelspacing=0.9, title="How to read the map",
                       title_fontproperties={"weight": "bold", "size": 13}, alignment="left")

    @staticmethod
    def _legend_handles() -> list:
        return [
            Line2D([], [], color=ALLIANCE_CMAP(0.95), lw=3.0, label="strong alliance"),
            Line2D([], [], color=ALLIANCE_CMAP(0.35), lw=1.2, label="weak alliance"),
            Line2D([], [], color=VERMILLION, lw=1.9, label="open rupture"),
            Line2D([], [], color=PURPLE, lw=2.2, ls="--", label="continues after a handover"),
            Line2D([], [], color=GREY, lw=1.3, ls=":", label="back to the therapist who left"),
            Line2D([], [], marker="o", ls="", color=INK, markersize=6, label="client at home"),
            Line2D([], [], marker="o", ls="", markerfacecolor="white", markeredgecolor=INK, markersize=6,
                   label="client pausing"),
        ] + [
            Line2D([], [], marker="o", ls="", markerfacecolor=c, markeredgecolor=BLACK, markersize=15,
                   label=f"therapist, {words}") for _, c, words in BURNOUT_BANDS
        ] + [
            Line2D([], [], marker="o", ls="", markerfacecolor=GREEN, markeredgecolor=BLACK, markeredgewidth=3.5,
                   markersize=15, label="therapist on notice"),
            Line2D([], [], marker="o", ls="", markerfacecolor="white", markeredgecolor=GREY, markersize=15,
                   label="therapist who left"),
        ]

    def therapist_positions(self, therapists: list[tuple[str, int]]) -> dict[str, tuple[float, float]]:
        """Colleagues sharing a room sit on a small ring around it, in order of arrival."""
        by_site: dict[int, list[str]] = {}
        for label, site in therapists:
            by_site.setdefault(site, []).append(label)
        pos = {}
        for site, labels in by_site.items():
            cx, cy = self.sites[site]
            ring = 0.09 * self.town * (1.0 + 0.1 * max(0, len(labels) - 4))
            for k, label in enumerate(labels):
                angle = math.pi / 2 + 2 * math.pi * k / len(labels)
                pos[label] = (cx + ring * math.cos(angle), cy + ring * math.sin(angle))
        return pos

    def update(self, model) -> NetworkPainter:
        with model_lock(model):
            graph = clinic_graph(model, include_ended=True)
            week = model.week
        nodes = graph.nodes
        therapists = [(label, int(d["site"])) for label, d in nodes(data=True) if d.get("kind") == "therapist"]
        therapists.sort(key=lambda item: (len(item[0]), item[0]))  # T2 before T10
        tpos = self.therapist_positions(therapists)
        plain, alliances, ended, handed, ruptured = [], [], [], [], []
        for a, b, e in graph.edges(data=True):
            seg = (tpos.get(a, (0.0, 0.0)), nodes[b]["pos"])
            if e.get("ended"):
                ended.append(seg)
            elif e.get("ruptured"):
                ruptured.append(seg)
            elif e.get("handover"):
                handed.append(seg)
            else:
                plain.append(seg)
                alliances.append(float(e.get("alliance") or 0.0))
        strength = np.clip(np.asarray(alliances, dtype=float), 0.0, 1.0)
        with self.lock:
            self.plain.set_segments(plain)
            self.plain.set_color(alliance_colours(strength) if len(strength) else "none")
            self.plain.set_linewidths(0.4 + 1.6 * strength**2 if len(strength) else [1.0])
            self.ended.set_segments(ended)
            self.handed.set_segments(handed)
            self.ruptured.set_segments(ruptured)
            attending, pausing = [], []
            for _, d in nodes(data=True):
                if d.get("kind") == "client":
                    (pausing if d.get("paused") else attending).append(d["pos"])
            self.clients.set_offsets(np.array(attending, dtype=float).reshape(-1, 2))
            self.paused.set_offsets(np.array(pausing, dtype=float).reshape(-1, 2))
            faces, edges, rings = [], [], []
            for label, _ in therapists:
                d = nodes[label]
                if d.get("left"):
                    faces.append("white"), edges.append(GREY), rings.append(1.5)
                else:
                    faces.append(burnout_colour(float(d.get("burnout", 0.0))))
                    edges.append(BLACK)
                    rings.append(4.0 if d.get("on_notice") else 1.4)
            self.therapists.set_offsets(np.array([tpos[t] for t, _ in therapists], dtype=float).reshape(-1, 2))
            self.therapists.set_facecolors(faces or "none")
            self.therapists.set_edgecolors(edges or "none")
            self.therapists.set_linewidths(rings or [1.0])
            for label, _ in therapists:
                text = self.labels.get(label)
                if text is None:
                    with styled():
                        text = self.labels[label] = self.live(self.ax.text(
                            0, 0, label, ha="center", va="center", fontsize=12, fontweight="bold", zorder=7))
                text.set_position(tpos[label])
                text.set_color(GREY if nodes[label].get("left") else "white")
            n_active = sum(1 for t, _ in therapists if not nodes[t].get("left"))
            self.caption = (f"Week {week}: {n_active} therapists, {len(attending) + len(pausing)} clients "
                            f"on the books, {len(ruptured)} open ruptures")
        return self


# ---------------------------------------------------------------------------------- time series
#: The six panels: title, lines (weekly column, legend words, colour, smoothing), y range, unit.
#: Smoothing: 1 as recorded, k > 1 a k-week trailing mean, 0 a running total.
SERIES_PANELS = (
    ("Clients on the books", (("clients_on_books", "all clients", BLUE, 1),
                              ("maintenance_clients", "maintenance clients", GREEN, 1)), None, "clients"),
    ("Alliance and session quality", (("mean_alliance", "mean alliance", BLUE, 4),
                                      ("mean_quality", "mean session quality", ORANGE, 4)), (0.0, 1.0),
     "0-1 scale, 4-week mean"),
    ("Ruptures repaired so far", (("repaired_so_far", "repaired, of all opened", GREEN, 1),), (0.0, 100.0),
     "% of ruptures"),
    ("Dropouts and referrals", (("dropouts", "dropped out", VERMILLION, 0),
                                ("referrals_colleague", "to a colleague", SKY, 0),
                                ("referrals_out", "out of the clinic", PURPLE, 0)), None, "running total"),
    ("Distress of clients seen", (("mean_distress", "mean distress", PURPLE, 4),), (0.0, 27.0),
     "PHQ-9 points, 4-week mean"),
    ("Therapist burnout", (("mean_burnout", "mean burnout", VERMILLION, 1),), (0.0, 1.0), "0-1 scale"),
)


def with_running_shares(series: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The weekly series plus ``repaired_so_far``: ruptures repaired as a % of all opened so far.

    One line that settles as the clinic runs, instead of two noisy weekly counts (a rupture
    repaired in a later week counts in that week, so the share can lag, never exceed 100 %).
    """
    opened = np.nancumsum(series.get("ruptures", np.zeros(0)))
    repaired = np.nancumsum(series.get("repairs", np.zeros(0)))
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(opened > 0, 100 * np.minimum(repaired, opened) / np.maximum(opened, 1), np.nan)
    return {**series, "repaired_so_far": share}


def smoothed(values: np.ndarray, smooth: int) -> np.ndarray:
    if smooth == 0:
        return np.nancumsum(values)
    if smooth > 1:
        return rolling_mean(values, smooth)
    return values


class TimeSeriesPainter(Painter):
    """Six panels over the weeks; a dotted line marks a week a therapist left (vermillion: burnout)."""

    def __init__(self, horizon: int, width: float = 13.0, height: float = 7.4) -> None:
        with styled():
            fig = new_figure(width, height)
            super().__init__(fig)
            fig.subplots_adjust(left=0.06, right=0.99, top=0.95, bottom=0.09, wspace=0.28, hspace=0.42)
            self.horizon = max(1, int(horizon))
            self.axes = fig.subplots(2, 3, sharex=True)
            self.lines: list[tuple[object, str, int, tuple | None]] = []
            for ax, (title, lines, ylim, unit) in zip(self.axes.flat, SERIES_PANELS, strict=True):
                ax.set_title(title)
                ax.set_ylabel(unit, fontsize=11)
                for column, words, colour, smooth in lines:
                    (line,) = ax.plot([], [], color=colour, label=words)
                    self.lines.append((self.live(line), column, smooth, ylim))
                ax.legend(loc="upper left", fontsize=11)
                if ylim:
                    ax.set_ylim(*ylim)
            for ax in self.axes[1]:
                ax.set_xlabel("week")
            self._marks: list = []
            self._departures: tuple = ()
            self._xmax = 0.0

    def background_key(self) -> object:
        return (self._xmax, self._departures, tuple(tuple(ax.get_ylim()) for ax in self.axes.flat))

    def update(self, model) -> TimeSeriesPainter:
        series = with_running_shares(digest(model).weekly())
        with model_lock(model):
            departures = tuple((t.left_week, t.leave_reason) for t in model.therapists_all if t.left_week is not None)
            week = model.week
        weeks = series.get("week", np.zeros(0))
        with self.lock:
            self._xmax = growing_limit(len(weeks), min(52.0, self.horizon), float(self.horizon))
            self.axes[0, 0].set_xlim(0, self._xmax)
            tops: dict[object, float] = {}
            for line, column, smooth, ylim in self.lines:
                values = smoothed(series.get(column, np.zeros(len(weeks))), smooth)
                line.set_data(weeks, values)
                if ylim is None and len(values):
                    top = float(np.nanmax(values)) if np.isfinite(values).any() else 0.0
                    tops[line.axes] = max(tops.get(line.axes, 0.0), top)
            for ax, top in tops.items():
                # headroom, so the lines stay below the legend (drawing legends every week is costly)
                ax.set_ylim(0, nice_ceiling(1.4 * top))
            if departures != self._departures:
                for mark in self._marks:
                    mark.remove()
                self._marks = [ax.axvline(w, color=VERMILLION if why == "burnout" else GREY, ls=":", lw=1.8,
                                          zorder=0) for w, why in departures for ax in self.axes.flat]
                self._departures = departures
            left = "" if not departures else " (dotted lines: a therapist left; vermillion: burnt out)"
            self.caption = f"Week {week} of {self.horizon}{left}"
        return self


# ---------------------------------------------------------------------------------- patterns so far
#: Bars for sessions 1 .. DROPOUT_SESSIONS_SHOWN - 1, then one bar for that many sessions or more.
DROPOUT_SESSIONS_SHOWN = 12


def dropout_by_session(model) -> np.ndarray:
    """Clients who dropped out, by the sessions they had (as the ``dropout_share`` and
    ``early_dropout_share`` metrics count them): index 0 is after session 1, the last bar
    (index ``DROPOUT_SESSIONS_SHOWN - 1``) after that many sessions or more."""
    sessions = np.clip(dropout_sessions(readout(model)).astype(np.int64), 1, DROPOUT_SESSIONS_SHOWN)
    return np.bincount(sessions - 1, minlength=DROPOUT_SESSIONS_SHOWN)[:DROPOUT_SESSIONS_SHOWN]


def ruptures_by_period(model, weeks_per_bar: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Ruptures opened in each period of ``weeks_per_bar`` weeks (from week 1): (start weeks,
    repaired since, not repaired (yet)), each of shape (periods,)."""
    read = readout(model)
    rup = read.ruptures
    periods = max(1, math.ceil(max(model.week, 1) / weeks_per_bar))
    which = np.clip((rup["week"] - 1) // weeks_per_bar, 0, periods - 1)
    repaired = rup["resolved_week"] >= 0
    return (np.arange(periods) * weeks_per_bar + 1,
            np.bincount(which[repaired], minlength=periods)[:periods],
            np.bincount(which[~repaired], minlength=periods)[:periods])


def bar_weeks(horizon: int) -> tuple[int, str]:
    """Weeks per rupture bar: a month (4 weeks) for runs up to two years, else a quarter (13 weeks),
    so a ten-year run has forty readable bars, not 130 slivers."""
    return (4, "month") if horizon <= 104 else (13, "quarter")


class PatternsPainter(Painter):
    """Two pictures a trainer asked for: when clients drop out (by session number), and ruptures
    per month or quarter with how many of them were repaired.

    The bars of the whole run exist from the start (empty); a week only changes their
    heights and the two titles, drawn over the saved background.
    """

    def __init__(self, horizon: int, width: float = 13.0, height: float = 4.2) -> None:
        with styled():
            fig = new_figure(width, height)
            super().__init__(fig)
            fig.subplots_adjust(left=0.06, right=0.99, top=0.86, bottom=0.2, wspace=0.22)
            self.horizon = max(1, int(horizon))
            left, right = self.left, self.right = fig.subplots(1, 2)
            x = np.arange(1, DROPOUT_SESSIONS_SHOWN + 1)
            self.drop_bars = [self.live(b) for b in left.bar(x, np.zeros(len(x)), color=VERMILLION, width=0.75)]
            left.set_xticks(x, [str(k) for k in x[:-1]] + [f"{x[-1]}+"])
            left.set_xlabel("sessions held before the client stopped coming")
            left.set_ylabel("clients")
            left.grid(axis="x", visible=False)
            self.left_title = self.live(left.set_title("When clients drop out"))
            self.no_dropouts = self.live(left.text(0.5, 0.5, "no dropouts yet", ha="center", va="center",
                                                   color=GREY, fontsize=15, transform=left.transAxes))
            self.step, self.period = bar_weeks(self.horizon)
            starts = np.arange(math.ceil(self.horizon / self.step)) * self.step + 1
            zeros = np.zeros(len(starts))
            kw = {"width": self.step * 0.85, "align": "edge"}
            self.repaired = [self.live(b) for b in right.bar(starts, zeros, color=GREEN, label="repaired", **kw)]
            self.unrepaired = [self.live(b) for b in right.bar(starts, zeros, color=VERMILLION,
                                                              label="not repaired (yet)", **kw)]
            right.set_xlabel(f"week the rupture opened (one bar a {self.period})")
            right.set_ylabel(f"ruptures per {self.period}")
            right.legend(loc="upper left", ncols=2)
            right.grid(axis="x", visible=False)
            self.right_title = self.live(right.set_title("Ruptures and repairs"))
            self._key: tuple = ()

    def background_key(self) -> object:
        return self._key

    def update(self, model) -> PatternsPainter:
        with model_lock(model):
            drops = dropout_by_session(model)
            _, repaired, unrepaired = ruptures_by_period(model, self.step)
            week = model.week
        with self.lock:
            for bar, h in zip(self.drop_bars, drops, strict=True):
                bar.set_height(h)
            total, early = int(drops.sum()), int(drops[:2].sum())
            self.left_title.set_text("When clients drop out" + (f": {100 * early / total:.0f}% after session 1 "
                                                                "or 2" if total else ""))
            self.no_dropouts.set_visible(total == 0)
            n = len(repaired)
            for k, (a, b) in enumerate(zip(self.repaired, self.unrepaired, strict=True)):
                ra, ub = (float(repaired[k]), float(unrepaired[k])) if k < n else (0.0, 0.0)
                a.set_height(ra)
                b.set_y(ra)
                b.set_height(ub)
            opened = int(repaired.sum() + unrepaired.sum())
            self.right_title.set_text(f"Ruptures and repairs: {100 * repaired.sum() / opened:.0f}% repaired so far"
                                      if opened else "Ruptures and repairs")
            # axes grow in steps (each step redraws the background), never shrink within a run
            left_top = nice_ceiling(1.3 * max(1, int(drops.max(initial=0))))
            right_top = nice_ceiling(1.3 * max(1, int((repaired + unrepaired).max(initial=0))))
            xmax = growing_limit(max(week, 1), min(52.0, self.horizon), float(self.horizon))
            self.left.set_ylim(0, left_top)
            self.right.set_ylim(0, right_top)
            self.right.set_xlim(1, xmax + 1)
            self._key = (left_top, right_top, xmax)
            self.caption = f"Week {week}: {total} dropouts, {opened} ruptures so far"
        return self


def patterns_figure(model) -> Figure:
    """The patterns picture as a whole figure (for exports)."""
    painter = PatternsPainter(model.horizon).update(model)
    for artist in painter._dynamic:
        artist.set_animated(False)
    return painter.fig


# ---------------------------------------------------------------------------------- one relationship
class RelationshipPainter(Painter):
    """Bond and alliance, the four themes and the client's distress, session by session.

    A pale vermillion band marks a session in which a rupture opened (with a
    downward triangle on the bond); a green upward triangle marks a repair.
    """

    def __init__(self, width: float = 13.0, height: float = 8.6) -> None:
        with styled():
            fig = new_figure(width, height)
            super().__init__(fig)
            fig.subplots_adjust(left=0.06, right=0.80, top=0.96, bottom=0.08, hspace=0.38)
            self.axes = fig.subplots(3, 1, sharex=True)
            top, themes, distress = self.axes
            self.bands = [self.live(PolyCollection([], facecolors=VERMILLION, alpha=0.16, linewidths=0,
                                                   transform=ax.get_xaxis_transform(), zorder=0))
                          for ax in self.axes]
            for ax, band in zip(self.axes, self.bands, strict=True):
                ax.add_collection(band)
            self.bond = self.live(top.plot([], [], color=BLUE, marker="o", ms=5, label="bond (trust)")[0])
            self.alliance = self.live(top.plot([], [], color=BLACK, label="alliance")[0])
            self.goal = self.live(top.plot([], [], color=GREY, lw=1.6, ls="--", label="goal agreement")[0])
            self.task = self.live(top.plot([], [], color=GREY, lw=1.6, ls=":", label="task agreement")[0])
            self.ruptures = self.live(top.scatter([], [], marker="v", s=130, color=VERMILLION, zorder=5,
                                                  label="rupture opened"))
            self.repairs = self.live(top.scatter([], [], marker="^", s=130, color=GREEN, edgecolors=BLACK,
                                                 linewidths=0.6, zorder=5, label="rupture repaired"))
            top.set_ylim(0, 1.03)
            top.set_title("Trust and working alliance")
            top.legend(loc="center left", bbox_to_anchor=(1.01, 0.5))
            self.themes = [self.live(themes.plot([], [], color=colour, label=name)[0]) for name, colour in THEMES]
            themes.set_ylim(0, 1.03)
            themes.set_title("The four themes of the relationship")
            themes.legend(loc="center left", bbox_to_anchor=(1.01, 0.5))
            self.drops = self.live(LineCollection([], colors=PURPLE, alpha=0.4, linewidths=4, zorder=1))
            distress.add_collection(self.drops)
            self.after = self.live(distress.plot([], [], color=PURPLE, marker="o", ms=5,
                                                 label="after the session")[0])
            self.before = self.live(distress.plot([], [], color=PURPLE, lw=1.3, ls=":", label="on arrival")[0])
            distress.set_ylim(0, 27.5)
            distress.set_title("Client's distress (PHQ-9 points, 0-27)")
            distress.legend(handles=[self.after, self.before,
                                     Patch(color=VERMILLION, alpha=0.3, label="session with a rupture")],
                            loc="center left", bbox_to_anchor=(1.01, 0.5))
            distress.set_xlabel("session")
            self.rid: int | None = None
            self.sessions_drawn = -1
            self._xmax = 8.0

    def background_key(self) -> object:
        return self._xmax

    def update(self, model, rid: int | None) -> RelationshipPainter:
        d = digest(model)
        r = d.relationship(rid) if rid is not None else None
        rows = d.sessions_of(rid) if r is not None else None
        with self.lock:
            self.rid = rid
            if r is None or rows is None or len(rows) == 0:
                empty = np.zeros(0)
                for line in (self.bond, self.alliance, self.goal, self.task, self.after, self.before, *self.themes):
                    line.set_data(empty, empty)
                for coll in (self.ruptures, self.repairs):
                    coll.set_offsets(np.zeros((0, 2)))
                for band in self.bands:
                    band.set_verts([])
                self.drops.set_segments([])
                self.caption = ("Pick a client and therapist" if r is None
                                else f"{r.client.label} with {r.therapist.label}: no session yet")
                self.sessions_drawn = 0
                return self
            n = rows["session"].to_numpy(dtype=float)
            bond = rows["bond"].to_numpy(dtype=float)
            ruptured = rows["rupture"].astype(str).to_numpy() != ""
            repaired = rows["repaired"].astype(bool).to_numpy()
            self.bond.set_data(n, bond)
            self.alliance.set_data(n, rows["alliance"].to_numpy(dtype=float))
            self.goal.set_data(n, rows["goal"].to_numpy(dtype=float))
            self.task.set_data(n, rows["task"].to_numpy(dtype=float))
            self.ruptures.set_offsets(np.column_stack((n[ruptured], bond[ruptured])))
            self.repairs.set_offsets(np.column_stack((n[repaired], bond[repaired])))
            for line, (name, _) in zip(self.themes, THEMES, strict=True):
                line.set_data(n, rows[name].to_numpy(dtype=float))
            before = rows["distress_before"].to_numpy(dtype=float)
            after = rows["distress_after"].to_numpy(dtype=float)
            self.after.set_data(n, after)
            self.before.set_data(n, before)
            self.drops.set_segments([((s, b), (s, a)) for s, b, a in zip(n, before, after, strict=True)])
            spans = [((s - 0.45, 0), (s + 0.45, 0), (s + 0.45, 1), (s - 0.45, 1)) for s in n[ruptured]]
            for band in self.bands:
                band.set_verts(spans)
            self._xmax = growing_limit(float(n.max()) + 0.5, 8.0, factor=1.5)
            self.axes[0].set_xlim(0.4, self._xmax)
            status = "together" if r.end_week is None else f"ended in week {r.end_week} ({r.end_reason})"
            self.caption = (f"{r.client.label} with {r.therapist.label}: from week {r.start_week}, {len(n)} "
                            f"sessions, {int(ruptured.sum())} ruptures, {int(repaired.sum())} repaired; {status}")
            self.sessions_drawn = len(n)
        return self


# ---------------------------------------------------------------------------------- handovers
class HandoverPainter(Painter):
    """For each therapist who left: where their clients went, and how long new alliances took to recover.

    Where the clients went is settled on the therapist's last day, so the bars are
    background; recoveries come in over the following months, so the dots are data.
    Make a new painter when another therapist leaves.
    """

    def __init__(self, departures: list, width: float = 13.0) -> None:
        self.departures = [(d.therapist, d.reason, d.week) for d in departures]
        n = len(departures)
        height = 2.1 + 0.8 * n  # inches: titles and axis labels, then one bar per departure
        with styled():
            fig = new_figure(width, height)
            super().__init__(fig)
            fig.subplots_adjust(left=0.15, right=0.98, top=1 - 0.5 / height, bottom=1.25 / height, wspace=0.1)
            shares, recover = self.shares, self.recover = fig.subplots(1, 2, width_ratios=(1.25, 1.0))
            self.y = y = np.arange(n)[::-1].astype(float)
            left = np.zeros(n)
            for outcome in OUTCOMES:
                colour, words = OUTCOME_STYLE[outcome]
                counts = np.array([d.count(outcome) for d in departures], dtype=float)
                shares.barh(y, counts, left=left, color=colour, label=words, height=0.62)
                for yi, li, ci in zip(y, left, counts, strict=True):
                    if ci:
                        shares.text(li + ci / 2, yi, f"{int(ci)}", ha="center", va="center", color="white",
                                    fontsize=14, fontweight="bold")
                left += counts
            shares.set_yticks(y, [f"{d.therapist}, {d.reason}\nweek {d.week}" for d in departures])
            shares.set_xlabel("clients on the books on the last day")
            shares.set_title("Where the clients went")
            for ax in (shares, recover):
                ax.grid(axis="y", visible=False)
                ax.set_ylim(-0.6, n - 0.4)
            recover.set_yticks(y, [""] * n)
            recover.set_xlabel("weeks until the new alliance reached 90% of the old")
            recover.set_title("How long the new alliances took")
            self.dots = self.live(recover.scatter([], [], color=BLUE, s=60, alpha=0.8, zorder=3))
            self.medians = self.live(LineCollection([], colors=BLACK, linewidths=4, zorder=4))
            recover.add_collection(self.medians)
            handles = [Patch(color=OUTCOME_STYLE[o][0], label=OUTCOME_STYLE[o][1]) for o in OUTCOMES] + [
                Line2D([], [], marker="o", ls="", color=BLUE, markersize=8, label="one client's new alliance"),
                Line2D([], [], color=BLACK, lw=4, label="median")]
            fig.legend(handles=handles, loc="lower center", ncols=5, fontsize=12, bbox_to_anchor=(0.5, 0.0))
            self._xmax = 20.0

    def background_key(self) -> object:
        return self._xmax

    def update(self, departures: list) -> HandoverPainter:
        jitter = np.random.default_rng(0)  # fixed: the dots must not dance between redraws
        points, medians, longest = [], [], 0.0
        for yi, d in zip(self.y, departures, strict=True):
            weeks = d.recovery_weeks()
            if weeks:
                points.extend(zip(weeks, yi + jitter.uniform(-0.2, 0.2, len(weeks)), strict=True))
                median = float(np.median(weeks))
                medians.append(((median, yi - 0.32), (median, yi + 0.32)))
                longest = max(longest, max(weeks))
        waiting = sum(1 for d in departures for c in d.clients if c.new_therapist is not None
                      and c.recovered_after is None)
        with self.lock:
            self.dots.set_offsets(np.array(points, dtype=float).reshape(-1, 2))
            self.medians.set_segments(medians)
            self._xmax = growing_limit(longest + 1, 20.0, factor=1.5)
            self.recover.set_xlim(0, self._xmax)
            last = departures[-1]
            self.caption = (f"{len(departures)} therapist{'s' if len(departures) != 1 else ''} left with clients; "
                            f"latest: {last.therapist} ({last.reason}) in week {last.week}"
                            + (f"; {waiting} new alliance{'s' if waiting != 1 else ''} not recovered yet"
                               if waiting else ""))
        return self


def handover_departures(model) -> list:
    """Therapists who have left with clients on their books (what the handover picture shows)."""
    return [d for d in digest(model).departures() if d.week is not None and d.clients]


def handover_figure(model) -> Figure:
    """The handover picture as a whole figure (for exports)."""
    departures = handover_departures(model)
    if not departures:
        return message_figure(NO_HANDOVER_YET)
    painter = HandoverPainter(departures).update(departures)
    for artist in painter._dynamic:
        artist.set_animated(False)
    return painter.fig


NO_HANDOVER_YET = ("No therapist has left with clients on the books yet.\n"
                   "Try a 'retiring therapist' preset, or set scheduled_retirement_week.")


# ---------------------------------------------------------------------------------- spread of outcomes
#: Headline metrics for the spread view: (metric, title, unit, shown as percent).
SPREAD_METRICS = (
    ("dropout_share", "Dropout", "% of ended courses", True),
    ("rupture_share", "Sessions with a rupture", "% of sessions", True),
    ("repaired_share", "Ruptures repaired", "% of ruptures", True),
    ("mean_alliance", "Mean alliance", "0-1 scale", False),
    ("clients_on_books", "Clients on the books", "clients", False),
    ("mean_burnout", "Therapist burnout", "0-1 scale", False),
    ("stayed_with_successor", "Stayed with the successor", "% of handed-over clients", True),
    ("improved_by_8", "Improved by session 8", "% of distressed clients", True),
)


def spread_figure(results: list[dict], title: str, width: float = 13.0, height: float = 6.6) -> Figure:
    """One dot per run for each headline metric, with the median: chance shows as spread."""
    if not results:
        return message_figure("No runs yet.")
    with styled():
        fig = new_figure(width, height)
        fig.subplots_adjust(left=0.06, right=0.99, top=0.82, bottom=0.04, wspace=0.45, hspace=0.38)
        axes = fig.subplots(2, 4)
        jitter = np.random.default_rng(0)
        for ax, (metric, label, unit, percent) in zip(axes.flat, SPREAD_METRICS, strict=True):
            values = np.array([float(r.get(metric, np.nan)) for r in results], dtype=float)
            if percent:
                values = 100 * values
            finite = values[np.isfinite(values)]
            ax.set_title(label, fontsize=13)
            ax.set_xticks([])
            ax.set_ylabel(unit, fontsize=11)
            ax.set_xlim(-0.6, 0.6)
            if len(finite) == 0:
                ax.text(0.5, 0.5, "did not happen\nin these runs", ha="center", va="center", color=GREY,
                        transform=ax.transAxes)
                continue
            ax.scatter(jitter.uniform(-0.25, 0.25, len(finite)), finite, s=70, color=BLUE, alpha=0.75, zorder=3)
            median = float(np.median(finite))
            ax.plot([-0.42, 0.42], [median, median], color=BLACK, lw=3.5, zorder=4)
            lo, hi = float(finite.min()), float(finite.max())
            pad = max(0.12 * (hi - lo), 0.03 * max(abs(hi), 1e-9), 1e-3)
            ax.set_ylim(lo - pad, hi + pad * 2.2)
            ax.text(0.5, 0.98, f"median {median:.3g}", transform=ax.transAxes, ha="center", va="top",
                    fontsize=11, fontweight="bold")
        fig.text(0.01, 0.96, title, fontsize=15, fontweight="bold", va="center")
        fig.text(0.01, 0.915, "one dot per run (seed); black bar: median", fontsize=12, color=GREY, va="center")
    return fig


# ---------------------------------------------------------------------------------- side by side
#: Colour and line style of the first, second and third setup in a comparison.
COMPARE_STYLES = ((BLUE, "-"), (ORANGE, "--"), (GREEN, ":"))
#: The panels of a comparison: title, weekly column, smoothing (as in SERIES_PANELS), y range, unit.
COMPARE_PANELS = (
    ("Clients on the books", "clients_on_books", 1, None, "clients"),
    ("Mean alliance", "mean_alliance", 8, (0.0, 1.0), "0-1 scale, 8-week mean"),
    ("Ruptures repaired so far", "repaired_so_far", 1, (0.0, 100.0), "% of ruptures"),
    ("Dropouts", "dropouts", 0, None, "running total"),
    ("Therapist burnout", "mean_burnout", 1, (0.0, 1.0), "0-1 scale"),
)


def handover_outcome_bars(ax, runs, labels: list[str]) -> None:
    """On ``ax``: one bar per run, the % of handed-over clients who stayed, moved or stopped."""
    y = np.arange(len(runs))[::-1].astype(float)
    left = np.zeros(len(runs))
    totals = np.array([sum(r.handover_counts().values()) for r in runs], dtype=float)
    for outcome in OUTCOMES:
        colour, words = OUTCOME_STYLE[outcome]
        counts = np.array([r.handover_counts()[outcome] for r in runs], dtype=float)
        share = np.where(totals > 0, 100 * counts / np.maximum(totals, 1), 0.0)
        ax.barh(y, share, left=left, color=colour, label=words, height=0.6)
        for yi, li, si in zip(y, left, share, strict=True):
            if si >= 8:
                ax.text(li + si / 2, yi, f"{si:.0f}%", ha="center", va="center", color="white", fontsize=13,
                        fontweight="bold")
        left += share
    ax.set_yticks(y, [f"{label}\n({int(n)} clients)" if n else f"{label}\n(no handover)"
                      for label, n in zip(labels, totals, strict=True)])
    ax.set_xlim(0, 100)
    ax.set_xlabel("% of the clients handed over")
    ax.set_title("Handover outcomes")
    ax.grid(visible=False)


def compare_figure(runs, width: float = 13.0, height: float = 7.6) -> Figure:
    """Two or three runs with the same seed: their key weekly lines overlaid, and handover outcomes."""
    if not runs:
        return message_figure("Nothing compared yet.")
    with styled():
        fig = new_figure(width, height)
        fig.subplots_adjust(left=0.06, right=0.99, top=0.82, bottom=0.08, wspace=0.3, hspace=0.42)
        axes = fig.subplots(2, 3)
        for ax, (title, column, smooth, ylim, unit) in zip(axes.flat, COMPARE_PANELS, strict=False):
            for run, (colour, style) in zip(runs, COMPARE_STYLES, strict=False):
                series = with_running_shares(run.weekly)
                values = smoothed(series.get(column, np.zeros(0)), smooth)
                ax.plot(series["week"], values, color=colour, ls=style, label=run.label)
            ax.set_title(title)
            ax.set_ylabel(unit, fontsize=11)
            if ylim:
                ax.set_ylim(*ylim)
            else:
                ax.set_ylim(bottom=0)
        for ax in axes[1, :2]:
            ax.set_xlabel("week")
        labels = [f"{'ABC'[i]}: {r.label}" for i, r in enumerate(runs)]
        handover_outcome_bars(axes[1, 2], runs, ["ABC"[i] for i in range(len(runs))])
        handles = [Line2D([], [], color=c, ls=s, lw=3, label=label)
                   for (c, s), label in zip(COMPARE_STYLES, labels, strict=False)]
        fig.legend(handles=handles, loc="upper left", bbox_to_anchor=(0.01, 0.995), ncols=len(runs), fontsize=13)
        outcomes = [Patch(color=OUTCOME_STYLE[o][0], label=OUTCOME_STYLE[o][1]) for o in OUTCOMES]
        fig.legend(handles=outcomes, loc="upper left", bbox_to_anchor=(0.01, 0.945), ncols=3, fontsize=12,
                   title="handover outcomes:", title_fontsize=12, alignment="left")
    return fig


def policies_figure(runs, width: float = 13.0) -> Figure:
    """The same clinic and seed under each handover policy: where the clients went, and the median
    weeks until the new alliances recovered."""
    height = 1.9 + 0.75 * len(runs)
    with styled():
        fig = new_figure(width, height)
        fig.subplots_adjust(left=0.2, right=0.98, top=1 - 0.45 / height, bottom=1.3 / height, wspace=0.08)
        shares, recover = fig.subplots(1, 2, width_ratios=(2.2, 1.0))
        labels = [r.label.removeprefix("handover: ") for r in runs]
        handover_outcome_bars(shares, runs, labels)
        y = np.arange(len(runs))[::-1].astype(float)
        weeks = np.array([r.metrics.get("recovery_weeks", np.nan) for r in runs], dtype=float)
        recover.barh(y, np.nan_to_num(weeks), color=SKY, height=0.6)
        for yi, w in zip(y, weeks, strict=True):
            recover.text(0.3 if not np.isfinite(w) else w + 0.3, yi, "–" if not np.isfinite(w) else f"{w:.0f}",
                         va="center", fontsize=13)
        recover.set_yticks(y, [""] * len(runs))
        recover.set_ylim(shares.get_ylim())
        recover.set_xlim(0, nice_ceiling(1.3 * max(1.0, float(np.nanmax(weeks, initial=1.0)))))
        recover.set_title("Weeks to recover (median)")
        recover.set_xlabel("weeks to 90% of the old alliance")
        recover.grid(visible=False)
        handles = [Patch(color=OUTCOME_STYLE[o][0], label=OUTCOME_STYLE[o][1]) for o in OUTCOMES]
        fig.legend(handles=handles, loc="lower center", ncols=3, fontsize=12, bbox_to_anchor=(0.5, 0.0))
    return fig
