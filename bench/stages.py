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
    """This process's own peak resident memory. On Linux, ru_maxrss survives execve and so
    would include the parent's peak; VmHWM belongs to this address space alone."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def flowmap_read_parquet(parquet: str, csv: str, process: str) -> Any:
    from flowmap.events.read import read_events
    from flowmap.files.process import load_process

    p = load_process(process)
    t = time.perf_counter()
    log = read_events(parquet, process=p)
    return time.perf_counter() - t, len(log.events)


def flowmap_read_csv(parquet: str, csv: str, process: str) -> Any:
    from flowmap.events.read import read_events
    from flowmap.files.process import load_process

    p = load_process(process)
    t = time.perf_counter()
    log = read_events(csv, process=p)
    return time.perf_counter() - t, len(log.events)


def flowmap_replay(parquet: str, csv: str, process: str) -> Any:
    """Replay, drift and audit with flowmap's defaults. The compiled kernels' code is cached in bench/out, as
    it would be in an installed flowmap's __pycache__, even where PYTHONDONTWRITEBYTECODE is set."""
    import os
    from pathlib import Path

    os.environ.setdefault("NUMBA_CACHE_DIR", str(Path(__file__).resolve().parent / "out" / "numba-cache"))
    return _replay(parquet, csv, process)


def _replay(parquet: str, csv: str, process: str) -> Any:
    from flowmap.analysis.metrics import audit, drift
    from flowmap.analysis.replay import replay
    from flowmap.events.read import read_events
    from flowmap.files.process import load_process

    p = load_process(process)
    log = read_events(parquet, process=p)
    t = time.perf_counter()
    r = replay(p, log)
    d = drift(r)
    audit(r)
    return time.perf_counter() - t, int(d.edges["count"].sum())


def flowmap_replay_numpy(parquet: str, csv: str, process: str) -> Any:
    """The same, with the compiled kernels switched off (FLOWMAP_KERNELS=numpy)."""
    import os

    os.environ["FLOWMAP_KERNELS"] = "numpy"
    return _replay(parquet, csv, process)


def flowmap_map(parquet: str, csv: str, process: str) -> Any:
    from flowmap.analysis.metrics import map_metrics
    from flowmap.analysis.replay import replay
    from flowmap.events.read import read_events
    from flowmap.files.process import load_process
    from flowmap.render.maps import render_map

    p = load_process(process)
    r = replay(p, read_events(parquet, process=p))
    t = time.perf_counter()
    svg = render_map(p, map_metrics(r), renderer="auto")
    return time.perf_counter() - t, len(svg)


def pm4py_dfg(parquet: str, csv: str, process: str) -> Any:
    import pm4py

    df = pd.read_parquet(parquet)
    warnings.simplefilter("ignore")
    t = time.perf_counter()
    f = pm4py.format_dataframe(df, case_id="case_id", activity_key="activity", timestamp_key="timestamp")
    dfg, _, _ = pm4py.discover_dfg(f)
    return time.perf_counter() - t, int(sum(dfg.values()))


def flowmap_read_xes(path: str, _csv: str, _process: str) -> Any:
    from flowmap.events.read import read_events

    t = time.perf_counter()
    log = read_events(path)
    return time.perf_counter() - t, log.ledger.read


def pm4py_read_xes(path: str, _csv: str, _process: str) -> Any:
    import pm4py

    warnings.simplefilter("ignore")
    t = time.perf_counter()
    log = pm4py.read_xes(path)
    return time.perf_counter() - t, len(log)


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
    "flowmap: replay + drift + audit, numpy kernels": flowmap_replay_numpy,
    "flowmap: map annotation (metrics + SVG)": flowmap_map,
    "numpy reference: same sort/shift/group work": numpy_reference,
    "pm4py: format + performance DFG + case durations": pm4py_sequence,
    "pm4py: format + discover_dfg": pm4py_dfg,
}
XES_STAGES = {
    "flowmap: read XES": flowmap_read_xes,
    "pm4py: read_xes": pm4py_read_xes,
}
PEER_STAGES = {"pm4py: format + performance DFG + case durations", "pm4py: format + discover_dfg", "pm4py: read_xes"}


if __name__ == "__main__":
    stage, parquet, csv, process = sys.argv[1:5]
    seconds, check = {**STAGES, **XES_STAGES}[stage](parquet, csv, process)
    print(json.dumps({"stage": stage, "seconds": seconds, "peak_mb": peak_mb(), "check": check}))
