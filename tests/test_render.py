"""Maps: stable layout, deterministic bytes, escaping, both Graphviz backends, every format."""

from __future__ import annotations

import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from flowmap.analysis.metrics import case_journey, map_metrics
from flowmap.analysis.replay import replay
from flowmap.errors import FlowmapError, RenderError
from flowmap.events.read import read_events
from flowmap.files.process import load_process, parse_process
from flowmap.render.layout import layout, run_graphviz
from flowmap.render.maps import map_dot, map_mermaid, render_map, write_map

from .conftest import PROCESSES, ROOT, golden

SVG = "{http://www.w3.org/2000/svg}"
LEGAL = PROCESSES / "legal-advice.yaml"
PERM = PROCESSES / "permanence-order.yaml"
TRACKER = ROOT / "examples" / "data" / "legal-advice-tracker.csv"
PERM_EVENTS = ROOT / "examples" / "data" / "permanence-events.csv"


def positions(svg: bytes) -> dict[str, tuple[str, str]]:
    root = ET.fromstring(svg)
    out = {}
    for rect in root.iter(f"{SVG}rect"):
        cls = rect.get("class", "")
        if cls.startswith("step "):
            out[cls.split("step-", 1)[1]] = (rect.get("x"), rect.get("y"))
    return out


def texts(svg: bytes) -> list[str]:
    return [t.text or "" for t in ET.fromstring(svg).iter(f"{SVG}text")]


@pytest.fixture(scope="module")
def legal_result():  # type: ignore[no-untyped-def]
    p = load_process(LEGAL)
    return replay(p, read_events(TRACKER, process=p))


def test_layout_comes_from_the_process_alone(legal_result) -> None:  # type: ignore[no-untyped-def]
    p = legal_result.process
    bare = render_map(p, renderer="wasm")
    full = render_map(p, map_metrics(legal_result), renderer="wasm")
    earlier = replay(p, read_events(TRACKER, process=p), as_of="2025-03-31")
    other = render_map(p, map_metrics(earlier), metric="frequency", renderer="wasm")
    case = render_map(p, map_metrics(legal_result), case_journey(legal_result, "Child 2"), renderer="wasm")
    pos = positions(bare)
    assert set(pos) == set(p.step_ids)
    assert positions(full) == pos
    assert positions(other) == pos
    assert positions(case) == pos


@pytest.mark.parametrize("fmt", ["svg", "png", "pdf", "dot", "mmd"])
def test_same_inputs_give_the_same_bytes(legal_result, fmt: str) -> None:  # type: ignore[no-untyped-def]
    m = map_metrics(legal_result)
    a = render_map(legal_result.process, m, fmt=fmt, renderer="wasm")
    b = render_map(legal_result.process, m, fmt=fmt, renderer="wasm")
    assert a == b
    magic = {"png": b"\x89PNG", "pdf": b"%PDF", "svg": b"<?xml", "dot": b"digraph", "mmd": b"---"}
    assert a.startswith(magic[fmt])


def test_drift_map_shows_figures_rag_in_words_and_legend(legal_result) -> None:  # type: ignore[no-untyped-def]
    svg = render_map(legal_result.process, map_metrics(legal_result), renderer="wasm")
    words = "\n".join(texts(svg))
    assert "RED: 29 of 51 over 2" in words  # bundle_sent, as the drift table says
    assert "excess 171 working days" in words
    assert "How to read this map" in words
    assert "as of 2025-10-27" in words
    assert "Advice within 8 working days of a complete referral" in words


def test_undeclared_moves_are_drawn_and_labelled() -> None:
    p = load_process(PERM)
    r = replay(p, read_events(PERM_EVENTS, process=p))
    svg = render_map(p, map_metrics(r), renderer="wasm")
    assert any(t.startswith("not declared: ") for t in texts(svg))
    assert 'stroke-dasharray="4,3"' in svg.decode()


def test_case_overlay_marks_order_days_and_now() -> None:
    p = load_process(PERM)
    r = replay(p, read_events(PERM_EVENTS, process=p))
    open_case = str(r.cases.loc[r.cases["status"] != "complete", "case_id"].iloc[0])
    journey = case_journey(r, open_case)
    words = "\n".join(texts(render_map(p, map_metrics(r), journey, renderer="wasm")))
    assert f"case {open_case} (" in words
    assert "NOW" in words
    assert "1. " in words
    with pytest.raises(FlowmapError, match="is not in the data"):
        case_journey(r, "no such child")


HOSTILE = """\
flowmap: 1
id: hostile
title: "Quotes \\" and <script>alert(1)</script> & back\\\\slash"
lanes: ["Gàidhlig <lane>", "Emoji 🧒 lane"]
steps:
  - {id: a, label: "Line one\\nline two \\"quoted\\" \\\\ end", lane: "Gàidhlig <lane>", start: true, target: 3}
  - {id: b, label: "<b>bold?</b> & ampersand `tick` #hash", lane: "Emoji 🧒 lane"}
  - {id: end, label: "Ceann-uidhe 🎉 ]\\"]) --> x", lane: "Emoji 🧒 lane", end: true}
transitions:
  - {from: a, to: b, label: "say \\"hi\\" -->"}
  - b -> end
"""


