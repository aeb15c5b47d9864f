"""One benchmark stage, run in its own process so that its peak memory is its own.

    python bench/stages.py STAGE PARQUET CSV PROCESS

prints one JSON line: {"stage", "seconds", "peak_mb", "check"}. ``check`` is a
number both sides of a comparison should agree on (moves counted).
"""

from __future__ import annotations

import json
import resource
import sys
import time
import warnings
from typing import Any

import numpy as np
import pandas as pd


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def flowmap_read_parquet(parquet: str, csv: str, process: str) -> Any:
    from flowmap.ingest import read_events
    from flowmap.spec import load_process

    p = load_process(process)
    t = time.perf_counter()
    log = read_events(parquet, process=p)
    return time.perf_counter() - t, len(log.events)


def flowmap_read_csv(parquet: str, csv: str, process: str) -> Any:
    from flowmap.ingest import read_events
    from flowmap.spec import load_process

    p = load_process(process)
    t = time.perf_counter()
    log = read_events(csv, process=p)
    return time.perf_counter() - t, len(log.events)


def flowmap_replay(parquet: str, csv: str, process: str) -> Any:
    from flowmap.ingest import read_events
    from flowmap.metrics import audit, drift
    from flowmap.replay import replay
    from flowmap.spec import load_process

    p = load_process(process)
    log = read_events(parquet, process=p)
    t = time.perf_counter()
    r = replay(p, log)
    d = drift(r)
    audit(r)
    return time.perf_counter() - t, int(d.edges["count"].sum())


def numpy_reference(parquet: str, csv: str, process: str) -> Any:
    """The same sort/shift/group work, hand-written: encode, sort, visits, durations, per-step
    counts and medians, edges, last visit per case."""
    df = pd.read_parquet(parquet)
    t = time.perf_counter()
    case, _ = pd.factorize(df["case_id"])
    act, names = pd.factorize(df["activity"])
    ts = df["timestamp"].to_numpy().astype(np.int64)
    # The same packed-key sort flowmap uses when it fits (it does here), so the reference is no straw man.
    ticks = (ts - ts.min()) // (int(np.gcd.reduce(ts - ts.min())) or 1)
    bt, bp = int(ticks.max()).bit_length(), int(act.max()).bit_length()
    order = np.argsort((case.astype(np.int64) << (bt + bp)) | (ticks << bp) | act, kind="stable")
    case, act, ts = case[order], act[order], ts[order]
    new = np.r_[True, (case[1:] != case[:-1]) | (act[1:] != act[:-1])]
    vc, va, vt = case[new], act[new], ts[new]
    last = np.r_[vc[1:] != vc[:-1], True]
    dur = np.empty(len(vt), dtype=np.float64)
    dur[:-1] = (vt[1:] - vt[:-1]) / 86_400e9
    dur[last] = np.nan
    k = len(names)
    counts = np.bincount(va, minlength=k)
    done = ~np.isnan(dur)
    o = np.lexsort((dur[done], va[done]))
    sorted_act = va[done][o]
    sorted_dur = dur[done][o]
    bounds = np.searchsorted(sorted_act, np.arange(k + 1))
    medians = [np.median(sorted_dur[bounds[i] : bounds[i + 1]]) if bounds[i + 1] > bounds[i] else np.nan
               for i in range(k)]  # fmt: skip
    over = np.bincount(va[done], weights=np.maximum(dur[done] - 5, 0), minlength=k)
    moves = ~last[:-1]
    edge = va[:-1][moves] * k + va[1:][moves]
    edges = np.bincount(edge, minlength=k * k)
    status = va[last]
    _ = (counts, medians, over, status)
    return time.perf_counter() - t, int(edges.sum())


def pm4py_sequence(parquet: str, csv: str, process: str) -> Any:
    import pm4py

    df = pd.read_parquet(parquet)
    warnings.simplefilter("ignore")
    t = time.perf_counter()
    f = pm4py.format_dataframe(df, case_id="case_id", activity_key="activity", timestamp_key="timestamp")
    pm4py.discover_performance_dfg(f)
    pm4py.stats.get_all_case_durations(f)
    elapsed = time.perf_counter() - t
    dfg, _, _ = pm4py.discover_dfg(f)
    return elapsed, int(sum(dfg.values()))


STAGES = {
    "flowmap: read Parquet": flowmap_read_parquet,
    "flowmap: read CSV": flowmap_read_csv,
    "flowmap: replay + drift + audit": flowmap_replay,
    "numpy reference: same sort/shift/group work": numpy_reference,
    "pm4py: format + performance DFG + case durations": pm4py_sequence,
}


if __name__ == "__main__":
    stage, parquet, csv, process = sys.argv[1:5]
    seconds, check = STAGES[stage](parquet, csv, process)
    print(json.dumps({"stage": stage, "seconds": seconds, "peak_mb": peak_mb(), "check": check}))
