"""Animated replay on the map: each case a token moving along the moves it made, in SVG's own animation.

The map underneath is the usual fixed layout (the same positions as ``map``).
The timeline runs from the first event to the as-of date, squeezed into
``duration`` seconds and looping. Everything moves with SVG's declarative
animation (SMIL ``<animateTransform>``, ``<animate>``), with no script, so the
file plays offline in any modern browser and inside the one-file report:

- a date counter and a progress bar at the top;
- per step, a badge with the number of cases waiting there, changing as the
  animation plays (one text per change, shown while it holds);
- per case, a token that appears when the case starts, sits in a step's box
  while it waits there, moves along the layout's route to the next step (a
  rework move follows its route back, as on the map), and leaves when the
  case completes; it turns amber once its time at the step passes the step's
  target, and red once it passes twice the target.

With more than :data:`MAX_TOKENS` cases, individual tokens would make the file
too big: the steps' badges and a disc per step, sized by how many wait there,
tell the story instead (docs/workshop.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape, quoteattr

import numpy as np
import pandas as pd

from flowmap.analysis.replay import Replay
from flowmap.analysis.wip import wip
from flowmap.errors import FlowmapError
from flowmap.model.clock import add_days
from flowmap.render.layout import Layout
from flowmap.render.maps import map_scene
from flowmap.render.scene import Rect, to_svg
from flowmap.render.scene import _n as _n  # the scene's own number format, so the header matches

__all__ = ["MAX_TOKENS", "animate_html", "animate_svg", "frame_scenes", "frames_pdf"]

MAX_TOKENS = 2000
"""Above this many cases, tokens are grouped per step and day (a disc per step) to keep the file small."""
TOKEN = "#0072B2"
AMBER = "#E69F00"
RED = "#D55E00"
BAR = 22.0  # the strip at the top for the date and the progress bar


@dataclass(frozen=True)
class _Clock:
    """Dates to fractions of the animation (0 = first day, 1 = the day after the as-of date)."""

    start: np.datetime64
    days: float

    def at(self, when: Any) -> Any:
        t = (np.asarray(when, dtype="M8[ns]") - self.start) / np.timedelta64(1, "D")
        return np.clip(t / self.days, 0.0, 1.0)


def _f(x: float) -> str:
    return f"{x:.5f}".rstrip("0").rstrip(".") or "0"


def _keys(times: list[float]) -> str:
    return ";".join(_f(t) for t in times)


def animate_svg(result: Replay, lay: Layout, *, duration: float = 60.0, per: str = "day",
                key: str | None = None, title: str | None = None) -> str:  # fmt: skip
    """The animated map as SVG text.

    Raises
    ------
    FlowmapError
        For a duration of 0 or less, an unknown ``per``, or a window with no events.
    """
    if not duration > 0:
        raise FlowmapError(f"--duration must be more than 0 seconds (got {duration:g})")
    if per not in ("day", "week"):
        raise FlowmapError(f"--per must be day or week (got {per!r})")
    process = result.process
    v = result.visits
    if not len(v):
        raise FlowmapError("no events in the window: there is nothing to animate")
    scene = map_scene(process, lay, title=title or f"{process.title}: the cases as they moved")
    shift = BAR + 6
    body = to_svg(scene)
    head, rest = body.split("<title>", 1)
    width, height = scene.width, scene.height + shift
    head = head.replace(f'height="{_n(scene.height)}pt"', f'height="{_n(height)}pt"').replace(
        f'viewBox="0 0 {_n(scene.width)} {_n(scene.height)}"', f'viewBox="0 0 {_n(width)} {_n(height)}"'
    )
    inner, _ = rest.rsplit("</svg>", 1)
    start = np.datetime64(pd.Timestamp(v["entered"].min()).normalize(), "ns")
    end = np.datetime64(result.as_of.normalize(), "ns") + np.timedelta64(1, "D")
    clock = _Clock(start, float((end - start) / np.timedelta64(1, "D")))
    dur = f"{_f(duration)}s"
    boxes = {s.css.split("step-", 1)[1]: s for s in scene.items if isinstance(s, Rect) and s.css.startswith("step ")}
    out = [head, f"<title>{rest.split('</title>', 1)[0]}</title>",
           f'<g transform="translate(0,{_f(shift)})">', inner.split("</title>", 1)[1], "</g>"]  # fmt: skip
    out.append(_timeline(clock, width, duration, per))
    counts = wip(result, per="week" if per == "week" else "day")
    out.append(_badges(counts, boxes, clock, dur, shift))
    cases = v["case_id"].nunique()
    if cases <= MAX_TOKENS:
        out.append(_tokens(result, lay, boxes, clock, dur, shift, key))
    else:
        out.append(_discs(counts, boxes, clock, dur, shift))
    out.append("</svg>\n")
    return "\n".join(out)


def _timeline(clock: _Clock, width: float, duration: float, per: str) -> str:
    """The date counter (one text per day or week, each shown while it holds) and the progress bar."""
    step = 7 if per == "week" else 1
    days = np.arange(0, int(np.ceil(clock.days)), step)
    dates = clock.start + days.astype("m8[D]")
    parts = [f'<rect x="12" y="6" width="{_f(width - 24)}" height="6" fill="#e3e7eb" rx="3"/>',
             f'<rect x="12" y="6" width="0" height="6" fill="{TOKEN}" rx="3">'
             f'<animate attributeName="width" values="0;{_f(width - 24)}" dur="{_f(duration)}s" '
             'repeatCount="indefinite"/></rect>',
             '<text x="12" y="24" font-size="10" fill="#444444">Each dot is a case: blue, amber once past the '
             "step's target, red past twice the target. Top right of each step: how many wait "
             "there.</text>"]  # fmt: skip
    edges = np.r_[clock.at(dates), 1.0]
    for i, d in enumerate(dates):
        a, b = float(edges[i]), float(edges[i + 1])
        label = str(pd.Timestamp(d).date()) if per == "day" else f"week of {pd.Timestamp(d).date()}"
        parts.append(
            f'<text x="{_f(width - 12)}" y="24" font-size="11" text-anchor="end" fill="#333333" visibility="hidden"'
            f' class="date">{escape(label)}'
            f'<animate attributeName="visibility" values="hidden;visible;hidden" keyTimes="0;{_f(a)};{_f(b)}" '
            f'calcMode="discrete" dur="{_f(duration)}s" repeatCount="indefinite"/></text>'
        )
    return "\n".join(parts)


def _badges(counts: pd.DataFrame, boxes: dict[str, Rect], clock: _Clock, dur: str, shift: float) -> str:
    """Per step, the number waiting there: a badge at the box's top right, one text per value it takes."""
    parts = []
    for sid, g in counts.groupby("step", sort=False):
        b = boxes.get(str(sid))
        if b is None:
            continue
        when = pd.to_datetime(pd.Series(g["period"].to_numpy()))
        at = clock.at(when.to_numpy(dtype="M8[ns]")) if len(when) else np.array([])
        n = g["open"].to_numpy()
        over = g["over_target"].to_numpy()
        x, y = b.x + b.w - 6, b.y + 12 + shift  # top right of the box, clear of the tag and the label
        parts.append(f'<g class="count step-{escape(str(sid))}">')
        change = np.r_[True, (n[1:] != n[:-1]) | (over[1:] != over[:-1])] if len(n) else np.array([], dtype=bool)
        idx = np.flatnonzero(change)
        for j, i in enumerate(idx):
            a = 0.0 if j == 0 else float(at[i])
            z = float(at[idx[j + 1]]) if j + 1 < len(idx) else 1.0
            if n[i] == 0:
                continue
            colour = RED if over[i] else "#333333"
            parts.append(
                f'<text x="{_f(x)}" y="{_f(y)}" font-size="9.5" font-weight="bold" fill="{colour}" text-anchor="end" '
                f'stroke="#ffffff" stroke-width="3" paint-order="stroke" visibility="hidden" data-open="{int(n[i])}">'
                f"{int(n[i])} waiting"
                + (f", {int(over[i])} over" if over[i] else "")
                + f'<animate attributeName="visibility" values="hidden;visible;hidden" keyTimes="0;{_f(a)};{_f(z)}" '
                f'calcMode="discrete" dur="{dur}" repeatCount="indefinite"/></text>'
            )
        parts.append("</g>")
    return "\n".join(parts)


