"""Metrics from a replay: drift points per step, span-target summaries, edges, the stall audit.

Each function takes a :class:`~flowmap.replay.Replay` and returns a DataFrame
whose columns are exactly those of docs/semantics.md ("Tables"), so that CLI output,
files and the report all say the same thing. Quantiles use linear
interpolation, as numpy and pandas do by default.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from flowmap.analysis.aggregates import STATUSES, DriftSums, drift_sums
from flowmap.analysis.replay import Replay
from flowmap.errors import FlowmapError
from flowmap.model.clock import add_days, add_months, allowed_days
from flowmap.model.process import SpanTarget, by_basis
from flowmap.privacy import Protected

__all__ = [
    "AUDIT_COLUMNS",
    "CLOCK_COLUMNS",
    "DRIFT_COLUMNS",
    "EDGE_COLUMNS",
    "RAG_RULE",
    "TARGET_COLUMNS",
    "CaseJourney",
    "Drift",
    "MapMetrics",
    "audit",
    "case_journey",
    "drift",
    "drift_tables",
    "edge_frame",
    "edge_table",
    "empty_audit",
    "grouped_drift",
    "map_metrics",
    "next_due",
    "order_audit",
    "rag",
    "step_frame",
    "step_table",
    "target_frame",
    "target_table",
]

DRIFT_COLUMNS = [
    "step", "label", "lane", "visits", "cases", "median_days", "p90_days", "target", "breaches", "breach_rate",
    "excess_days",
]  # fmt: skip
TARGET_COLUMNS = [
    "target", "label", "within", "met", "missed", "overdue", "running", "void", "median_days", "p90_days",
    "met_rate", "at_least", "basis", "source",
]  # fmt: skip
EDGE_COLUMNS = ["from", "to", "count", "median_days", "declared"]
AUDIT_COLUMNS = [
    "case_id", "current_step", "lane", "entered", "days_in_step", "target", "days_over", "overdue_targets",
    "next_due_target", "due_date", "days_left",
]  # fmt: skip


@dataclass(frozen=True)
class Drift:
    """Where delay accumulates: per step, per span target, per observed move."""

    steps: pd.DataFrame
    targets: pd.DataFrame
    edges: pd.DataFrame


def drift(result: Replay) -> Drift:
    """Drift points, span-target summary and edge statistics of a replay."""
    return drift_tables(drift_sums(result))


def drift_tables(sums: DriftSums) -> Drift:
    """The drift tables from their sums: one replay's, or several partitions' added up (the Dask engine)."""
    return Drift(steps=step_frame(sums), targets=target_frame(sums), edges=edge_frame(sums))


def grouped_drift(groups: Sequence[tuple[str, Replay]]) -> Drift:
    """Drift per group of cases (``--by``): each table gains a leading ``group`` column, one block per group."""
    parts = [(g, drift(r)) for g, r in groups]

    def stack(name: str) -> pd.DataFrame:
        frames = [getattr(d, name).assign(group=g) for g, d in parts]
        table = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
        return table[["group", *[c for c in table.columns if c != "group"]]] if len(table.columns) else table

    return Drift(steps=stack("steps"), targets=stack("targets"), edges=stack("edges"))


TIMES = {"total": "days", "waiting": "waiting_days", "working": "working_days"}
"""``--time``: which part of a visit's time the medians measure (waiting and working need start times)."""


def step_table(result: Replay, *, time: str = "total") -> pd.DataFrame:
    """One row per step that is not an end step, ranked by excess days (the sum of days over target).

    ``visits``, ``cases``, ``breaches``, ``breach_rate`` and ``excess_days``
    count open visits up to the as-of date; ``median_days`` and ``p90_days``
    are over completed visits only, of the visit's ``time`` (:data:`TIMES`).
    An interval log (start and complete times) adds ``median_waiting_days``
    and ``median_working_days`` after ``p90_days``, and lists end steps too,
    since their work takes time.
    """
    _check_time(time, result.intervals)
    return step_frame(drift_sums(result), time=time)


