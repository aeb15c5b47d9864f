"""The two engines that run a model, in dates.

Without capacity, :func:`walk` moves every case of every run at once (one
numpy pass per move, and per step within it; never a Python loop per case).
With capacity (``set_capacity``), :func:`discrete_events` runs each case as a
simpy process in which durations are work time and waiting for a free server
emerges.

Cases arrive on calendar dates (:func:`arrival_days`); each visit's duration
is drawn in the process clock and turned into the date it ends with the
process calendar (:func:`advance`: working days skip weekends and bank
holidays). Both engines record a **trace**: each step entry as (case, step,
date). The statistics then judge every span target from the trace with the
same code replay uses (:func:`flowmap.analysis.replay.judge_spans`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from flowmap.errors import FlowmapError
from flowmap.simulation.model import STOP, VISIT_CLASSES, Model

__all__ = ["MAX_MOVES", "Resume", "Trace", "Walk", "advance", "arrival_days", "busdays", "discrete_events", "walk"]

MAX_MOVES = 1_000
"""A simulated case that makes this many moves is stopped and counted (a loop that could run forever)."""


@dataclass(frozen=True)
class Trace:
    """Every step entry of a run, in the order the cases made them (time never goes back within a case)."""

    case: npt.NDArray[np.int64]
    step: npt.NDArray[np.int64]  # position in model.steps
    time: npt.NDArray[np.float64]  # calendar days since the model's origin (its first arrival date)


@dataclass(frozen=True)
class Walk:
    """A batch of simulated cases: when each arrived, every step entry they made, and how many were cut short."""

    arrive: npt.NDArray[np.float64]  # per case: calendar days since the origin
    capped: int
    trace: Trace
    per_run: int  # cases per run: case i belongs to run i // per_run
    lanes: dict[str, tuple[float, float]] = field(default_factory=dict)  # capacity: lane -> (utilisation, queue)


def busdays(m: Model) -> np.busdaycalendar:
    """The process calendar's working days (weekends and bank holidays off) over the years a run can reach."""
    from flowmap.model.clock import holidays_between

    first = np.datetime64(m.origin, "D") - np.timedelta64(366, "D")
    hol = holidays_between(m.process.calendar, first, first + np.timedelta64(366 * 60, "D"))
    return np.busdaycalendar(holidays=hol.astype("M8[D]"))


def advance(m: Model, t: npt.NDArray[np.float64], days: npt.NDArray[np.float64],
            cal: np.busdaycalendar | None) -> npt.NDArray[np.float64]:  # fmt: skip
    """The date a visit ends: ``days`` in the process clock after entry ``t`` (calendar days since the origin).

    Calendar days add as they are (whole days when the model keeps whole days);
    working days count whole working days on the process calendar from the
    entry date (an entry on a weekend or holiday counts from the next working
    day), as :func:`flowmap.model.clock.add_days` does.
    """
    if m.process.clock != "working_days":
        return t + (np.round(days) if m.whole_days else days)
    assert cal is not None
    origin = np.datetime64(m.origin, "D")
    entry = origin + np.floor(t).astype(np.int64).astype("m8[D]")
    rolled = np.busday_offset(entry, 0, roll="forward", busdaycal=cal)
    out = np.busday_offset(rolled, np.round(days).astype(np.int64), roll="forward", busdaycal=cal)
    return np.asarray((out - origin).astype(np.int64), dtype=np.float64)


