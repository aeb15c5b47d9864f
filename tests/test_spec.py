"""Process files: the format of docs/process-format.md, and every located mistake."""

from __future__ import annotations

from pathlib import Path

import pytest

from flowmap.errors import SpecError
from flowmap.files.process import load_process, parse_process, process_schema

from .conftest import PROCESSES, ROOT


def _problems(text: str) -> list[str]:
    with pytest.raises(SpecError) as info:
        parse_process(text, file="p.yaml")
    return [str(p) for p in info.value.problems]


def test_running_example_parses_with_every_key(example_process) -> None:  # type: ignore[no-untyped-def]
    p = example_process
    assert p.id == "legal-advice"
    assert p.clock == "working_days"
    assert p.calendar == "scotland"
    assert p.lanes == ("Social Work", "Legal")
    assert p.step_ids == ("need_identified", "bundle_sent", "info_requested", "advice_issued")
    need = p.step("need_identified")
    assert need.start and not need.end
    assert need.events == ("legal advice needed", "PPM action")
    assert need.target == 10 and need.typical == 6
    # defaults: events are the id and the label
    assert p.step("bundle_sent").events == ("bundle_sent", "Referral form and all reports sent to Legal")
    assert p.end_steps == ("advice_issued",)
    assert p.start_steps == ("need_identified",)
    rework = p.transition("bundle_sent", "info_requested")
    assert rework is not None and rework.label == "rework" and rework.probability == 0.4
    t = p.target("legal_turnaround")
    assert (t.from_step, t.to_step, t.within, t.clock) == ("bundle_sent", "advice_issued", 8, "working_days")
    assert t.source == "South Ayrshire referral-form aim"
    assert set(p.graph.edges) == {
        ("need_identified", "bundle_sent"),
        ("bundle_sent", "advice_issued"),
        ("bundle_sent", "info_requested"),
        ("info_requested", "bundle_sent"),
    }
    assert p.event_map["ppm action"] == "need_identified"
    assert p.is_rework("info_requested", "bundle_sent")
    assert not p.is_rework("need_identified", "bundle_sent")


def test_arrow_and_mapping_transitions_give_the_same_model(example_text: str) -> None:
    arrow = parse_process(example_text)
    mapping = parse_process(
        example_text.replace("  - need_identified -> bundle_sent", "  - {from: need_identified, to: bundle_sent}")
    )
    assert arrow.transitions == mapping.transitions


def test_default_start_and_end_steps() -> None:
    p = parse_process("flowmap: 1\nid: x\nsteps: [{id: a}, {id: b}, {id: c}]\ntransitions: [a -> b, b -> c]\n")
    assert p.start_steps == ("a",)
    assert p.end_steps == ("c",)
    assert p.title == "x"
    assert p.clock == "calendar_days" and p.timezone == "Europe/London"


@pytest.mark.parametrize("path", sorted(PROCESSES.glob("*.yaml")), ids=lambda p: p.name)
def test_every_bundled_process_is_valid_and_sourced(path: Path) -> None:
    p = load_process(path)
    assert p.steps
    for s in p.steps:
        if s.target is not None:
            assert s.source, f"{path.name}: step {s.id} has a target without a source"
    for t in p.targets:
        assert t.source, f"{path.name}: target {t.id} has no source"


def test_bundled_processes_have_the_targets_the_issue_names() -> None:
    legal = load_process(PROCESSES / "legal-advice.yaml")
    turnaround = legal.target("legal_turnaround")
    assert turnaround.within == 8 and turnaround.clock == "working_days"
    assert legal.target("advice_before_meeting").at_least == 7
    assert any(legal.is_rework(t.from_step, t.to_step) for t in legal.transitions)
    po = load_process(PROCESSES / "permanence-order.yaml")
    assert po.target("recommendation_6_months").within_months == 6  # written "6 months", as its source says
    assert po.target("panel_12_weeks").within == 84
    assert po.target("adm_14_days").within == 14
    assert po.end_steps == ("granted",)


