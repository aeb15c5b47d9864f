"""Simulation: fit a model from a replay, apply a proposed change, compare over many seeded runs.

The model (:class:`Model`) has, per step, a duration distribution in the
process clock and the chances of each move out of it; the chances of each
start step; and an arrival rate. :func:`fit` takes them from the data where
there is enough of it, else from the process file (``typical``,
``probability``), else an even split or a default, and records where each
parameter came from. A change (:mod:`flowmap.change`) edits the model.

Without capacity, runs are vectorised over every case of every run at once
(one numpy pass per move and step, never a Python loop per case). With
``set_capacity``, each run is a discrete-event simulation (simpy) in which
durations are work time and waiting for a free server emerges.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from flowmap.analysis.metrics import edge_table
from flowmap.analysis.replay import Replay
from flowmap.errors import FlowmapError
from flowmap.model.process import Process, SpanTarget
from flowmap.simulation.change import Change

__all__ = [
    "MAX_RUNS",
    "Duration",
    "Model",
    "Parameter",
    "SimulationResult",
    "apply_change",
    "fit",
    "model_from_process",
    "simulate",
    "synthesize",
]

MAX_RUNS = 100_000
MAX_MOVES = 1_000
"""A simulated case that makes this many moves is stopped and counted (a loop that could run forever)."""
MIN_DATA = 10
"""Completed visits (or moves out of a step) needed to use the data as it is; fewer are smoothed."""
DEFAULT_SIGMA = 0.6
CLOCK_RATIO = 7 / 5  # calendar days per working day, for targets on the other clock


@dataclass(frozen=True)
class Duration:
    """Days spent in a step, in the process clock."""

    kind: Literal["empirical", "lognormal", "exponential"]
    values: tuple[float, ...] = ()
    median: float = 1.0
    sigma: float = DEFAULT_SIGMA
    mean: float = 1.0
    scale: float = 1.0
    at_most: float | None = None

    def sample(self, rng: np.random.Generator, n: int) -> npt.NDArray[np.float64]:
        if self.kind == "empirical":
            out = np.asarray(self.values)[rng.integers(0, len(self.values), n)]
        elif self.kind == "lognormal":
            out = self.median * np.exp(self.sigma * rng.standard_normal(n))
        else:
            out = rng.exponential(self.mean, n)
        out = out * self.scale
        if self.at_most is not None:
            out = np.minimum(out, self.at_most)
        return np.asarray(out, dtype=np.float64)

    def typical(self) -> float:
        """The median of the distribution (after scale and cap)."""
        if self.kind == "empirical":
            m = float(np.median(self.values))
        elif self.kind == "lognormal":
            m = self.median
        else:
            m = self.mean * math.log(2)
        m *= self.scale
        return min(m, self.at_most) if self.at_most is not None else m


@dataclass(frozen=True)
class Parameter:
    """One model parameter and where it came from."""

    what: str  # duration, probability, start, arrivals
    step: str | None
    to: str | None
    value: float
    source: str  # data, smoothed data, process file, even split, default, change
    n: int = 0

    def as_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"what": self.what}
        if self.step is not None:
            d["step" if self.what != "probability" else "from"] = self.step
        if self.to is not None:
            d["to"] = self.to
        d.update({"value": round(self.value, 6), "source": self.source, "n": self.n})
        return d


@dataclass(frozen=True)
class Model:
    """What is simulated: steps, durations, move chances, starts, arrivals, capacity, targets."""

    process: Process
    steps: tuple[str, ...]
    ends: frozenset[str]
    lanes: dict[str, str | None]
    durations: dict[str, Duration]
    moves: dict[str, dict[str, float]]
    starts: dict[str, float]
    arrivals_per_day: float  # in the process clock
    targets: tuple[SpanTarget, ...]
    step_targets: dict[str, float | None]
    capacity: dict[str, int] = field(default_factory=dict)
    parameters: tuple[Parameter, ...] = ()
    cases: int = 100
    events: dict[str, str] = field(default_factory=dict)  # step -> event name written by synth

    def parameters_table(self) -> pd.DataFrame:
        """Every parameter, its value and where it came from (``simulate --explain``)."""
        return pd.DataFrame([p.as_dict() for p in self.parameters])


# --- fitting ------------------------------------------------------------------------------


def _lognormal_from(values: npt.NDArray[np.float64]) -> Duration:
    positive = np.maximum(values, 0.25)
    sigma = float(np.std(np.log(positive))) if len(values) >= 3 else DEFAULT_SIGMA
    return Duration("lognormal", median=float(np.median(positive)), sigma=max(min(sigma, 2.0), 0.2))


def model_from_process(process: Process, *, cases: int = 100) -> Model:
    """A model from the process file alone: ``typical`` times, ``probability`` moves, even splits."""
    return _build(process, visits=None, moves_seen=None, firsts=None, arrivals=None, cases=cases)


def fit(result: Replay) -> Model:
    """Fit a model from a replay, falling back to the process file where data is thin.

    Durations: each step's completed visits, resampled as they are when there
    are at least :data:`MIN_DATA`, else a log-normal with their median
    (smoothed); with none, the step's ``typical`` (log-normal, sigma 0.6);
    with neither, a default of 1 day. Moves: the observed moves out of a step
    when there are at least :data:`MIN_DATA`, else the process file's
    ``probability`` values with the rest split evenly. Arrivals: the case start
    dates. The cohort size is the observed number of cases.
    """
    v = result.visits
    done = ~v["left"].isna().to_numpy() & ~np.isnan(v["days"].to_numpy())
    visits = {s: v["days"].to_numpy()[done & (v["step"].astype(str).to_numpy() == s)] for s in result.process.step_ids}
    edges = edge_table(result)
    moves_seen: dict[str, dict[str, int]] = {}
    for frm, to, c in zip(edges["from"], edges["to"], edges["count"], strict=True):
        moves_seen.setdefault(str(frm), {})[str(to)] = int(c)
    firsts = {
        str(k): int(c) for k, c in v.loc[result.visit_codes().seq == 0, "step"].astype(str).value_counts().items()
    }
    starts = np.sort(result.cases["started"].to_numpy())
    return _build(result.process, visits=visits, moves_seen=moves_seen, firsts=firsts, arrivals=starts,
                  cases=max(len(result.cases), 1))  # fmt: skip


def _build(
    process: Process,
    *,
    visits: dict[str, npt.NDArray[np.float64]] | None,
    moves_seen: dict[str, dict[str, int]] | None,
    firsts: dict[str, int] | None,
    arrivals: npt.NDArray[np.datetime64] | None,
    cases: int,
) -> Model:
    params: list[Parameter] = []
    durations: dict[str, Duration] = {}
    for s in process.steps:
        if s.end:
            continue
        data = visits.get(s.id, np.array([])) if visits is not None else np.array([])
        if len(data) >= MIN_DATA:
            d = Duration("empirical", values=tuple(float(x) for x in data))
            source = "data"
        elif len(data) > 0:
            d = _lognormal_from(data)
            source = "smoothed data"
        elif s.typical is not None:
            d = Duration("lognormal", median=max(float(s.typical), 0.25))
            source = "process file"
        else:
            d = Duration("lognormal", median=1.0)
            source = "default"
        durations[s.id] = d
        params.append(Parameter("duration", s.id, None, d.typical(), source, len(data)))
    moves: dict[str, dict[str, float]] = {}
    for s in process.steps:
        if s.end:
            continue
        seen = (moves_seen or {}).get(s.id, {})
        total = sum(seen.values())
        if total >= MIN_DATA:
            moves[s.id] = {to: c / total for to, c in seen.items()}
            for to, p in moves[s.id].items():
                params.append(Parameter("probability", s.id, to, p, "data", total))
            continue
        declared = [t for t in process.transitions if t.from_step == s.id]
        if not declared:  # not an end step but no way out: validation forbids this, keep it safe
            continue
        fixed = sum(t.probability for t in declared if t.probability is not None)
        free = [t for t in declared if t.probability is None]
        rest = max(1.0 - fixed, 0.0)
        probs = {t.to_step: (t.probability if t.probability is not None else rest / len(free)) for t in declared}
        norm = sum(probs.values()) or 1.0
        moves[s.id] = {k: p / norm for k, p in probs.items()}
        for t in declared:
            source = "process file" if t.probability is not None else "even split"
            params.append(Parameter("probability", s.id, t.to_step, moves[s.id][t.to_step], source, total))
    if firsts:
        total = sum(firsts.values())
        starts = {k: c / total for k, c in firsts.items()}
        src, n = "data", total
    else:
        ids = process.start_steps or (process.step_ids[0],)
        starts = {k: 1 / len(ids) for k in ids}
        src, n = "process file", 0
    for k, p in starts.items():
        params.append(Parameter("start", k, None, p, src, n))
    unit = CLOCK_RATIO if process.clock == "working_days" else 1.0  # arrivals per clock day
    if arrivals is not None and len(arrivals) >= 2 and arrivals[-1] > arrivals[0]:
        span = (arrivals[-1] - arrivals[0]) / np.timedelta64(1, "D")
        per_day = (len(arrivals) - 1) / float(span) * unit
        params.append(Parameter("arrivals", None, None, per_day * 7 / unit, "data", len(arrivals)))
    else:
        per_day = 1 / 7 * unit
        params.append(Parameter("arrivals", None, None, 1.0, "default", 0))
    return Model(
        process=process,
        steps=process.step_ids,
        ends=frozenset(process.end_steps),
        lanes={s.id: s.lane for s in process.steps},
        durations=durations,
        moves=moves,
        starts=starts,
        arrivals_per_day=per_day,
        targets=process.targets,
        step_targets={s.id: s.target for s in process.steps},
        parameters=tuple(params),
        cases=cases,
        events={s.id: s.events[0] if s.events else s.id for s in process.steps},
    )


# --- changes -------------------------------------------------------------------------------


def apply_change(model: Model, change: Change) -> Model:
    """The model with each operation of ``change`` applied in order."""
    m = model
    for op in change.operations:
        body = op.body
        if op.kind == "set_probability":
            out = dict(m.moves.get(body.from_, {}))
            others = {k: v for k, v in out.items() if k != body.to}
            rest = sum(others.values())
            left = max(1.0 - body.probability, 0.0)
            out = {k: (v / rest * left if rest > 0 else left / max(len(others), 1)) for k, v in others.items()}
            out[body.to] = body.probability
            m = replace(m, moves={**m.moves, body.from_: out})
        elif op.kind == "set_duration":
            d = m.durations[body.step]
            if body.median is not None:
                d = replace(d, scale=d.scale * body.median / max(d.typical(), 1e-9))
            elif body.scale is not None:
                d = replace(d, scale=d.scale * body.scale)
            else:
                d = replace(d, at_most=body.at_most if d.at_most is None else min(d.at_most, body.at_most))
            m = replace(m, durations={**m.durations, body.step: d})
        elif op.kind == "remove_step":
            m = _remove(m, body)
        elif op.kind == "set_capacity":
            m = replace(m, capacity={**m.capacity, body.lane: body.servers})
        elif op.kind == "set_arrivals":
            unit = CLOCK_RATIO if m.process.clock == "working_days" else 1.0
            m = replace(m, arrivals_per_day=body.per_week / 7 * unit)
        elif op.kind == "add_step":
            a, b = body.between
            out = dict(m.moves.get(a, {}))
            p = out.pop(b, 0.0)
            out[body.id] = out.get(body.id, 0.0) + p
            m = replace(
                m,
                steps=(*m.steps, body.id),
                lanes={**m.lanes, body.id: body.lane},
                durations={**m.durations, body.id: Duration("lognormal", median=body.typical)},
                moves={**m.moves, a: out, body.id: {b: 1.0}},
                step_targets={**m.step_targets, body.id: body.target},
                events={**m.events, body.id: body.label or body.id},
            )
        elif op.kind == "set_target":
            if body.step is not None:
                m = replace(m, step_targets={**m.step_targets, body.step: body.days})
            else:
                m = replace(m, targets=tuple(
                    replace(t, within=body.within, at_least=body.at_least) if t.id == body.target else t
                    for t in m.targets
                ))  # fmt: skip
    return m


def _remove(m: Model, sid: str) -> Model:
    """Join the ways in and out of a step: a move a->s->b becomes a->b with chance p(a,s)*p(s,b)."""
    out_s = m.moves.get(sid, {})
    moves: dict[str, dict[str, float]] = {}
    for a, outs in m.moves.items():
        if a == sid:
            continue
        new: dict[str, float] = {}
        for b, p in outs.items():
            if b == sid:
                for c, q in out_s.items():
                    if c != a:
                        new[c] = new.get(c, 0.0) + p * q
                    else:  # s leads straight back to a: that share stays with a's other moves
                        new[c] = new.get(c, 0.0)
            else:
                new[b] = new.get(b, 0.0) + p
        total = sum(new.values())
        moves[a] = {k: v / total for k, v in new.items() if v > 0} if total > 0 else new
    starts: dict[str, float] = {}
    for a, p in m.starts.items():
        if a == sid:
            for c, q in out_s.items():
                starts[c] = starts.get(c, 0.0) + p * q
        else:
            starts[a] = starts.get(a, 0.0) + p
    return replace(
        m,
        steps=tuple(s for s in m.steps if s != sid),
        durations={k: v for k, v in m.durations.items() if k != sid},
        moves=moves,
        starts=starts,
    )


# --- engines -------------------------------------------------------------------------------


@dataclass
class _Walk:
    start: npt.NDArray[np.float64]  # (cases, targets): clock days from arrival to the target's start
    stop: npt.NDArray[np.float64]
    end: npt.NDArray[np.float64]  # days from arrival to an end step (NaN if never)
    capped: int
    trace: list[tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.float64]]] | None = None


def _tables(m: Model) -> tuple[list[str], dict[str, int], list[tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]]]:
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


def _walk(m: Model, n: int, rng: np.random.Generator, *, record: bool = False) -> _Walk:
    """Every case's path, vectorised over cases: one pass per move, and per step within it."""
    ids, index, cum = _tables(m)
    starts = list(m.starts.items())
    sp = np.array([p for _, p in starts], dtype=float)
    cur = np.array([index[s] for s, _ in starts], dtype=np.int64)[
        np.searchsorted(np.cumsum(sp / sp.sum()), rng.random(n), side="right").clip(0, len(sp) - 1)
    ]
    t = np.zeros(n)
    n_t = len(m.targets)
    t_from = np.array([index.get(tg.from_step, -1) for tg in m.targets], dtype=np.int64)
    t_to = np.array([index.get(tg.to_step, -1) for tg in m.targets], dtype=np.int64)
    start = np.full((n, n_t), np.nan)
    stop = np.full((n, n_t), np.nan)
    end = np.full(n, np.nan)
    is_end = np.array([s in m.ends for s in ids])
    durations = [m.durations.get(s) for s in ids]
    active = np.ones(n, dtype=bool)
    trace: list[tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.float64]]] | None = (
        [] if record else None
    )
    moves = 0
    while active.any() and moves < MAX_MOVES:
        act = np.flatnonzero(active)
        where = cur[act]
        if trace is not None:
            trace.append((act, where, t[act].copy()))
        for j in range(n_t):  # entering a step starts or stops span clocks
            hit_from = act[(where == t_from[j]) & np.isnan(start[act, j])]
            start[hit_from, j] = t[hit_from]
            hit_to = act[(where == t_to[j]) & ~np.isnan(start[act, j]) & np.isnan(stop[act, j])]
            hit_to = hit_to[start[hit_to, j] <= t[hit_to]]
            stop[hit_to, j] = t[hit_to]
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
    capped = int(active.sum())
    return _Walk(start=start, stop=stop, end=end, capped=capped, trace=trace)