def _tokens(result: Replay, lay: Layout, boxes: dict[str, Rect], clock: _Clock, dur: str, shift: float,
            key: str | None) -> str:  # fmt: skip
    """One token per case, moving between the boxes of its visits, amber then red as it overstays."""
    from flowmap.privacy import pseudonym

    process = result.process
    v = result.visits
    ends = set(process.end_steps)
    transit = min(0.004, 0.5 / max(clock.days, 1))  # of the timeline: a move takes a moment
    parts = ['<g class="tokens">']
    case = v["case_id"].astype(str).to_numpy()
    step = v["step"].astype(str).to_numpy()
    entered = v["entered"].to_numpy(dtype="M8[ns]")
    target = v["target"].to_numpy(dtype=float)
    amber = np.full(len(v), np.datetime64("NaT"), dtype="M8[ns]")
    red = amber.copy()
    has = ~np.isnan(target)
    if has.any():
        amber[has] = add_days(entered[has], target[has], clock=process.clock, calendar=process.calendar)
        red[has] = add_days(entered[has], 2 * target[has], clock=process.clock, calendar=process.calendar)
    starts = np.flatnonzero(np.r_[True, case[1:] != case[:-1]])
    stops = np.r_[starts[1:], len(case)]
    oy = shift + _header_offset(lay, boxes)
    for n, (a, z) in enumerate(zip(starts, stops, strict=True)):
        jx, jy = ((n * 37) % 9 - 4) * 5.0, ((n * 53) % 5 - 2) * 5.0
        times: list[float] = [0.0]
        points: list[tuple[float, float]] = []
        colours: list[tuple[float, str]] = [(0.0, TOKEN)]
        for i in range(a, z):
            b = boxes[step[i]]
            here = (b.x + b.w / 2 + jx, b.y + b.h / 2 + jy + shift)
            t = float(clock.at(entered[i]))
            if i > a:  # travel from the last box, by the route's middle where the layout has one
                route = lay.edges.get((step[i - 1], step[i]))
                leave = max(t - transit, times[-1])
                times.append(leave)
                points.append(points[-1])
                if route is not None and route.label is not None:
                    times.append((leave + t) / 2)
                    points.append((route.label[0], route.label[1] + oy))
            else:
                points.append(here)
                times[0] = 0.0
            times.append(t)
            points.append(here)
            colours.append((t, TOKEN))
            nxt = float(clock.at(entered[i + 1])) if i + 1 < z else 1.0
            for when, colour in ((amber[i], AMBER), (red[i], RED)):
                if not np.isnat(when) and float(clock.at(when)) < nxt and step[i] not in ends:
                    colours.append((float(clock.at(when)), colour))
        times.append(1.0)
        points.append(points[-1])
        first = float(clock.at(entered[a]))
        gone = float(clock.at(entered[z - 1])) if step[z - 1] in ends else 1.0
        values = ";".join(f"{_f(x)},{_f(y)}" for x, y in points)
        col_t = [0.0] + [t for t, _ in colours[1:]]
        col_v = [c for _, c in colours]
        name = pseudonym(case[a], key) if key else case[a]
        parts.append(
            f'<circle r="5" fill="{TOKEN}" stroke="#ffffff" stroke-width="1" opacity="0" class="token">'
            f"<title>{escape(name)}</title>"
            f'<animateTransform attributeName="transform" type="translate" values="{values}" '
            f'keyTimes="{_keys(_monotone(times))}" dur="{dur}" repeatCount="indefinite"/>'
            f'<animate attributeName="opacity" values="0;1;0" keyTimes="0;{_f(first)};{_f(max(gone, first))}" '
            f'calcMode="discrete" dur="{dur}" repeatCount="indefinite"/>'
            f'<animate attributeName="fill" values={quoteattr(";".join(col_v))} '
            f'keyTimes="{_keys(_monotone(col_t))}" calcMode="discrete" dur="{dur}" repeatCount="indefinite"/>'
            "</circle>"
        )
    parts.append("</g>")
    return "\n".join(parts)


