"""A drawn BPMN 2.0 diagram read back as a draft process file (``flowmap import``).

Tasks (of every kind, call activities and sub-processes too) become steps,
lanes become swimlanes, and sequence flows become transitions. Gateways and
intermediate events are flattened: a move from a task through any chain of
them to another task is one transition. A task a start event leads to is a
start step; one that leads to an end event (or has no way out) is an end
step. What flowmap cannot represent (message flows, data objects, text
annotations, the inside of a sub-process, the concurrency of a parallel
gateway) is left out with a note saying which. docs/interop.md has the table.

The file is read with the standard library's XML parser, and a document
type declaration (which could define entities) is refused, as the XES
reader does.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from flowmap.errors import FlowmapError

__all__ = ["ImportedProcess", "import_bpmn", "read_bpmn"]

_MODEL = "http://www.omg.org/spec/BPMN/20100524/MODEL"
_TASKS = {"task", "userTask", "manualTask", "serviceTask", "scriptTask", "businessRuleTask", "sendTask",
          "receiveTask", "callActivity", "subProcess", "adHocSubProcess", "transaction"}  # fmt: skip
_GATEWAYS = {"exclusiveGateway", "inclusiveGateway", "parallelGateway", "eventBasedGateway", "complexGateway"}
_PASS = _GATEWAYS | {"intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent"}
_DROPPED = {"messageFlow": "message flows", "dataObject": "data objects", "dataObjectReference": "data objects",
            "dataStoreReference": "data stores", "dataInputAssociation": "data associations",
            "dataOutputAssociation": "data associations", "textAnnotation": "text annotations",
            "association": "associations", "group": "groups"}  # fmt: skip
_PROBABILITY = re.compile(r"probability ([0-9.]+(?:e-?\d+)?) \(process file\)")
MAX_BYTES = 50_000_000


class BPMNError(FlowmapError):
    """A BPMN file that cannot be read: not XML, not BPMN, or a construct refused."""


@dataclass(frozen=True)
class ImportedProcess:
    """The draft process file's text, and what a reviewer should know about what was left out."""

    text: str
    notes: tuple[str, ...]
    steps: int
    transitions: int


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _slug(text: str) -> str:
    s = re.sub(r"[^a-z0-9]+", "_", text.casefold()).strip("_")[:60].strip("_")
    return s or "step"


def read_bpmn(path: Path) -> ET.Element:
    """The root element of a BPMN file, or a clear error: not found, too big, a DTD, not well-formed."""
    if not path.exists():
        raise BPMNError(f"{path}: no such file")
    if path.stat().st_size > MAX_BYTES:
        raise BPMNError(f"{path}: is over {MAX_BYTES // 1_000_000} MB; a BPMN diagram that size is not a process map")
    data = path.read_bytes()
    head = data[:4096].decode("utf-8", errors="replace")
    if "<!DOCTYPE" in head or "<!ENTITY" in data.decode("utf-8", errors="replace"):
        raise BPMNError(f"{path}: has a <!DOCTYPE …> section, which BPMN never needs and which could define "
                        "entities; remove it")  # fmt: skip
    try:
        root = ET.fromstring(data)
    except ET.ParseError as e:
        raise BPMNError(f"{path}:{e.position[0]}:{e.position[1] + 1}: not well-formed XML ({e}); is this a BPMN "
                        "file saved whole?") from None  # fmt: skip
    if _local(root.tag) != "definitions" or not root.tag.startswith(f"{{{_MODEL}}}"):
        raise BPMNError(f"{path}: is XML but not BPMN 2.0 (its root is <{_local(root.tag)}>, expected <definitions> "
                        f"in {_MODEL})")  # fmt: skip
    return root


