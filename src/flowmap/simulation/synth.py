"""Simulated event logs, in the canonical shape, for demos, tests and benchmarks (``flowmap synth``)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from flowmap.errors import FlowmapError
from flowmap.simulation.engines import walk
from flowmap.simulation.model import Model

__all__ = ["log_as_of", "synthesize"]


def synthesize(model: Model, *, cases: int, seed: int = 1, start: str | pd.Timestamp | None = None) -> pd.DataFrame:
    """A simulated event log in the canonical shape: ``case_id, event, timestamp``.

    Cases arrive on dates from ``start`` (default: the model's origin), at the
    model's rate and weekday pattern; the log ends at the last arrival plus the
    model's ``tail_days`` (0 for a model from the process file), so the cases
    still going then are open, as in a real extract. The dates are exactly the
    ones the simulator measures: replaying this log with the as-of date
    :func:`log_as_of` gives the figures ``simulate`` reports for one run of
    ``cases`` cases with the same seed.
    """
    from flowmap.simulation.results import judged_runs

    if cases < 1:
        raise FlowmapError(f"--cases must be at least 1 (got {cases})")
    if start is not None:
        model = replace(model, origin=pd.Timestamp(start).date())
    if model.tail_days is None:
        model = replace(model, tail_days=0.0)
    rng = np.random.default_rng(seed)
    w = walk(model, cases, rng)
    _, tr, _ = judged_runs(model, w)
    names = np.array([model.events.get(s, s) for s in model.steps], dtype=object)
    width = len(str(cases))
    number = np.empty(cases, dtype=np.int64)  # cases numbered in the order they arrive
    number[np.argsort(w.arrive, kind="stable")] = np.arange(cases)
    origin = np.datetime64(model.origin, "ns")
    frame = pd.DataFrame(
        {
            "case_id": np.char.add("S-", np.char.zfill(number[tr.case].astype(str), width)),
            "event": names[tr.step],
            "timestamp": origin + np.round(tr.time * 86_400e9).astype(np.int64).astype("m8[ns]"),
        }
    )
    return frame.sort_values(["case_id", "timestamp"], kind="stable").reset_index(drop=True)


def log_as_of(model: Model, *, cases: int, seed: int = 1) -> pd.Timestamp:
    """The as-of date of :func:`synthesize`'s log: its last arrival plus the model's tail."""
    rng = np.random.default_rng(seed)
    if model.tail_days is None:
        model = replace(model, tail_days=0.0)
    w = walk(model, cases, rng)
    return pd.Timestamp(model.origin) + pd.Timedelta(days=float(np.floor(w.arrive).max() + model.tail_days))