def _check_time(time: str, intervals: bool) -> None:
    if time not in TIMES:
        raise FlowmapError(f"unknown time '{time}'; use one of {', '.join(TIMES)}")
    if time != "total" and not intervals:
        raise FlowmapError(f"--time {time} needs start and complete times (a lifecycle column such as "
                           "lifecycle:transition, or a start_timestamp column); this log has one time per "
                           "event")  # fmt: skip


def step_frame(sums: DriftSums, *, time: str = "total") -> pd.DataFrame:
    """:func:`step_table` from the sums."""
    _check_time(time, sums.intervals)
    process = sums.process
    n = len(process.steps)
    ids = np.arange(n, dtype=np.int64)
    median, p90 = sums.step_days[TIMES[time]].quantiles(ids, (0.5, 0.9)).T
    targets = np.array([np.nan if s.target is None else s.target for s in process.steps])
    has_target = ~np.isnan(targets)
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = np.where(sums.visits > 0, sums.breaches / np.maximum(sums.visits, 1), np.nan)
    table = pd.DataFrame(
        {
            "step": list(process.step_ids),
            "label": [s.label for s in process.steps],
            "lane": [s.lane for s in process.steps],
            "visits": sums.visits,
            "cases": sums.cases,
            "median_days": median,
            "p90_days": p90,
            "target": targets,
            "breaches": np.where(has_target, sums.breaches, 0),
            "breach_rate": np.where(has_target, rate, np.nan),
            "excess_days": np.where(has_target, sums.excess, 0.0),
            "_order": np.arange(n),
        }
    )
    columns = list(DRIFT_COLUMNS)
    if sums.intervals:  # time at a step, split: the medians of each part
        for part in ("waiting", "working"):
            table[f"median_{part}_days"] = sums.step_days[f"{part}_days"].quantiles(ids, (0.5,))[:, 0]
        columns[columns.index("p90_days") + 1 : columns.index("p90_days") + 1] = [
            "median_waiting_days",
            "median_working_days",
        ]
    else:
        table = table[~np.array([s.end for s in process.steps])]
    table = table.sort_values(["excess_days", "breaches", "_order"], ascending=[False, False, True], kind="stable")
    return table[columns].reset_index(drop=True)


def target_table(result: Replay) -> pd.DataFrame:
    """One row per span target: counts by status, median and p90 over stopped clocks, met rate.

    The met rate is met / (met + missed + overdue): overdue clocks are certain misses.
    Statutory targets come first, then guidance, local aims and assumptions
    (:func:`~flowmap.model.process.by_basis`).
    """
    return target_frame(drift_sums(result))


def target_frame(sums: DriftSums) -> pd.DataFrame:
    """:func:`target_table` from the sums."""
    targets = sums.process.targets
    rank = {t.id: i for i, t in enumerate(targets)}
    quantiles = sums.target_days.quantiles(np.arange(len(targets), dtype=np.int64), (0.5, 0.9))
    rows = []
    for t in by_basis(targets):
        i = rank[t.id]
        c = {k: int(sums.status[i, j]) for j, k in enumerate(STATUSES)}
        judged = c["met"] + c["missed"] + c["overdue"]
        rows.append(
            {
                "target": t.id,
                "label": t.display_label,
                "within": t.within if t.within is not None else np.nan,
                **c,
                "median_days": float(quantiles[i, 0]),
                "p90_days": float(quantiles[i, 1]),
                "met_rate": c["met"] / judged if judged else np.nan,
                "at_least": t.at_least if t.at_least is not None else np.nan,
                "basis": t.basis or "",
                "source": t.source or "",
            }
        )
    if not rows:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in TARGET_COLUMNS})
    return pd.DataFrame(rows, columns=TARGET_COLUMNS)


