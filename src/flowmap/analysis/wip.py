"""Work in progress over time: how many cases are open at each step at the end of each period.

At the end of a period (its last day, ``T``) a case is open at step ``s`` when,
replayed as of ``T``, its current visit is at ``s`` and ``s`` is not an end
step: the visit entered by the end of day ``T`` and the case's next entry came
after it (or has not come). It is **over target** when, as of ``T``, its days
at the step exceed the step's target, as replay's ``stalled`` says. The counts
are those replay gives with ``--as-of T``, for every period (a test checks
it), computed in one sweep: per step, entries and exits sorted once and counted
with binary searches, never a replay per period.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from flowmap.analysis.replay import Replay
from flowmap.errors import FlowmapError
from flowmap.model.clock import add_days

__all__ = ["PERIODS", "WIP_COLUMNS", "Per", "open_by_step", "period_ends", "wip"]

Per = Literal["day", "week", "month"]
PERIODS: tuple[Per, ...] = ("day", "week", "month")
WIP_COLUMNS = ["period", "step", "open", "over_target"]
DAY = np.timedelta64(1, "D")


def period_ends(first: pd.Timestamp, last: pd.Timestamp, per: Per) -> pd.DatetimeIndex:
    """The last day of each period from ``first`` to ``last``; the final one is ``last`` itself when the
    period is not over yet (weeks end on Sunday, months on their last day).

    Examples
    --------
    >>> [d.date().isoformat() for d in period_ends(pd.Timestamp("2025-01-30"), pd.Timestamp("2025-03-10"), "month")]
    ['2025-01-31', '2025-02-28', '2025-03-10']
    """
    if per not in PERIODS:
        raise FlowmapError(f"--per must be day, week or month (got {per!r})")
    freq = {"day": "D", "week": "W-SUN", "month": "ME"}[per]
    ends = pd.date_range(first.normalize(), last.normalize(), freq=freq)
    if not len(ends) or ends[-1] < last.normalize():
        ends = pd.DatetimeIndex([*ends, last.normalize()])
    return ends


def wip(result: Replay, *, per: Per = "week", since: pd.Timestamp | None = None) -> pd.DataFrame:
    """Per period end and step (in step order, end steps left out): cases open there, and those over target.

    Raises
    ------
    FlowmapError
        When there is nothing to count (no visits in the window).
    """
    process = result.process
    v = result.visits
    if not len(v):
        raise FlowmapError("no events in the window: there is no work in progress to show")
    first = pd.Timestamp(v["entered"].min()) if since is None else max(since, pd.Timestamp(v["entered"].min()))
    ends = period_ends(first, result.as_of, per)
    t0 = ends.to_numpy(dtype="M8[ns]")  # each period's last day, at midnight (replay's as-of)
    t1 = t0 + DAY  # events before the next midnight are in
    case = v["case_id"].astype(str).to_numpy()
    step = v["step"].astype(str).to_numpy()
    entered = v["entered"].to_numpy(dtype="M8[ns]")
    same_case_next = np.r_[case[1:] == case[:-1], False]
    nxt = np.r_[entered[1:], np.array(["NaT"], dtype="M8[ns]")]
    never = np.datetime64("2262-01-01", "ns")
    left = np.where(same_case_next, nxt, never)  # the next entry of the same case, or not yet
    target = v["target"].to_numpy(dtype=float)
    has_target = ~np.isnan(target)
    due = np.full(len(v), never)
    if has_target.any():
        due[has_target] = add_days(entered[has_target], target[has_target], clock=process.clock,
                                   calendar=process.calendar)  # fmt: skip
    rows = []
    for s in process.steps:
        if s.end:
            continue
        mine = step == s.id
        e, lft, d = entered[mine], left[mine], due[mine]
        # open at T: entered before T1 and the next entry not before T1
        opened = np.searchsorted(np.sort(e), t1, side="left") - np.searchsorted(np.sort(lft), t1, side="left")
        # over target at T: due before T0 (days as of T0 exceed the target) and still there at T1
        lft_day_before = lft - DAY
        over = np.searchsorted(np.sort(d), t0, side="left") - np.searchsorted(
            np.sort(np.maximum(d, lft_day_before)), t0, side="left")  # fmt: skip
        rows.append(pd.DataFrame({"period": ends.date, "step": s.id, "open": opened.astype(np.int64),
                                  "over_target": over.astype(np.int64)}))  # fmt: skip
    out = pd.concat(rows, ignore_index=True)
    order = {s: i for i, s in enumerate(process.step_ids)}
    out = out.sort_values(["period", "step"], key=lambda c: c.map(order) if c.name == "step" else c,
                          kind="stable").reset_index(drop=True)  # fmt: skip
    return out[WIP_COLUMNS]


def open_by_step(result: Replay) -> dict[str, tuple[int, int]]:
    """Replay's own count as of its as-of date: per step, open cases and stalled ones (for tests and checks)."""
    c = result.cases
    live = c[c["status"] != "complete"]
    out: dict[str, tuple[int, int]] = {}
    for sid, g in live.groupby(live["current_step"].astype(str)):
        out[str(sid)] = (len(g), int((g["status"] == "stalled").sum()))
    return out
