"""A process as BPMN 2.0: one pool, a lane per swimlane, a task per step, laid out as flowmap lays it out.

The collaboration has one participant (the pool) whose process holds a
``laneSet`` with a lane per swimlane, a ``task`` per step (its events and
target as documentation), a ``startEvent`` before each start step, an
``endEvent`` after each end step, and an ``exclusiveGateway`` after each step
with more than one way out (its outgoing flows carry the file's or the data's
probabilities as documentation). The diagram interchange (BPMNDI) places
every shape where flowmap's swimlane layout puts the step, with room between
levels for gateways and events, so Camunda Modeler, bpmn.io and Signavio open
it laid out. docs/interop.md says what maps to what.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass

from flowmap.model.process import Process
from flowmap.render.layout import NODE_H, NODE_W, band_positions, levels

__all__ = ["BPMN", "BPMNDI", "DC", "DI", "bpmn_xml", "step_element_id"]

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
BPMNDI = "http://www.omg.org/spec/BPMN/20100524/DI"
DC = "http://www.omg.org/spec/DD/20100524/DC"
DI = "http://www.omg.org/spec/DD/20100524/DI"

_STRETCH = 120.0  # points added between levels: room for a gateway and an end event
_HEAD = 30.0  # the pool's name band on its left
_LEAD = 90.0  # room for start events before the first level
_GW = 50.0  # gateway size (bpmn.io's)
_EV = 36.0  # event size


def step_element_id(step_id: str) -> str:
    """The BPMN id of a step's task: ``Task_`` and the step id (an XML name, and read back by the import)."""
    return f"Task_{step_id}"


