"""The simulation model: what is simulated, fitted from a replay or taken from the process file.

The model (:class:`Model`) has, per step, a duration distribution in the
process clock and the chances of each move out of it; the chances of each
start step; and an arrival rate. :func:`fit` takes them from the data where
there is enough of it, else from the process file (``typical``,
``probability``), else an even split or a default, and records where each
parameter came from (:class:`Parameter`, ``simulate --explain``).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from flowmap.analysis.metrics import edge_table
from flowmap.analysis.replay import Replay
from flowmap.model.process import Process, SpanTarget

__all__ = ["DEFAULT_ORIGIN", "DEFAULT_SIGMA", "MIN_DATA", "Duration", "Model", "Parameter", "fit", "model_from_process"]

MIN_DATA = 10
"""Below this many observations a step's durations, or its moves, fall back to the process file."""
DEFAULT_SIGMA = 0.6
DEFAULT_ORIGIN = dt.date(2025, 1, 6)  # a Monday: where simulated dates start without data
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@dataclass(frozen=True)
class Duration:
    """Days spent in a step, in the process clock."""

    kind: Literal["empirical", "lognormal", "exponential", "km"]
    values: tuple[float, ...] = ()  # empirical: the durations; km: the event times
    cdf: tuple[float, ...] = ()  # km: 1 - S(t) at each event time (Kaplan-Meier)
    median: float = 1.0
    sigma: float = DEFAULT_SIGMA
    mean: float = 1.0
    scale: float = 1.0
    at_most: float | None = None

    def sample(self, rng: np.random.Generator, n: int) -> npt.NDArray[np.float64]:
        if self.kind == "empirical":
            out = np.asarray(self.values)[rng.integers(0, len(self.values), n)]
        elif self.kind == "km":
            out = self._km(rng.random(n), rng.random(n))
        elif self.kind == "lognormal":
            out = self.median * np.exp(self.sigma * rng.standard_normal(n))
        else:
            out = rng.exponential(self.mean, n)
        out = out * self.scale
        if self.at_most is not None:
            out = np.minimum(out, self.at_most)
        return np.asarray(out, dtype=np.float64)

    def sample_given(self, rng: np.random.Generator, elapsed: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """Whole durations of visits that have already lasted ``elapsed`` days: drawn from the distribution
        conditioned on lasting at least that long (so the remaining time is the draw less ``elapsed``)."""
        from scipy.special import ndtr, ndtri

        n = len(elapsed)
        e = np.asarray(elapsed, dtype=np.float64) / (self.scale or 1.0)
        u = rng.random(n)
        if self.kind == "km":
            cdf, times = np.asarray(self.cdf), np.asarray(self.values)
            below = np.searchsorted(times, e, side="left")  # completion times before e
            f0 = np.where(below > 0, cdf[np.maximum(below - 1, 0)] if len(cdf) else 0.0, 0.0)
            out = self._km(f0 + (1 - f0) * u, rng.random(n))
        elif self.kind == "lognormal":
            mu = math.log(max(self.median, 1e-6))
            p0 = ndtr((np.log(np.maximum(e, 1e-9)) - mu) / self.sigma)
            out = np.exp(mu + self.sigma * ndtri(np.clip(p0 + (1 - p0) * u, 1e-12, 1 - 1e-12)))
        elif self.kind == "exponential":
            out = e + rng.exponential(self.mean, n)
        else:
            values = np.sort(np.asarray(self.values))
            k = len(values) - np.searchsorted(values, e, side="left")  # values at least e
            idx = len(values) - k + np.floor(u * k).astype(np.int64)
            out = np.where(k > 0, values[np.minimum(idx, len(values) - 1)], e)
        out = np.maximum(out, e) * self.scale
        if self.at_most is not None:
            out = np.minimum(out, self.at_most)
        return np.asarray(np.maximum(out, np.asarray(elapsed, dtype=np.float64)), dtype=np.float64)

    def _km(self, u: npt.NDArray[np.float64], w: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """Inverse-CDF draws from the product-limit estimate; beyond its last step, from the log-normal tail
        (``median``, ``sigma``) conditioned on exceeding the longest time observed (``mean`` holds it)."""
        from scipy.special import ndtr, ndtri

        cdf = np.asarray(self.cdf)
        times = np.asarray(self.values)
        top = float(cdf[-1]) if len(cdf) else 0.0
        j = np.searchsorted(cdf, u, side="left").clip(0, max(len(times) - 1, 0))
        out = times[j] if len(times) else np.zeros(len(u))
        tail = u > top + 1e-12
        if tail.any():
            mu, longest = math.log(max(self.median, 1e-6)), max(self.mean, 1e-6)
            p0 = float(ndtr((math.log(longest) - mu) / self.sigma))
            v = np.clip(p0 + (1 - p0) * w[tail], 1e-12, 1 - 1e-12)
            out = out.astype(float)
            out[tail] = np.maximum(np.exp(mu + self.sigma * ndtri(v)), longest)
        return np.asarray(out, dtype=np.float64)

    def typical(self) -> float:
        """The median of the distribution (after scale and cap)."""
        if self.kind == "km":
            m = float(np.median(self._km(np.linspace(0.0005, 0.9995, 1000), np.full(1000, 0.5))))
        elif self.kind == "empirical":
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
    arrivals_per_day: float  # per calendar day
    targets: tuple[SpanTarget, ...]
    step_targets: dict[str, float | None]
    capacity: dict[str, int] = field(default_factory=dict)
    parameters: tuple[Parameter, ...] = ()
    cases: int = 100
    events: dict[str, str] = field(default_factory=dict)  # step -> event name written by synth
    weekday_share: tuple[float, ...] | None = None  # share of arrivals on each weekday, Monday first
    origin: dt.date = DEFAULT_ORIGIN  # the first arrival date
    tail_days: float | None = None  # calendar days from the last arrival to the as-of date (None: run to the end)
    whole_days: bool = True  # visits last whole days (dates without times, as trackers keep them)
    # Moves out of a step by visit number (1, 2, 3 = third or later) where the data has enough of them;
    # a visit number not listed uses ``moves``.
    moves_by_visit: dict[str, dict[int, dict[str, float]]] = field(default_factory=dict)
    arrival_dates: tuple[float, ...] | None = None  # fixed arrivals (days since the origin): a back-test's real starts
    schedules: dict[str, tuple[dt.date, int]] = field(default_factory=dict)  # step -> (first date, every N days)
    priority: dict[str, float] = field(default_factory=dict)  # step -> share of cases that go first there
    attribute_shares: dict[tuple[str, str], float] = field(default_factory=dict)  # (column, value) -> share of cases

    def parameters_table(self) -> pd.DataFrame:
        """Every parameter, its value and where it came from (``simulate --explain``)."""
        return pd.DataFrame([p.as_dict() for p in self.parameters])


def _lognormal_from(values: npt.NDArray[np.float64]) -> Duration:
    positive = np.maximum(values, 0.25)
    sigma = float(np.std(np.log(positive))) if len(values) >= 3 else DEFAULT_SIGMA
    return Duration("lognormal", median=float(np.median(positive)), sigma=max(min(sigma, 2.0), 0.2))


def model_from_process(process: Process, *, cases: int = 100) -> Model:
    """A model from the process file alone: ``typical`` times, ``probability`` moves, even splits."""
    return _build(process, visits=None, moves_seen=None, firsts=None, arrivals=None, cases=cases)


VISIT_CLASSES = 3
"""Moves are told apart by visit number up to this one; later visits share the last class (3 = third or later)."""


STOP = ""
"""The outcome of a visit to an end step that has ways out, when the case finishes there."""


def _moves_by_visit(result: Replay) -> dict[str, dict[int, tuple[dict[str, float], int]]]:
    """Per step that is visited more than once: the chances of each move out on the 1st, 2nd and 3rd+ visit,
    for each visit class with at least :data:`MIN_DATA` moves, and only when the classes differ (a step
    whose classes are all alike keeps one table, as does a step with one class of data)."""
    v = result.visits
    if not len(v):
        return {}
    case = v["case_id"].astype(str).to_numpy()
    step = v["step"].astype(str).to_numpy()
    nxt = np.r_[case[1:] == case[:-1], False]  # a move out: the next visit is the same case's
    k = np.minimum(v["visit"].to_numpy(dtype=np.int64), VISIT_CLASSES)
    frm, cls, to = step[nxt], k[nxt], np.r_[step[1:], [""]][nxt]
    frame = pd.DataFrame({"from": frm, "k": cls, "to": to})
    out: dict[str, dict[int, tuple[dict[str, float], int]]] = {}
    ends = set(result.process.end_steps)  # their moves include finishing, which no next visit shows
    for (sid, kk), g in frame.groupby(["from", "k"], sort=True):
        if len(g) < MIN_DATA or str(sid) in ends:
            continue
        counts = g["to"].value_counts()
        out.setdefault(str(sid), {})[int(str(kk))] = ({str(t): int(c) / len(g) for t, c in counts.items()}, len(g))
    # keep a step only when it has two classes of data that differ
    keep = {}
    for sid, classes in out.items():
        if len(classes) < 2:
            continue
        tables = [p for p, _ in classes.values()]
        keys = set().union(*tables)
        spread = max(abs(a.get(x, 0.0) - b.get(x, 0.0)) for a in tables for b in tables for x in keys)
        if spread >= 0.05:
            keep[sid] = classes
    return keep


def _whole(values: npt.NDArray[np.float64]) -> bool:
    ok = values[~np.isnan(values)]
    return bool(np.all(np.abs(ok - np.round(ok)) < 1e-9))


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
    days = v["days"].to_numpy(dtype=float)
    step = v["step"].astype(str).to_numpy()
    done = ~v["left"].isna().to_numpy() & ~np.isnan(days)
    still = v["left"].isna().to_numpy() & ~np.isnan(days)  # open visits: right-censored at the as-of date
    visits = {s: days[done & (step == s)] for s in result.process.step_ids}
    waiting = {s: days[still & (step == s)] for s in result.process.step_ids}
    edges = edge_table(result)
    moves_seen: dict[str, dict[str, int]] = {}
    for frm, to, c in zip(edges["from"], edges["to"], edges["count"], strict=True):
        moves_seen.setdefault(str(frm), {})[str(to)] = int(c)
    # An end step with ways out: the cases that finished there are its other outcome.
    ways_out = {t.from_step for t in result.process.transitions}
    finished = v.loc[v["last"].to_numpy(dtype=bool), "step"].astype(str)
    for sid, c in finished.value_counts().items():
        if str(sid) in ways_out and result.process.step(str(sid)).end:
            moves_seen.setdefault(str(sid), {})[STOP] = int(c)
    by_visit = _moves_by_visit(result)
    firsts = {
        str(k): int(c) for k, c in v.loc[result.visit_codes().seq == 0, "step"].astype(str).value_counts().items()
    }
    cases = result.window_cases
    starts = np.sort(cases["started"].to_numpy())
    model = _build(result.process, visits=visits, moves_seen=moves_seen, firsts=firsts, arrivals=starts,
                   cases=max(len(cases), 1), censored=waiting)  # fmt: skip
    first = pd.Timestamp(starts[0]) if len(starts) else pd.Timestamp(DEFAULT_ORIGIN)
    last = pd.Timestamp(starts[-1]) if len(starts) else first
    # Calendar-day data with times keeps its fractions; dates alone give whole days.
    whole = _whole(v["days"].to_numpy(dtype=float)) and bool((v["entered"].dt.normalize() == v["entered"]).all())
    params = list(model.parameters)
    for sid, classes in by_visit.items():
        for k, (probs, n) in classes.items():
            params.extend(Parameter(f"probability on visit {k}{'+' if k == VISIT_CLASSES else ''}", sid, to, p,
                                    "data", n) for to, p in probs.items())  # fmt: skip
    if not len(starts):
        return replace(model, moves_by_visit={}, parameters=tuple(params))
    return replace(model, origin=first.date(), tail_days=float((result.as_of.normalize() - last.normalize()).days),
                   whole_days=whole, parameters=tuple(params),
                   moves_by_visit={s: {k: p for k, (p, _) in c.items()} for s, c in by_visit.items()})  # fmt: skip


def _build(
    process: Process,
    *,
    visits: dict[str, npt.NDArray[np.float64]] | None,
    moves_seen: dict[str, dict[str, int]] | None,
    firsts: dict[str, int] | None,
    arrivals: npt.NDArray[np.datetime64] | None,
    cases: int,
    censored: dict[str, npt.NDArray[np.float64]] | None = None,
) -> Model:
    params: list[Parameter] = []
    durations = _durations(process, visits, params, censored)
    moves = _moves(process, moves_seen, params)
    starts = _starts(process, firsts, params)
    per_day, weekdays = _arrivals(arrivals, params)
    return Model(
        process=process,
        steps=process.step_ids,
        ends=frozenset(process.end_steps),
        lanes={s.id: s.lane for s in process.steps},
        durations=durations,
        moves=moves,
        starts=starts,
        arrivals_per_day=per_day,
        weekday_share=weekdays,
        targets=process.targets,
        step_targets={s.id: s.target for s in process.steps},
        parameters=tuple(params),
        cases=cases,
        events={s.id: s.events[0] if s.events else s.id for s in process.steps},
    )


Curve = tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]


def kaplan_meier(done: npt.NDArray[np.float64], waiting: npt.NDArray[np.float64]) -> Curve:
    """The product-limit estimate (Kaplan and Meier, 1958) of how long a visit lasts.

    ``done`` are completed visits; ``waiting`` are open ones, right-censored at
    the as-of date. Returns the distinct completion times and 1 - S(t) at each:
    S(t) is the product over completion times u <= t of (1 - d(u) / n(u)), with
    d(u) visits completed at u and n(u) visits lasting at least u (open ones
    included, so the slow cases still waiting count).

    Examples
    --------
    >>> t, f = kaplan_meier(np.array([1.0, 2.0, 2.0]), np.array([3.0]))
    >>> t.tolist(), [round(float(x), 3) for x in f]
    ([1.0, 2.0], [0.25, 0.75])
    """
    times = np.concatenate([done, waiting])
    event = np.concatenate([np.ones(len(done), dtype=bool), np.zeros(len(waiting), dtype=bool)])
    u, inverse = np.unique(times, return_inverse=True)
    d = np.bincount(inverse, weights=event.astype(float), minlength=len(u))
    c = np.bincount(inverse, minlength=len(u)).astype(float)
    at_risk = len(times) - np.concatenate([[0.0], np.cumsum(c)[:-1]])
    keep = d > 0
    surv = np.cumprod(1.0 - d[keep] / at_risk[keep])
    return u[keep], 1.0 - surv


def _durations(
    process: Process,
    visits: dict[str, npt.NDArray[np.float64]] | None,
    params: list[Parameter],
    censored: dict[str, npt.NDArray[np.float64]] | None = None,
) -> dict[str, Duration]:
    """Each step's time: Kaplan-Meier over its completed and open visits, smoothed data, its ``typical``, or a
    default of 1 day."""
    durations: dict[str, Duration] = {}
    ways_out = {t.from_step for t in process.transitions}
    for s in process.steps:
        if s.end and s.id not in ways_out:
            continue
        data = visits.get(s.id, np.array([])) if visits is not None else np.array([])
        open_now = (censored or {}).get(s.id, np.array([]))
        if len(data) >= MIN_DATA:
            times, cdf = kaplan_meier(data, open_now)
            smooth = _lognormal_from(data)
            longest = float(max(data.max(), open_now.max() if len(open_now) else 0.0))
            d = Duration("km", values=tuple(float(x) for x in times), cdf=tuple(float(x) for x in cdf),
                         median=smooth.median, sigma=smooth.sigma, mean=longest)  # fmt: skip
            source = "data" if not len(open_now) else f"data, {len(open_now)} still open"
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
    return durations


def _moves(
    process: Process, moves_seen: dict[str, dict[str, int]] | None, params: list[Parameter]
) -> dict[str, dict[str, float]]:
    """The chances of each move out of a step: observed, or the file's probabilities with the rest split evenly."""
    moves: dict[str, dict[str, float]] = {}
    for s in process.steps:
        declared = [t for t in process.transitions if t.from_step == s.id]
        if s.end and not declared:
            continue
        seen = (moves_seen or {}).get(s.id, {})
        total = sum(seen.values())
        if total >= MIN_DATA:
            moves[s.id] = {to: c / total for to, c in seen.items()}
            params.extend(Parameter("probability", s.id, to, p, "data", total) for to, p in moves[s.id].items())
            continue
        if not declared:  # not an end step but no way out: validation forbids this, keep it safe
            continue
        fixed = sum(t.probability for t in declared if t.probability is not None)
        free = [t for t in declared if t.probability is None]
        rest = max(1.0 - fixed, 0.0)
        n_free = len(free) + (1 if s.end else 0)  # an end step with ways out: finishing is one more choice
        probs = {t.to_step: (t.probability if t.probability is not None else rest / n_free) for t in declared}
        if s.end:
            probs[STOP] = rest / n_free
        norm = sum(probs.values()) or 1.0
        moves[s.id] = {k: p / norm for k, p in probs.items()}
        for t in declared:
            source = "process file" if t.probability is not None else "even split"
            params.append(Parameter("probability", s.id, t.to_step, moves[s.id][t.to_step], source, total))
        if s.end:
            params.append(Parameter("probability", s.id, STOP, moves[s.id][STOP], "even split", total))
    return moves


def _starts(process: Process, firsts: dict[str, int] | None, params: list[Parameter]) -> dict[str, float]:
    """The chances of each start step: observed first steps, else the process's start steps evenly."""
    if firsts:
        total = sum(firsts.values())
        starts = {k: c / total for k, c in firsts.items()}
        src, n = "data", total
    else:
        ids = process.start_steps or (process.step_ids[0],)
        starts = {k: 1 / len(ids) for k in ids}
        src, n = "process file", 0
    params.extend(Parameter("start", k, None, p, src, n) for k, p in starts.items())
    return starts


def _arrivals(arrivals: npt.NDArray[np.datetime64] | None,
              params: list[Parameter]) -> tuple[float, tuple[float, ...] | None]:  # fmt: skip
    """Arrivals per calendar day from the case start dates (else one a week), and their weekday pattern.

    The pattern is used when the data shows one: at least 14 starts, and a
    chi-square test against an even spread over the seven days rejects it at
    the 5% level (scipy). Otherwise arrivals are even across the week.
    """
    if arrivals is None or len(arrivals) < 2 or not arrivals[-1] > arrivals[0]:
        params.append(Parameter("arrivals", None, None, 1.0, "default", 0))
        return 1 / 7, None
    span = (arrivals[-1] - arrivals[0]) / np.timedelta64(1, "D")
    per_day = (len(arrivals) - 1) / float(span)
    params.append(Parameter("arrivals", None, None, per_day * 7, "data", len(arrivals)))
    if len(arrivals) < 14:
        return float(per_day), None
    from scipy.stats import chisquare

    weekday = (arrivals.astype("M8[D]").view(np.int64) + 3) % 7  # Monday = 0
    counts = np.bincount(weekday, minlength=7)
    if chisquare(counts).pvalue >= 0.05:
        return float(per_day), None
    share = counts / counts.sum()
    params.extend(Parameter(f"arrivals on {WEEKDAYS[i]}", None, None, float(share[i]), "data", int(counts[i]))
                  for i in range(7))  # fmt: skip
    return float(per_day), tuple(float(x) for x in share)
