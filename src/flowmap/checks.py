"""``flowmap check``: what was found in an event file, and how every row was accounted for."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .errors import EventDataError
from .ingest import EventLog
from .ledger import Ledger
from .model import Process

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
        cols = ", ".join(f"{role} = {name!r}" for role, name in self.columns.items())
        out.append(f"columns: {cols}")
        if self.first is not None:
            out.append(f"dates: {self.first.date()} to {self.last.date()}")
        if self.per_case is not None:
            lo, mid, hi = self.per_case
            out.append(f"{self.cases} cases, {self.events} events; events per case: min {lo}, median {mid:g}, max {hi}")
        if self.process is not None:
            out.append(f"checked against process '{self.process}', as of {self.as_of.date()}")
        out.extend(self.ledger.lines())
        out.append("usable: yes" if self.usable else "usable: no; no row could be used (see the reasons above)")
        return out


def check_events(log: EventLog, *, process: Process | None = None, as_of: Any = None) -> CheckReport:
    """Summarise ``log``; with ``process``, also set aside unknown events and events after ``as_of``."""
    ledger = log.ledger
    frame = log.events
    proc_id = None
    as_of_ts = None
    if process is not None:
        from .replay import replay

        try:
            result = replay(process, log, as_of=as_of)
        except EventDataError:
            ledger = ledger.add(
                "unknown_event", frame["row"].to_numpy(), examples=frame["event"].astype(str).head(5).tolist()
            )
            frame = frame.iloc[0:0]
        else:
            ledger = result.ledger
            as_of_ts = result.as_of
            kept = set(result.cases["case_id"])
            frame = frame[frame["case_id"].astype(object).isin(kept)]
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
