"""What falls due next: hand-worked due dates for a step target and a span target, on both clocks."""

from __future__ import annotations

import pandas as pd
import pytest
from click.testing import CliRunner

from flowmap.analysis.metrics import AUDIT_COLUMNS, audit
from flowmap.analysis.replay import replay
from flowmap.cli import cli
from flowmap.errors import FlowmapError
from flowmap.files.process import parse_process

from .conftest import PROCESSES, ROOT

PROCESS = """\
flowmap: 1
id: due
title: Due
clock: {clock}
steps:
  - {{id: a, start: true, target: 5}}
  - {{id: b, target: 3}}
  - {{id: c, end: true}}
transitions: [a -> b, b -> c]
targets:
  - {{id: a_to_c, from: a, to: c, within: 10}}
  - {{id: lead, from: b, to: c, at_least: 2}}
"""
EVENTS = pd.DataFrame(
    [("1", "a", "2025-03-03"),                                               # Monday; still at a
     ("2", "a", "2025-02-20"), ("2", "b", "2025-02-25"),                     # at b since Tuesday 25th
     ("3", "a", "2025-02-03"), ("3", "b", "2025-02-04"), ("3", "c", "2025-02-05")],  # complete: no row
    columns=["case_id", "event", "timestamp"],
).assign(timestamp=lambda f: pd.to_datetime(f["timestamp"]))  # fmt: skip


def rows(clock: str, **kw: float) -> list[tuple[str, str, str, float]]:
    result = replay(parse_process(PROCESS.format(clock=clock)), EVENTS, as_of="2025-03-05")
    t = audit(result, **kw)
    return [(r.case_id, r.next_due_target, str(r.due_date.date()), r.days_left) for r in t.itertuples()]


def test_calendar_days() -> None:
    # Case 1: step a due 3 + 5 = 8 March, 3 days left; its span is due 13 March (8 left), later.
    # Case 2: step b due 25 Feb + 3 = 28 Feb, 8 days in it: 5 over; the span (20 Feb + 10 = 2 March) is 3 over.
    assert sorted(rows("calendar_days")) == [("1", "a", "2025-03-08", 3.0), ("2", "b", "2025-02-28", -5.0)]


def test_working_days() -> None:
    # Case 1: Monday 3 March + 5 working days = Monday 10 March; 2 working days in, 3 left.
    # Case 2: step b: Tuesday 25 Feb + 3 = Friday 28 Feb; 6 working days in: 3 over. The span:
    # Thursday 20 Feb + 10 working days = Thursday 6 March, 9 working days in: 1 left. The step is first.
    assert sorted(rows("working_days")) == [("1", "a", "2025-03-10", 3.0), ("2", "b", "2025-02-28", -3.0)]


def test_due_within_keeps_the_soon_and_the_overdue_soonest_first() -> None:
    assert rows("calendar_days", due_within=0) == [("2", "b", "2025-02-28", -5.0)]
    assert [r[0] for r in rows("calendar_days", due_within=3)] == ["2", "1"]
    with pytest.raises(FlowmapError, match="--due-within must be 0 or more"):
        rows("calendar_days", due_within=-1)


def test_a_span_target_can_fall_due_first() -> None:
    # Without step targets, case 2's next is the span: 2 March, 3 days over; case 1's is 13 March.
    plain = PROCESS.replace(", target: 5", "").replace(", target: 3", "")
    result = replay(parse_process(plain.format(clock="calendar_days")), EVENTS, as_of="2025-03-05")
    t = audit(result)
    got = {r.case_id: (r.next_due_target, str(r.due_date.date()), r.days_left) for r in t.itertuples()}
    assert got == {"1": ("a_to_c", "2025-03-13", 8.0), "2": ("a_to_c", "2025-03-02", -3.0)}


def test_the_cli_lists_what_falls_due(tmp_path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "due.csv"
    args = ["audit", str(PROCESSES / "legal-advice.yaml"), str(ROOT / "examples" / "data" / "legal-advice-tracker.csv")]
    res = CliRunner().invoke(cli, [*args, "--due-within", "10", "-o", str(out)])
    assert res.exit_code == 0, res.output
    table = pd.read_csv(out)
    assert list(table.columns) == AUDIT_COLUMNS and len(table) >= 1
    assert table["days_left"].is_monotonic_increasing and (table["days_left"] <= 10).all()
    bad = CliRunner().invoke(cli, [*args, "--due-within", "-1"])
    assert bad.exit_code != 0 and "Traceback" not in bad.output and "0 or more" in bad.output


def test_replay_case_shows_each_clock_in_words_on_both_clocks(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from flowmap.analysis.metrics import CLOCK_COLUMNS, case_journey

    cal = replay(parse_process(PROCESS.format(clock="calendar_days")), EVENTS, as_of="2025-03-05")
    clocks = case_journey(cal, "2").clocks
    assert list(clocks.columns) == CLOCK_COLUMNS
    # 20 Feb + 10 days = 2 March; 13 days on the clock by 5 March
    assert clocks.set_index("target").loc["a_to_c", "reading"] == "overdue by 3 days (due 2025-03-02)"
    assert clocks.set_index("target").loc["lead", "reading"] == "running: 8 days so far (at least 2)"
    work = replay(parse_process(PROCESS.format(clock="working_days")), EVENTS, as_of="2025-03-05")
    got = case_journey(work, "2").clocks.set_index("target").loc["a_to_c", "reading"]
    assert got == "running: 1 working day left (due 2025-03-06)"
    done = case_journey(cal, "3").clocks.set_index("target")
    assert done.loc["a_to_c", "reading"] == "met: 2 days (within 10 days)"

    out = tmp_path / "clocks.csv"
    tracker = ROOT / "examples" / "data" / "legal-advice-tracker.csv"
    args = ["replay", str(PROCESSES / "legal-advice.yaml"), str(tracker)]
    res = CliRunner().invoke(cli, [*args, "--case", "child 40", "-o", str(out)])
    assert res.exit_code == 0, res.output
    assert "case Child 40 is open" in res.output and "overdue by 2 working days (due 2025-10-23)" in res.output
    assert pd.read_csv(out)["case_id"].eq("Child 40").all()
    missing = CliRunner().invoke(cli, [*args, "--case", "child 400"])
    assert missing.exit_code != 0 and "40 cases" in missing.output and "Traceback" not in missing.output
