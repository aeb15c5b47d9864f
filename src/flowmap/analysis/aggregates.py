"""What drift needs from a replay, as sums that add up across partitions of cases.

:class:`DriftSums` holds per-step counts and excess days, per-target status
counts, per-move counts, and the durations behind every median and p90, kept
in one of two stores:

- :class:`ExactValues` keeps the durations themselves: quantiles are numpy's,
  bit for bit (the in-process engine, and the Dask engine with ``--exact``).
- :class:`Sketch` keeps counts in buckets: every whole number of days up to
  :data:`WHOLE_DAYS` in a bucket of its own (date-only logs stay exact), other
  values in logarithmic buckets of relative width :data:`ALPHA` (DDSketch's
  scheme). Its size depends on the spread of the values, never on how many
  there are, and two sketches merge by adding counts. Its quantiles are within
  a relative :data:`ALPHA` of numpy's (docs/scale.md gives the bound).

Counts are integers and the excess days are sums of values rounded to
2^-20 of a day (0.08 seconds), which float arithmetic adds exactly: so every
count and sum is the same whichever order the partitions are added in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import pandas as pd

from flowmap.analysis.kernels import group_quantiles, step_sums

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    import numpy.typing as npt

    from flowmap.analysis.replay import Replay
    from flowmap.events.ledger import Ledger
    from flowmap.model.process import Process

__all__ = [
    "ALPHA", "WHOLE_DAYS", "DriftSums", "ExactValues", "Sketch", "Summary", "drift_sums", "merge_summaries",
    "merge_sums", "summary",
]  # fmt: skip

ALPHA = 0.005
"""The sketch's relative accuracy: a quantile is within 0.5% of numpy's (docs/scale.md)."""
WHOLE_DAYS = 100_000
"""Whole numbers of days from -WHOLE_DAYS to WHOLE_DAYS are counted exactly in the sketch."""
TINY = 1e-9
"""Values nearer zero than this many days (86 microseconds) count as 0 in the sketch."""
STATUSES = ("met", "missed", "overdue", "running", "void")
TIME_COLUMNS = ("days", "waiting_days", "working_days")

_GAMMA = (1 + ALPHA) / (1 - ALPHA)
_LOG_GAMMA = float(np.log(_GAMMA))
_OFFSET = 1_000_000  # log bucket i of a positive value is key OFFSET + i (i within +-2,800 for 1e-9..1e12 days)
_PACK = 1 << 22  # (group, key) packed into one int64: group * _PACK + key + _PACK // 2


class Values(Protocol):
    """Durations grouped by an integer id, with quantiles per group."""

    def merge(self, others: Sequence[Values]) -> Values: ...

    def quantiles(self, ids: npt.NDArray[np.int64], qs: Sequence[float]) -> npt.NDArray[np.float64]: ...

    @property
    def nbytes(self) -> int: ...


def _dense(groups: npt.NDArray[np.int64], ids: npt.NDArray[np.int64]) -> tuple[npt.NDArray[np.int64], int]:
    """Each value's row among ``ids`` (``len(ids)`` for a group not asked for)."""
    if len(ids) and len(groups) and ids.min() >= 0 and max(int(ids.max()), int(groups.max())) < 1 << 22:
        # small ids (steps, targets, moves between steps): one lookup table, one gather, no search
        table = np.full(max(int(ids.max()), int(groups.max())) + 1, len(ids), dtype=np.int64)
        table[ids] = np.arange(len(ids), dtype=np.int64)
        if groups.min() >= 0:
            return table[groups], len(ids) + 1
    order = np.argsort(ids, kind="stable")
    at = np.searchsorted(ids[order], groups)
    at = np.minimum(at, len(ids) - 1) if len(ids) else np.zeros(len(groups), dtype=np.int64)
    hit = ids[order][at] == groups if len(ids) else np.zeros(len(groups), dtype=bool)
    return np.where(hit, order[at], len(ids)).astype(np.int64), len(ids) + 1


