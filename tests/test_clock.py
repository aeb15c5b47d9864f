"""Working-day and calendar-day clocks against hand-worked dates (docs/semantics.md, "Replay")."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from flowmap.errors import FlowmapError
from flowmap.model.clock import add_days, clock_days


def wd(a: str, b: str, calendar: str = "scotland") -> float:
    return float(clock_days(np.datetime64(a), np.datetime64(b), clock="working_days", calendar=calendar)[()])


@pytest.mark.parametrize(
    ("start", "end", "expected", "why"),
    [
        ("2024-12-23", "2024-12-30", 3, "Mon 23 to Mon 30: 23, 24, 27; 25 and 26 Dec are holidays"),
        ("2024-12-30", "2025-01-06", 3, "30, 31 Dec, 3 Jan; 1 and 2 Jan are Scottish holidays"),
        ("2025-12-29", "2026-01-05", 2, "29, 30, 31 Dec count? 31 Dec yes: 29, 30, 31 minus none... see below"),
        ("2024-11-29", "2024-12-03", 1, "Fri 29 Nov; 30 Nov is a Saturday, so Mon 2 Dec is the substitute"),
        ("2025-11-28", "2025-12-02", 1, "Fri 28 Nov; St Andrew's Day on Sunday 30th, substitute Mon 1 Dec"),
        ("2026-11-27", "2026-12-01", 1, "Fri 27 Nov, Mon 30 Nov is St Andrew's Day itself"),
        ("2025-01-06", "2025-01-06", 0, "same day: an empty interval"),
        ("2025-01-04", "2025-01-06", 0, "Saturday to Monday: no working day in [Sat, Mon)"),
        ("2025-01-06", "2025-01-13", 5, "a plain week"),
    ],
)
def test_working_days_scotland(start: str, end: str, expected: int, why: str) -> None:
    if start == "2025-12-29":
        # 29, 30, 31 Dec are working days; 1 and 2 Jan 2026 are holidays: three.
        expected = 3
    assert wd(start, end) == expected, why


def test_england_keeps_2_january_and_st_andrews_day() -> None:
    assert wd("2024-12-30", "2025-01-06", "england-wales") == 4  # 30, 31, 2, 3 Jan
    assert wd("2025-11-28", "2025-12-02", "england-wales") == 2  # Fri 28, Mon 1 Dec
    assert wd("2024-12-23", "2024-12-30", "none") == 5


def test_calendar_days_are_elapsed_time() -> None:
    start = np.array(["2025-01-01T09:00", "2025-03-01", "NaT"], dtype="M8[ns]")
    end = np.array(["2025-01-02T21:00", "2025-03-31", "2025-01-01"], dtype="M8[ns]")
    out = clock_days(start, end)
    assert out[0] == pytest.approx(1.5)
    assert out[1] == 30
    assert np.isnan(out[2])


def test_vectorised_over_arrays_with_missing_values() -> None:
    start = np.array(["2024-12-23", "NaT", "2024-12-30"], dtype="M8[ns]")
    end = np.array(["2024-12-30", "2025-01-01", "2025-01-06"], dtype="M8[ns]")
    out = clock_days(start, end, clock="working_days")
    assert out[0] == 3 and np.isnan(out[1]) and out[2] == 3


def test_unknown_clock_or_calendar() -> None:
    with pytest.raises(FlowmapError, match="unknown clock"):
        clock_days(np.datetime64("2025-01-01"), np.datetime64("2025-01-02"), clock="hours")
    with pytest.raises(FlowmapError, match="unknown calendar 'mars'"):
        clock_days(np.datetime64("2025-01-01"), np.datetime64("2025-01-02"), clock="working_days", calendar="mars")


@given(
    st.dates(min_value=__import__("datetime").date(2015, 1, 1), max_value=__import__("datetime").date(2035, 1, 1)),
    st.integers(0, 400),
)
def test_add_days_inverts_clock_days(start: object, n: int) -> None:
    s = np.datetime64(start, "ns")
    for clock in ("calendar_days", "working_days"):
        end = add_days(s, n, clock=clock)
        back = clock_days(s, end, clock=clock)
        assert float(back[()]) == n