def test_ten_mistakes_give_located_messages_in_one_run() -> None:
    with pytest.raises(SpecError) as info:
        load_process(ROOT / "tests" / "data" / "ten-mistakes.yaml")
    msgs = [str(p) for p in info.value.problems]
    expected = [
        ":2:5: 'id' must be a short id",
        ":4:8: 'clock' must be 'calendar_days' or 'working_days' (got 'work_days'); did you mean 'working_days'?",
        ":5:11: unknown time zone 'Europe/Londn'",
        ":8:5: unknown key 'lable'; did you mean 'label'?",
        ":11:13: 'target' must be at least 0 (got -3)",
        ":12:9: duplicate step id 'b' (first used on line 10)",
        ":13:14: event name 'a' marks both step 'a' and step 'b'",
        ":16:9: step 'orphan' cannot be reached from any start step",
        ":16:9: step 'orphan' has no way out and is not an end step",
        ":19:5: transition 'b -> cc' names an unknown step 'cc'; did you mean 'c'?",
        ":21:35: 'probability' must be at most 1 (got 1.3)",
    ]
    assert len(msgs) == len(expected)
    for want, got in zip(expected, msgs, strict=True):
        assert want in got
        assert got.startswith(str(ROOT / "tests" / "data" / "ten-mistakes.yaml"))


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "is empty"),
        ("- a\n- b\n", "expected a process file: a mapping"),
        ("flowmap: 1\nid: x\nsteps:\n\t- id: a\n", "not tabs"),
        ("flowmap: 1\nid: x\nid: y\nsteps: [{id: a}]\n", "p.yaml:3:1: duplicate key 'id' (first given on line 2)"),
        ("flowmap: 1\nid: !!python/object/apply:os.system [ls]\nsteps: [{id: a}]\n", "tag"),
        ("flowmap: 1\nid: x\nsteps: [{id: a}]\ntimezone: !!binary aGVsbG8=\n", "tag"),
        ("flowmap: 2\nid: x\nsteps: [{id: a}]\n", "'flowmap' must be 1"),
        ("id: x\nsteps: [{id: a}]\n", "missing required key 'flowmap'"),
        ("flowmap: 1\nid: x\nsteps: []\n", "'steps' must not be empty"),
        ("flowmap: 1\nid: x\nsteps: [{id: a, target: ten}]\n", "'target': write a number of days"),
        ("flowmap: 1\nid: x\nsteps: [{id: a, start: yes please}]\n", "'start' must be true or false"),
        ("flowmap: 1\nid: x\ncalendar: wales\nsteps: [{id: a}]\n", "'calendar' must be"),
        ("flowmap: 1\nid: x\nsteps: [{id: a}, {id: b}]\ntransitions: [a => b]\n", "from_step -> to_step"),
        (
            "flowmap: 1\nid: x\nsteps: [{id: a}, {id: b}, {id: c}]\n"
            "transitions: [{from: a, to: b, probability: 0.7}, {from: a, to: c, probability: 0.6}]\n",
            "add up to 1.3",
        ),
        ("flowmap: 1\nid: x\nsteps: [{id: a}, {id: b}]\ntransitions: [a -> b, b -> a]\n", "no start step"),
        (
            "flowmap: 1\nid: x\nsteps: [{id: a}, {id: b}]\ntransitions: [a -> b]\n"
            "targets: [{id: t, from: a, to: bb, within: 3}]\n",
            "target 't' names an unknown step 'bb'; did you mean 'b'?",
        ),
        (
            "flowmap: 1\nid: x\nsteps: [{id: a}, {id: b}]\ntransitions: [a -> b]\ntargets: [{id: t, from: a, to: b}]\n",
            "exactly one of 'within'",
        ),
        ("flowmap: 1\nid: x\nlanes: [SW]\nsteps: [{id: a, lane: Sw}]\n", "lane 'Sw' is not in 'lanes'"),
        ("flowmap: 1\nid: x\nsteps: [{id: a}, {id: b}]\ntransitions: [a -> b, a -> b]\n", "declared twice"),
        ("flowmap: 1\nid: x\nsteps: [{id: a, target: .inf}]\n", "finite number"),
        ("flowmap: 1\n" + "[" * 5000 + "]" * 5000 + "\n", "p.yaml"),
        (
            'a: &a ["x","x","x","x","x","x","x","x","x"]\n'
            + "".join(
                f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},"
                f"*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)}]\n"
                for i in range(8)
            ),
            "too many parts",
        ),
    ],
)
def test_bad_files_give_located_messages(text: str, fragment: str) -> None:
    msgs = _problems(text)
    assert any(fragment in m for m in msgs), msgs
    assert all(m.startswith("p.yaml") for m in msgs)


def test_non_utf8_bytes_are_located(tmp_path: Path) -> None:
    p = tmp_path / "latin.yaml"
    p.write_bytes(b"flowmap: 1\nid: x\ntitle: caf\xe9\nsteps: [{id: a}]\n")
    with pytest.raises(SpecError) as info:
        load_process(p)
    (problem,) = info.value.problems
    assert (problem.line, problem.column) == (3, 11)
    assert "not UTF-8" in problem.message


def test_huge_file_is_refused_before_parsing(tmp_path: Path) -> None:
    p = tmp_path / "big.yaml"
    p.write_bytes(b"# padding\n" * 1_000_000)
    with pytest.raises(SpecError, match=r"10\.0 MB"):
        load_process(p)


def test_missing_file_and_folder(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="no such file"):
        load_process(tmp_path / "nope.yaml")
    with pytest.raises(SpecError, match="is a folder"):
        load_process(tmp_path)


def test_bom_is_accepted(tmp_path: Path, example_text: str) -> None:
    p = tmp_path / "bom.yaml"
    p.write_bytes(b"\xef\xbb\xbf" + example_text.encode())
    assert load_process(p).id == "legal-advice"


def test_schema_describes_every_key() -> None:
    schema = process_schema()
    assert schema["$schema"].startswith("https://json-schema.org/")
    assert set(schema["required"]) == {"flowmap", "id", "steps"}
    step_keys = set(schema["$defs"]["StepDoc"]["properties"])
    assert {"id", "label", "lane", "start", "end", "events", "target", "typical"} <= step_keys
    assert {"from", "to", "within"} <= set(schema["$defs"]["TargetDoc"]["properties"])
    items = schema["properties"]["transitions"]["items"]["anyOf"]
    assert items[0]["type"] == "string"
    assert schema["$defs"]["StepDoc"]["additionalProperties"] is False


def test_checked_in_schema_is_current() -> None:
    from flowmap.files.process import schema_json

    path = ROOT / "docs" / "schema" / "process-1.json"
    assert path.read_text(encoding="utf-8") == schema_json(process_schema()), "run `make docs`"