@dataclass(frozen=True)
class ExactValues:
    """The values themselves: numpy's quantiles, at 8 bytes and a group id a value."""

    groups: npt.NDArray[np.int64]
    values: npt.NDArray[np.float64]

    @staticmethod
    def of(groups: npt.NDArray[Any], values: npt.NDArray[np.float64]) -> ExactValues:
        groups, values = np.asarray(groups, dtype=np.int64), np.asarray(values, dtype=np.float64)
        keep = ~np.isnan(values)
        return ExactValues(groups, values) if keep.all() else ExactValues(groups[keep], values[keep])

    def merge(self, others: Sequence[Values]) -> ExactValues:
        parts = [self, *others]
        return ExactValues(np.concatenate([p.groups for p in parts]),  # type: ignore[attr-defined]
                           np.concatenate([p.values for p in parts]))  # type: ignore[attr-defined]  # fmt: skip

    def quantiles(self, ids: npt.NDArray[np.int64], qs: Sequence[float]) -> npt.NDArray[np.float64]:
        rows, n = _dense(self.groups, np.asarray(ids, dtype=np.int64))
        return group_quantiles(rows, self.values, n, qs)[: n - 1]

    @property
    def nbytes(self) -> int:
        return int(self.groups.nbytes + self.values.nbytes)


def sketch_keys(values: npt.NDArray[np.float64]) -> npt.NDArray[np.int64]:
    """Each value's bucket: itself when a whole number of days within WHOLE_DAYS, else its log bucket."""
    v = np.asarray(values, dtype=np.float64)
    keys = np.zeros(len(v), dtype=np.int64)
    whole = (v == np.floor(v)) & (np.abs(v) <= WHOLE_DAYS)
    keys[whole] = v[whole].astype(np.int64)
    rest = ~whole & (np.abs(v) >= TINY)
    a = np.minimum(np.abs(v[rest]), 1e12)
    idx = np.ceil(np.log(a) / _LOG_GAMMA).astype(np.int64)
    keys[rest] = np.sign(v[rest]).astype(np.int64) * (_OFFSET + idx)
    return keys


