"""BPMN 2.0 out and in: XSD-valid, opens in bpmn.io's viewer, and round-trips the bundled processes."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from flowmap.cli import cli
from flowmap.files.bpmn import BPMNError, import_bpmn
from flowmap.files.process import load_process, parse_process
from flowmap.render.bpmn import bpmn_xml

ROOT = Path(__file__).resolve().parent.parent
PROCESSES = sorted((ROOT / "processes").glob("*.yaml"))
BPMN_JS = ROOT / ".cache" / "npm" / "node_modules" / "bpmn-js" / "dist" / "bpmn-viewer.production.min.js"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def _schema():  # type: ignore[no-untyped-def]
    etree = pytest.importorskip("lxml.etree", reason="LOUD SKIP: lxml (a dev dependency) is not installed")
    spiff = pytest.importorskip("SpiffWorkflow", reason="LOUD SKIP: SpiffWorkflow, which ships the BPMN XSD, is "
                                                        "not installed (`make test` installs it)")  # fmt: skip
    xsd = Path(spiff.__file__).parent / "bpmn" / "parser" / "schema" / "BPMN20.xsd"
    return etree, etree.XMLSchema(etree.parse(str(xsd)))


@pytest.mark.parametrize("path", PROCESSES, ids=lambda p: p.stem)
def test_export_validates_against_the_omg_xsd(path: Path, tmp_path: Path) -> None:
    etree, schema = _schema()
    out = tmp_path / "p.bpmn"
    r = CliRunner().invoke(cli, ["export", str(path), "-o", str(out)])
    assert r.exit_code == 0, r.output
    doc = etree.parse(str(out))
    assert schema.validate(doc), schema.error_log
    text = out.read_text()
    process = load_process(path)
    for s in process.steps:
        assert f'id="Task_{s.id}"' in text and f'bpmnElement="Task_{s.id}"' in text  # a task and its shape
    branching = [s for s in process.steps if sum(t.from_step == s.id for t in process.transitions) + s.end > 1]
    assert text.count("<exclusiveGateway") == len(branching)


@pytest.mark.parametrize("path", PROCESSES, ids=lambda p: p.stem)
def test_a_round_trip_keeps_steps_lanes_and_transitions(path: Path, tmp_path: Path) -> None:
    original = load_process(path)
    bpmn = tmp_path / "p.bpmn"
    bpmn.write_text(bpmn_xml(original))
    back = parse_process(import_bpmn(bpmn).text)
    assert [(s.id, s.label, s.lane, s.start, s.end) for s in back.steps] == [
        (s.id, s.label, s.lane, s.start, s.end) for s in original.steps]  # fmt: skip
    assert back.declared == original.declared
    assert list(back.lane_order) == [ln for ln in original.lane_order if any(s.lane == ln for s in
                                                                                       original.steps)]  # fmt: skip
    assert {(t.from_step, t.to_step): t.probability for t in back.transitions} == {
        (t.from_step, t.to_step): t.probability for t in original.transitions}  # fmt: skip


def test_export_with_data_documents_the_observed_chances(tmp_path: Path) -> None:
    out = tmp_path / "p.bpmn"
    r = CliRunner().invoke(cli, ["export", str(ROOT / "examples" / "data" / "legal-advice-tracker.csv"), "--process",
                                 str(ROOT / "processes" / "legal-advice.yaml"), "-o", str(out)])  # fmt: skip
    assert r.exit_code == 0, r.output
    assert "(data: " in out.read_text() and "moves)</documentation>" in out.read_text()


def _bpmn(body: str, extra: str = "") -> str:
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" '
            f'id="d" targetNamespace="x">{extra}<process id="p">{body}</process></definitions>')  # fmt: skip


def test_drawn_bpmn_with_gateways_events_and_things_flowmap_cannot_hold(tmp_path: Path) -> None:
    body = """
      <startEvent id="s"/><userTask id="a" name="Triage"/><parallelGateway id="g"/>
      <task id="b" name="Call family"/><task id="c" name="Check records"/><intermediateCatchEvent id="wait"/>
      <endEvent id="e"/><boundaryEvent id="late" attachedToRef="a"/><task id="esc" name="Escalate"/>
      <dataObjectReference id="do"/><textAnnotation id="note"/>
      <sequenceFlow id="f1" sourceRef="s" targetRef="a"/><sequenceFlow id="f2" sourceRef="a" targetRef="g"/>
      <sequenceFlow id="f3" sourceRef="g" targetRef="b"/><sequenceFlow id="f4" sourceRef="g" targetRef="c"/>
      <sequenceFlow id="f5" sourceRef="b" targetRef="wait"/><sequenceFlow id="f6" sourceRef="wait" targetRef="e"/>
      <sequenceFlow id="f7" sourceRef="c" targetRef="e"/><sequenceFlow id="f8" sourceRef="late" targetRef="esc"/>
    """
    path = tmp_path / "drawn.bpmn"
    path.write_text(_bpmn(body))
    out = tmp_path / "drawn.yaml"
    r = CliRunner().invoke(cli, ["import", str(path), "-o", str(out)])
    assert r.exit_code == 0, r.output
    assert "parallelGateway gateway flattened" in r.output
    assert "left out (flowmap has no place for them): 1 data objects, 1 text annotations" in r.output
    p = load_process(out)
    assert p.declared == {("triage", "call_family"), ("triage", "check_records"), ("triage", "escalate")}
    assert [s.id for s in p.steps if s.start] == ["triage"]
    assert {s.id for s in p.steps if s.end} == {"call_family", "check_records", "escalate"}


@pytest.mark.parametrize(("content", "message"), [
    ("<definitions", "not well-formed XML"),
    ('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><definitions/>', "<!DOCTYPE"),
    ("<log/>", "is XML but not BPMN 2.0"),
    (_bpmn('<startEvent id="s"/>'), "has no tasks"),
])  # fmt: skip
def test_bad_bpmn_says_what_is_wrong(content: str, message: str, tmp_path: Path) -> None:
    path = tmp_path / "bad.bpmn"
    path.write_text(content)
    with pytest.raises(BPMNError, match=message):
        import_bpmn(path)
    r = CliRunner().invoke(cli, ["import", str(path), "-o", str(tmp_path / "x.yaml")])
    assert r.exit_code == 1 and "Traceback" not in r.output and not (tmp_path / "x.yaml").exists()


def test_five_thousand_tasks_import_and_export(tmp_path: Path) -> None:
    n = 5000
    tasks = "".join(f'<task id="t{i}" name="Task {i}"/>' for i in range(n))
    flows = "".join(f'<sequenceFlow id="f{i}" sourceRef="t{i}" targetRef="t{i + 1}"/>' for i in range(n - 1))
    path = tmp_path / "big.bpmn"
    path.write_text(_bpmn('<startEvent id="s"/><endEvent id="e"/>' + tasks + flows +
                          '<sequenceFlow id="fs" sourceRef="s" targetRef="t0"/>'
                          f'<sequenceFlow id="fe" sourceRef="t{n - 1}" targetRef="e"/>'))  # fmt: skip
    draft = import_bpmn(path)
    process = parse_process(draft.text)
    assert len(process.steps) == n and len(process.transitions) == n - 1
    etree, schema = _schema()
    out = tmp_path / "big-out.bpmn"
    out.write_text(bpmn_xml(process))
    assert schema.validate(etree.parse(str(out)))


@pytest.mark.skipif(CHROMIUM is None, reason="LOUD SKIP: Chromium is not installed, so the BPMN was not opened in "
                                             "bpmn.io's viewer (.ci/run installs Debian's chromium)")  # fmt: skip
@pytest.mark.skipif(not BPMN_JS.exists(), reason="LOUD SKIP: bpmn-js is not installed in .cache/npm (`make test` "
                                                 "installs it from the npm registry)")  # fmt: skip
@pytest.mark.slow
@pytest.mark.parametrize("path", PROCESSES, ids=lambda p: p.stem)
def test_export_opens_in_bpmn_io_viewer_with_every_step_drawn(path: Path, tmp_path: Path) -> None:
    sync_api = pytest.importorskip("playwright.sync_api", reason="LOUD SKIP: playwright is not installed")
    xml = bpmn_xml(load_process(path))
    page_file = tmp_path / "viewer.html"
    page_file.write_text('<!doctype html><html><body><div id="canvas" style="width:1600px;height:900px"></div>'
                         "</body></html>")  # fmt: skip
    errors: list[str] = []
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1600, "height": 900})
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.goto(page_file.as_uri())
        page.add_script_tag(path=str(BPMN_JS))
        result = page.evaluate("""async (xml) => {
            const viewer = new BpmnJS({container: '#canvas'});
            const {warnings} = await viewer.importXML(xml);
            viewer.get('canvas').zoom('fit-viewport');
            const drawn = viewer.get('elementRegistry').filter(e => e.type === 'bpmn:Task').map(e => e.id);
            return {warnings: warnings.map(w => w.message), drawn};
        }""", xml)  # fmt: skip
        shot = tmp_path / f"{path.stem}.png"
        page.screenshot(path=str(shot))
        browser.close()
    assert errors == [] and result["warnings"] == []
    assert sorted(result["drawn"]) == sorted(f"Task_{s.id}" for s in load_process(path).steps)
    print(f"bpmn.io screenshot: {shot}")