def test_hostile_labels_are_escaped_in_every_text_format() -> None:
    p = parse_process(HOSTILE)
    svg = render_map(p, renderer="wasm")
    root = ET.fromstring(svg)  # well-formed XML, whatever the labels held
    words = "\n".join(t.text or "" for t in root.iter(f"{SVG}text"))
    assert "Gàidhlig <lane>" in words and "Emoji 🧒 lane" in words
    assert "<b>bold?</b> &" in words
    assert root.find(f"{SVG}script") is None and b"<script>" not in svg
    drawn = run_graphviz(map_dot(p), "svg", "wasm")  # Graphviz parses the DOT and draws the labels
    shown = [t.text or "" for t in ET.fromstring(drawn).iter(f"{SVG}text")]
    assert 'line two "quoted" \\' in shown  # quote and backslash survive; the label wraps before "end"
    assert 'Ceann-uidhe 🎉 ]"])' in shown
    assert "<b>bold?</b> &" in shown
    mmd = map_mermaid(p)
    for line in mmd.splitlines():
        if '["' in line or '(["' in line:
            inner = line.split('"', 1)[1].rsplit('"', 1)[0]
            assert '"' not in inner and "<script" not in inner
            assert "<" not in inner.replace("<br/>", "")
    assert "#lt;script#gt;" in mmd or "#lt;b#gt;" in mmd


NO_DOT = (
    "LOUD SKIP: system Graphviz is not installed, so it was not compared with the bundled WebAssembly build "
    "(.ci/run installs Debian's graphviz)"
)


@pytest.mark.skipif(shutil.which("dot") is None, reason=NO_DOT)
def test_system_and_wasm_graphviz_give_the_same_nodes_and_edges() -> None:
    for path in sorted(PROCESSES.glob("*.yaml")):
        p = load_process(path)
        for direction in ("LR", "TB", "grid"):
            a = layout(p, direction=direction, renderer="system")
            b = layout(p, direction=direction, renderer="wasm")
            assert (a.renderer, b.renderer) == ("system", "wasm")
            assert set(a.nodes) == set(b.nodes) == set(p.step_ids)
            assert set(a.edges) == set(b.edges) == set(p.declared)
            assert set(a.lanes) == set(b.lanes)
        svg = render_map(p, renderer="system")
        assert set(positions(svg)) == set(p.step_ids)


def test_renderer_system_without_dot_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(RenderError, match="--renderer system needs Graphviz"):
        layout(load_process(LEGAL), renderer="system")
    assert layout(load_process(LEGAL), direction="LR").renderer == "wasm"


def test_write_map_by_extension(tmp_path: Path, legal_result) -> None:  # type: ignore[no-untyped-def]
    for ext in ("svg", "png", "pdf", "dot", "mmd"):
        out = write_map(tmp_path / f"m.{ext}", legal_result.process, map_metrics(legal_result), renderer="wasm")
        assert out.stat().st_size > 200
    with pytest.raises(RenderError, match=r"unknown extension '\.gif'"):
        write_map(tmp_path / "m.gif", legal_result.process)
    assert not (tmp_path / "m.gif").exists()


def test_auto_direction_keeps_every_bundled_map_readable_on_a4() -> None:
    from flowmap.render.layout import READABLE, _a4_scale

    for path in sorted(PROCESSES.glob("*.yaml")):
        lay = layout(load_process(path), renderer="wasm")
        assert _a4_scale(lay) >= READABLE, (path.name, lay.mode, _a4_scale(lay))


@pytest.mark.parametrize("name", ["legal-advice", "permanence-order", "complaints"])
def test_golden_dot_and_mermaid_without_data(name: str) -> None:
    p = load_process(PROCESSES / f"{name}.yaml")
    golden(f"{name}.dot", map_dot(p))
    golden(f"{name}.mmd", map_mermaid(p))


@pytest.mark.parametrize(("name", "events"), [("legal-advice", TRACKER), ("permanence-order", PERM_EVENTS)])
def test_golden_dot_and_mermaid_with_drift(name: str, events: Path) -> None:
    p = load_process(PROCESSES / f"{name}.yaml")
    m = map_metrics(replay(p, read_events(events, process=p)))
    golden(f"{name}-drift.dot", map_dot(p, m))
    golden(f"{name}-drift.mmd", map_mermaid(p, m))


def test_mermaid_ids_are_safe_and_lanes_are_subgraphs() -> None:
    mmd = map_mermaid(load_process(LEGAL))
    assert 'subgraph lane0["Social Work"]' in mmd
    assert "n0([" in mmd  # start step: stadium shape
    # A step whose id is Mermaid's keyword 'end' is drawn under a safe id: 'end' only closes subgraphs.
    hostile = map_mermaid(parse_process(HOSTILE))
    assert "end" in parse_process(HOSTILE).step_ids
    lines = [ln.strip() for ln in hostile.splitlines()]
    assert lines.count("end") == 2  # the two lane subgraphs close, nothing else is called 'end'
    assert not any(ln.startswith("end") and ln != "end" for ln in lines)
    assert "n2[[" in hostile  # the end step, as an end-shaped node with its own id


def test_map_reads_pm4py_receipt_log_via_discover() -> None:
    from flowmap.analysis.discover import discover

    from .conftest import log_file

    log = read_events(log_file("receipt.xes"))
    p = parse_process(discover(log, process_id="receipt"))
    svg = render_map(p, map_metrics(replay(p, log)), renderer="wasm")
    assert set(positions(svg)) == set(p.step_ids)  # its speed is measured in bench/maps.py, not here
