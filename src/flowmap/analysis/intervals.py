"""Visits of an interval log: time at a step split into waiting and working (docs/semantics.md, "Replay").

When a log says when work started as well as when it completed, a case
*arrives* at a step when the work before it completed (its first step: when
that work started), waits until the work at the step starts, and works until
it completes; then it arrives at the next step. So a visit runs from the
previous visit's completion to its own:

    entered = completion of the case's previous visit (first visit: its start)
    working = start of the visit's first instance -> completion of its last
    waiting = days - working (before the work, and after it while a case is open)

The last visit of a case at an end step runs to its completion, so end steps
have times too. Work still in progress at the as-of date runs to it; work in
progress that the case left behind (it went on to another step) ends when the
case moved on. Overlapping instances never count time twice: working time
begins no earlier than the entry.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from flowmap.model.clock import clock_days
from flowmap.model.process import Process

__all__ = ["IntervalVisits", "interval_visits"]

_NAT = np.iinfo(np.int64).min


@dataclass(frozen=True)
class IntervalVisits:
    """Per visit, in case then time order: entry, exit, days, waiting and working; and per case, complete."""

    entered: npt.NDArray[np.datetime64]
    left: npt.NDArray[np.datetime64]
    days: npt.NDArray[np.float64]
    offset: npt.NDArray[np.int64] | None
    waiting: npt.NDArray[np.float64]
    working: npt.NDArray[np.float64]
    complete_case: npt.NDArray[np.bool_]
    open_visit: npt.NDArray[np.bool_]


def interval_visits(
    ev: Any,
    first: npt.NDArray[np.int64],
    last_of_case: npt.NDArray[np.bool_],
    at_end_step: npt.NDArray[np.bool_],
    as_of: pd.Timestamp,
    as_of_offset: int,
    process: Process,
) -> IntervalVisits:
    """Visits from activity instances (``ev``: replay's step events with ``start`` and ``in_progress``;
    ``first``: the index of each visit's first event)."""
    last = np.r_[first[1:] - 1, len(ev.ts) - 1]
    done = ev.ts.view(np.int64).copy()
    done[ev.in_progress] = _NAT
    d_off = ev.offset if ev.offset is not None else np.zeros(len(done), dtype=np.int64)
    s_off = ev.start_offset if ev.start_offset is not None else d_off
    # Each visit's work: from its first instance's start to its latest completion (NaT sorts lowest).
    v_done = np.maximum.reduceat(done, first) if len(first) else done[:0]
    v_done_off = d_off[first + _argmax_reduce(done, first)] if len(first) else d_off[:0]
    v_start = ev.start.view(np.int64)[first]
    v_start_off = s_off[first]
    known_start = v_start != _NAT
    known_done = v_done != _NAT
    # A complete with no start: the work is known only by when it ended.
    v_start = np.where(known_start, v_start, v_done)
    v_start_off = np.where(known_start, v_start_off, v_done_off)
    first_of_case = np.r_[True, ev.case[first][1:] != ev.case[first][:-1]]
    # Entry: the previous visit's completion (else, work in progress left behind, this visit's own start).
    prev_done = np.r_[_NAT, v_done[:-1]]
    prev_off = np.r_[0, v_done_off[:-1]]
    use_prev = ~first_of_case & (prev_done != _NAT)
    entered = np.where(use_prev, prev_done, v_start)
    entered_off = np.where(use_prev, prev_off, v_start_off)
    complete_case = at_end_step[last_of_case] & ~ev.in_progress[last][last_of_case]
    per_case = np.diff(np.r_[np.flatnonzero(first_of_case), len(first)])
    open_visit = last_of_case & ~np.repeat(complete_case, per_case)
    # Exit: the next visit's entry; a complete case's last visit ends at its completion; an open one has none.
    left = np.r_[entered[1:], _NAT]
    left_off = np.r_[entered_off[1:], 0]
    left = np.where(last_of_case, np.where(open_visit, _NAT, v_done), left)
    left_off = np.where(last_of_case, v_done_off, left_off)
    as_of_ns = np.datetime64(as_of, "ns").astype(np.int64)
    end = np.where(open_visit, as_of_ns, left)
    end_off = np.where(open_visit, as_of_offset, left_off)
    offsets = ev.offset is not None

    def days(a: Any, b: Any, oa: Any, ob: Any) -> npt.NDArray[np.float64]:
        return clock_days(a.view("M8[ns]"), b.view("M8[ns]"), clock=process.clock, calendar=process.calendar,
                          offsets=(oa, ob) if offsets else None)  # fmt: skip

    total = np.maximum(days(entered, end, entered_off, end_off), 0.0)
    # Work ends at its completion; work in progress at the as-of date (open) or when the case moved on.
    w_end = np.where(known_done, v_done, end)
    w_end_off = np.where(known_done, v_done_off, end_off)
    w_from = np.where(v_start > entered, v_start, entered)  # overlapping work counts from the entry
    w_from_off = np.where(v_start > entered, v_start_off, entered_off)
    working = np.clip(days(w_from, w_end, w_from_off, w_end_off), 0.0, None)
    working = np.minimum(working, total)
    working[~known_start] = np.nan
    waiting = total - working
    return IntervalVisits(entered=entered.view("M8[ns]"), left=left.view("M8[ns]"), days=total,
                          offset=entered_off.astype(np.int64) if offsets else None, waiting=waiting, working=working,
                          complete_case=complete_case, open_visit=open_visit)  # fmt: skip


def _argmax_reduce(values: npt.NDArray[np.int64], starts: npt.NDArray[np.intp]) -> npt.NDArray[np.intp]:
    """Per segment (from each start to the next), the offset within it of its largest value (the first)."""
    seg = np.repeat(np.arange(len(starts)), np.diff(np.r_[starts, len(values)]))
    top = np.maximum.reduceat(values, starts)
    hit = values == top[seg]
    idx = np.flatnonzero(hit)
    firsts = np.r_[True, seg[idx][1:] != seg[idx][:-1]]
    out = np.zeros(len(starts), dtype=np.intp)
    out[seg[idx][firsts]] = idx[firsts] - starts[seg[idx][firsts]]
    return out