def _des(m: Model, n: int, rng: np.random.Generator) -> _Walk:
    """One run as a discrete-event simulation: lanes with capacity are servers, and cases queue."""
    import simpy

    ids, index, cum = _tables(m)
    env = simpy.Environment()
    servers = {lane: simpy.Resource(env, capacity=c) for lane, c in m.capacity.items()}
    n_t = len(m.targets)
    start = np.full((n, n_t), np.nan)
    stop = np.full((n, n_t), np.nan)
    end = np.full(n, np.nan)
    t_from = [index.get(tg.from_step, -1) for tg in m.targets]
    t_to = [index.get(tg.to_step, -1) for tg in m.targets]
    starts = list(m.starts.items())
    sp = np.cumsum([p for _, p in starts])
    sp = sp / sp[-1]
    capped = [0]
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
        import bisect

        return min(bisect.bisect_right(cdf, u), len(cdf) - 1)

    sp_list = sp.tolist()

    def case(i: int, arrived: float) -> Any:
        s = index[starts[pick(sp_list, uniform())][0]]
        for _ in range(MAX_MOVES):
            now = env.now - arrived
            for j in range(n_t):
                if s == t_from[j] and np.isnan(start[i, j]):
                    start[i, j] = now
                elif s == t_to[j] and not np.isnan(start[i, j]) and np.isnan(stop[i, j]):
                    stop[i, j] = now
            sid = ids[s]
            if sid in m.ends:
                end[i] = now
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
    return _Walk(start=start, stop=stop, end=end, capped=capped[0])


