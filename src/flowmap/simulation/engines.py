"""The two engines that run a model, and the one place span-target clocks are read from their runs.

Without capacity, :func:`walk` moves every case of every run at once (one
numpy pass per move, and per step within it; never a Python loop per case).
With capacity (``set_capacity``), :func:`discrete_events` runs each case as a
simpy process in which durations are work time and waiting for a free server
emerges.

Both engines record a **trace**: each step entry as (case, step, time since
arrival). :func:`span_clocks` then reads every span target's clock from the
trace by the rule replay uses (docs/semantics.md, "Span targets"): it starts
at the case's first entry to ``from`` and stops at its first entry to ``to``
after that. There is no second copy of the rule in either engine.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from flowmap.simulation.model import Model

__all__ = ["MAX_MOVES", "Trace", "Walk", "discrete_events", "span_clocks", "walk"]

MAX_MOVES = 1_000
"""A simulated case that makes this many moves is stopped and counted (a loop that could run forever)."""


@dataclass(frozen=True)
class Trace:
    """Every step entry of a run, in the order the cases made them (time never goes back within a case)."""

    case: npt.NDArray[np.int64]
    step: npt.NDArray[np.int64]  # position in model.steps
    time: npt.NDArray[np.float64]  # clock days since the case arrived


@dataclass(frozen=True)
class Walk:
    """What a run gives the statistics: per case and span target, when its clock started and stopped."""

    start: npt.NDArray[np.float64]  # (cases, targets): clock days from arrival to the target's start
    stop: npt.NDArray[np.float64]
    end: npt.NDArray[np.float64]  # days from arrival to an end step (NaN if never)
    capped: int
    trace: Trace


def span_clocks(model: Model, trace: Trace, n: int) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Per case and span target: the time of the first entry to ``from``, and of the first entry to ``to`` after it.

    Vectorised over the whole trace, one pass per span target.
    """
    index = {s: i for i, s in enumerate(model.steps)}
    start = np.full((n, len(model.targets)), np.nan)
    stop = np.full((n, len(model.targets)), np.nan)
    if len(trace.case) == 0:
        return start, stop
    # Entries in case order, then in the order each case made them (a stable sort keeps that order).
    order = np.argsort(trace.case, kind="stable")
    case, step, time = trace.case[order], trace.step[order], trace.time[order]
    seq = np.arange(len(case))
    for j, tg in enumerate(model.targets):
        f, t = index.get(tg.from_step, -1), index.get(tg.to_step, -1)
        rows = np.flatnonzero(step == f)
        if len(rows) == 0:
            continue
        firsts = rows[np.r_[True, case[rows][1:] != case[rows][:-1]]]
        start[case[firsts], j] = time[firsts]
        first_seq = np.full(n, np.iinfo(np.int64).max)
        first_seq[case[firsts]] = seq[firsts]
        to_rows = np.flatnonzero(step == t)
        after = to_rows[seq[to_rows] > first_seq[case[to_rows]]]
        if len(after):
            stops = after[np.r_[True, case[after][1:] != case[after][:-1]]]
            stop[case[stops], j] = time[stops]
    return start, stop


def _tables(m: Model) -> tuple[list[str], dict[str, int], list[tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]]]:
    """Step ids, their positions, and per step the cumulative chances of its moves."""
    ids = list(m.steps)
    index = {s: i for i, s in enumerate(ids)}
    cum = []
    for s in ids:
        outs = m.moves.get(s, {})
        tos = np.array([index[k] for k in outs if k in index], dtype=np.int64)
        ps = np.array([p for k, p in outs.items() if k in index], dtype=float)
        c = np.cumsum(ps / ps.sum()) if len(ps) and ps.sum() > 0 else np.array([])
        cum.append((tos, c))
    return ids, index, cum