def _monotone(times: list[float]) -> list[float]:
    """keyTimes as SMIL wants them: starting at 0, never going back, ending at 1 for an interpolated list."""
    out, last = [], 0.0
    for t in times:
        last = max(last, min(max(t, 0.0), 1.0))
        out.append(last)
    out[0] = 0.0
    return out


def _header_offset(lay: Layout, boxes: dict[str, Rect]) -> float:
    """How far the map's header pushes the layout down (a step's box in the scene against the layout)."""
    sid, b = next(iter(boxes.items()))
    return b.y - lay.nodes[sid].y


def _discs(counts: pd.DataFrame, boxes: dict[str, Rect], clock: _Clock, dur: str, shift: float) -> str:
    """Many cases: per step a disc whose size follows how many wait there (grouped per step and period)."""
    top = max(int(counts["open"].max()), 1)
    parts = ['<g class="discs">']
    for sid, g in counts.groupby("step", sort=False):
        b = boxes.get(str(sid))
        if b is None:
            continue
        at = clock.at(pd.to_datetime(pd.Series(g["period"].to_numpy())).to_numpy(dtype="M8[ns]"))
        radius = 3 + 22 * np.sqrt(g["open"].to_numpy() / top)
        parts.append(
            f'<circle cx="{_f(b.x + b.w / 2)}" cy="{_f(b.y + b.h / 2 + shift)}" r="0" fill="{TOKEN}" opacity="0.55">'
            f'<animate attributeName="r" values="{";".join(_f(r) for r in radius)}" '
            f'keyTimes="{_keys(_monotone([0.0, *at[1:].tolist()]))}" calcMode="discrete" dur="{dur}" '
            'repeatCount="indefinite"/></circle>'
        )
    parts.append("</g>")
    return "\n".join(parts)


