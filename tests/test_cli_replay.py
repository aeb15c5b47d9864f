"""check, replay, audit, drift and discover through the command line, on the bundled example data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from flowmap.cli import cli

from .conftest import PROCESSES, ROOT, golden

LEGAL = str(PROCESSES / "legal-advice.yaml")
PERM = str(PROCESSES / "permanence-order.yaml")
TRACKER = str(ROOT / "examples" / "data" / "legal-advice-tracker.csv")
PERM_EVENTS = str(ROOT / "examples" / "data" / "permanence-events.csv")


def ok(runner: CliRunner, *args: str) -> str:
    result = runner.invoke(cli, list(args))
    assert result.exit_code == 0, result.output
    return result.stdout


def test_check_prints_the_ledger(runner: CliRunner) -> None:
    out = ok(runner, "check", TRACKER, "--process", LEGAL)
    assert "wide tracker (one row per case)" in out
    assert "40 cases" in out
    assert "320 step cells read = 259 used + 61 not dated yet + 0 set aside" in out
    assert "usable: yes" in out


def test_check_unusable_data_exits_1(runner: CliRunner, tmp_path: Path) -> None:
    p = tmp_path / "e.csv"
    p.write_text("case_id,event,date\n,a,2025-01-01\n")
    result = runner.invoke(cli, ["check", str(p)])
    assert result.exit_code == 1
    assert "1 no case id: 'case_id' line 2" in result.stdout
    assert "usable: no" in result.stdout


@pytest.mark.parametrize(
    ("process", "events", "name"),
    [(LEGAL, TRACKER, "legal-advice"), (PERM, PERM_EVENTS, "permanence-order")],
)
def test_outputs_match_golden_files(runner: CliRunner, tmp_path: Path, process: str, events: str, name: str) -> None:
    ok(runner, "audit", process, events, "-o", str(tmp_path / "audit.csv"))
    ok(runner, "drift", process, events, "-o", str(tmp_path / "steps.csv"), "--targets", str(tmp_path / "targets.csv"),
       "--edges", str(tmp_path / "edges.csv"))  # fmt: skip
    ok(runner, "replay", process, events, "-o", str(tmp_path / "cases.csv"), "--visits", str(tmp_path / "visits.csv"))
    for part in ("audit", "steps", "targets", "edges", "cases", "visits"):
        golden(f"{name}-{part}.csv", (tmp_path / f"{part}.csv").read_text(encoding="utf-8"))


def test_terminal_output_has_as_of_and_ledger_on_top(runner: CliRunner) -> None:
    out = ok(runner, "audit", PERM, PERM_EVENTS, "--as-of", "2025-06-30")
    first = out.splitlines()[:3]
    assert first[0].startswith("Permanence Order, from looked after to order granted: as of 2025-06-30")
    assert "read =" in first[1] and "set aside" in first[1]
    assert "after the as-of date" in out


def test_json_to_stdout(runner: CliRunner) -> None:
    doc = json.loads(ok(runner, "drift", LEGAL, TRACKER, "--json"))
    assert doc["flowmap"] == "drift/1"
    assert doc["as_of"] == "2025-10-27"
    assert {"steps", "targets", "edges", "ledger"} <= set(doc)
    turnaround = next(t for t in doc["targets"] if t["target"] == "legal_turnaround")
    assert 0 <= turnaround["met_rate"] <= 1


def test_pseudonymise_replaces_ids_in_every_output(runner: CliRunner, tmp_path: Path) -> None:
    ok(runner, "replay", LEGAL, TRACKER, "--pseudonymise", "k", "-o", str(tmp_path / "c.csv"),
       "--visits", str(tmp_path / "v.csv"))  # fmt: skip
    out = ok(runner, "audit", LEGAL, TRACKER, "--pseudonymise", "k", "--json")
    for text in ((tmp_path / "c.csv").read_text(), (tmp_path / "v.csv").read_text(), out):
        assert "Child " not in text
        assert "P-" in text
    again = ok(runner, "audit", LEGAL, TRACKER, "--pseudonymise", "k", "--json")
    assert again == out


def test_xlsx_and_json_outputs(runner: CliRunner, tmp_path: Path) -> None:
    from openpyxl import load_workbook

    ok(runner, "audit", PERM, PERM_EVENTS, "-o", str(tmp_path / "a.xlsx"))
    ws = load_workbook(tmp_path / "a.xlsx").active
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0][0] == "case_id"
    assert isinstance(rows[1][4], (int, float))  # numbers stay numbers
    ok(runner, "audit", PERM, PERM_EVENTS, "-o", str(tmp_path / "a.json"))
    doc = json.loads((tmp_path / "a.json").read_text())
    assert doc["process"] == "permanence-order" and doc["rows"]


def test_unknown_output_extension_is_an_error(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(cli, ["audit", PERM, PERM_EVENTS, "-o", str(tmp_path / "a.docx")])
    assert result.exit_code == 1
    assert "unknown extension '.docx'" in result.stderr
    assert not (tmp_path / "a.docx").exists()


def test_bad_event_file_is_an_error_not_a_traceback(runner: CliRunner, tmp_path: Path) -> None:
    p = tmp_path / "e.csv"
    p.write_text("who,what,when\nA,x,2025-01-01\n")
    result = runner.invoke(cli, ["replay", LEGAL, str(p), "--case-col", "child"])
    assert result.exit_code == 1
    assert "--case-col names a column 'child' that does not exist" in result.stderr
    assert "'who', 'what', 'when'" in result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_discover_writes_a_valid_draft(runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "draft.yaml"
    ok(runner, "discover", PERM_EVENTS, "-o", str(out))
    result = runner.invoke(cli, ["validate", str(out)])
    assert result.exit_code == 0, result.output
    text = out.read_text()
    assert "looked after" in text and "moves" in text


def test_map_without_and_with_events(runner: CliRunner, tmp_path: Path) -> None:
    out = ok(runner, "map", LEGAL, "-o", str(tmp_path / "plain.svg"), "--renderer", "wasm")
    assert "wrote" in out
    ok(runner, "map", LEGAL, TRACKER, "-o", str(tmp_path / "drift.png"), "--renderer", "wasm")
    assert (tmp_path / "drift.png").read_bytes().startswith(b"\x89PNG")
    ok(runner, "map", LEGAL, TRACKER, "--metric", "time", "--direction", "LR", "--no-lanes", "-o",
       str(tmp_path / "time.mmd"))  # fmt: skip
    assert "flowchart LR" in (tmp_path / "time.mmd").read_text()
    assert "subgraph" not in (tmp_path / "time.mmd").read_text()


def test_map_case_overlay_and_errors(runner: CliRunner, tmp_path: Path) -> None:
    ok(runner, "map", LEGAL, TRACKER, "--case", "Child 2", "-o", str(tmp_path / "c.svg"), "--renderer", "wasm")
    assert "case Child 2 (complete)" in (tmp_path / "c.svg").read_text()
    bad = runner.invoke(cli, ["map", LEGAL, TRACKER, "--case", "Child 99", "-o", str(tmp_path / "x.svg")])
    assert bad.exit_code == 1
    assert "case 'Child 99' is not in the data (40 cases); nearest: 'Child 9'" in bad.stderr
    no_events = runner.invoke(cli, ["map", LEGAL, "--case", "Child 2", "-o", str(tmp_path / "x.svg")])
    assert no_events.exit_code == 1
    assert "need an EVENTS file" in no_events.stderr
    wrong = runner.invoke(cli, ["map", LEGAL, "-o", str(tmp_path / "x.jpg")])
    assert wrong.exit_code == 1
    assert "unknown extension '.jpg'" in wrong.stderr


def test_map_case_by_pseudonym(runner: CliRunner, tmp_path: Path) -> None:
    from flowmap.privacy import pseudonym

    alias = pseudonym("Child 2", "k")
    ok(runner, "map", LEGAL, TRACKER, "--pseudonymise", "k", "--case", alias, "-o", str(tmp_path / "c.svg"),
       "--renderer", "wasm")  # fmt: skip
    text = (tmp_path / "c.svg").read_text()
    assert f"case {alias} (complete)" in text
    assert "Child 2" not in text
