"""``flowmap check``: what was found in an event file, and how every row was accounted for."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from flowmap.events.ledger import Ledger
from flowmap.events.read import EventLog
from flowmap.model.process import Process

__all__ = ["CheckReport", "check_events"]


@dataclass(frozen=True)
class CheckReport:
    """The findings of :func:`check_events`."""

    source: str
    shape: str
    columns: dict[str, str]
    ledger: Ledger
    cases: int
    events: int
    first: Any
    last: Any
    per_case: tuple[int, float, int] | None
    as_of: Any
    process: str | None
    usable: bool

    def lines(self) -> list[str]:
        out = [f"{self.source}: {'wide tracker (one row per case)' if self.shape == 'wide' else 'one row per event'}"]
        if self.shape == "wide":
            steps = len(self.columns) - 1
            out.append(f"columns: case = {self.columns['case']!r}; {steps} step column{'s' if steps != 1 else ''}")
        else:
            out.append("columns: " + ", ".join(f"{role} = {name!r}" for role, name in self.columns.items()))
        if self.first is not None:
            out.append(f"dates: {self.first.date()} to {self.last.date()}")
        if self.per_case is not None:
            lo, mid, hi = self.per_case
            out.append(f"{self.cases} cases, {self.events} events; events per case: min {lo}, median {mid:g}, max {hi}")
        if self.process is not None and self.as_of is not None:
            out.append(f"checked against process '{self.process}', as of {self.as_of.date()}")
        out.extend(self.ledger.lines())
        if self.usable:
            out.append("usable: yes")
        elif self.ledger.read and self.ledger.not_yet == self.ledger.read:
            out.append("usable: no; 0 events: every date cell is empty or says not yet (N/A, awaiting, ...)")
        else:
            out.append("usable: no; no row could be used (see the reasons above)")
        return out

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "shape": self.shape,
            "columns": self.columns,
            "cases": self.cases,
            "events": self.events,
            "first": None if self.first is None else self.first.isoformat(),
            "last": None if self.last is None else self.last.isoformat(),
            "process": self.process,
            "as_of": None if self.as_of is None else self.as_of.date().isoformat(),
            "usable": self.usable,
            "ledger": self.ledger.as_dict(),
        }


def _in(ids: pd.Series, wanted: pd.Index) -> Any:
    """Which rows' case ids are among ``wanted``: per distinct id when the column is categorical (a million
    ids, not ten million rows turned into Python strings)."""
    if isinstance(ids.dtype, pd.CategoricalDtype):
        hit = np.append(ids.cat.categories.isin(wanted), False)  # code -1 (no id) is never kept
        return hit[ids.cat.codes.to_numpy()]
    return ids.isin(wanted).to_numpy()


def check_events(log: EventLog, *, process: Process | None = None, as_of: Any = None) -> CheckReport:
    """Summarise ``log``; with ``process``, also set aside unknown events and events after ``as_of``.

    Raises
    ------
    EventDataError
        With ``process``: when nothing in the data matches a step (most
        likely the wrong process file), or ``as_of`` is before every event.
    """
    ledger = log.ledger
    frame = log.events
    proc_id = None
    as_of_ts = None
    if process is not None and len(frame):
        from flowmap.analysis.replay import screen

        result = screen(process, log, as_of=as_of)
        ledger = result.ledger
        as_of_ts = result.as_of
        keep = _in(frame["case_id"], result.case_ids)
        if result.last_event is not None:
            keep &= (frame["timestamp"] < result.as_of + pd.Timedelta(days=1)).to_numpy()
        frame = frame if keep.all() else frame[keep]
    if process is not None:
        proc_id = process.id
    sizes = frame.groupby("case_id", observed=True).size().to_numpy() if len(frame) else np.array([], dtype=int)
    per_case = (int(sizes.min()), float(np.median(sizes)), int(sizes.max())) if len(sizes) else None
    return CheckReport(
        source=log.ledger.source,
        shape=log.shape,
        columns=log.columns,
        ledger=ledger,
        cases=len(sizes),
        events=int(sizes.sum()) if len(sizes) else 0,
        first=frame["timestamp"].min() if len(frame) else None,
        last=frame["timestamp"].max() if len(frame) else None,
        per_case=per_case,
        as_of=as_of_ts,
        process=proc_id,
        usable=ledger.used > 0,
    )
