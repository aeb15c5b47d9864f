"""Process clocks: calendar days and working days, with UK holiday calendars.

Two clocks count the days a case spends somewhere (docs/semantics.md, "Replay"):

``calendar_days``
    elapsed time in days (fractional when timestamps carry a time of day,
    whole for date-only data).
``working_days``
    the number of working days in ``[entry date, next entry date)``: Monday
    to Friday, less the calendar's bank holidays.

Calendars come from the ``holidays`` package (UK subdivisions). Both
functions work on whole arrays with numpy's business-day routines; there is no
Python loop per date.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np
import numpy.typing as npt

from flowmap.errors import FlowmapError
from flowmap.model.calendars import CALENDAR_SUBDIVISIONS

__all__ = ["CALENDAR_SUBDIVISIONS", "add_days", "add_months", "allowed_days", "clock_days", "holidays_between"]

_DAY_NS = np.timedelta64(1, "D").astype("m8[ns]").astype(np.int64)


@lru_cache(maxsize=64)
def _holidays(calendar: str, first_year: int, last_year: int) -> npt.NDArray[np.datetime64]:
    if calendar not in CALENDAR_SUBDIVISIONS:
        raise FlowmapError(f"unknown calendar '{calendar}'; use one of {', '.join(CALENDAR_SUBDIVISIONS)}")
    subdiv = CALENDAR_SUBDIVISIONS[calendar]
    if subdiv is None:
        return np.array([], dtype="M8[D]")
    import holidays

    years = range(first_year, last_year + 1)
    days = holidays.country_holidays("GB", subdiv=subdiv, years=years)
    return np.array(sorted(days.keys()), dtype="M8[D]")


def holidays_between(calendar: str, first: Any, last: Any) -> npt.NDArray[np.datetime64]:
    """Bank holidays of ``calendar`` in the years spanned by ``first`` .. ``last``."""
    y0 = int(np.asarray(first).astype("M8[Y]").astype(np.int64)) + 1970
    y1 = int(np.asarray(last).astype("M8[Y]").astype(np.int64)) + 1970
    return _holidays(calendar, y0, y1)


def _as_ns(values: Any) -> npt.NDArray[np.datetime64]:
    arr = np.asarray(values)
    return arr.astype("M8[ns]", copy=False)


def _year_span(*arrays: npt.NDArray[np.datetime64]) -> tuple[np.datetime64, np.datetime64] | None:
    stacked = np.concatenate([a.ravel() for a in arrays])
    stacked = stacked[~np.isnat(stacked)]
    if stacked.size == 0:
        return None
    return stacked.min(), stacked.max()


def clock_days(
    start: Any,
    end: Any,
    *,
    clock: str = "calendar_days",
    calendar: str = "scotland",
    offsets: tuple[Any, Any] | None = None,
) -> npt.NDArray[np.float64]:
    """Days from ``start`` to ``end`` on a process clock, element-wise.

    Parameters
    ----------
    start, end
        Arrays (or scalars) of local, naive timestamps; NaT gives NaN.
    clock
        ``"calendar_days"`` or ``"working_days"``.
    calendar
        Holiday calendar for working days: ``scotland``, ``england-wales``,
        ``northern-ireland`` or ``none`` (weekends only).
    offsets
        The UTC offsets (nanoseconds, local minus UTC) of ``start`` and ``end``,
        when the times are instants: calendar days are then elapsed time, so a
        day across a clock change is 24 hours, not 23 or 25. Working days count
        local dates and ignore them.

    Returns
    -------
    numpy.ndarray of float

    Examples
    --------
    Christmas week 2024 in Scotland: 25 and 26 December are holidays, so from
    Monday 23rd to Monday 30th is 3 working days (23, 24, 27).

    >>> float(clock_days(np.datetime64("2024-12-23"), np.datetime64("2024-12-30"), clock="working_days")[()])
    3.0
    >>> float(clock_days(np.datetime64("2024-12-23T12:00"), np.datetime64("2024-12-24"))[()])
    0.5
    """
    s = _as_ns(start)
    e = _as_ns(end)
    s, e = np.broadcast_arrays(s, e)
    missing = np.isnat(s) | np.isnat(e)
    if clock == "calendar_days":
        elapsed = e.view(np.int64) - s.view(np.int64)
        if offsets is not None:
            elapsed = elapsed - (np.asarray(offsets[1], dtype=np.int64) - np.asarray(offsets[0], dtype=np.int64))
        return np.where(missing, np.nan, elapsed / _DAY_NS)
    if clock != "working_days":
        raise FlowmapError(f"unknown clock '{clock}'; use calendar_days or working_days")
    out = np.full(s.shape, np.nan)
    if missing.all():
        return out
    span = _year_span(s, e)
    assert span is not None
    hol = holidays_between(calendar, *span)
    ok = ~missing
    sd = s[ok].astype("M8[D]")
    ed = e[ok].astype("M8[D]")
    out[ok] = np.busday_count(sd, ed, holidays=hol).astype(np.float64)
    return out


def add_days(
    start: Any,
    days: Any,
    *,
    clock: str = "calendar_days",
    calendar: str = "scotland",
) -> npt.NDArray[np.datetime64]:
    """The date ``days`` clock-days after ``start`` (the inverse of :func:`clock_days`).

    For working days, ``days`` is rounded to whole days and the result is the
    working day on which that many working days have passed (so
    ``clock_days(start, add_days(start, n)) == n`` for a working-day start).
    """
    s = _as_ns(start)
    d = np.asarray(days, dtype=np.float64)
    s, d = np.broadcast_arrays(s, d)
    if clock == "calendar_days":
        moved: npt.NDArray[np.datetime64] = (s.astype(np.int64) + np.round(d * _DAY_NS).astype(np.int64)).astype(
            "M8[ns]"
        )
        return moved
    if clock != "working_days":
        raise FlowmapError(f"unknown clock '{clock}'; use calendar_days or working_days")
    if s.size == 0:
        return s.astype("M8[ns]")
    span = _year_span(s)
    assert span is not None
    first, last = span
    # Holidays for the years ahead too: a long stay can run into later years.
    extra = int(np.nanmax(d)) // 200 + 2 if d.size else 2
    hol = holidays_between(calendar, first, last + np.timedelta64(366 * extra, "D"))
    sd = s.astype("M8[D]")
    whole = np.round(d).astype(np.int64)
    rolled = np.busday_offset(sd, 0, roll="forward", holidays=hol)
    out: npt.NDArray[np.datetime64] = np.busday_offset(rolled, whole, roll="forward", holidays=hol).astype("M8[ns]")
    return out


def add_months(
    start: Any,
    months: int,
    *,
    clock: str = "calendar_days",
    calendar: str = "scotland",
) -> npt.NDArray[np.datetime64]:
    """The date ``months`` calendar months after ``start``, as statutory timescales are counted.

    The same day of the month N months later, or that month's last day when
    the day does not exist there (31 January + 1 month = 28 or 29 February).
    On a working-day clock, the next working day when that date is not one.
    Times of day are dropped: a due date is a day.

    Examples
    --------
    >>> [str(d)[:10] for d in add_months(["2025-01-31", "2024-01-31", "2024-11-30"], 1)]
    ['2025-02-28', '2024-02-29', '2024-12-30']
    """
    s = _as_ns(start)
    if s.size == 0:
        return s.astype("M8[ns]")
    day = s.astype("M8[D]")
    month = s.astype("M8[M]")
    offset = (day - month.astype("M8[D]")).astype(np.int64)  # day of the month, from 0
    target = month + np.timedelta64(int(months), "M")
    last = (target + np.timedelta64(1, "M")).astype("M8[D]") - np.timedelta64(1, "D")
    due = np.minimum(target.astype("M8[D]") + offset.astype("m8[D]"), last)
    if clock == "working_days":
        ok = ~np.isnat(due)
        if ok.any():
            span = _year_span(due[ok].astype("M8[ns]"))
            assert span is not None
            hol = holidays_between(calendar, span[0], span[1] + np.timedelta64(31, "D"))
            due[ok] = np.busday_offset(due[ok], 0, roll="forward", holidays=hol)
    elif clock != "calendar_days":
        raise FlowmapError(f"unknown clock '{clock}'; use calendar_days or working_days")
    out: npt.NDArray[np.datetime64] = due.astype("M8[ns]")
    return out


def allowed_days(
    start: Any,
    days: float | None,
    months: int | None,
    *,
    clock: str = "calendar_days",
    calendar: str = "scotland",
) -> npt.NDArray[np.float64]:
    """The clock days a target allows from each start: ``days``, or for a target in months,
    the clock days from the start to :func:`add_months` of it (so a 3-month target allows
    89 to 92 calendar days, depending on the start)."""
    s = _as_ns(start)
    if months is None:
        return np.full(s.shape, np.nan if days is None else float(days))
    return clock_days(s, add_months(s, months, clock=clock, calendar=calendar), clock=clock, calendar=calendar)