def scheduled(m: Model, sid: str, t: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """``set_schedule``: a visit that would end at ``t`` (calendar days since the origin) ends on the step's
    next scheduled date on or after that day instead (the next panel, the next hearing)."""
    first, every = m.schedules[sid]
    offset = (np.datetime64(first, "D") - np.datetime64(m.origin, "D")).astype(np.int64)
    k = np.maximum(np.ceil((np.floor(t) - offset) / every), 0)
    return np.asarray(np.maximum(offset + k * every, t if not m.whole_days else np.floor(t)), dtype=np.float64)


def arrival_days(m: Model, n: int, per_run: int, rng: np.random.Generator) -> npt.NDArray[np.float64]:
    """Arrival dates (calendar days since the origin) for ``n`` cases, ``per_run`` to a run.

    A run's arrivals spread over ``per_run / rate`` calendar days, each day
    weighted by its weekday's share of arrivals when the model has one (a
    Poisson process given its count: the arrival days are independent draws).
    """
    if m.arrival_dates is not None:  # the real start dates, the same in every run
        fixed = np.asarray(m.arrival_dates, dtype=np.float64)
        if len(fixed) != per_run:
            raise FlowmapError(f"the model arrives {len(fixed)} cases on fixed dates, not {per_run}")
        return np.tile(fixed, n // per_run)
    span = max(per_run / m.arrivals_per_day, 1.0)
    if m.weekday_share is None:
        t = rng.random(n) * span
        return _from_origin(np.floor(t) if m.whole_days else t, per_run, 1)
    days = np.arange(math.ceil(span))
    weekday = (np.datetime64(m.origin, "D") + days.astype("m8[D]")).view(np.int64)
    w = np.asarray(m.weekday_share)[(weekday + 3) % 7]  # 1970-01-01 was a Thursday; shares run Monday first
    if w.sum() <= 0:
        w = np.ones(len(days))
    cdf = np.cumsum(w / w.sum())
    picked = np.searchsorted(cdf, rng.random(n), side="right").clip(0, len(days) - 1).astype(np.float64)
    return _from_origin(picked if m.whole_days else picked + rng.random(n), per_run, 7)


def _from_origin(t: npt.NDArray[np.float64], per_run: int, step: int) -> npt.NDArray[np.float64]:
    """Each run's arrivals moved back so that it starts at the origin date (the model's first arrival): by
    whole days, or by whole weeks (``step`` 7) to keep each arrival's weekday when a pattern is in use."""
    if len(t) == 0 or len(t) % per_run:
        return t
    rows = t.reshape(-1, per_run)
    first = step * np.floor(rows.min(axis=1, keepdims=True) / step)
    return np.asarray((rows - first).ravel(), dtype=np.float64)


Cum = tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]


def _cum(outs: dict[str, float], index: dict[str, int]) -> Cum:
    """Targets (positions; -1 for :data:`STOP`) and their cumulative chances."""
    tos = np.array([index.get(k, -1) for k in outs if k in index or k == STOP], dtype=np.int64)
    ps = np.array([p for k, p in outs.items() if k in index or k == STOP], dtype=float)
    c = np.cumsum(ps / ps.sum()) if len(ps) and ps.sum() > 0 else np.array([])
    return tos, c


def _tables(m: Model) -> tuple[list[str], dict[str, int], list[Cum]]:
    """Step ids, their positions, and per step the cumulative chances of its moves."""
    ids = list(m.steps)
    index = {s: i for i, s in enumerate(ids)}
    return ids, index, [_cum(m.moves.get(s, {}), index) for s in ids]


def _by_visit(m: Model, index: dict[str, int]) -> dict[int, dict[int, Cum]]:
    """Per step position with visit-dependent moves: visit class -> cumulative chances."""
    return {index[s]: {k: _cum(p, index) for k, p in classes.items()}
            for s, classes in m.moves_by_visit.items() if s in index}  # fmt: skip


@dataclass(frozen=True)
class Resume:
    """Cases already under way (a forecast): each one's current step, the date it entered it, the days it has
    spent there (in the process clock), and its visits so far to each step (by position)."""

    step: npt.NDArray[np.int64]
    entered: npt.NDArray[np.float64]  # calendar days since the origin
    elapsed: npt.NDArray[np.float64]
    visits: dict[int, npt.NDArray[np.int16]]


def walk(m: Model, n: int, rng: np.random.Generator, *, per_run: int | None = None,
         resume: Resume | None = None) -> Walk:  # fmt: skip
    """Every case's path and dates, vectorised over cases: one pass per move, and per step within it.

    With ``resume``, the ``n`` cases are the ones it describes, carried on from their current visit, whose
    time is drawn given how long it has already lasted.
    """
    per_run = per_run or n
    ids, index, cum = _tables(m)
    cal = busdays(m) if m.process.clock == "working_days" else None
    # An end step with no way out stops every case; one with ways out stops those that draw STOP.
    is_end = np.array([s in m.ends and not len(cum[i][0]) for i, s in enumerate(ids)])
    durations = [m.durations.get(s) for s in ids]
    by_visit = _by_visit(m, index)
    visits = {s: np.zeros(n, dtype=np.int16) for s in by_visit}  # visits so far, where moves depend on them
    if resume is None:
        arrive = arrival_days(m, n, per_run, rng)
        starts = list(m.starts.items())
        sp = np.array([p for _, p in starts], dtype=float)
        cur = np.array([index[s] for s, _ in starts], dtype=np.int64)[
            np.searchsorted(np.cumsum(sp / sp.sum()), rng.random(n), side="right").clip(0, len(sp) - 1)
        ]
        t = arrive.copy()
    else:
        arrive, cur, t = resume.entered.copy(), resume.step.copy(), resume.entered.copy()
        for s, seen_before in resume.visits.items():
            if s in visits:
                visits[s] = seen_before.astype(np.int16).copy() - (cur == s)  # the current visit counts below
    active = np.ones(n, dtype=bool)
    entries: list[tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.float64]]] = []
    moves = 0
    while active.any() and moves < MAX_MOVES:
        act = np.flatnonzero(active)
        where = cur[act]
        entries.append((act, where, t[act].copy()))
        active[act[is_end[where]]] = False
        for s in np.unique(where):
            if is_end[s]:
                continue
            rows = act[where == s]
            d = durations[s]
            if d is not None:
                if resume is not None and moves == 0:  # the visit under way: given how long it has lasted
                    t[rows] = advance(m, t[rows], d.sample_given(rng, resume.elapsed[rows]), cal)
                else:
                    t[rows] = advance(m, t[rows], d.sample(rng, len(rows)), cal)
            if ids[s] in m.schedules:
                t[rows] = scheduled(m, ids[s], t[rows])
            tos, c = cum[s]
            if len(tos) == 0:
                active[rows] = False  # a dead end: the case stops here, open
                continue
            u = rng.random(len(rows))
            nxt = tos[np.searchsorted(c, u, side="right").clip(0, len(tos) - 1)]
            if s in by_visit:
                seen = visits[s]
                seen[rows] += 1
                k = np.minimum(seen[rows], VISIT_CLASSES)
                for cls, (vt, vc) in by_visit[s].items():
                    pick = k == cls
                    if pick.any() and len(vt):
                        nxt[pick] = vt[np.searchsorted(vc, u[pick], side="right").clip(0, len(vt) - 1)]
            stop = nxt < 0
            if stop.any():  # finished at an end step: the case's last visit is this one
                active[rows[stop]] = False
                nxt[stop] = s
            cur[rows] = nxt
        moves += 1
    trace = Trace(
        case=np.concatenate([a for a, _, _ in entries]) if entries else np.array([], dtype=np.int64),
        step=np.concatenate([s for _, s, _ in entries]) if entries else np.array([], dtype=np.int64),
        time=np.concatenate([x for _, _, x in entries]) if entries else np.array([], dtype=float),
    )
    return Walk(arrive=arrive, capped=int(active.sum()), trace=trace, per_run=per_run)


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
    servers = {lane: simpy.PriorityResource(env, capacity=c) for lane, c in m.capacity.items()}
    busy = dict.fromkeys(servers, 0.0)  # work done per lane, for utilisation
    waited = dict.fromkeys(servers, 0.0)  # time spent queueing per lane, for the mean queue length (Little)
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
    visit_lists = {s: {k: (vt.tolist(), vc.tolist()) for k, (vt, vc) in cl.items()}
                   for s, cl in _by_visit(m, index).items()}  # fmt: skip

    def pick(cdf: list[float], u: float) -> int:
        return min(bisect.bisect_right(cdf, u), len(cdf) - 1)

    def case(i: int, arrived: float) -> Any:
        s = index[starts[pick(sp_list, uniform())][0]]
        seen: dict[int, int] = {}
        first_go: dict[str, bool] = {}  # set_priority: whether this case goes first, per step
        for _ in range(MAX_MOVES):
            t_case.append(i)
            t_step.append(s)
            t_time.append(env.now - arrived)
            sid = ids[s]
            if sid in m.ends:
                tos_l, c_l = cum_lists[s]
                if not tos_l or tos_l[pick(c_l, uniform())] < 0:  # finished here
                    return
            work = draw(sid)
            lane = m.lanes.get(sid)
            if lane in servers:
                first = sid in m.priority and first_go.setdefault(sid, uniform() < m.priority[sid])
                asked = env.now
                with servers[lane].request(priority=0 if first else 1) as req:
                    yield req
                    waited[lane] += env.now - asked
                    busy[lane] += work
                    yield env.timeout(work)
            else:
                yield env.timeout(work)
            if sid in m.schedules:  # wait for the step's next scheduled date
                yield env.timeout(max(to_clock(scheduled(m, sid, np.array([to_calendar(env.now)]))[0]) - env.now, 0.0))
            tos_l, c_l = cum_lists[s]
            if not tos_l:
                return
            if s in visit_lists:
                seen[s] = seen.get(s, 0) + 1
                tos_l, c_l = visit_lists[s].get(min(seen[s], VISIT_CLASSES), (tos_l, c_l))
            nxt = tos_l[pick(c_l, uniform())]
            if nxt < 0:  # an end step's own chance of finishing is drawn on arrival; here it means go on
                nxt = next((x for x in tos_l if x >= 0), -1)
                if nxt < 0:
                    return
            s = nxt
        capped[0] += 1

    # Simulated time runs in the process clock (work is done on working days); arrivals come on dates.
    arrive = np.sort(arrival_days(m, n, n, rng))
    cal = busdays(m) if m.process.clock == "working_days" else None
    origin = np.datetime64(m.origin, "D")

    def to_calendar(clock_t: float) -> float:
        if cal is None:
            return clock_t
        day = np.busday_offset(origin, math.floor(clock_t), roll="forward", busdaycal=cal)
        return float((day - origin).astype(np.int64))

    def to_clock(cal_t: float) -> float:
        if cal is None:
            return cal_t
        return float(np.busday_count(origin, origin + np.timedelta64(int(cal_t), "D"), busdaycal=cal))

    if cal is not None:
        arrival_dates = origin + np.floor(arrive).astype(np.int64).astype("m8[D]")
        clock_arrive = np.busday_count(origin, arrival_dates, busdaycal=cal).astype(float)
    else:
        clock_arrive = arrive

    def arrivals() -> Any:
        for i in range(n):
            yield env.timeout(max(float(clock_arrive[i]) - env.now, 0.0))
            env.process(case(i, env.now))

    env.process(arrivals())
    env.run()
    cases = np.asarray(t_case, dtype=np.int64)
    clock_t = np.asarray(t_time, dtype=float) + clock_arrive[cases]
    if cal is not None:  # working-day clock time to dates: whole working days on the calendar
        when = np.busday_offset(origin, np.floor(clock_t).astype(np.int64), roll="forward", busdaycal=cal)
        cal_t = np.maximum((when - origin).astype(np.int64).astype(float), arrive[cases])
    else:
        cal_t = np.floor(clock_t) if m.whole_days else clock_t  # an event is on the date it happens
    trace = Trace(case=cases, step=np.asarray(t_step, dtype=np.int64), time=cal_t)
    horizon = max(env.now, 1e-9)
    lanes = {lane: (busy[lane] / (m.capacity[lane] * horizon), waited[lane] / horizon) for lane in servers}
    return Walk(arrive=arrive, capped=capped[0], trace=trace, per_run=n, lanes=lanes)