def _xml_id(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", text)


@dataclass(frozen=True)
class _Shape:
    x: float
    y: float
    w: float
    h: float

    @property
    def right(self) -> tuple[float, float]:
        return self.x + self.w, self.y + self.h / 2

    @property
    def left(self) -> tuple[float, float]:
        return self.x, self.y + self.h / 2

    @property
    def bottom(self) -> tuple[float, float]:
        return self.x + self.w / 2, self.y + self.h


def bpmn_xml(process: Process, *, probabilities: Mapping[tuple[str, str], tuple[float, str]] | None = None) -> str:
    """The process as BPMN 2.0 XML text (with BPMNDI).

    ``probabilities`` maps a move to its chance and where that came from
    (``"data: 31 of 120 moves"``); by default the file's ``probability``
    values, where given.
    """
    ET.register_namespace("", BPMN)
    ET.register_namespace("bpmndi", BPMNDI)
    ET.register_namespace("dc", DC)
    ET.register_namespace("di", DI)
    pid = _xml_id(process.id)
    root = ET.Element(f"{{{BPMN}}}definitions", {"id": f"Definitions_{pid}", "targetNamespace": "https://flowmap.dev/bpmn",
                                                 "exporter": "flowmap", "exporterVersion": "1"})  # fmt: skip
    collab = ET.SubElement(root, f"{{{BPMN}}}collaboration", {"id": f"Collaboration_{pid}"})
    ET.SubElement(collab, f"{{{BPMN}}}participant", {"id": f"Participant_{pid}", "name": process.title,
                                                      "processRef": f"Process_{pid}"})  # fmt: skip
    proc = ET.SubElement(root, f"{{{BPMN}}}process", {"id": f"Process_{pid}", "name": process.title,
                                                      "isExecutable": "false"})  # fmt: skip
    if process.description:
        ET.SubElement(proc, f"{{{BPMN}}}documentation").text = process.description
    chances = dict(probabilities or {})
    for t in process.transitions:
        if (t.from_step, t.to_step) not in chances and t.probability is not None:
            chances[(t.from_step, t.to_step)] = (t.probability, "process file")

    # The flow graph: tasks, then per step its ways out, through a gateway where there is more than one.
    nodes: list[tuple[str, str, str]] = []  # (kind, id, name)
    flows: list[tuple[str, str, str, str | None]] = []  # (id, source, target, documentation)
    outs: dict[str, list[str]] = {s.id: [] for s in process.steps}
    for t in process.transitions:
        outs[t.from_step].append(t.to_step)
    shapes = _task_shapes(process)
    for s in process.steps:
        nodes.append(("task", step_element_id(s.id), s.label))
    for s in process.steps:
        if s.start:
            ev = f"StartEvent_{s.id}"
            nodes.append(("startEvent", ev, "Start"))
            flows.append((f"Flow_start_{s.id}", ev, step_element_id(s.id), None))
            box = shapes[step_element_id(s.id)]
            shapes[ev] = _Shape(box.x - _LEAD + 20, box.y + box.h / 2 - _EV / 2, _EV, _EV)
        targets = [step_element_id(b) for b in outs[s.id]]
        box = shapes[step_element_id(s.id)]
        if s.end:
            end = f"EndEvent_{s.id}"
            nodes.append(("endEvent", end, "End"))
            targets.append(end)
        source = step_element_id(s.id)
        if len(targets) > 1:
            gw = f"Gateway_{s.id}"
            nodes.append(("exclusiveGateway", gw, ""))
            flows.append((f"Flow_{s.id}_gateway", source, gw, None))
            shapes[gw] = _Shape(box.x + box.w + 25, box.y + box.h / 2 - _GW / 2, _GW, _GW)
            source = gw
        for k, target in enumerate(targets):
            doc = None
            if target.startswith("Task_"):
                to = target.removeprefix("Task_")
                if (s.id, to) in chances:
                    p, where = chances[(s.id, to)]
                    doc = f"probability {p:.4g} ({where})"
                flows.append((f"Flow_{s.id}_to_{to}", source, target, doc))
            else:
                flows.append((f"Flow_{s.id}_end", source, target, None))
                anchor = shapes[source]
                dy = 0.0 if source.startswith("Task_") else box.h / 2 + 10
                shapes[target] = _Shape(anchor.x + anchor.w + 40, anchor.y + anchor.h / 2 - _EV / 2 + dy, _EV, _EV)
            del k
    incoming: dict[str, list[str]] = {}
    outgoing: dict[str, list[str]] = {}
    for fid, a, b, _ in flows:
        outgoing.setdefault(a, []).append(fid)
        incoming.setdefault(b, []).append(fid)

    lanes = [ln for ln in process.lane_order if any(s.lane == ln for s in process.steps)]
    lane_ids = {ln: f"Lane_{i + 1}" for i, ln in enumerate(lanes)}
    if lanes:
        lane_set = ET.SubElement(proc, f"{{{BPMN}}}laneSet", {"id": f"LaneSet_{pid}"})
        for ln in lanes:
            lane = ET.SubElement(lane_set, f"{{{BPMN}}}lane", {"id": lane_ids[ln], "name": ln})
            for s in process.steps:
                if s.lane == ln:
                    for member in _members(s.id, s.start, nodes):
                        ET.SubElement(lane, f"{{{BPMN}}}flowNodeRef").text = member
    docs = {step_element_id(s.id): _step_doc(process, s.id) for s in process.steps}
    for kind, nid, name in nodes:
        el = ET.SubElement(proc, f"{{{BPMN}}}{kind}", {"id": nid, **({"name": name} if name else {})})
        if docs.get(nid):
            ET.SubElement(el, f"{{{BPMN}}}documentation").text = docs[nid]
        for fid in incoming.get(nid, []):
            ET.SubElement(el, f"{{{BPMN}}}incoming").text = fid
        for fid in outgoing.get(nid, []):
            ET.SubElement(el, f"{{{BPMN}}}outgoing").text = fid
    for fid, a, b, doc in flows:
        el = ET.SubElement(proc, f"{{{BPMN}}}sequenceFlow", {"id": fid, "sourceRef": a, "targetRef": b})
        if doc:
            ET.SubElement(el, f"{{{BPMN}}}documentation").text = doc

    _diagram(root, process, pid, shapes, flows, lanes, lane_ids)
    ET.indent(root, space="  ")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _members(step_id: str, start: bool, nodes: list[tuple[str, str, str]]) -> list[str]:
    """The flow nodes that sit in a step's lane: its task, and its start event, gateway and end event."""
    ids = {n for _, n, _ in nodes}
    own = [step_element_id(step_id), f"Gateway_{step_id}", f"EndEvent_{step_id}"]
    if start:
        own.insert(0, f"StartEvent_{step_id}")
    return [n for n in own if n in ids]


def _step_doc(process: Process, step_id: str) -> str:
    s = process.step(step_id)
    parts = [f"flowmap step '{s.id}'"]
    if s.events:
        parts.append("events: " + ", ".join(s.events))
    if s.target is not None:
        parts.append(f"target: {s.target:g} {'working days' if process.clock == 'working_days' else 'days'}")
    if s.source:
        parts.append(f"source: {s.source}")
    return "; ".join(parts)


def _task_shapes(process: Process) -> dict[str, _Shape]:
    """Each step's task where flowmap's swimlane layout (left to right) puts it, levels spread apart."""
    pos, _ = band_positions(process, "LR", True)
    lv = levels(process)
    w, h = NODE_W * 72 * 0.8, NODE_H * 72 * 0.8
    out = {}
    for s in process.steps:
        cx, cy = pos[s.id][0] * 72 + _HEAD + _LEAD + lv[s.id] * _STRETCH, pos[s.id][1] * 72
        out[step_element_id(s.id)] = _Shape(round(cx - w / 2, 1), round(cy - h / 2, 1), round(w, 1), round(h, 1))
    return out


def _diagram(
    root: ET.Element,
    process: Process,
    pid: str,
    shapes: dict[str, _Shape],
    flows: list[tuple[str, str, str, str | None]],
    lanes: list[str],
    lane_ids: dict[str, str],
) -> None:
    _, bands = band_positions(process, "LR", True)
    right = max(s.x + s.w for s in shapes.values()) + 40
    bottom = max(s.y + s.h for s in shapes.values()) + 40
    if bands:
        bottom = max(bottom, max(b.y + b.h for b in bands.values()))
    diagram = ET.SubElement(root, f"{{{BPMNDI}}}BPMNDiagram", {"id": f"BPMNDiagram_{pid}"})
    plane = ET.SubElement(diagram, f"{{{BPMNDI}}}BPMNPlane", {"id": f"BPMNPlane_{pid}",
                                                             "bpmnElement": f"Collaboration_{pid}"})  # fmt: skip

    def shape(element: str, box: _Shape, horizontal: bool | None = None) -> None:
        attrs = {"id": f"{element}_di", "bpmnElement": element}
        if horizontal is not None:
            attrs["isHorizontal"] = "true" if horizontal else "false"
        el = ET.SubElement(plane, f"{{{BPMNDI}}}BPMNShape", attrs)
        ET.SubElement(el, f"{{{DC}}}Bounds", {k: f"{v:g}" for k, v in (("x", box.x), ("y", box.y), ("width", box.w),
                                                                        ("height", box.h))})  # fmt: skip

    shape(f"Participant_{pid}", _Shape(0, 0, right, bottom), True)
    for ln in lanes:
        band = bands.get(ln)
        if band is None:
            continue
        y1 = band.y
        nxt = [b.y for b in bands.values() if b.y > band.y]
        y2 = min(nxt) if nxt else bottom
        shape(lane_ids[ln], _Shape(_HEAD, y1, right - _HEAD, y2 - y1), True)
    for element, box in shapes.items():
        shape(element, box)
    for fid, a, b, _ in flows:
        el = ET.SubElement(plane, f"{{{BPMNDI}}}BPMNEdge", {"id": f"{fid}_di", "bpmnElement": fid})
        for x, y in _route(shapes[a], shapes[b]):
            ET.SubElement(el, f"{{{DI}}}waypoint", {"x": f"{x:g}", "y": f"{y:g}"})


def _route(a: _Shape, b: _Shape) -> list[tuple[float, float]]:
    """Right angles from ``a`` to ``b``: forwards through the gap between them, backwards underneath."""
    (x1, y1), (x2, y2) = a.right, b.left
    if x2 >= x1 + 10:
        if abs(y1 - y2) < 0.5:
            return [(x1, y1), (x2, y2)]
        mid = round((x1 + x2) / 2, 1)
        return [(x1, y1), (mid, y1), (mid, y2), (x2, y2)]
    (bx1, by1), (bx2, by2) = a.bottom, b.bottom
    below = round(max(by1, by2) + 20, 1)
    return [(bx1, by1), (bx1, below), (bx2, below), (bx2, by2)]
