"""Process maps: the declared process, annotated with computed metrics, as SVG, PNG, PDF, DOT or Mermaid.

Positions come from :mod:`flowmap.layout` (the process alone); data only
changes text, colours and widths. Renderers take computed metrics
(:class:`~flowmap.metrics.MapMetrics`, :class:`~flowmap.metrics.CaseJourney`),
never raw events.

Colours are from the Okabe-Ito palette, which people with the common forms of
colour blindness can tell apart, and every colour's meaning is also written as
text (the RAG status is spelled out on each step).
"""

from __future__ import annotations

import itertools
import math
import textwrap
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

import numpy as np

from flowmap.analysis.metrics import RAG_RULE, CaseJourney, MapMetrics, rag
from flowmap.errors import RenderError
from flowmap.model.calendars import clock_name, days_word
from flowmap.model.process import Process, Transition, by_basis
from flowmap.privacy import Protected
from flowmap.render.brackets import LABEL_SIZE, TRACK, Segment, base_label, label_at_end, segments, tracks_per_row
from flowmap.render.layout import NODE_H, NODE_W, Box, Layout, Renderer, dot_quote, layout, levels
from flowmap.render.scene import Path as PathShape
from flowmap.render.scene import Polygon, Rect, Scene, Text, on_page, smallest_text, to_pdf, to_png, to_svg

__all__ = ["MAP_FORMATS", "PAGES", "Direction", "Metric", "Orientation", "Page", "StepNotes", "compare_notes",
           "fit_to_page", "map_dot", "map_mermaid", "map_scene", "render_map", "write_map"]  # fmt: skip

Metric = Literal["frequency", "time", "drift"]
Direction = Literal["auto", "LR", "TB", "grid"]
MAX_DRAWN_STEPS = 1000
"""The most steps a drawn map (.svg, .png, .pdf) holds; DOT and Mermaid have no limit."""

MAP_FORMATS = (".svg", ".png", ".pdf", ".dot", ".mmd")
Page = Literal["a4", "a3"]
Orientation = Literal["auto", "landscape", "portrait"]
PAGES: dict[str, tuple[float, float]] = {"a4": (595.0, 842.0), "a3": (842.0, 1191.0)}  # points, short side first
PAGE_MARGIN = 28.35  # 10 mm in points
MIN_PRINT_TEXT = 6.0  # points: the smallest text a printed map may have

# Okabe-Ito, and light tints of it for fills.
INK = "#222222"
GREY = "#8a8a8a"
BLUE = "#0072B2"
VERMILLION = "#D55E00"
GREEN = "#009E73"
ORANGE = "#E69F00"
FILL = {"red": "#F6C9AE", "amber": "#FBE3AA", "green": "#BDE5D6", "none": "#ffffff",
        "better": "#BDE5D6", "worse": "#F6C9AE", "mixed": "#FBE3AA", "no clear change": "#EDEDED",
        "too few": "#ffffff"}  # fmt: skip
STROKE = {"red": VERMILLION, "amber": "#B07800", "green": GREEN, "none": "#555555",
          "better": GREEN, "worse": VERMILLION, "mixed": "#B07800", "no clear change": "#777777",
          "too few": "#999999"}  # fmt: skip
LANE_FILLS = ("#F4F6F8", "#EEF3F7")
LANE_STRIPES = ("#56B4E9", "#CC79A7", "#F0E442", "#999999", "#009E73", "#0072B2")
HEADER = 56.0
LINE = 15.0


@dataclass(frozen=True)
class StepNotes:
    """Figures and a verdict per step that replace the metric's, with the legend that explains them.

    ``compare --map`` uses it: each step's verdict (a key of the colour table:
    ``better``, ``worse``, ``mixed``, ``no clear change``, ``too few``) colours
    the box and is written in a badge on it; the lines are its figures.
    """

    steps: dict[str, tuple[str, list[str]]]
    legend: list[tuple[str, str]]
    subtitle: str
    badges: bool = True  # write each verdict in a tab on its box (compare); off for animation frames


def compare_notes(verdicts: dict[str, tuple[str, list[str]]], sides: str) -> StepNotes:
    """:class:`StepNotes` for a before-and-after map from per-step verdicts (``Comparison.step_verdicts``)."""
    legend = [
        (
            "text",
            f"Figures in boxes: {sides}: the step's median days over completed visits and the share of "
            "visits over its target, before → after. The word on each box is the verdict.",
        ),
        ("better", "BETTER: an interval of the change excludes zero, the good way, and none the bad way"),
        ("worse", "WORSE: an interval excludes zero the bad way, and none the good way"),
        ("mixed", "MIXED: one measure clearly better, another clearly worse"),
        ("no clear change", "NO CLEAR CHANGE: every interval includes zero; this could be chance"),
        ("too few", "TOO FEW: fewer than 5 visits on a side to judge (white: no figures)"),
    ]
    return StepNotes(steps=dict(verdicts), legend=legend, subtitle=sides)


@dataclass(frozen=True)
class _Options:
    metric: Metric | None
    title: str
    subtitle: str


def _days(v: float) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    return f"{v:.0f}" if float(v).is_integer() or abs(v) >= 10 else f"{v:.1f}"


def _unit(process: Process) -> str:
    return days_word(process.clock)


def _wrap(text: str, width: int, lines: int) -> list[str]:
    parts = []
    for para in str(text).splitlines() or [""]:
        parts.extend(textwrap.wrap(para, width) or [""])
    if len(parts) > lines:
        parts = parts[:lines]
        parts[-1] = parts[-1][: width - 1].rstrip() + "…"
    return parts


def _limit(step: Any, unit: str) -> str:
    """A step's target as written: "3 months", or its days and ``unit``."""
    if step.target_months is not None:
        return f"{step.target_months} month{'s' if step.target_months != 1 else ''}"
    return f"{_days(step.target)} {unit}"


@dataclass(frozen=True)
class _Counts:
    """How a map prints its counts: as ``metrics.shown`` says (complementary suppression), else small
    ones as ``<N``."""

    shown: Protected | None = None
    below: int | None = None

    def text(self, cell: str, value: int) -> str:
        from flowmap.privacy import suppress

        if self.shown is not None and cell in self.shown.values:
            return str(self.shown.text(cell))
        return str(suppress(value, self.below))

    def any_hidden(self, cells: dict[str, int]) -> bool:
        return any(self.text(c, v) != str(v) for c, v in cells.items())


def _counts(metrics: MapMetrics | None, below: int | None) -> _Counts:
    return _Counts(metrics.shown if metrics is not None else None, below)