def sketch_values(keys: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
    """The value each bucket stands for: the whole number, or the middle of the log bucket in relative terms."""
    k = np.asarray(keys, dtype=np.int64)
    out = k.astype(np.float64)
    logged = np.abs(k) > WHOLE_DAYS
    idx = np.abs(k[logged]) - _OFFSET
    out[logged] = np.sign(k[logged]) * 2.0 * _GAMMA ** idx.astype(np.float64) / (_GAMMA + 1.0)
    return out


@dataclass(frozen=True)
class Sketch:
    """Counts per (group, bucket): mergeable, with a size set by the values' spread, not their number."""

    groups: npt.NDArray[np.int64]
    keys: npt.NDArray[np.int64]
    counts: npt.NDArray[np.int64]

    @staticmethod
    def of(groups: npt.NDArray[Any], values: npt.NDArray[np.float64]) -> Sketch:
        keep = ~np.isnan(values)
        return Sketch._counted(np.asarray(groups, dtype=np.int64)[keep], sketch_keys(values[keep]),
                               np.ones(int(keep.sum()), dtype=np.int64))  # fmt: skip

    @staticmethod
    def _counted(groups: npt.NDArray[np.int64], keys: npt.NDArray[np.int64], counts: npt.NDArray[np.int64]) -> Sketch:
        packed = groups * _PACK + keys + _PACK // 2
        uniq, inverse = np.unique(packed, return_inverse=True)
        total = np.bincount(inverse.ravel(), weights=counts, minlength=len(uniq)).astype(np.int64)
        return Sketch(groups=uniq // _PACK, keys=uniq % _PACK - _PACK // 2, counts=total)

    def merge(self, others: Sequence[Values]) -> Sketch:
        parts = [self, *others]
        return Sketch._counted(np.concatenate([p.groups for p in parts]),  # type: ignore[attr-defined]
                               np.concatenate([p.keys for p in parts]),  # type: ignore[attr-defined]
                               np.concatenate([p.counts for p in parts]))  # type: ignore[attr-defined]  # fmt: skip

    def quantiles(self, ids: npt.NDArray[np.int64], qs: Sequence[float]) -> npt.NDArray[np.float64]:
        """numpy's linear rule on the buckets' values: order statistics k and k + 1, then its interpolation."""
        ids = np.asarray(ids, dtype=np.int64)
        out = np.full((len(ids), len(qs)), np.nan)
        rows, _ = _dense(self.groups, ids)
        value = sketch_values(self.keys)
        order = np.lexsort((value, rows))
        rows, value, counts = rows[order], value[order], self.counts[order]
        bounds = np.searchsorted(rows, np.arange(len(ids) + 1))
        for r in range(len(ids)):  # a loop over groups (steps, targets, moves), never over values
            lo, hi = bounds[r], bounds[r + 1]
            if hi == lo:
                continue
            vals, cum = value[lo:hi], np.cumsum(counts[lo:hi])
            m = int(cum[-1])
            for j, q in enumerate(qs):
                virtual = (m - 1) * q
                if virtual >= m - 1:
                    out[r, j] = vals[-1]
                    continue
                k = int(np.floor(virtual))
                a, b = vals[np.searchsorted(cum, k, side="right")], vals[np.searchsorted(cum, k + 1, side="right")]
                gamma = virtual - k
                out[r, j] = b - (b - a) * (1.0 - gamma) if gamma >= 0.5 else a + (b - a) * gamma
        return out

    @property
    def nbytes(self) -> int:
        return int(self.groups.nbytes + self.keys.nbytes + self.counts.nbytes)


@dataclass(frozen=True)
class DriftSums:
    """Everything the drift tables need, in sums that add across partitions of cases."""

    process: Process
    intervals: bool
    visits: npt.NDArray[np.int64]  # per step position
    cases: npt.NDArray[np.int64]
    breaches: npt.NDArray[np.int64]
    excess: npt.NDArray[np.float64]
    step_days: Mapping[str, Values]  # per time column (TIME_COLUMNS): completed visits' durations, grouped by step
    status: npt.NDArray[np.int64]  # per target (file order) and status (STATUSES)
    target_days: Values  # stopped clocks' days, grouped by target position
    edge_keys: npt.NDArray[np.int64]  # moves observed: from * n + to, sorted
    edge_counts: npt.NDArray[np.int64]
    edge_days: Values  # days in 'from' before the move, grouped by edge key
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def nbytes(self) -> int:
        arrays = (self.visits, self.cases, self.breaches, self.excess, self.status, self.edge_keys, self.edge_counts)
        stores = [*self.step_days.values(), self.target_days, self.edge_days]
        return sum(a.nbytes for a in arrays) + sum(s.nbytes for s in stores)


def drift_sums(result: Replay, *, sketch: bool = False) -> DriftSums:
    """The sums behind :func:`flowmap.analysis.metrics.drift` for one replay (its window, if any)."""
    process = result.process
    n = len(process.steps)
    store = Sketch.of if sketch else ExactValues.of
    v = result.visits
    codes = result.visit_codes()
    pos = codes.step
    if len(v):
        visits, cases, breaches, excess = step_sums(pos, v["visit"].to_numpy(), v["days_over"].to_numpy(), n)
        completed = ~v["left"].isna().to_numpy()
    else:
        visits = cases = breaches = np.zeros(n, dtype=np.int64)
        excess = np.zeros(n)
        completed = np.zeros(0, dtype=bool)
    columns = TIME_COLUMNS if result.intervals else TIME_COLUMNS[:1]
    step_days = {c: store(pos[completed], v[c].to_numpy(dtype=float)[completed] if len(v) else np.zeros(0))
                 for c in columns}  # fmt: skip
    # span targets
    spans = result.spans
    status = np.zeros((len(process.targets), len(STATUSES)), dtype=np.int64)
    t_groups: npt.NDArray[Any] = np.zeros(0, dtype=np.int64)
    t_days: npt.NDArray[np.float64] = np.zeros(0)
    if len(spans):
        # positions by hashing each row's text once (no Python string per row)
        t_pos = pd.Index([t.id for t in process.targets]).get_indexer(pd.Index(spans["target"])).astype(np.int64)
        status_col = spans["status"]
        if isinstance(status_col.dtype, pd.CategoricalDtype) and list(status_col.cat.categories) == list(STATUSES):
            s_code = status_col.cat.codes.to_numpy().astype(np.int64)
        else:
            s_code = pd.Index(STATUSES).get_indexer(pd.Index(status_col.astype(str))).astype(np.int64)
        np.add.at(status, (t_pos, s_code), 1)
        stopped = s_code <= 1
        t_groups, t_days = t_pos[stopped], spans["days"].to_numpy(dtype=float)[stopped]
    # moves between consecutive visits
    moves = np.flatnonzero(codes.prev_step >= 0)
    key = codes.prev_step[moves] * n + codes.step[moves]
    edge_keys: npt.NDArray[np.int64]
    if n * n <= 1 << 22:
        counts = np.bincount(key, minlength=n * n)
        edge_keys = np.flatnonzero(counts).astype(np.int64)
        edge_counts = counts[edge_keys].astype(np.int64)
    else:
        uniq, many = np.unique(key, return_counts=True)
        edge_keys, edge_counts = uniq.astype(np.int64), many.astype(np.int64)
    return DriftSums(process=process, intervals=result.intervals, visits=visits, cases=cases, breaches=breaches,
                     excess=excess, step_days=step_days, status=status, target_days=store(t_groups, t_days),
                     edge_keys=edge_keys.astype(np.int64), edge_counts=edge_counts.astype(np.int64),
                     edge_days=store(key, codes.prev_days[moves]))  # fmt: skip


def merge_sums(parts: Sequence[DriftSums]) -> DriftSums:
    """The sums of several partitions of cases: counts and sums added, value stores merged."""
    first, rest = parts[0], parts[1:]
    if not rest:
        return first
    keys = np.concatenate([p.edge_keys for p in parts])
    uniq, inverse = np.unique(keys, return_inverse=True)
    counts = np.bincount(inverse.ravel(), weights=np.concatenate([p.edge_counts for p in parts]), minlength=len(uniq))
    intervals = any(p.intervals for p in parts)  # a partition with no usable case has no start times to tell
    columns = TIME_COLUMNS if intervals else TIME_COLUMNS[:1]
    kind: Any = type(first.target_days)  # ExactValues or Sketch: every partition uses the same

    def days(p: DriftSums, c: str) -> Values:  # a partition with no start times has no waiting or working
        return p.step_days[c] if c in p.step_days else kind.of(np.zeros(0, dtype=np.int64), np.zeros(0))

    return DriftSums(
        process=first.process,
        intervals=intervals,
        visits=np.sum([p.visits for p in parts], axis=0),
        cases=np.sum([p.cases for p in parts], axis=0),
        breaches=np.sum([p.breaches for p in parts], axis=0),
        excess=np.sum([p.excess for p in parts], axis=0),
        step_days={c: days(first, c).merge([days(p, c) for p in rest]) for c in columns},
        status=np.sum([p.status for p in parts], axis=0),
        target_days=first.target_days.merge([p.target_days for p in rest]),
        edge_keys=uniq.astype(np.int64),
        edge_counts=counts.astype(np.int64),
        edge_days=first.edge_days.merge([p.edge_days for p in rest]),
    )


@dataclass(frozen=True)
class Summary:
    """What a command's header and metadata say of a replay, without its rows: the process, the as-of
    date, the ledger, the case counts and the span of event times (the Dask engine's drift and audit)."""

    process: Process
    as_of: pd.Timestamp
    ledger: Ledger
    counts: dict[str, int]
    first_event: pd.Timestamp | None
    last_event: pd.Timestamp | None
    since: pd.Timestamp | None = None

    def window_text(self) -> str | None:
        """As :meth:`flowmap.analysis.replay.Replay.window_text` (a summary's window has only a start)."""
        return None if self.since is None else f"window: what began on or after {self.since.date()}"


COUNT_KEYS = ("cases", "complete", "open", "stalled", "deviating")


def summary(result: Replay) -> Summary:
    """The summary of one replay."""
    counts = result.counts if len(result.cases) else dict.fromkeys(COUNT_KEYS, 0)
    return Summary(process=result.process, as_of=result.as_of, ledger=result.ledger, counts=counts,
                   first_event=result.first_event, last_event=result.last_event, since=result.since)  # fmt: skip


def merge_summaries(parts: Sequence[Summary], *, source: str) -> Summary:
    """The summary of disjoint partitions of one input's cases."""
    from flowmap.events.ledger import Ledger

    firsts = [p.first_event for p in parts if p.first_event is not None]
    lasts = [p.last_event for p in parts if p.last_event is not None]
    return Summary(process=parts[0].process, as_of=parts[0].as_of,
                   ledger=Ledger.merge([p.ledger for p in parts], source=source),
                   counts={k: sum(p.counts[k] for p in parts) for k in COUNT_KEYS},
                   first_event=min(firsts) if firsts else None, last_event=max(lasts) if lasts else None,
                   since=next((p.since for p in parts if p.since is not None), None))  # fmt: skip