def import_bpmn(path: Path, *, process_id: str | None = None) -> ImportedProcess:
    """Read a BPMN 2.0 file into the text of a draft process file (format 1) that passes ``flowmap validate``."""
    root = read_bpmn(path)
    processes = [el for el in root if _local(el.tag) == "process"]
    if not processes:
        raise BPMNError(f"{path}: has no <process>: nothing to import")
    notes: list[str] = []
    if len(processes) > 1:
        notes.append(f"{len(processes)} pools (processes) read as one process; their lanes keep their own names")
    kinds: dict[str, str] = {}
    names: dict[str, str] = {}
    flows: list[tuple[str, str, str | None]] = []
    attached: dict[str, str] = {}
    dropped: Counter[str] = Counter()
    lanes: list[tuple[str, list[str]]] = []
    for el in root.iter():
        name = _local(el.tag)
        if name in _DROPPED:
            dropped[_DROPPED[name]] += 1
    for proc in processes:
        for el in proc:
            kind = _local(el.tag)
            eid = el.get("id")
            if eid is None:
                continue
            if kind in _TASKS or kind in _PASS or kind in ("startEvent", "endEvent"):
                kinds[eid] = kind
                names[eid] = (el.get("name") or "").strip()
                if kind == "boundaryEvent" and el.get("attachedToRef"):
                    attached[eid] = str(el.get("attachedToRef"))
                if kind in ("subProcess", "adHocSubProcess", "transaction") and len(
                        [c for c in el if _local(c.tag) in _TASKS]):  # fmt: skip
                    notes.append(f"sub-process '{names[eid] or eid}' is one step: the steps inside it are left out")
            elif kind == "sequenceFlow":
                doc_el = el.find(f"{{{_MODEL}}}documentation")
                flows.append(
                    (str(el.get("sourceRef")), str(el.get("targetRef")), doc_el.text if doc_el is not None else None)
                )
            elif kind == "laneSet":
                lanes.extend(_lanes(el, ""))
    tasks = [e for e, k in kinds.items() if k in _TASKS]
    if not tasks:
        raise BPMNError(f"{path}: has no tasks: flowmap makes a step of each task, so there is nothing to import")
    for k in sorted({k for k in kinds.values() if k in ("parallelGateway", "inclusiveGateway", "complexGateway")}):
        n = sum(1 for v in kinds.values() if v == k)
        notes.append(f"{n} {k} gateway{'s' if n != 1 else ''} flattened: the branches become alternative moves "
                     "(flowmap follows one path per case)")  # fmt: skip
    if dropped:
        notes.append("left out (flowmap has no place for them): " + ", ".join(f"{n} {what}" for what, n in
                                                                           sorted(dropped.items())))  # fmt: skip
    ids = _step_ids(tasks, names)
    out: dict[str, list[tuple[str, str | None]]] = {}
    for a, b, doc in flows:
        out.setdefault(a, []).append((b, doc))
    for boundary, task in attached.items():  # a boundary event is another way out of the task it sits on
        out.setdefault(task, []).append((boundary, None))

    def reach(node: str) -> tuple[list[tuple[str, str | None]], bool]:
        """Tasks reachable from ``node`` through gateways and events only, and whether an end event is."""
        found: dict[str, str | None] = {}
        ends = False
        seen = {node}
        todo = list(out.get(node, []))
        while todo:
            nxt, doc = todo.pop(0)
            if nxt in seen:
                continue
            seen.add(nxt)
            kind = kinds.get(nxt)
            if kind in _TASKS:
                found.setdefault(nxt, doc)
            elif kind == "endEvent":
                ends = True
            elif kind in _PASS:
                todo.extend(out.get(nxt, []))
        return list(found.items()), ends

    starts: set[str] = set()
    for e, k in kinds.items():
        if k == "startEvent":
            starts.update(t for t, _ in reach(e)[0])
    has_in = {b for a, b, _ in flows if kinds.get(b) in _TASKS}
    if not starts:
        starts = {t for t in tasks if t not in has_in} or {tasks[0]}
        notes.append("no start event: steps with no way in are start steps")
    transitions: list[tuple[str, str, float | None]] = []
    ends: set[str] = set()
    for t in tasks:
        targets, to_end = reach(t)
        for u, doc in targets:
            said = _PROBABILITY.search(doc or "")
            transitions.append((ids[t], ids[u], float(said.group(1)) if said else None))
        if to_end or not targets:
            ends.add(t)
    lane_of: dict[str, str] = {}
    for lane_name, members in lanes:
        for member in members:
            if member in ids:
                lane_of[member] = lane_name  # nested lanes come later: the innermost wins
    text = _yaml(path, process_id, root, tasks, ids, names, starts, ends, lane_of, lanes, transitions)
    return ImportedProcess(text=text, notes=tuple(notes), steps=len(tasks), transitions=len(transitions))