def _figures(process: Process, sid: str, metrics: MapMetrics | None, metric: Metric | None,
             counts: _Counts | None = None) -> tuple[list[str], str]:  # fmt: skip
    """The figure lines printed in a step box, and its RAG status (counts as ``counts`` says)."""
    counts = counts or _Counts()
    step = process.step(sid)
    unit = _unit(process)
    if metrics is None or metric is None:
        lines = []
        if step.target is not None:
            lines.append(f"target {_limit(step, unit)}")
        if step.typical is not None:
            lines.append(f"typical {_days(step.typical)} {unit}")
        return lines, "none"
    r: dict[Any, Any] = metrics.steps.loc[sid].to_dict()
    visits, cases = int(r["visits"]), int(r["cases"])
    vis, cas = counts.text(f"visits:{sid}", visits), counts.text(f"cases:{sid}", cases)
    if metric == "frequency":
        return [f"{cas} case{'s' if cases != 1 else ''}", f"{vis} visit{'s' if visits != 1 else ''}"], "none"
    if step.end:
        return [f"reached by {cas} case{'s' if cases != 1 else ''}"], "none"
    if visits == 0:
        return ["no visits", "" if step.target is None else f"target {_limit(step, unit)}"], "none"
    target = "" if step.target is None else f" (target {_limit(step, '').strip()})"
    if metric == "time":
        return [f"median {_days(r['median_days'])}{target}", f"p90 {_days(r['p90_days'])} {unit}"], "none"
    status = str(r["rag"])
    if status == "none":
        return [f"median {_days(r['median_days'])} {unit}", "no target"], "none"
    # "3 mo": a box holds about 28 characters at 9 pt, and the legend spells the target out
    limit = f"{step.target_months} mo" if step.target_months is not None else _days(float(step.target or 0))
    share = f"{counts.text(f'breaches:{sid}', int(r['breaches']))} of {vis} over {limit}"
    return [f"{status.upper()}: {share}", f"excess {_days(r['excess_days'])} {unit}"], status


def _options(process: Process, metrics: MapMetrics | None, case: CaseJourney | None, metric: Metric | None,
             title: str | None) -> _Options:  # fmt: skip
    sub = []
    if metrics is not None:
        if metrics.first_event is not None and metrics.last_event is not None:
            sub.append(f"events {metrics.first_event.date()} to {metrics.last_event.date()}")
        sub.append(f"as of {metrics.as_of.date()}")
        if metrics.window:
            sub.append(metrics.window)
        sub.append(f"{_counts(metrics, None).text('cases', metrics.cases)} cases")
    sub.append(f"days are {clock_name(process.clock)}")
    if case is not None:
        sub.insert(0, f"case {case.case_id} ({case.status})")
    return _Options(metric=metric, title=title or process.title, subtitle=" · ".join(sub))


def _arrow(tip: tuple[float, float], before: tuple[float, float], colour: str, size: float,
           opacity: float = 1.0) -> Polygon:  # fmt: skip
    dx, dy = tip[0] - before[0], tip[1] - before[1]
    norm = math.hypot(dx, dy) or 1.0
    ux, uy = dx / norm, dy / norm
    back = (tip[0] - ux * size, tip[1] - uy * size)
    half = size * 0.45
    return Polygon(
        ((tip[0], tip[1]), (back[0] - uy * half, back[1] + ux * half), (back[0] + uy * half, back[1] - ux * half)),
        fill=colour,
        opacity=opacity,
    )


def _boundary(box: Box, toward: tuple[float, float]) -> tuple[float, float]:
    """Where the line from the box centre toward a point leaves the box."""
    dx, dy = toward[0] - box.cx, toward[1] - box.cy
    if dx == 0 and dy == 0:
        return (box.cx, box.cy)
    sx = (box.w / 2) / abs(dx) if dx else math.inf
    sy = (box.h / 2) / abs(dy) if dy else math.inf
    s = min(sx, sy)
    return (box.cx + dx * s, box.cy + dy * s)


def _curve(a: Box, b: Box, bend: float) -> tuple[tuple[float, float], ...]:
    """A gentle cubic curve from box a to box b, bowed sideways so it does not hide declared edges."""
    mx, my = (a.cx + b.cx) / 2, (a.cy + b.cy) / 2
    dx, dy = b.cx - a.cx, b.cy - a.cy
    norm = math.hypot(dx, dy) or 1.0
    ctrl = (mx - dy / norm * bend, my + dx / norm * bend)
    start = _boundary(a, ctrl)
    end = _boundary(b, ctrl)
    c1 = (start[0] + (ctrl[0] - start[0]) * 0.66, start[1] + (ctrl[1] - start[1]) * 0.66)
    c2 = (end[0] + (ctrl[0] - end[0]) * 0.66, end[1] + (ctrl[1] - end[1]) * 0.66)
    return (start, c1, c2, end)


def _inside(b: Box, x: float, y: float) -> bool:
    return b.x - 4 <= x <= b.x + b.w + 4 and b.y - 4 <= y <= b.y + b.h + 4


def _point_at(points: tuple[tuple[float, float], ...], t: float) -> tuple[float, float]:
    p0, p1, p2, p3 = points[:4]
    x = (1 - t) ** 3 * p0[0] + 3 * (1 - t) ** 2 * t * p1[0] + 3 * (1 - t) * t**2 * p2[0] + t**3 * p3[0]
    y = (1 - t) ** 3 * p0[1] + 3 * (1 - t) ** 2 * t * p1[1] + 3 * (1 - t) * t**2 * p2[1] + t**3 * p3[1]
    return (x, y)