def animate_html(svg: str, title: str) -> str:
    """The animation in a one-file web page: no script, nothing to fetch."""
    inline = svg.split("?>", 1)[1] if svg.startswith("<?xml") else svg
    return (
        '<!DOCTYPE html>\n<html lang="en-GB">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{escape(title)}</title>\n"
        "<style>body{margin:0;font-family:'DejaVu Sans',Verdana,Arial,sans-serif}"
        "svg{width:100%;height:auto;display:block}</style>\n</head>\n<body>\n"
        f"{inline.strip()}\n</body>\n</html>\n"
    )


def frame_scenes(result: Replay, lay: Layout, n: int) -> list[Any]:
    """``--frames N``: the map at N evenly spaced dates, each step saying how many cases wait there and how
    many of them are over its target (for print, where nothing moves)."""
    from flowmap.render.maps import StepNotes

    if n < 1:
        raise FlowmapError(f"--frames must be at least 1 (got {n})")
    v = result.visits
    if not len(v):
        raise FlowmapError("no events in the window: there is nothing to draw")
    counts = wip(result, per="day")
    days = pd.to_datetime(pd.Series(sorted(counts["period"].unique())))
    picks = np.unique(np.round(np.linspace(0, len(days) - 1, n)).astype(int))
    out: list[Any] = []
    for i in picks:
        day = days.iloc[i].date()
        g = counts[counts["period"] == day]
        now = {str(k): (int(a), int(b)) for k, a, b in zip(g["step"], g["open"], g["over_target"], strict=True)}
        notes: dict[str, tuple[str, list[str]]] = {}
        for s in result.process.steps:
            if s.end or s.id not in now:
                continue
            waiting, over = now[s.id]
            status = "worse" if over else ("mixed" if waiting else "none")
            notes[s.id] = (status, [f"{waiting} waiting", f"{over} over target" if over else ""])
        legend = [("heading", "How to read this frame"),
                  ("text", "Each step: the cases waiting there at the end of the day, and how many of them are "
                           "over the step's target (a red box has some)."),
                  ("worse", "some cases over the step's target"),
                  ("mixed", "cases waiting, none over target")]  # fmt: skip
        sub = f"as at {day} (frame {len(out) + 1} of {len(picks)})"
        out.append(map_scene(result.process, lay, notes=StepNotes(notes, legend, sub, badges=False), metric=None,
                             title=f"{result.process.title}: {day}"))  # fmt: skip
    return out


def frames_pdf(scenes: list[Any]) -> bytes:
    """Frames as one PDF, a page each (no creation date: the same bytes each time)."""
    import io

    from matplotlib.backends.backend_pdf import PdfPages

    from flowmap.render.scene import _figure

    buf = io.BytesIO()
    with PdfPages(buf, metadata={"CreationDate": None, "Producer": "flowmap", "Creator": "flowmap"}) as pdf:
        for scene in scenes:
            pdf.savefig(_figure(scene, 72))
    return buf.getvalue()