def edge_table(result: Replay) -> pd.DataFrame:
    """One row per observed move between consecutive visits, most frequent first.

    ``median_days`` is the time spent in ``from`` before moving to ``to``.
    """
    return edge_frame(drift_sums(result))


def edge_frame(sums: DriftSums) -> pd.DataFrame:
    """:func:`edge_table` from the sums."""
    process = sums.process
    n = len(process.steps)
    keys = sums.edge_keys
    if len(keys) == 0:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in EDGE_COLUMNS})
    median = sums.edge_days.quantiles(keys, (0.5,))[:, 0]
    ids = np.array(process.step_ids, dtype=object)
    frm, to = ids[keys // n], ids[keys % n]
    declared = np.array([(a, b) in process.declared for a, b in zip(frm, to, strict=True)], dtype=bool)
    table = pd.DataFrame(
        {
            "from": frm,
            "to": to,
            "count": sums.edge_counts,
            "median_days": median,
            "declared": declared,
            "_a": keys // n,
            "_b": keys % n,
        }
    )
    table = table.sort_values(["count", "_a", "_b"], ascending=[False, True, True], kind="stable")
    return table[EDGE_COLUMNS].reset_index(drop=True)


def audit(result: Replay, *, case: str | None = None, due_within: float | None = None) -> pd.DataFrame:
    """Open cases only, most days over target first: which step each is stuck at, and for how long.

    Each row also names the target that falls due first (the current step's
    target or a running ``within`` span target), its due date and the days
    left (negative: overdue), in that target's clock: see :func:`next_due`.
    With ``due_within`` only the cases with something due within that many
    days, or overdue, are kept, soonest first. With ``case`` (a case id as in
    the data; see :meth:`Replay.find_case`), only that case's row, or no row
    when it is complete.
    """
    if due_within is not None and not due_within >= 0:
        raise FlowmapError(f"--due-within must be 0 or more days (got {due_within:g})")
    c = result.window_cases
    keep = c["status"] != "complete"
    if case is not None:
        keep &= c["case_id"].astype(str) == case
    open_cases = c[keep]
    codes = open_cases.index.to_numpy()
    joined = _overdue_targets(result, len(result.cases))
    due = next_due(result).reindex(codes)
    table = pd.DataFrame(
        {
            "case_id": open_cases["case_id"].to_numpy(),
            "current_step": open_cases["current_step"].to_numpy(),
            "lane": open_cases["lane"].to_numpy(),
            "entered": open_cases["entered"].to_numpy(),
            "days_in_step": open_cases["days_in_step"].to_numpy(),
            "target": open_cases["target"].to_numpy(),
            "days_over": open_cases["days_over"].to_numpy(),
            "overdue_targets": joined[codes],
            "next_due_target": due["next_due_target"].to_numpy(),
            "due_date": due["due_date"].to_numpy(),
            "days_left": due["days_left"].to_numpy(),
        }
    )
    for col in ("case_id", "current_step", "lane", "overdue_targets", "next_due_target"):  # text, even when all
        table[col] = table[col].astype("str")  # are missing, so that partitions' tables concatenate as one
    return order_audit(table, due_within=due_within)


def empty_audit() -> pd.DataFrame:
    """The audit with no open case: its columns, no rows."""
    return pd.DataFrame({c: pd.Series(dtype=object) for c in AUDIT_COLUMNS})


def order_audit(table: pd.DataFrame, *, due_within: float | None = None) -> pd.DataFrame:
    """The audit's rows in its order: most days over target first (ties: longest in the step, then case id);
    with ``due_within``, only what falls due within that many days (or is overdue), soonest first. Rows
    from several partitions of cases, put through this, come out as the whole log's audit."""
    if due_within is not None:
        table = table[table["days_left"] <= due_within]
        table = table.sort_values(["days_left", "case_id"], kind="stable")
        return table[AUDIT_COLUMNS].reset_index(drop=True)
    table = table.assign(_over=table["days_over"].fillna(-1.0))
    table = table.sort_values(
        ["_over", "days_in_step", "case_id"], ascending=[False, False, True], kind="stable", na_position="last"
    )
    return table[AUDIT_COLUMNS].reset_index(drop=True)


def due_dates(started: Any, t: SpanTarget, calendar: str) -> npt.NDArray[np.datetime64]:
    """When a ``within`` span target falls due for clocks started at ``started``: ``within`` days of its
    clock later, or for a target in months, the same day N months later (see :func:`add_months`)."""
    if t.within_months is not None:
        return add_months(started, t.within_months, clock=t.clock, calendar=calendar)
    return add_days(started, t.within, clock=t.clock, calendar=calendar)


def next_due(result: Replay) -> pd.DataFrame:
    """Per open case (indexed by its code in ``result.cases``): the target that falls due first.

    The candidates are the current step's target (due ``target`` process-clock
    days after the case entered the step) and each running or overdue span
    target with a ``within`` (due ``within`` days of its clock after the
    clock started; ``at_least`` targets are lead times, never "due"). Days left
    are the target less the days so far, in the target's clock: negative when
    overdue. Ties go to the id first in the process file's order. Cases with
    no candidate are absent.
    """
    p = result.process
    c = result.cases
    open_ = (c["status"] != "complete").to_numpy() & c["target"].notna().to_numpy()
    frames = [
        pd.DataFrame({
            "code": np.flatnonzero(open_),
            "next_due_target": c["current_step"].to_numpy()[open_].astype(object),
            "due_date": add_days(c["entered"].to_numpy()[open_], c["target"].to_numpy(dtype=float)[open_],
                                 clock=p.clock, calendar=p.calendar),
            "days_left": (c["target"] - c["days_in_step"]).to_numpy(dtype=float)[open_],
            "_order": -1,
        })
    ]  # fmt: skip
    spans = result.spans
    if len(spans):
        codes = result.span_case_codes()
        live = spans["status"].isin(("running", "overdue")).to_numpy()
        ids = pd.Index([t.id for t in p.targets])
        which = ids.get_indexer(pd.Index(spans["target"]))  # each row's text hashed once
        for order, t in enumerate(p.targets):
            if t.within is None:
                continue
            rows = (which == order) & live
            frames.append(pd.DataFrame({
                "code": codes[rows],
                "next_due_target": t.id,
                "due_date": due_dates(spans["started"].to_numpy()[rows], t, p.calendar),
                "days_left": allowed_days(spans["started"].to_numpy()[rows], t.within, t.within_months,
                                          clock=t.clock, calendar=p.calendar)
                - spans["days"].to_numpy(dtype=float)[rows],
                "_order": order,
            }))  # fmt: skip
    allc = pd.concat(frames, ignore_index=True).sort_values(["code", "days_left", "_order"], kind="stable")
    first = allc.drop_duplicates("code").set_index("code")
    return first[["next_due_target", "due_date", "days_left"]]


def _overdue_targets(result: Replay, n_cases: int) -> npt.NDArray[Any]:
    """Per case, the ids of its overdue span targets joined by ';', built once per combination."""
    spans = result.spans
    ids = [t.id for t in result.process.targets]
    mask = np.zeros(n_cases, dtype=np.int64)
    if len(spans):
        is_overdue = (spans["status"] == "overdue").to_numpy()
        overdue = spans[is_overdue]
        bits = {tid: 1 << i for i, tid in enumerate(ids)}
        target_bits = overdue["target"].map(bits).to_numpy(dtype=np.int64)
        np.bitwise_or.at(mask, result.span_case_codes()[is_overdue], target_bits)
    combos, inverse = np.unique(mask, return_inverse=True)
    texts = np.array([";".join(t for i, t in enumerate(ids) if (int(m) >> i) & 1) for m in combos], dtype=object)
    out: npt.NDArray[Any] = texts[inverse.ravel()]
    return out


# --- what a map needs ------------------------------------------------------------------

RAG_RULE = "red: over half of visits over target; amber: over a tenth; green: a tenth or fewer"


@dataclass(frozen=True)
class MapMetrics:
    """Everything a map shows about the data, computed from a replay: renderers take
    this, never events.

    ``steps`` has one row per step (end steps included) with ``visits``, ``cases``,
    ``median_days``, ``p90_days``, ``target``, ``breaches``, ``breach_rate``,
    ``excess_days`` and ``rag`` (red, amber, green, or none); ``edges`` is
    :func:`edge_table`.
    """

    steps: pd.DataFrame
    edges: pd.DataFrame
    as_of: pd.Timestamp
    first_event: pd.Timestamp | None
    last_event: pd.Timestamp | None
    cases: int
    clock: str
    targets: pd.DataFrame
    window: str | None = None  # the window in words (Replay.window_text), if any
    shown: Protected | None = None  # with --suppress-below: which counts may be shown (analysis/disclosure.py)
    time: str = "total"  # which part of a visit the medians measure: total, waiting or working (TIMES)


@dataclass(frozen=True)
class CaseJourney:
    """One case's path for a map overlay: its visits in order and its deviations."""

    case_id: str
    status: str
    visits: pd.DataFrame  # step, visit, entered, left, days, target, days_over, in order
    deviations: pd.DataFrame  # deviation, from, to, at
    clocks: pd.DataFrame = field(default_factory=pd.DataFrame)  # CLOCK_COLUMNS: each span target, in words too


def rag(breach_rate: float, has_target: bool) -> str:
    """Red, amber or green against target (see :data:`RAG_RULE`), or ``none``.

    Examples
    --------
    >>> [rag(r, True) for r in (0.0, 0.1, 0.3, 0.6)], rag(0.9, False)
    (['green', 'green', 'amber', 'red'], 'none')
    """
    if not has_target or np.isnan(breach_rate):
        return "none"
    if breach_rate > 0.5:
        return "red"
    if breach_rate > 0.1:
        return "amber"
    return "green"


def map_metrics(result: Replay, *, suppress_below: int | None = None, time: str = "total") -> MapMetrics:
    """Per-step and per-edge figures for a map, end steps included (for frequency).

    With ``suppress_below``, ``shown`` says which counts the map may print
    (small ones as ``<N``, and enough others hidden that none can be worked out).
    ``time`` picks which part of a visit the medians measure (:data:`TIMES`).
    """
    process = result.process
    table = step_table(result, time=time).set_index("step")
    v = result.visits
    n = len(process.steps)
    pos = result.visit_codes().step
    visits = np.bincount(pos, minlength=n)
    cases = np.bincount(pos[v["visit"].to_numpy() == 1], minlength=n)
    rows = []
    for i, s in enumerate(process.steps):
        if s.id in table.index:
            r: dict[Any, Any] = table.loc[s.id].to_dict()
            rows.append({**r, "step": s.id, "rag": rag(float(r["breach_rate"]), s.target is not None)})
        else:  # an end step: it is reached, not waited in
            rows.append({"step": s.id, "label": s.label, "lane": s.lane, "visits": int(visits[i]),
                         "cases": int(cases[i]), "median_days": np.nan, "p90_days": np.nan, "target": np.nan,
                         "breaches": 0, "breach_rate": np.nan, "excess_days": 0.0, "rag": "none"})  # fmt: skip
    return MapMetrics(
        steps=pd.DataFrame(rows).set_index("step", drop=False),
        edges=edge_table(result),
        as_of=result.as_of,
        first_event=result.first_event,
        last_event=result.last_event,
        cases=len(result.window_cases),
        clock=process.clock,
        targets=target_table(result),
        window=result.window_text(),
        shown=_protected(result, suppress_below) if suppress_below else None,
        time=time,
    )


def _protected(result: Replay, below: int) -> Protected:
    from flowmap.analysis.disclosure import protected_counts

    return protected_counts(result, below)


CLOCK_COLUMNS = ["target", "label", "basis", "started", "stopped", "days", "status", "due_date", "days_left",
                 "reading"]  # fmt: skip
"""The columns of a case's span-target clocks (``replay --case``)."""


def _case_clocks(result: Replay, code: int) -> pd.DataFrame:
    """Each span target's clock for one case, statutory first, with its status in words."""
    spans = result.spans
    mine = spans[result.span_case_codes() == code] if len(spans) else spans
    by_id = {str(t): i for i, t in enumerate(mine["target"].astype(str))} if len(mine) else {}
    rows = []
    for t in by_basis(result.process.targets):
        unit = "working days" if t.clock == "working_days" else "days"
        if t.id not in by_id:
            rows.append({"target": t.id, "label": t.display_label, "basis": t.basis or "", "started": pd.NaT,
                         "stopped": pd.NaT, "days": np.nan, "status": "not started", "due_date": pd.NaT,
                         "days_left": np.nan, "reading": "not started"})  # fmt: skip
            continue
        r = mine.iloc[by_id[t.id]]
        days, status = float(r["days"]), str(r["status"])
        due: Any = pd.NaT
        left = np.nan
        if t.within is not None:
            start = np.array([r["started"]], dtype="M8[ns]")
            due = pd.Timestamp(due_dates(start, t, result.process.calendar)[0])
            limit = allowed_days(start, t.within, t.within_months, clock=t.clock, calendar=result.process.calendar)
            left = float(limit[0]) - days if status in ("running", "overdue") else np.nan
        bound = t.bound_text

        def n(v: float, unit: str = unit) -> str:
            return f"{v:g} {unit[:-1] if v == 1 else unit}"

        reading = {
            "met": f"met: {n(days)} ({bound})",
            "missed": f"missed: {n(days)} ({bound})",
            "overdue": f"overdue by {n(-left)} (due {_date(due)})",
            "running": (f"running: {n(left)} left (due {_date(due)})" if t.within is not None
                        else f"running: {n(days)} so far (at least {t.at_least:g})"),
            "void": "void: the case completed without reaching the stop step",
        }[status]  # fmt: skip
        rows.append({"target": t.id, "label": t.display_label, "basis": t.basis or "", "started": r["started"],
                     "stopped": r["stopped"], "days": days, "status": status, "due_date": due, "days_left": left,
                     "reading": reading})  # fmt: skip
    return pd.DataFrame(rows, columns=CLOCK_COLUMNS)


def _date(ts: Any) -> str:
    return "–" if ts is None or pd.isna(ts) else str(pd.Timestamp(ts).date())


def case_journey(result: Replay, case_id: str, *, key: str | None = None) -> CaseJourney:
    """The visits and deviations of one case, for the deep dive of one child's case.

    ``case_id`` is matched as people type it (case and spaces ignored); with
    ``key`` it may be the case's pseudonym, and the journey carries the
    pseudonym.

    Raises
    ------
    FlowmapError
        When the case is not in the replay; the message says how many cases
        there are and the nearest ids.
    """
    from flowmap.privacy import find_case, pseudonym

    ids = result.cases["case_id"].astype(str)
    real = find_case(ids.tolist(), str(case_id), key=key)
    code = int(np.flatnonzero(ids.to_numpy() == real)[0])
    v = result.visits
    mine = v[result.visit_codes().case == code]
    d = result.deviations
    devs = d[result.deviation_case_codes() == code] if len(d) else d
    return CaseJourney(
        case_id=pseudonym(real, key) if key else real,
        status=str(result.cases["status"].iloc[code]),
        clocks=_case_clocks(result, code),
        visits=mine[["step", "visit", "entered", "left", "days", "target", "days_over"]]
        .astype({"step": str})
        .reset_index(drop=True),
        deviations=devs[["deviation", "from", "to", "at"]].reset_index(drop=True),
    )