def _bezier_mid(points: tuple[tuple[float, float], ...]) -> tuple[float, float]:
    n_seg = max((len(points) - 1) // 3, 1)
    i = 3 * (n_seg // 2)
    p0, p1, p2, p3 = points[i : i + 4] if len(points) >= i + 4 else (points[0], points[0], points[-1], points[-1])
    t = 0.5
    x = (1 - t) ** 3 * p0[0] + 3 * (1 - t) ** 2 * t * p1[0] + 3 * (1 - t) * t**2 * p2[0] + t**3 * p3[0]
    y = (1 - t) ** 3 * p0[1] + 3 * (1 - t) ** 2 * t * p1[1] + 3 * (1 - t) * t**2 * p2[1] + t**3 * p3[1]
    return (x, y)


def map_scene(
    process: Process,
    lay: Layout,
    metrics: MapMetrics | None = None,
    case: CaseJourney | None = None,
    *,
    metric: Metric | None = "drift",
    title: str | None = None,
    suppress: int | None = None,
    notes: StepNotes | None = None,
) -> Scene:
    """The map as shapes: header, lanes, edges, steps, legend (counts below ``suppress`` as <N)."""
    metric = metric if metrics is not None else None
    opt = _options(process, metrics, case, metric, title)
    if notes is not None:
        opt = _Options(metric=None, title=opt.title, subtitle=f"{notes.subtitle} · {opt.subtitle}")
    counts = _counts(metrics, suppress)
    marks = _brackets(process, lay, metrics, case, counts)
    map_w, map_h = max(lay.width, marks.far if lay.mode == "TB" else 0), max(lay.height, marks.far * (lay.mode != "TB"))
    # A tall map keeps the page landscape by putting the legend beside it; a wide one, below.
    beside = map_h > map_w
    legend_w = 400.0 if beside else max(map_w, 560.0)
    width = map_w + legend_w + 12 if beside else legend_w
    legend = _fit(_legend_lines(process, metrics, case, metric, counts, notes, lay.mode), legend_w)
    legend_h = 24 + LINE * len(legend)
    sub_lines = textwrap.wrap(opt.subtitle, max(int((width - 24) / 6.2), 40))
    header = HEADER + 14 * (len(sub_lines) - 1)
    height = header + (max(map_h, legend_h) if beside else map_h + legend_h)
    scene = Scene(width=width, height=height, title=opt.title)
    scene.add(Text(12, 24, opt.title, size=16, bold=True, anchor="start"))
    for i, line in enumerate(sub_lines):
        scene.add(Text(12, 44 + 14 * i, line, size=11, anchor="start", fill="#444444"))
    page = _Page(process=process, lay=lay, oy=header, case=case, counts_shown=counts,
                 counts=_edge_counts(metrics), medians=_edge_medians(metrics), notes=notes)  # fmt: skip
    _draw_lanes(scene, page)
    _draw_brackets(scene, page, marks, labels=False)
    _draw_badges(scene, page)  # before the moves: an arrow into a box stays visible over its tab
    _draw_declared_edges(scene, page, metric, metrics is not None)
    _draw_undeclared_edges(scene, page)
    _draw_steps(scene, page, metrics, metric)
    _draw_brackets(scene, page, marks, labels=True)
    corner = (map_w + 12, header + 18) if beside else (8.0, header + map_h + 18)
    _draw_legend(scene, legend, corner, legend_w, legend_h)
    return scene


@dataclass(frozen=True)
class _Page:
    """What every part of a map drawing shares: the layout shifted below the header, and the data."""

    process: Process
    lay: Layout
    oy: float  # the header's height: layout y is shifted down by it
    case: CaseJourney | None
    counts_shown: _Counts
    counts: dict[tuple[str, str], int]
    medians: dict[tuple[str, str], float]
    notes: StepNotes | None = None

    def box(self, b: Box) -> Box:
        return Box(b.x, b.y + self.oy, b.w, b.h)

    @property
    def top(self) -> int:
        return max(self.counts.values(), default=1)

    @cached_property
    def case_moves(self) -> set[tuple[str, str]]:
        return set(itertools.pairwise(self.case.visits["step"])) if self.case is not None else set()


def _edge_medians(metrics: MapMetrics | None) -> dict[tuple[str, str], float]:
    if metrics is None:
        return {}
    e = metrics.edges
    return {(f, t): float(m) for f, t, m in zip(e["from"], e["to"], e["median_days"], strict=True)}


def _draw_lanes(scene: Scene, page: _Page) -> None:
    order = page.process.lane_order
    for i, (lane, b) in enumerate(sorted(page.lay.lanes.items(), key=lambda kv: order.index(kv[0]))):
        bb = page.box(b)
        scene.add(Rect(bb.x, bb.y, bb.w, bb.h, fill=LANE_FILLS[i % 2], stroke="#c9d1d9", width=1, radius=6))
        scene.add(Text(bb.x + 10, bb.y + 17, lane, size=12, bold=True, anchor="start", fill="#3b4a5a"))


def _edge_label(t: Transition, rework: bool, c: int, median: float | None, metric: Metric | None,
                with_data: bool, counts: _Counts) -> str:  # fmt: skip
    if with_data:
        n = counts.text(f"edge:{t.from_step}>{t.to_step}", c)
        return n if metric != "time" or c == 0 else f"{n} · {_days(median or 0)} d"
    bits = ["rework"] if rework else []
    if t.label and t.label != "rework":
        bits.append(t.label)
    if t.probability is not None:
        bits.append(f"p={t.probability:g}")
    return ", ".join(bits)


def _draw_declared_edges(scene: Scene, page: _Page, metric: Metric | None, with_data: bool) -> None:
    """Declared moves along their layout routes: width by count, dashed blue for rework."""
    for t in page.process.transitions:
        key = (t.from_step, t.to_step)
        route = page.lay.edges.get(key)
        if route is None or not route.points:
            continue
        pts = tuple((x, y + page.oy) for x, y in route.points)
        rework = page.process.is_rework(*key)
        colour, width, opacity = (BLUE if rework else "#555555"), 1.4, 1.0
        c = page.counts.get(key, 0)
        if with_data:
            width = 1.0 + 5.0 * math.sqrt(c / page.top) if c else 1.0
            colour = "#b5b5b5" if c == 0 else colour
        label = _edge_label(t, rework, c, page.medians.get(key), metric, with_data, page.counts_shown)
        if page.case is not None:
            colour, width, opacity = (INK, 3.0, 1.0) if key in page.case_moves else (colour, width, 0.25)
        scene.add(PathShape(pts, stroke=colour, width=width, dash="7,4" if rework else None, opacity=opacity))
        if route.tip is not None:
            scene.add(_arrow((route.tip[0], route.tip[1] + page.oy), pts[-1], colour, 8 + width, opacity))
        if label and route.label is not None:
            lx, ly = route.label[0], route.label[1] + page.oy
            scene.add(Text(lx, ly + 3, label, size=9, fill=colour if colour != "#b5b5b5" else GREY, halo=True,
                           opacity=opacity))  # fmt: skip


def _draw_undeclared_edges(scene: Scene, page: _Page) -> None:
    """Observed moves the process does not declare: vermillion curves, labelled in words."""
    declared = page.process.declared
    undeclared = [(k, v) for k, v in page.counts.items() if k not in declared]
    if page.case is not None:
        undeclared = [(k, 1) for k in sorted(page.case_moves - declared)]
    nodes = page.lay.nodes
    for i, ((frm, to), c) in enumerate(sorted(undeclared)):
        pts = _curve(page.box(nodes[frm]), page.box(nodes[to]), bend=40 + 12 * (i % 3))
        scene.add(PathShape(pts, stroke=VERMILLION, width=1.0 + 3.0 * math.sqrt(c / page.top), dash="4,3"))
        scene.add(_arrow(pts[-1], pts[-2], VERMILLION, 10))
        mx, my = _bezier_mid(pts)
        if any(_inside(page.box(nb), mx, my) for nb in nodes.values()):  # keep the label off step text
            mx, my = _point_at(pts, 0.2)
        text = "not declared" if page.case is not None else (
            f"not declared: {page.counts_shown.text(f'edge:{frm}>{to}', c)}")  # fmt: skip
        scene.add(Text(mx, my + 4, text, size=9, fill=VERMILLION, halo=True, bold=True))


def _draw_steps(scene: Scene, page: _Page, metrics: MapMetrics | None, metric: Metric | None) -> None:
    """Each step: its box coloured by RAG status, role and lane tags, label, figures, and a case's visit order."""
    case = page.case
    process = page.process
    visited = set(case.visits["step"]) if case is not None else set()
    journey = _journey_lines(process, case) if case is not None else {}
    for s in process.steps:
        b = page.box(page.lay.nodes[s.id])
        figures, status = _figures(process, s.id, metrics, metric, page.counts_shown)
        if page.notes is not None:
            status, figures = page.notes.steps.get(s.id, ("none", []))
        op = 0.35 if case is not None and s.id not in visited else 1.0
        stroke = INK if case is not None and s.id in visited else STROKE[status]
        scene.add(Rect(b.x, b.y, b.w, b.h, fill=FILL[status], stroke=stroke, width=2.2 if s.start else 1.4,
                       radius=8, opacity=op, css=f"step step-{s.id}"))  # fmt: skip
        if s.end:
            scene.add(Rect(b.x + 4, b.y + 4, b.w - 8, b.h - 8, stroke=stroke, width=1.0, radius=6, opacity=op))
        tag = "START" if s.start else ("END" if s.end else "")
        if page.lay.mode == "grid" and s.lane:  # no lane regions in a grid: name the lane on the step
            tag = f"{tag} · {s.lane}" if tag else s.lane
            lane_i = process.lane_order.index(s.lane)
            scene.add(Rect(b.x, b.y, 5, b.h, fill=LANE_STRIPES[lane_i % len(LANE_STRIPES)], opacity=op))
        if tag:
            scene.add(Text(b.x + 8, b.y + 12, tag, size=8.5, bold=True, anchor="start", fill="#555555", opacity=op))
        y = b.y + (24 if tag else 17)
        for line in _wrap(s.label, 21, 3):
            scene.add(Text(b.cx, y, line, size=10, bold=True, opacity=op))
            y += 12.5
        lines = journey.get(s.id, figures)
        y = b.y + b.h - 9 - 11.5 * (len(lines) - 1)
        for line in lines:
            scene.add(Text(b.cx, y, line, size=9, fill="#222222", opacity=op))
            y += 11.5
        if case is not None and s.id in visited:
            order = [i + 1 for i, sid in enumerate(case.visits["step"]) if sid == s.id]
            badge = ",".join(str(o) for o in order[:4]) + ("…" if len(order) > 4 else "")
            bw = 10 + 7 * len(badge)
            scene.add(Rect(b.x + b.w - bw - 4, b.y - 9, bw, 18, fill=INK, radius=9))
            scene.add(Text(b.x + b.w - bw / 2 - 4, b.y + 4, badge, size=10, bold=True, fill="#ffffff"))


@dataclass(frozen=True)
class _Brackets:
    """Where the span-target brackets go (layout points) and what each says."""

    segments: list[Segment]
    strip: dict[int, float]  # each row's strip: where its first track starts, across the flow
    far: float  # how far across the flow the last track reaches
    words: dict[str, tuple[str, str]]  # target id -> (reading, RAG status)


def _target_status(met_rate: float) -> str:
    """A span target's RAG status from its met rate: the step rule, with 'missed' for 'over target'."""
    return rag(1.0 - met_rate, True)


def _readings(process: Process, metrics: MapMetrics | None, case: CaseJourney | None,
              counts: _Counts) -> dict[str, tuple[str, str]]:  # fmt: skip
    """Each span target's reading on its bracket, and its colour (no rate built on a hidden count)."""
    if case is not None and len(case.clocks):
        colour = {"met": "green", "missed": "red", "overdue": "red"}
        # The bound is in the bracket's label and the dates in the legend: the bracket says how this case did.
        return {str(r["target"]): (str(r["reading"]).split(" (")[0], colour.get(str(r["status"]), "none"))
                for r in case.clocks.to_dict("records")}  # fmt: skip
    out: dict[str, tuple[str, str]] = {}
    if metrics is None or not len(metrics.targets):
        return out
    for r in metrics.targets.to_dict("records"):
        judged = int(r["met"]) + int(r["missed"]) + int(r["overdue"])
        if judged == 0:
            out[str(r["target"])] = ("none judged yet", "none")
        elif _rate_hidden(counts, r):
            out[str(r["target"])] = ("met rate not shown: too few cases", "none")
        else:
            status = _target_status(float(r["met_rate"]))
            out[str(r["target"])] = (f"met {r['met_rate']:.0%} · {status.upper()}", status)
    return out


def _brackets(process: Process, lay: Layout, metrics: MapMetrics | None, case: CaseJourney | None,
              counts: _Counts) -> _Brackets:  # fmt: skip
    across_tb = lay.mode == "TB"
    extent = {sid: ((b.y, b.y + b.h) if across_tb else (b.x, b.x + b.w)) for sid, b in lay.nodes.items()}
    row_of = lay.row_of if lay.mode == "grid" else None
    segs = segments(process, extent, row_of, levels(process))
    if row_of is not None:
        bottoms: dict[int, float] = {}
        for sid, r in row_of.items():
            bottoms[r] = max(bottoms.get(r, 0.0), lay.nodes[sid].y + lay.nodes[sid].h)
        strip = {r: y + 6 for r, y in bottoms.items()}
    else:
        strip = {0: (lay.width if across_tb else lay.height) + 2}
    need = tracks_per_row(segs)
    far = max((strip[r] + n * TRACK for r, n in need.items()), default=0.0)
    return _Brackets(segs, strip, far, _readings(process, metrics, case, counts))


def _rate_hidden(counts: _Counts, r: dict[Any, Any]) -> bool:
    """Whether a span target's met rate must not be shown: its numerator (met) or denominator (judged) is hidden."""
    p = f"t:{r['target']}:"
    return counts.any_hidden({p + "met": int(r["met"]), p + "judged": int(r["met"]) + int(r["missed"])
                              + int(r["overdue"])})  # fmt: skip


def _draw_brackets(scene: Scene, page: _Page, marks: _Brackets, *, labels: bool) -> None:
    """Each span target as a bracket along the steps it spans, coloured by its met rate (RAG in words too).

    Lines go under the moves and labels over them (with a white halo), so both stay readable where moves
    cross a strip of brackets.
    """
    tb = page.lay.mode == "TB"
    limit = page.lay.height if tb else page.lay.width
    for seg in marks.segments:
        t = seg.target
        reading, status = marks.words.get(t.id, ("", "none"))
        colour = STROKE[status] if status != "none" else GREY
        across = marks.strip[seg.row] + seg.track * TRACK + 6
        shift = (0.0, page.oy) if not tb else (across, page.oy)
        at_end = label_at_end(seg, limit)
        if labels:
            label = base_label(t) + f" · {reading}" if seg.first and reading else base_label(t) if seg.first else (
                f"{base_label(t)[:28]}… (continued)")  # fmt: skip
            if tb:
                y = seg.end + page.oy - 2 if at_end else seg.start + page.oy + 2
                scene.add(Text(across + 4, y, label, size=LABEL_SIZE, anchor="end" if at_end else "start",
                               fill=INK, halo=True, rotate=-90))  # fmt: skip
            else:
                x = seg.end - 1 if at_end else seg.start + 1
                scene.add(Text(x, across + page.oy + 11, label, size=LABEL_SIZE, anchor="end" if at_end else "start",
                               fill=INK, halo=True))  # fmt: skip
            continue
        a, b = seg.start, seg.end
        line = [(a, 0.0), (a + (b - a) / 3, 0.0), (a + 2 * (b - a) / 3, 0.0), (b, 0.0)]
        ticks = [[(p, 0.0), (p, -2.0), (p, -4.0), (p, -6.0)] for p, on in ((a, seg.first), (b, seg.last)) if on]
        for pts, width in [(line, 3.0)] + [(tk, 2.0) for tk in ticks]:
            if tb:  # along y, ticks toward the map (left)
                placed = tuple((shift[0] + q, shift[1] + p) for p, q in pts)
            else:  # along x, ticks toward the map (up)
                placed = tuple((p, across + page.oy + q) for p, q in pts)
            scene.add(PathShape(placed, stroke=colour, width=width))


def _draw_badges(scene: Scene, page: _Page) -> None:
    """Each step's verdict (``compare --map``) in a tab on its box's top edge."""
    if page.notes is None or not page.notes.badges:
        return
    for s in page.process.steps:
        status = page.notes.steps.get(s.id, ("none", []))[0]
        if status != "none":
            _badge(scene, page.box(page.lay.nodes[s.id]), status.upper(), STROKE[status], size=8.5)


def _badge(scene: Scene, b: Box, text: str, fill: str, *, size: float) -> None:
    """A word in a filled tab sitting on a box's top edge, at its right, clear of the tags inside the box."""
    bw = 12 + 0.72 * size * len(text)
    scene.add(Rect(b.x + b.w - bw - 4, b.y - 15, bw, 15, fill=fill, radius=3))
    scene.add(Text(b.x + b.w - bw / 2 - 4, b.y - 4.5, text, size=size, bold=True, fill="#ffffff"))


def _draw_legend(scene: Scene, legend: list[tuple[str, str]], corner: tuple[float, float], legend_w: float,
                 legend_h: float) -> None:  # fmt: skip
    lx0, y = corner
    scene.add(Rect(lx0, y - 12, legend_w - 16, legend_h - 8, fill="#fafafa", stroke="#dddddd", radius=4))
    for kind, text in legend:
        x = lx0 + 10
        if kind in FILL and kind != "none":
            scene.add(Rect(x, y - 9, 22, 11, fill=FILL[kind], stroke=STROKE[kind], width=1))
            x += 30
        elif kind in ("edge", "rework", "undeclared", "unused"):
            colour = {"edge": "#555555", "rework": BLUE, "undeclared": VERMILLION, "unused": "#b5b5b5"}[kind]
            dash = {"rework": "7,4", "undeclared": "4,3"}.get(kind)
            scene.add(PathShape(((x, y - 4), (x + 8, y - 4), (x + 16, y - 4), (x + 24, y - 4)), stroke=colour,
                                width=2, dash=dash))  # fmt: skip
            x += 30
        if kind == "cont-indent":
            x += 30
        scene.add(Text(x, y, text, size=10, anchor="start", bold=kind == "heading"))
        y += LINE


def _fit(lines: list[tuple[str, str]], width: float) -> list[tuple[str, str]]:
    """Wrap legend lines to the page: about 5.6 points a character at 10 pt."""
    out: list[tuple[str, str]] = []
    for kind, text in lines:
        indent = 30 if kind not in ("text", "heading") else 0
        chars = max(int((width - 40 - indent) / 5.6), 30)
        for i, part in enumerate(textwrap.wrap(text, chars) or [""]):
            out.append((kind if i == 0 else "cont" + ("-indent" if indent else ""), part))
    return out


def _journey_lines(process: Process, case: CaseJourney) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    v = case.visits
    last = len(v) - 1
    rows: list[dict[Any, Any]] = v.to_dict("records")
    for i, row in enumerate(rows):
        step = process.step(str(row["step"]))
        if step.end and i == last:
            text = f"{i + 1}. reached {row['entered'].date()}"
        else:
            target = "" if np.isnan(row["target"]) else f" (target {_days(row['target'])})"
            now = "NOW " if i == last and case.status != "complete" else ""
            text = f"{i + 1}. {now}{_days(row['days'])} d{target}"
            if not np.isnan(row["days_over"]) and row["days_over"] > 0:
                text += f" +{_days(row['days_over'])}"
        out.setdefault(str(row["step"]), []).append(text)
    for sid, lines in out.items():
        if len(lines) > 3:
            out[sid] = [*lines[:2], f"… and {len(lines) - 2} more visits"]
    return out


def _legend_lines(process: Process, metrics: MapMetrics | None, case: CaseJourney | None,
                  metric: Metric | None, counts: _Counts | None = None,
                  notes: StepNotes | None = None, lay_mode: str = "LR") -> list[tuple[str, str]]:  # fmt: skip
    counts = counts or _Counts()
    unit = _unit(process)
    lines: list[tuple[str, str]] = [("heading", "How to read this map")]
    lines.append(("text", "Boxes are steps, in swimlanes by who does them (the lane is named at the top of each box "
                          "when the map runs in rows). START marks where cases begin; a double border marks an end "
                          "step."))  # fmt: skip
    if notes is not None:  # the notes bring their own key
        lines.extend(notes.legend)
        lines.append(("edge", "an allowed move"))
    elif metrics is None:
        lines.append(("text", f"Figures in boxes are the step's target and typical time, in {unit}."))
        lines.append(("edge", "an allowed move (label: its name or probability)"))
    elif metric == "frequency":
        lines.append(("text", "Figures in boxes: how many cases reached the step, and how many visits it had "
                              "(a case going round a loop visits twice)."))  # fmt: skip
        lines.append(("edge", "an allowed move; the number is how many times it was made; wider means more"))
    elif metric == "time":
        part = {"waiting": "waiting time (from arriving until the work started) ",
                "working": "working time (from the start of the work to its completion) "}.get(
            metrics.time if metrics is not None else "total", "")  # fmt: skip
        lines.append(("text", f"Figures in boxes: median and 90th percentile {'of the ' + part if part else ''}"
                              f"of completed visits, in {unit}, with the step's target."))  # fmt: skip
        lines.append(("edge", "an allowed move: times made, and median days in the step before it"))
    else:
        lines.append(("text", f"Figures in boxes: visits over the step's target, and excess: the {unit} over "
                              "target added up, open cases included (where delay accumulates)."))  # fmt: skip
        lines.append(("red", "RED: over half of the visits were over target"))
        lines.append(("amber", "AMBER: over a tenth of the visits were over target"))
        lines.append(("green", "GREEN: a tenth or fewer were over target (white: no target set)"))
        lines.append(("edge", "an allowed move; the number is how many times it was made; wider means more"))
    lines.append(("rework", "a rework move: back to an earlier step"))
    if metrics is not None or case is not None:
        lines.append(("undeclared", "a move seen in the data that the process does not allow"))
    if metrics is not None:
        lines.append(("unused", "an allowed move that no case made"))
    if case is not None:
        lines.append(("text", f"Case {case.case_id}: the numbers in black badges are the order of its visits; "
                              f"each line in a box is one visit: {unit} there (target) and days over it. "
                              "NOW marks where an open case is."))  # fmt: skip
        if len(case.clocks):
            lines.append(("heading", f"Case {case.case_id}'s span targets"))
            for r in case.clocks.to_dict("records"):
                lines.append(("text", f"{r['label']}: {r['reading']}"))
    if process.targets:
        lines.append(("heading", "Span targets"))
        where = {"TB": "beside", "grid": "under each row of"}.get(lay_mode, "under")
        if case is not None and len(case.clocks):
            colour = "green: met; red: missed or overdue; grey: running or not started"
        elif metrics is not None:
            colour = "GREEN: met for 90% or more of cases; AMBER: 50% or more; RED: under half"
        else:
            colour = "grey until there is data"
        lines.append(("text", f"Each bracket {where} the steps is a span target, from its start step to its stop "
                              f"step ({colour}). Statutory targets first, then guidance, local aims, "
                              "assumptions:"))  # fmt: skip
        met = {}
        if metrics is not None and len(metrics.targets):
            records: list[dict[Any, Any]] = metrics.targets.to_dict("records")
            for r in records:
                judged = int(r["met"]) + int(r["missed"]) + int(r["overdue"])
                p = f"t:{r['target']}:"
                share = f": met {counts.text(p + 'met', int(r['met']))} of {counts.text(p + 'judged', judged)}"
                rate = "" if _rate_hidden(counts, r) else f" ({r['met_rate']:.0%})"
                met[r["target"]] = "" if judged == 0 else share + rate
        for t in by_basis(process.targets):  # statutory first
            basis = f"{t.basis_words}: " if t.basis else ""
            text = f"{basis}{t.display_label} ({t.from_step} to {t.to_step}, {t.bound_text}){met.get(t.id, '')}"
            lines.append(("text", text if len(text) < 160 else text[:157] + "…"))
    if metrics is not None and metric == "drift":
        lines.append(("text", f"RAG rule: {RAG_RULE}."))
    if counts.shown is not None and counts.shown.below:
        n = counts.shown.below
        lines.append(("text", f"For sharing: counts below {n} show as <{n}, and * marks a count hidden so that "
                              "none of them can be worked out from the others."))  # fmt: skip
        if counts.shown.zero_in_small:
            lines.append(("text", f"Here {counts.shown.small_note}, so that small counts cannot pin each other."))
    return lines


# --- DOT and Mermaid --------------------------------------------------------------------


def _by_lane(process: Process, lanes: bool) -> dict[str | None, list[str]]:
    """Step ids by lane (all under None when lanes are off), in file order."""
    out: dict[str | None, list[str]] = {}
    for s in process.steps:
        out.setdefault(s.lane if lanes else None, []).append(s.id)
    return out


def _edge_counts(metrics: MapMetrics | None) -> dict[tuple[str, str], int]:
    if metrics is None:
        return {}
    e = metrics.edges
    return {(f, t): int(c) for f, t, c in zip(e["from"], e["to"], e["count"], strict=True)}


@dataclass(frozen=True)
class _TextNode:
    id: str
    label: str
    lines: tuple[str, ...]  # the step's figures, or a case's dates at the step
    status: str  # red, amber, green or none
    start: bool
    end: bool
    faded: bool  # off the overlaid case's path


@dataclass(frozen=True)
class _TextEdge:
    frm: str
    to: str
    declared: bool
    rework: bool
    count: str | None  # with data: the count as shown
    label: str | None
    probability: float | None


@dataclass(frozen=True)
class _TextMap:
    """The one node and edge model that the DOT and Mermaid writers both format."""

    title: str
    subtitle: str
    groups: tuple[tuple[str | None, tuple[_TextNode, ...]], ...]  # (lane or None, its steps), in lane order
    edges: tuple[_TextEdge, ...]  # declared moves in file order, then undeclared ones sorted


def _text_map(process: Process, metrics: MapMetrics | None, case: CaseJourney | None, metric: Metric | None,
              lanes: bool, title: str | None) -> _TextMap:  # fmt: skip
    metric = metric if metrics is not None else None
    opt = _options(process, metrics, case, metric, title)
    journey = _journey_lines(process, case) if case is not None else {}
    visited = set(case.visits["step"]) if case is not None else set()
    shown = _counts(metrics, None)

    def node(sid: str) -> _TextNode:
        s = process.step(sid)
        figures, status = _figures(process, sid, metrics, metric, shown)
        return _TextNode(sid, s.label, tuple(journey.get(sid, figures)), status, s.start, s.end,
                         case is not None and sid not in visited)  # fmt: skip

    by_lane = _by_lane(process, lanes)
    groups: list[tuple[str | None, tuple[_TextNode, ...]]] = [
        (ln, tuple(node(sid) for sid in by_lane[ln])) for ln in process.lane_order if lanes and ln in by_lane
    ]
    if None in by_lane:
        groups.append((None, tuple(node(sid) for sid in by_lane[None])))
    counts = _edge_counts(metrics)
    with_data = metrics is not None
    edges = [
        _TextEdge(t.from_step, t.to_step, True, process.is_rework(t.from_step, t.to_step),
                  shown.text(f"edge:{t.from_step}>{t.to_step}", counts.get((t.from_step, t.to_step), 0))
                  if with_data else None, t.label, t.probability)
        for t in process.transitions
    ]  # fmt: skip
    edges += [
        _TextEdge(frm, to, False, False, shown.text(f"edge:{frm}>{to}", c), None, None)
        for (frm, to), c in sorted(counts.items())
        if (frm, to) not in process.declared
    ]  # fmt: skip
    return _TextMap(opt.title, opt.subtitle, tuple(groups), tuple(edges))


def map_dot(
    process: Process,
    metrics: MapMetrics | None = None,
    case: CaseJourney | None = None,
    *,
    metric: Metric | None = "drift",
    direction: str = "auto",
    lanes: bool = True,
    title: str | None = None,
) -> str:
    """The annotated map as Graphviz DOT (render it with `dot -Tsvg`)."""
    m = _text_map(process, metrics, case, metric, lanes, title)
    lines = [
        f"digraph {dot_quote(process.id)} {{",
        f"  graph [label={dot_quote(m.title + chr(10) + m.subtitle)}, labelloc=t, labeljust=l,"
        f" rankdir={'LR' if direction == 'auto' else direction},"
        ' newrank=true, nodesep=0.3, ranksep=0.5, fontname="DejaVu Sans"];',
        f'  node [shape=box, style="rounded,filled", fixedsize=true, width={NODE_W}, height={NODE_H},'
        ' fontname="DejaVu Sans", fontsize=10];',
        '  edge [fontname="DejaVu Sans", fontsize=9];',
    ]

    def node(n: _TextNode) -> str:
        text = "\n".join([*_wrap(n.label, 21, 3), *n.lines])
        attrs = [f"label={dot_quote(text)}", f'fillcolor="{FILL[n.status]}"', f'color="{STROKE[n.status]}"']
        attrs += ["penwidth=2.2"] if n.start else []
        attrs += ["peripheries=2"] if n.end else []
        attrs += ['fontcolor="#999999"'] if n.faded else []
        return f"{dot_quote(n.id)} [{', '.join(attrs)}];"

    for i, (lane, nodes) in enumerate(m.groups):
        if lane is None:
            lines.extend(f"  {node(n)}" for n in nodes)
            continue
        lines.append(f"  subgraph cluster_{i} {{")
        lines.append(f'    graph [label={dot_quote(lane)}, labeljust=l, style=filled, fillcolor="{LANE_FILLS[i % 2]}",'
                     ' color="#c9d1d9"];')  # fmt: skip
        lines.extend(f"    {node(n)}" for n in nodes)
        lines.append("  }")
    for e in m.edges:
        if not e.declared:
            lines.append(f'  {dot_quote(e.frm)} -> {dot_quote(e.to)} [color="{VERMILLION}", style=dashed,'
                         f" constraint=false, xlabel={dot_quote(f'not declared: {e.count}')}];")  # fmt: skip
            continue
        attrs = [f'color="{BLUE}"', "style=dashed"] if e.rework else []
        if e.count is not None:
            attrs.append(f"xlabel={dot_quote(str(e.count))}")
        elif e.label or e.probability is not None:
            bits = [b for b in (e.label, None if e.probability is None else f"p={e.probability:g}") if b]
            attrs.append(f"xlabel={dot_quote(', '.join(bits))}")
        lines.append(f"  {dot_quote(e.frm)} -> {dot_quote(e.to)}" + (f" [{', '.join(attrs)}];" if attrs else ";"))
    lines.append("}")
    return "\n".join(lines) + "\n"


def _mm(text: str) -> str:
    """Text for a Mermaid quoted label: entity codes for the characters Mermaid reads as syntax.

    Examples
    --------
    >>> _mm('a "b" <c> & d')
    'a #quot;b#quot; #lt;c#gt; #amp; d'
    """
    out = text.replace("&", "#amp;").replace('"', "#quot;").replace("<", "#lt;").replace(">", "#gt;")
    out = out.replace("#amp;", "\0").replace("#", "#35;").replace("\0", "#amp;")
    for code in ("#35;quot;", "#35;lt;", "#35;gt;"):
        out = out.replace(code, "#" + code[4:])
    return out.replace("\r\n", "\n").replace("\n", "<br/>").replace("`", "#96;")


def map_mermaid(
    process: Process,
    metrics: MapMetrics | None = None,
    case: CaseJourney | None = None,
    *,
    metric: Metric | None = "drift",
    direction: str = "auto",
    lanes: bool = True,
    title: str | None = None,
) -> str:
    """The annotated map as a Mermaid flowchart (renders on GitHub and many wikis)."""
    m = _text_map(process, metrics, case, metric, lanes, title)
    ids = {s.id: f"n{i}" for i, s in enumerate(process.steps)}
    flow = "LR" if direction == "auto" else direction
    lines = ["---", f"title: {_mm(m.title)}", "---", f"flowchart {flow}", f"  %% {_mm(m.subtitle)}"]
    classes: dict[str, list[str]] = {}

    def node(n: _TextNode) -> str:
        text = "<br/>".join([_mm(n.label), *(_mm(f) for f in n.lines)])
        if n.status != "none":
            classes.setdefault(n.status, []).append(ids[n.id])
        shape = ('(["', '"])') if n.start else (('[["', '"]]') if n.end else ('["', '"]'))
        return f"{ids[n.id]}{shape[0]}{text}{shape[1]}"

    for i, (lane, nodes) in enumerate(m.groups):
        if lane is None:
            lines.extend(f"  {node(n)}" for n in nodes)
            continue
        lines.append(f'  subgraph lane{i}["{_mm(lane)}"]')
        lines.extend(f"    {node(n)}" for n in nodes)
        lines.append("  end")
    for e in m.edges:
        if not e.declared:
            lines.append(f'  {ids[e.frm]} -.->|"not declared: {e.count}"| {ids[e.to]}')
            continue
        text = str(e.count) if e.count is not None else (e.label or "")
        label = f'|"{_mm(text)}"|' if text else ""
        lines.append(f"  {ids[e.frm]} {'-.->' if e.rework else '-->'}{label} {ids[e.to]}")
    for status in ("red", "amber", "green"):
        lines.append(f"  classDef {status} fill:{FILL[status]},stroke:{STROKE[status]},color:#111")
    for status, members in classes.items():
        lines.append(f"  class {','.join(members)} {status}")
    return "\n".join(lines) + "\n"


# --- public entry points ------------------------------------------------------------------


def render_map(
    process: Process,
    metrics: MapMetrics | None = None,
    case: CaseJourney | None = None,
    *,
    fmt: str = "svg",
    metric: Metric | None = "drift",
    direction: Direction = "auto",
    lanes: bool = True,
    title: str | None = None,
    renderer: Renderer = "auto",
    suppress: int | None = None,
    notes: StepNotes | None = None,
    page: Page | None = None,
    orientation: Orientation = "auto",
    coarsen: str | None = None,
) -> bytes:
    """Render a process map.

    Parameters
    ----------
    process
        The declared process; the layout comes from it alone.
    metrics
        Figures from :func:`flowmap.metrics.map_metrics`, or None for the bare process.
    case
        One case's journey (:func:`flowmap.metrics.case_journey`) to overlay.
    fmt
        ``svg``, ``png``, ``pdf``, ``dot`` or ``mmd`` (Mermaid).
    metric
        ``frequency``, ``time`` or ``drift``.
    direction
        ``LR`` (left to right) or ``TB`` (top to bottom).
    lanes
        Group steps in swimlanes by their ``lane``.
    renderer
        Graphviz for the layout: ``auto`` (system ``dot`` if on PATH, else
        the bundled WebAssembly build), ``system`` or ``wasm``.
    page
        ``a4`` or ``a3``: the whole map scaled onto that paper inside 10 mm
        margins (``orientation`` ``landscape``, ``portrait`` or ``auto``: the
        one that fits best); None: the map's own size.
    coarsen
        ``month`` or ``quarter``: every date the map writes (a case's visits and
        clocks, the data's first and last events) as its month or quarter only.

    Returns
    -------
    bytes
        The file's content (UTF-8 text for svg, dot and mmd).
    """
    fmt = fmt.lower().lstrip(".")
    if metric not in ("frequency", "time", "drift", None):
        raise RenderError(f"metric must be frequency, time or drift (got {metric!r})")
    if page is not None and fmt not in ("svg", "png", "pdf"):
        raise RenderError(f"--page is for drawn maps (.svg, .png, .pdf), not '{fmt}'")
    if notes is not None and fmt not in ("svg", "png", "pdf"):
        raise RenderError(f"a map with step verdicts is drawn as .svg, .png or .pdf, not '{fmt}'")
    if fmt == "dot":
        return map_dot(process, metrics, case, metric=metric, direction=direction, lanes=lanes, title=title).encode()
    if fmt in ("mmd", "mermaid"):
        return map_mermaid(process, metrics, case, metric=metric, direction=direction, lanes=lanes,
                           title=title).encode()  # fmt: skip
    if fmt not in ("svg", "png", "pdf"):
        raise RenderError(f"cannot write a map as '{fmt}'; use one of {', '.join(MAP_FORMATS)}")

    def draw(d: Direction) -> Scene:
        scene = map_scene(process, layout(process, direction=d, lanes=lanes, renderer=renderer), metrics, case,
                          metric=metric, title=title, suppress=suppress, notes=notes)  # fmt: skip
        if coarsen:
            from flowmap.privacy import coarsen_text

            scene.items[:] = [replace(t, text=coarsen_text(t.text, coarsen)) if isinstance(t, Text) else t
                              for t in scene.items]  # fmt: skip
        return scene

    scene = draw(direction)
    if page is not None:
        try:
            scene = fit_to_page(scene, page, orientation)
        except RenderError:
            # On paper, a swimlane map whose text would print too small runs in rows instead, which
            # packs the same steps into a page's shape (only when the direction was left to flowmap).
            if direction != "auto" or layout(process, direction="auto", renderer=renderer).mode == "grid":
                raise
            scene = fit_to_page(draw("grid"), page, orientation)
    if fmt == "svg":
        return to_svg(scene).encode("utf-8")
    if fmt == "png":
        return to_png(scene)
    return to_pdf(scene)


def fit_to_page(scene: Scene, page: Page, orientation: Orientation = "auto") -> Scene:
    """The map scaled onto a sheet of paper inside 10 mm margins, or an error when text would print below 6 pt."""
    if page not in PAGES:
        raise RenderError(f"page must be one of {', '.join(PAGES)} (got {page!r})")
    short, long = PAGES[page]
    sizes = {"portrait": (short, long), "landscape": (long, short)}
    if orientation == "auto":
        choices = [on_page(scene, sizes[o], PAGE_MARGIN) for o in ("landscape", "portrait")]
        placed, k = max(choices, key=lambda c: c[1])
    elif orientation in sizes:
        placed, k = on_page(scene, sizes[orientation], PAGE_MARGIN)
    else:
        raise RenderError(f"orientation must be landscape, portrait or auto (got {orientation!r})")
    smallest = smallest_text(placed)
    if smallest < MIN_PRINT_TEXT - 1e-9:
        bigger = "--page a3, or " if page == "a4" else ""
        raise RenderError(
            f"the map does not fit {page.upper()} with text of {MIN_PRINT_TEXT:g} pt or more: its smallest text "
            f"would print at {smallest:.1f} pt (the map is scaled to {k:.0%}); use {bigger}write it as .svg, "
            "which keeps its own size and zooms on screen"
        )
    return placed


def write_map(
    path: str | Path,
    process: Process,
    metrics: MapMetrics | None = None,
    case: CaseJourney | None = None,
    *,
    metric: Metric | None = "drift",
    direction: Direction = "auto",
    lanes: bool = True,
    title: str | None = None,
    renderer: Renderer = "auto",
    suppress: int | None = None,
    notes: StepNotes | None = None,
    page: Page | None = None,
    orientation: Orientation = "auto",
    coarsen: str | None = None,
) -> Path:
    """Render a map to ``path``, the format chosen by its extension; written whole or not at all.

    The options are :func:`render_map`'s.
    """
    from flowmap.io import write_bytes

    p = Path(path)
    ext = p.suffix.lower()
    if ext not in MAP_FORMATS:
        raise RenderError(f"cannot write a map to {p}: unknown extension '{ext or '(none)'}'; "
                          f"use one of {', '.join(MAP_FORMATS)}")  # fmt: skip
    if ext in (".svg", ".png", ".pdf") and len(process.steps) > MAX_DRAWN_STEPS:
        raise RenderError(
            f"'{process.id}' has {len(process.steps):,} steps; flowmap draws maps of up to {MAX_DRAWN_STEPS:,} steps "
            f"(no page or screen shows more readably): write it as {p.with_suffix('.dot')} (Graphviz) or "
            f"{p.with_suffix('.mmd')} (Mermaid) instead"
        )
    data = render_map(process, metrics, case, fmt=ext, metric=metric, direction=direction, lanes=lanes, title=title,
                      renderer=renderer, suppress=suppress, notes=notes, page=page,
                      orientation=orientation, coarsen=coarsen)  # fmt: skip
    write_bytes(p, data)
    return p
