"""Durations people write: days, working days, weeks, months (counted as statutory timescales are)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from flowmap.analysis.replay import replay
from flowmap.errors import SpecError
from flowmap.files.process import parse_process
from flowmap.model.clock import add_months


def dates(*xs: str) -> np.ndarray:  # type: ignore[type-arg]
    return np.array(xs, dtype="M8[ns]")


@pytest.mark.parametrize("clock", ["calendar_days", "working_days"])
def test_month_ends_roll_back_to_the_last_day_of_the_month(clock: str) -> None:
    # 28 Feb 2025 is a Friday and 29 Feb 2024 a Thursday: working days both, so both clocks agree.
    got = add_months(dates("2025-01-31", "2024-01-31", "2024-11-30", "2023-11-30"), 1, clock=clock)
    assert [str(d)[:10] for d in got[:2]] == ["2025-02-28", "2024-02-29"]
    got3 = add_months(dates("2024-11-30", "2023-11-30"), 3, clock=clock)
    assert [str(d)[:10] for d in got3] == ["2025-02-28", "2024-02-29"]


def test_on_a_working_day_clock_a_due_date_that_is_not_a_working_day_moves_to_the_next() -> None:
    # 31 March + 2 months = 31 May 2025, a Saturday: due Monday 2 June. 25 Nov + 1 month = Christmas Day,
    # then Boxing Day (Scottish bank holidays) and a weekend: due Monday 29 December.
    assert str(add_months(dates("2025-03-31"), 2, clock="working_days")[0])[:10] == "2025-06-02"
    assert str(add_months(dates("2025-11-25"), 1, clock="working_days")[0])[:10] == "2025-12-29"
    assert str(add_months(dates("2025-03-31"), 2)[0])[:10] == "2025-05-31"


PROCESS = """\
flowmap: 1
id: m
title: Months
clock: {clock}
steps:
  - {{id: a, start: true, target: "{step}"}}
  - {{id: b, end: true}}
transitions: [a -> b]
targets:
  - {{id: ab, from: a, to: b, within: "{within}"}}
"""


def statuses(clock: str, within: str, rows: list[tuple[str, str, str]], step: str = "1 week") -> dict[str, str]:
    p = parse_process(PROCESS.format(clock=clock, within=within, step=step))
    ev = pd.DataFrame(rows, columns=["case_id", "event", "timestamp"]).assign(
        timestamp=lambda f: pd.to_datetime(f["timestamp"])
    )
    spans = replay(p, ev, as_of="2025-06-30").spans
    return dict(zip(spans["case_id"].astype(str), spans["status"].astype(str), strict=True))


def test_a_target_in_months_is_met_up_to_the_same_day_months_later() -> None:
    rows = [("1", "a", "2025-01-31"), ("1", "b", "2025-02-28"),   # 1 month from 31 Jan is 28 Feb: met
            ("2", "a", "2025-01-31"), ("2", "b", "2025-03-01"),   # a day later: missed
            ("3", "a", "2025-03-15"), ("3", "b", "2025-04-15"),   # the same day a month later: met
            ("4", "a", "2025-03-15"), ("4", "b", "2025-04-16")]  # fmt: skip
    assert statuses("calendar_days", "1 month", rows) == {"1": "met", "2": "missed", "3": "met", "4": "missed"}
    # On a working-day clock, 31 May 2025 (Saturday) rolls to Monday 2 June: met on the 2nd, not the 3rd.
    rows = [("1", "a", "2025-03-31"), ("1", "b", "2025-06-02"), ("2", "a", "2025-03-31"), ("2", "b", "2025-06-03")]
    assert statuses("working_days", "2 months", rows) == {"1": "met", "2": "missed"}


def test_weeks_and_working_days_are_days_of_the_clock() -> None:
    cal = parse_process(PROCESS.format(clock="calendar_days", within="6 weeks", step="2 weeks"))
    assert cal.target("ab").within == 42 and cal.step("a").target == 14
    work = parse_process(PROCESS.format(clock="working_days", within="10 working days", step="2 weeks"))
    assert work.target("ab").within == 10 and work.step("a").target == 10
    months = parse_process(PROCESS.format(clock="calendar_days", within="3 months", step="3 months"))
    assert months.target("ab").within_months == 3 and months.target("ab").bound_text == "within 3 months"
    assert months.step("a").target_months == 3


def test_a_step_target_in_months_allows_the_days_of_each_visits_own_months() -> None:
    p = parse_process(PROCESS.format(clock="calendar_days", within="1 month", step="1 month"))
    ev = pd.DataFrame([("1", "a", "2025-01-31"), ("1", "b", "2025-03-01"), ("2", "a", "2025-03-31"),
                       ("2", "b", "2025-04-30")], columns=["case_id", "event", "timestamp"])  # fmt: skip
    v = replay(p, ev.assign(timestamp=pd.to_datetime(ev["timestamp"])), as_of="2025-06-30").visits
    a = v[v["step"].astype(str) == "a"].set_index(v["case_id"].astype(str)[v["step"].astype(str) == "a"])
    # 31 Jan + 1 month = 28 Feb: 28 days allowed, 29 taken: 1 over. 31 Mar + 1 month = 30 Apr: 30 allowed.
    assert a.loc["1", "target"] == 28 and a.loc["1", "days_over"] == 1
    assert a.loc["2", "target"] == 30 and a.loc["2", "days_over"] == 0


@pytest.mark.parametrize(
    ("within", "message"),
    [
        ("3 moths", "did you mean 'months'"),
        ("1.5 months", "months must be whole"),
        ("10 working days", "needs a working-day clock"),
        ("0", "allows no time at all"),
        ("-1", "must be at least 0"),
    ],
)
def test_bad_durations_are_refused_with_their_place(within: str, message: str) -> None:
    text = PROCESS.format(clock="calendar_days", within=within, step="1 week")
    if within.lstrip("-").isdigit():
        text = text.replace(f'"{within}"', within)
    with pytest.raises(SpecError, match=message):
        parse_process(text)
