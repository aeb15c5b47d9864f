"""Simulated event logs, in the canonical shape, for demos, tests and benchmarks (``flowmap synth``)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from flowmap.errors import FlowmapError
from flowmap.simulation.engines import walk
from flowmap.simulation.model import Model

__all__ = ["synthesize"]


def synthesize(model: Model, *, cases: int, seed: int = 1, start: str | pd.Timestamp = "2025-01-06") -> pd.DataFrame:
    """A simulated event log in the canonical shape: ``case_id, event, timestamp``.

    Cases arrive at the model's rate from ``start``; the log ends at the last
    arrival, so the cases still going then are open, as in a real extract.
    """
    from flowmap.model.clock import add_days

    if cases < 1:
        raise FlowmapError(f"--cases must be at least 1 (got {cases})")
    rng = np.random.default_rng(seed)
    w = walk(model, cases, rng)
    gaps = rng.exponential(1 / model.arrivals_per_day, cases)
    gaps[0] = 0.0
    arrive = np.cumsum(gaps)  # clock days after start
    idx, step = w.trace.case, w.trace.step
    when = w.trace.time + arrive[idx]
    horizon = arrive[-1]
    keep = when <= horizon + 1e-9
    idx, step, when = idx[keep], step[keep], when[keep]
    clock = model.process.clock
    origin = np.datetime64(pd.Timestamp(start).normalize(), "ns")
    if clock == "working_days":
        whole = np.floor(when)
        ts = add_days(np.full(len(when), origin), whole, clock="working_days", calendar=model.process.calendar)
        ts = ts + ((when - whole) * 86400e9).astype("m8[ns]")
    else:
        ts = add_days(np.full(len(when), origin), when, clock="calendar_days")
    ts = ts.astype("M8[ns]").astype("M8[D]").astype("M8[ns]")  # whole days, as trackers record them
    names = np.array([model.events.get(s, s) for s in model.steps], dtype=object)
    width = len(str(cases))
    order = np.lexsort((when, idx))
    frame = pd.DataFrame(
        {
            "case_id": np.char.add("S-", np.char.zfill(idx[order].astype(str), width)),
            "event": names[step[order]],
            "timestamp": ts[order],
        }
    )
    return frame.reset_index(drop=True)