# --- comparison ----------------------------------------------------------------------------


@dataclass(frozen=True)
class SimulationResult:
    """Baseline and scenarios, per span target and end to end, over many runs."""

    seed: int
    runs: int
    cases: int
    scenarios: list[dict[str, Any]]
    parameters: tuple[Parameter, ...]
    capped: dict[str, int]

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape of design.md section 7."""
        return {
            "flowmap": "simulate/1",
            "seed": self.seed,
            "runs": self.runs,
            "cases": self.cases,
            "scenarios": self.scenarios,
            "parameters": [p.as_dict() for p in self.parameters],
            "capped": self.capped,
        }

    def table(self) -> pd.DataFrame:
        """One row per scenario, measure and statistic, with the interval (for CSV and the terminal)."""
        rows = []
        for sc in self.scenarios:
            for measure, stats in [*sc["targets"].items(), ("end_to_end", sc["end_to_end"])]:
                for stat in ("met_rate", "median_days", "p90_days"):
                    if stat not in stats:
                        continue
                    diff = sc.get("vs_baseline", {}).get(measure, {}).get(stat)
                    rows.append({
                        "scenario": sc["name"], "measure": measure, "statistic": stat, "value": stats[stat],
                        "ci_low": stats[f"{stat}_ci"][0], "ci_high": stats[f"{stat}_ci"][1],
                        "diff": None if diff is None else diff["diff"],
                        "diff_ci_low": None if diff is None else diff["ci"][0],
                        "diff_ci_high": None if diff is None else diff["ci"][1],
                    })  # fmt: skip
        return pd.DataFrame(rows)

    def summary(self) -> pd.DataFrame:
        """For the terminal: per scenario and measure, each figure with its 95% interval, and the change."""
        rows = []

        def days(v: float | None, ci: list[float | None]) -> str:
            if v is None:
                return "–"
            return f"{v:.1f} ({ci[0]:.1f}–{ci[1]:.1f})"

        for sc in self.scenarios:
            for measure, stats in [*sc["targets"].items(), ("end_to_end", sc["end_to_end"])]:
                row = {"scenario": sc["name"], "measure": measure}
                if "met_rate" in stats:
                    ci = stats["met_rate_ci"]
                    row["met rate"] = "–" if stats["met_rate"] is None else (
                        f"{_pct(stats['met_rate'])} ({_pct(ci[0])}–{_pct(ci[1])})")  # fmt: skip
                else:
                    row["met rate"] = ""
                row["median days"] = days(stats["median_days"], stats["median_days_ci"])
                row["p90 days"] = days(stats["p90_days"], stats["p90_days_ci"])
                vs = sc.get("vs_baseline", {}).get(measure, {})
                if "met_rate" in vs and vs["met_rate"]["diff"] is not None:
                    d = vs["met_rate"]
                    row["change in met rate"] = (f"{100 * d['diff']:+.0f} points ({100 * d['ci'][0]:+.0f} to "
                                                 f"{100 * d['ci'][1]:+.0f})")  # fmt: skip
                elif "median_days" in vs and vs["median_days"]["diff"] is not None:
                    d = vs["median_days"]
                    row["change in met rate"] = f"median {d['diff']:+.1f} days"
                else:
                    row["change in met rate"] = ""
                rows.append(row)
        return pd.DataFrame(rows)

    def notes(self) -> list[str]:
        """Plain-language notes on runs that were cut short (a loop followed :data:`MAX_MOVES` times)."""
        return [
            f"note: {n} simulated cases in '{name}' went round a loop {MAX_MOVES} times and were stopped "
            "(counted as missing targets they had started)"
            for name, n in self.capped.items()
            if n
        ]

    def write(self, path: str | Path) -> Path:
        """Write the result: ``.json`` (the whole result) or ``.csv``/``.xlsx`` (:meth:`table`)."""
        import json

        from flowmap.io import TABLE_FORMATS, write_table, write_text

        p = Path(path)
        if p.suffix.lower() == ".json":
            write_text(p, json.dumps(self.as_dict(), indent=2, ensure_ascii=False) + "\n")
        elif p.suffix.lower() in TABLE_FORMATS:
            write_table(self.table(), p, sheet="simulation")
        else:
            raise FlowmapError(f"cannot write a simulation to {p}: use .json, .csv or .xlsx")
        return p

    def sentences(self, process: Process) -> list[str]:
        """A plain-language line per change and span target."""
        out = []
        base = self.scenarios[0]
        labels = {t.id: t.display_label for t in process.targets}
        for sc in self.scenarios[1:]:
            for tid, stats in sc["targets"].items():
                b = base["targets"].get(tid)
                if b is None or b.get("met_rate") is None or stats.get("met_rate") is None:
                    continue
                d = sc["vs_baseline"][tid]["met_rate"]
                before = f"{_pct(b['met_rate'])} ({_pct(b['met_rate_ci'][0])}–{_pct(b['met_rate_ci'][1])})"
                after = f"{_pct(stats['met_rate'])} ({_pct(stats['met_rate_ci'][0])}–{_pct(stats['met_rate_ci'][1])})"
                if abs(d["diff"]) < 0.005:
                    text = f"stays at {before}"
                else:
                    text = f"{'rises' if d['diff'] > 0 else 'falls'} from {before} to {after}"
                sure = "" if d["ci"][0] > 0 or d["ci"][1] < 0 else " (the difference could be zero)"
                out.append(f"{sc['name']}: {labels.get(tid, tid)}: {text}{sure}.")
        return out


def _pct(x: float | None) -> str:
    return "–" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{100 * x:.0f}%"


def _run_stats(m: Model, w: _Walk, runs: int, n: int) -> dict[str, npt.NDArray[np.float64]]:
    """Per-run statistics: met rate, median and p90 per target; median and p90 end to end."""
    out: dict[str, npt.NDArray[np.float64]] = {}
    ratio = {"working_days": {"calendar_days": CLOCK_RATIO}, "calendar_days": {"working_days": 1 / CLOCK_RATIO}}
    for j, tg in enumerate(m.targets):
        days = (w.stop[:, j] - w.start[:, j]).reshape(runs, n)
        days = days * ratio.get(m.process.clock, {}).get(tg.clock, 1.0)
        stopped = ~np.isnan(days)
        if tg.within is not None:
            met = stopped & (days <= tg.within + 1e-9)
        else:
            met = stopped & (days >= (tg.at_least or 0) - 1e-9)
        started = ~np.isnan(w.start[:, j]).reshape(runs, n)
        # a clock that started but never stopped in a case that ran to the move cap is a miss
        judged = stopped | (started & np.isnan(w.end.reshape(runs, n)) & ~stopped)
        with np.errstate(invalid="ignore", divide="ignore"):
            out[f"{tg.id}/met_rate"] = met.sum(axis=1) / judged.sum(axis=1)
        out[f"{tg.id}/median_days"] = _nanquantile_rows(days, 0.5)
        out[f"{tg.id}/p90_days"] = _nanquantile_rows(days, 0.9)
    e2e = w.end.reshape(runs, n)
    out["end_to_end/median_days"] = _nanquantile_rows(e2e, 0.5)
    out["end_to_end/p90_days"] = _nanquantile_rows(e2e, 0.9)
    return out


def _nanquantile_rows(a: npt.NDArray[np.float64], q: float) -> npt.NDArray[np.float64]:
    if np.isnan(a).all(axis=1).any():
        res = np.full(a.shape[0], np.nan)
        ok = ~np.isnan(a).all(axis=1)
        if ok.any():
            res[ok] = np.nanquantile(a[ok], q, axis=1)
        return res
    return np.asarray(np.nanquantile(a, q, axis=1), dtype=np.float64)


def _summary(v: npt.NDArray[np.float64]) -> tuple[float | None, list[float | None]]:
    ok = v[~np.isnan(v)]
    if not len(ok):
        return None, [None, None]
    lo, hi = np.quantile(ok, [0.025, 0.975])
    return round(float(np.mean(ok)), 4), [round(float(lo), 4), round(float(hi), 4)]


def _scenario(name: str, m: Model, stats: dict[str, npt.NDArray[np.float64]]) -> dict[str, Any]:
    targets: dict[str, dict[str, Any]] = {}
    for tg in m.targets:
        entry: dict[str, Any] = {}
        for stat in ("met_rate", "median_days", "p90_days"):
            point, ci = _summary(stats[f"{tg.id}/{stat}"])
            entry[stat], entry[f"{stat}_ci"] = point, ci
        targets[tg.id] = entry
    e2e: dict[str, Any] = {}
    for stat in ("median_days", "p90_days"):
        e2e[stat], e2e[f"{stat}_ci"] = _summary(stats[f"end_to_end/{stat}"])
    return {"name": name, "targets": targets, "end_to_end": e2e}


def simulate(
    model: Model,
    changes: Sequence[Change] = (),
    *,
    runs: int = 300,
    seed: int = 1,
    cases: int | None = None,
) -> SimulationResult:
    """Run the baseline and each change ``runs`` times with ``cases`` cases each.

    The same seed gives the same numbers. Each scenario starts from the same
    seed, so runs are paired and differences from the baseline are less noisy.

    Raises
    ------
    FlowmapError
        For ``runs`` below 1 or above :data:`MAX_RUNS`, or ``cases`` below 1.
    """
    if runs < 1:
        raise FlowmapError(f"--runs must be at least 1 (got {runs})")
    if runs > MAX_RUNS:
        secs = runs * (cases or model.cases) * 2e-6 * (50 if _any_capacity(model, changes) else 1)
        raise FlowmapError(
            f"--runs {runs} is more than flowmap allows ({MAX_RUNS}); it would take about {secs / 60:.0f} minutes. "
            "300 to 1,000 runs give intervals to within a percentage point"
        )
    n = cases if cases is not None else model.cases
    if n < 1:
        raise FlowmapError(f"--cases must be at least 1 (got {n})")
    scenarios: list[dict[str, Any]] = []
    per_run: list[dict[str, npt.NDArray[np.float64]]] = []
    capped: dict[str, int] = {}
    for name, m in [("baseline", model), *((c.name, apply_change(model, c)) for c in changes)]:
        rng = np.random.default_rng(seed)
        if m.capacity:
            walks = [_des(m, n, rng) for _ in range(runs)]
            w = _Walk(
                start=np.concatenate([x.start for x in walks]),
                stop=np.concatenate([x.stop for x in walks]),
                end=np.concatenate([x.end for x in walks]),
                capped=sum(x.capped for x in walks),
            )
        else:
            w = _walk(m, runs * n, rng)
        stats = _run_stats(m, w, runs, n)
        sc = _scenario(name, m, stats)
        if per_run:
            base = per_run[0]
            vs: dict[str, dict[str, Any]] = {}
            for key, vals in stats.items():
                measure, stat = key.split("/")
                if key in base:
                    diff, ci = _summary(vals - base[key])
                    vs.setdefault(measure, {})[stat] = {"diff": diff, "ci": ci}
            sc["vs_baseline"] = vs
        capped[name] = w.capped
        scenarios.append(sc)
        per_run.append(stats)
    return SimulationResult(seed=seed, runs=runs, cases=n, scenarios=scenarios, parameters=model.parameters,
                            capped=capped)  # fmt: skip


def _any_capacity(model: Model, changes: Sequence[Change]) -> bool:
    return bool(model.capacity) or any(op.kind == "set_capacity" for c in changes for op in c.operations)


# --- synthetic logs ----------------------------------------------------------------------------


def synthesize(model: Model, *, cases: int, seed: int = 1, start: str | pd.Timestamp = "2025-01-06") -> pd.DataFrame:
    """A simulated event log in the canonical shape: ``case_id, event, timestamp``.

    Cases arrive at the model's rate from ``start``; the log ends at the last
    arrival, so the cases still going then are open, as in a real extract.
    """
    from flowmap.model.clock import add_days

    if cases < 1:
        raise FlowmapError(f"--cases must be at least 1 (got {cases})")
    rng = np.random.default_rng(seed)
    w = _walk(model, cases, rng, record=True)
    assert w.trace is not None
    gaps = rng.exponential(1 / model.arrivals_per_day, cases)
    gaps[0] = 0.0
    arrive = np.cumsum(gaps)  # clock days after start
    idx = np.concatenate([a for a, _, _ in w.trace])
    step = np.concatenate([s for _, s, _ in w.trace])
    when = np.concatenate([t for _, _, t in w.trace]) + arrive[idx]
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
