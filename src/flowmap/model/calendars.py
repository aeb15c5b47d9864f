"""The names of clocks and calendars, and how they read: the one source for both.

Light on purpose (no numpy), so that process files can be validated and
described without loading the clock arithmetic in :mod:`flowmap.model.clock`.
"""

from __future__ import annotations

from typing import Literal, get_args

__all__ = ["CALENDARS", "CALENDAR_SUBDIVISIONS", "CLOCKS", "Calendar", "Clock", "clock_name", "days_word"]

Clock = Literal["calendar_days", "working_days"]
"""How days are counted: elapsed calendar days, or working days (weekdays less bank holidays)."""

CLOCKS: tuple[str, ...] = get_args(Clock)

Calendar = Literal["scotland", "england-wales", "northern-ireland", "none"]
"""Whose bank holidays a working-day clock leaves out."""

CALENDARS: tuple[str, ...] = get_args(Calendar)

CALENDAR_SUBDIVISIONS: dict[str, str | None] = {
    "scotland": "SCT",
    "england-wales": "ENG",
    "northern-ireland": "NIR",
    "none": None,
}
"""Calendar name -> its UK subdivision code in the ``holidays`` package."""


def clock_name(clock: str) -> str:
    """The clock in words: ``working days`` or ``calendar days`` ("days are working days").

    Examples
    --------
    >>> clock_name("working_days"), clock_name("calendar_days")
    ('working days', 'calendar days')
    """
    return "working days" if clock == "working_days" else "calendar days"


def days_word(clock: str) -> str:
    """The unit after a number of days in this clock: ``working days`` or just ``days``.

    Examples
    --------
    >>> f"8 {days_word('working_days')}", f"14 {days_word('calendar_days')}"
    ('8 working days', '14 days')
    """
    return "working days" if clock == "working_days" else "days"
