"""Replay semantics (docs/semantics.md, "Replay"), one hand-worked case per rule."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from flowmap.analysis.metrics import audit, drift
from flowmap.analysis.replay import replay
from flowmap.errors import EventDataError, FlowmapError
from flowmap.files.process import parse_process

CAL = """\
flowmap: 1
id: t
clock: calendar_days
steps:
  - {id: a, start: true, target: 3, events: [a, "start  here"]}
  - {id: b, target: 5}
  - {id: c}
  - {id: d, end: true}
  - {id: x, end: true}
transitions: [a -> b, b -> c, c -> b, c -> d, a -> x]
targets:
  - {id: a_to_d, from: a, to: d, within: 10}
  - {id: b_to_c, from: b, to: c, within: 2}
  - {id: lead, from: c, to: d, at_least: 3}
"""


def events(rows: list[tuple[str, str, str]]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "case_id": [r[0] for r in rows],
            "event": [r[1] for r in rows],
            "timestamp": pd.to_datetime([r[2] for r in rows]),
        }
    )


@pytest.fixture
def proc():  # type: ignore[no-untyped-def]
    return parse_process(CAL)


def test_names_match_ignoring_case_and_spaces(proc) -> None:  # type: ignore[no-untyped-def]
    r = replay(proc, events([("1", "  START here ", "2025-01-01"), ("1", "B", "2025-01-02")]))
    assert list(r.visits["step"].astype(str)) == ["a", "b"]


def test_explicit_events_replace_the_default_names() -> None:
    p = parse_process(
        "flowmap: 1\nid: t\nsteps: [{id: a, label: Alpha, events: [go]}, {id: b}]\ntransitions: [a -> b]\n"
    )
    r = replay(p, events([("1", "go", "2025-01-01"), ("1", "a", "2025-01-02"), ("1", "Alpha", "2025-01-03")]))
    assert r.ledger.used == 1  # 'a' and 'Alpha' are not names of step a once it lists its events


def test_consecutive_events_of_one_step_are_one_visit(proc) -> None:  # type: ignore[no-untyped-def]
    r = replay(proc, events([("1", "a", "2025-01-01"), ("1", "a", "2025-01-03"), ("1", "b", "2025-01-05")]))
    v = r.visits_table()
    assert list(v["step"].astype(str)) == ["a", "b"]
    assert v.loc[0, "days"] == 4  # from the first a (entry), not the last


def test_rework_loop_makes_a_second_visit(proc) -> None:  # type: ignore[no-untyped-def]
    r = replay(
        proc,
        events([("1", "a", "2025-01-01"), ("1", "b", "2025-01-02"), ("1", "c", "2025-01-04"),
                ("1", "b", "2025-01-05"), ("1", "c", "2025-01-12"), ("1", "d", "2025-01-13")]),
    )  # fmt: skip
    v = r.visits_table()
    assert list(zip(v["step"].astype(str), v["visit"], strict=True)) == [
        ("a", 1), ("b", 1), ("c", 1), ("b", 2), ("c", 2), ("d", 1)
    ]  # fmt: skip
    assert list(v["days"].iloc[:5]) == [1, 2, 1, 7, 1]
    assert v.loc[3, "days_over"] == 2  # second visit to b: 7 days against 5
    assert np.isnan(v.loc[5, "days"])  # an end step has no duration
    assert r.cases.loc[0, "status"] == "complete"
    assert r.cases_table().loc[0, "path"] == "a>b>c>b>c>d"
    assert r.cases.loc[0, "deviations"] == 0


def test_same_day_ties_follow_step_order_then_input_order(proc) -> None:  # type: ignore[no-untyped-def]
    # b is listed after a, so on the same day a comes first whatever the input order.
    r = replay(proc, events([("1", "b", "2025-01-01"), ("1", "a", "2025-01-01"), ("1", "c", "2025-01-02")]))
    assert list(r.visits["step"].astype(str)) == ["a", "b", "c"]
    assert r.cases.loc[0, "deviations"] == 0


def test_open_case_runs_to_as_of_and_stalls_past_target(proc) -> None:  # type: ignore[no-untyped-def]
    r = replay(proc, events([("1", "a", "2025-01-01"), ("1", "b", "2025-01-02"), ("2", "a", "2025-01-09")]),
               as_of="2025-01-10")  # fmt: skip
    c = r.cases_table().set_index("case_id")
    assert c.loc["1", "status"] == "stalled"  # 8 days in b, target 5
    assert c.loc["1", "days_in_step"] == 8
    assert c.loc["1", "days_over"] == 3
    assert c.loc["2", "status"] == "open"  # 1 day in a, target 3
    v = r.visits_table()
    assert pd.isna(v.loc[1, "left"])


def test_as_of_defaults_to_latest_event_date(proc) -> None:  # type: ignore[no-untyped-def]
    r = replay(proc, events([("1", "a", "2025-01-01T10:00"), ("1", "b", "2025-01-07T15:00")]))
    assert r.as_of == pd.Timestamp("2025-01-07")
    # entered later on the as-of date: zero days, not negative
    assert r.cases.loc[0, "days_in_step"] == 0


def test_events_after_as_of_are_set_aside_in_the_ledger(proc) -> None:  # type: ignore[no-untyped-def]
    r = replay(proc, events([("1", "a", "2025-01-01"), ("1", "b", "2025-02-01")]), as_of="2025-01-15")
    assert r.ledger.used == 1
    (aside,) = r.ledger.set_aside
    assert aside.reason == "after_as_of"
    assert aside.first == (2,)


def test_unexpected_transition_and_start(proc) -> None:  # type: ignore[no-untyped-def]
    r = replay(proc, events([("1", "a", "2025-01-01"), ("1", "c", "2025-01-02"), ("2", "b", "2025-01-01")]))
    d = r.deviations
    assert list(d["deviation"]) == ["unexpected_transition", "unexpected_start"]
    assert (d.loc[0, "from"], d.loc[0, "to"]) == ("a", "c")
    assert d.loc[1, "to"] == "b"
    assert list(r.cases["deviations"]) == [1, 1]
    edges = drift(r).edges
    assert list(edges.loc[edges["from"] == "a", "declared"]) == [False]


def test_working_days_across_christmas() -> None:
    p = parse_process(CAL.replace("clock: calendar_days", "clock: working_days"))
    r = replay(p, events([("1", "a", "2024-12-23"), ("1", "b", "2024-12-30"), ("1", "d", "2025-01-06")]))
    v = r.visits_table()
    assert list(v["days"].iloc[:2]) == [3, 3]  # 25, 26 Dec and 1, 2 Jan are Scottish holidays


def test_span_targets_met_missed_overdue_running_void(proc) -> None:  # type: ignore[no-untyped-def]
    r = replay(
        proc,
        events([
            ("met", "a", "2025-01-01"), ("met", "d", "2025-01-05"),
            ("missed", "a", "2025-01-01"), ("missed", "b", "2025-01-02"), ("missed", "c", "2025-01-08"),
            ("missed", "d", "2025-01-20"),
            ("overdue", "a", "2025-01-01"), ("overdue", "b", "2025-01-02"),
            ("running", "a", "2025-01-25"),
            ("void", "a", "2025-01-01"), ("void", "x", "2025-01-02"),
        ]),
        as_of="2025-01-30",
    )  # fmt: skip
    s = r.spans[r.spans["target"] == "a_to_d"].set_index("case_id")
    assert s.loc["met", "status"] == "met" and s.loc["met", "days"] == 4
    assert s.loc["missed", "status"] == "missed" and s.loc["missed", "days"] == 19
    assert s.loc["overdue", "status"] == "overdue"
    assert s.loc["running", "status"] == "running"
    assert s.loc["void", "status"] == "void"
    t = drift(r).targets.set_index("target")
    row = t.loc["a_to_d"]
    assert (row["met"], row["missed"], row["overdue"], row["running"], row["void"]) == (1, 1, 1, 1, 1)
    assert row["met_rate"] == pytest.approx(1 / 3)
    assert row["median_days"] == pytest.approx(11.5)  # over stopped clocks: 4 and 19
    lead = t.loc["lead"]
    assert lead["met"] == 1 and lead["missed"] == 0  # c to d in 12 days, at least 3
    assert drift(r).targets.loc[0, "target"] == "a_to_d"  # declared order


def test_span_stops_at_first_entry_after_the_start(proc) -> None:  # type: ignore[no-untyped-def]
    # c before the first b does not stop the b->c clock
    p = parse_process(CAL.replace("transitions: [a -> b,", "transitions: [a -> c, a -> b,"))
    r = replay(p, events([("1", "a", "2025-01-01"), ("1", "c", "2025-01-02"), ("1", "b", "2025-01-03"),
                          ("1", "c", "2025-01-04")]))  # fmt: skip
    s = r.spans.set_index("target")
    assert s.loc["b_to_c", "days"] == 1
    assert s.loc["b_to_c", "started"] == pd.Timestamp("2025-01-03")


def test_drift_counts_open_visits_but_medians_only_completed(proc) -> None:  # type: ignore[no-untyped-def]
    r = replay(
        proc,
        events([("1", "a", "2025-01-01"), ("1", "b", "2025-01-03"), ("1", "c", "2025-01-10"),
                ("2", "a", "2025-01-01"), ("2", "b", "2025-01-02")]),
        as_of="2025-01-20",
    )  # fmt: skip
    steps = drift(r).steps.set_index("step")
    b = steps.loc["b"]
    assert b["visits"] == 2 and b["cases"] == 2
    assert b["median_days"] == 7  # completed visit only; the open one has 18 days
    assert b["breaches"] == 2
    assert b["excess_days"] == 2 + 13
    assert b["breach_rate"] == 1.0
    assert "d" not in steps.index and "x" not in steps.index  # end steps have no row
    assert drift(r).steps["step"].iloc[0] == "b"  # ranked by excess days


def test_audit_lists_open_cases_most_over_first(proc) -> None:  # type: ignore[no-untyped-def]
    r = replay(
        proc,
        events([("1", "a", "2025-01-01"), ("1", "b", "2025-01-02"), ("2", "a", "2025-01-10"),
                ("3", "a", "2025-01-01"), ("3", "d", "2025-01-03")]),
        as_of="2025-01-20",
    )  # fmt: skip
    a = audit(r)
    assert list(a["case_id"]) == ["1", "2"]
    assert list(a["days_over"]) == [13, 7]
    assert a.loc[0, "overdue_targets"] == "a_to_d;b_to_c"
    assert a.loc[1, "overdue_targets"] == ""


def test_a_case_with_only_unknown_events_is_set_aside(proc) -> None:  # type: ignore[no-untyped-def]
    r = replay(proc, events([("1", "a", "2025-01-01"), ("2", "nope", "2025-01-01"), ("2", "nada", "2025-01-02")]))
    assert list(r.cases["case_id"]) == ["1"]
    (aside,) = r.ledger.set_aside
    assert (aside.reason, aside.count, aside.first) == ("unknown_event", 2, (2, 3))
    assert set(aside.examples) == {"nope", "nada"}


def test_no_matching_event_at_all_is_an_error(proc) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(EventDataError, match=r"nothing in it matches a step of process 't'.*'zzz'.*right process file"):
        replay(proc, events([("1", "zzz", "2025-01-01")]))


def test_bad_as_of(proc) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(FlowmapError, match="as-of date"):
        replay(proc, events([("1", "a", "2025-01-01")]), as_of="next tuesday")