def walk(m: Model, n: int, rng: np.random.Generator) -> Walk:
    """Every case's path, vectorised over cases: one pass per move, and per step within it."""
    ids, index, cum = _tables(m)
    starts = list(m.starts.items())
    sp = np.array([p for _, p in starts], dtype=float)
    cur = np.array([index[s] for s, _ in starts], dtype=np.int64)[
        np.searchsorted(np.cumsum(sp / sp.sum()), rng.random(n), side="right").clip(0, len(sp) - 1)
    ]
    t = np.zeros(n)
    end = np.full(n, np.nan)
    is_end = np.array([s in m.ends for s in ids])
    durations = [m.durations.get(s) for s in ids]
    active = np.ones(n, dtype=bool)
    entries: list[tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.float64]]] = []
    moves = 0
    while active.any() and moves < MAX_MOVES:
        act = np.flatnonzero(active)
        where = cur[act]
        entries.append((act, where, t[act].copy()))
        finished = act[is_end[where]]
        end[finished] = t[finished]
        active[finished] = False
        for s in np.unique(where):
            if is_end[s]:
                continue
            rows = act[where == s]
            d = durations[s]
            t[rows] += d.sample(rng, len(rows)) if d is not None else 0.0
            tos, c = cum[s]
            if len(tos) == 0:
                active[rows] = False  # a dead end: the case stops here, open
                continue
            cur[rows] = tos[np.searchsorted(c, rng.random(len(rows)), side="right").clip(0, len(tos) - 1)]
        moves += 1
    trace = Trace(
        case=np.concatenate([a for a, _, _ in entries]) if entries else np.array([], dtype=np.int64),
        step=np.concatenate([s for _, s, _ in entries]) if entries else np.array([], dtype=np.int64),
        time=np.concatenate([x for _, _, x in entries]) if entries else np.array([], dtype=float),
    )
    start, stop = span_clocks(m, trace, n)
    return Walk(start=start, stop=stop, end=end, capped=int(active.sum()), trace=trace)


def discrete_events(m: Model, n: int, rng: np.random.Generator) -> Walk:
    """One run as a discrete-event simulation: lanes with capacity are servers, and cases queue.

    Reason for its length: simpy processes are closures over the run's state
    (servers, random pools, the trace), and splitting them apart would pass
    that state around without making any part clearer.
    """
    import bisect

    import simpy

    ids, index, cum = _tables(m)
    env = simpy.Environment()
    servers = {lane: simpy.Resource(env, capacity=c) for lane, c in m.capacity.items()}
    end = np.full(n, np.nan)
    starts = list(m.starts.items())
    sp = np.cumsum([p for _, p in starts])
    sp_list = (sp / sp[-1]).tolist()
    capped = [0]
    t_case: list[int] = []
    t_step: list[int] = []
    t_time: list[float] = []
    # Draw randoms in batches: one numpy call per event would cost more than the event.
    pools: dict[str, list[float]] = {}

    def draw(sid: str) -> float:
        pool = pools.get(sid)
        if not pool:
            pool = pools[sid] = m.durations[sid].sample(rng, 512).tolist() if sid in m.durations else [0.0] * 512
        return pool.pop()

    uniforms: list[float] = []

    def uniform() -> float:
        if not uniforms:
            uniforms.extend(rng.random(4096).tolist())
        return uniforms.pop()

    cum_lists = [(tos.tolist(), c.tolist()) for tos, c in cum]

    def pick(cdf: list[float], u: float) -> int:
        return min(bisect.bisect_right(cdf, u), len(cdf) - 1)

    def case(i: int, arrived: float) -> Any:
        s = index[starts[pick(sp_list, uniform())][0]]
        for _ in range(MAX_MOVES):
            t_case.append(i)
            t_step.append(s)
            t_time.append(env.now - arrived)
            sid = ids[s]
            if sid in m.ends:
                end[i] = env.now - arrived
                return
            work = draw(sid)
            lane = m.lanes.get(sid)
            if lane in servers:
                with servers[lane].request() as req:
                    yield req
                    yield env.timeout(work)
            else:
                yield env.timeout(work)
            tos_l, c_l = cum_lists[s]
            if not tos_l:
                return
            s = tos_l[pick(c_l, uniform())]
        capped[0] += 1

    def arrivals() -> Any:
        for i in range(n):
            env.process(case(i, env.now))
            yield env.timeout(-math.log(1.0 - uniform()) / m.arrivals_per_day)

    env.process(arrivals())
    env.run()
    trace = Trace(case=np.asarray(t_case, dtype=np.int64), step=np.asarray(t_step, dtype=np.int64),
                  time=np.asarray(t_time, dtype=float))  # fmt: skip
    start, stop = span_clocks(m, trace, n)
    return Walk(start=start, stop=stop, end=end, capped=capped[0], trace=trace)