def _lanes(lane_set: ET.Element, prefix: str) -> Iterable[tuple[str, list[str]]]:
    for lane in lane_set:
        if _local(lane.tag) != "lane":
            continue
        name = (lane.get("name") or lane.get("id") or "lane").strip()
        members = [(r.text or "").strip() for r in lane if _local(r.tag) == "flowNodeRef"]
        yield prefix + name, members
        for child in lane:
            if _local(child.tag) == "childLaneSet":
                yield from _lanes(child, f"{prefix}{name} / ")


def _step_ids(tasks: list[str], names: dict[str, str]) -> dict[str, str]:
    """Step ids: flowmap's own (``Task_<id>``) back as they were, else a slug of the name, made unique."""
    ids: dict[str, str] = {}
    used: set[str] = set()
    for t in tasks:
        own = t.removeprefix("Task_") if t.startswith("Task_") else ""
        base = own if re.fullmatch(r"[a-z0-9][a-z0-9_-]*", own) else _slug(names[t] or t)
        sid, i = base, 2
        while sid in used:
            sid, i = f"{base}_{i}", i + 1
        used.add(sid)
        ids[t] = sid
    return ids


def _q(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def _yaml(
    path: Path,
    process_id: str | None,
    root: ET.Element,
    tasks: list[str],
    ids: dict[str, str],
    names: dict[str, str],
    starts: set[str],
    ends: set[str],
    lane_of: dict[str, str],
    lanes: list[tuple[str, list[str]]],
    transitions: list[tuple[str, str, float | None]],
) -> str:
    participant = next((el for el in root.iter() if _local(el.tag) == "participant" and el.get("name")), None)
    proc = next(el for el in root if _local(el.tag) == "process")
    title = (participant.get("name") if participant is not None else None) or proc.get("name") or path.stem
    pid = process_id or _slug(path.stem).replace("_", "-")
    used_lanes = [ln for ln, _ in lanes if ln in set(lane_of.values())]
    lines = [
        f"# Imported by `flowmap import` from {path.name}: steps, lanes and moves only.",
        "# Review it: add each step's events (as the data names them), targets and their sources.",
        "flowmap: 1",
        f"id: {pid}",
        f"title: {_q(title)}",
        "clock: calendar_days",
    ]
    if used_lanes:
        lines.append(f"lanes: [{', '.join(_q(ln) for ln in dict.fromkeys(used_lanes))}]")
    lines.append("steps:")
    for t in tasks:
        lines.append(f"  - id: {ids[t]}")
        lines.append(f"    label: {_q(names[t] or ids[t])}")
        if t in lane_of:
            lines.append(f"    lane: {_q(lane_of[t])}")
        if t in starts:
            lines.append("    start: true")
        if t in ends:
            lines.append("    end: true")
    seen: set[tuple[str, str]] = set()
    body = []
    for a, b, p in transitions:
        if (a, b) in seen:
            continue
        seen.add((a, b))
        body.append(f"  - {{from: {a}, to: {b}, probability: {p:g}}}" if p is not None else f"  - {a} -> {b}")
    lines.append("transitions:" if body else "transitions: []")
    lines.extend(body)
    return "\n".join(lines) + "\n"
