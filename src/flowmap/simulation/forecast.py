"""Forecasts for the open cases: which will probably miss their timescale?

Each open case is carried on from its current step by the fitted model (with
any change applied), many times: the visit under way is drawn given how long
it has already lasted (the Kaplan-Meier estimate conditioned on lasting at
least that long), every later visit as the model draws it, and moves by visit
number where the model has them. For each running span target the forecast
gives the chance of meeting it (the share of runs in which the clock stops
within its limit, judged by the target's own clock as replay judges it), and
the median and 10th to 90th percentile of the date it stops. docs/forecast.md.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from flowmap.analysis.metrics import due_dates
from flowmap.analysis.replay import Replay
from flowmap.errors import FlowmapError
from flowmap.model.clock import allowed_days, clock_days
from flowmap.simulation.engines import Resume, walk
from flowmap.simulation.model import Model, fit

__all__ = ["FORECAST_COLUMNS", "Forecast", "forecast"]

FORECAST_COLUMNS = ["case_id", "target", "started", "due_date", "p_met", "expected_stop", "stop_low", "stop_high",
                    "current_step", "days_in_step"]  # fmt: skip
DAY_NS = 86_400e9


@dataclass(frozen=True)
class TargetSummary:
    target: str
    label: str
    cases: int
    expected_misses: float
    low: float  # 2.5th percentile over runs of how many miss
    high: float
    due_soon: int
    overdue: int


@dataclass(frozen=True)
class Forecast:
    """One row per open case and running span target (:data:`FORECAST_COLUMNS`), and a summary per target."""

    table: pd.DataFrame
    summaries: tuple[TargetSummary, ...]
    as_of: pd.Timestamp
    runs: int
    seed: int
    due_within: float

    def sentences(self, *, shown: Any = None) -> list[str]:
        """Per target: "of the 12 open cases on X, about 7 (5-9) will miss it; 3 are due in the next 10 days"."""
        from flowmap.privacy import suppress

        out = []
        for s in self.summaries:
            n = suppress(s.cases, shown) if shown else str(s.cases)
            due = suppress(s.due_soon, shown) if shown else str(s.due_soon)
            plural = "s" if s.cases != 1 else ""
            late = suppress(s.overdue, shown) if shown else str(s.overdue)
            overdue = f", and {late} already overdue" if s.overdue else ""
            out.append(f"Of the {n} open case{plural} on {s.label}, about {s.expected_misses:.0f} "
                       f"({s.low:.0f}–{s.high:.0f}) will miss it; {due} {'is' if s.due_soon == 1 else 'are'} due in "
                       f"the next {self.due_within:g} days{overdue}.")  # fmt: skip
        return out

    def at_risk(self, top: int = 5) -> pd.DataFrame:
        """The rows least likely to be met, most at risk first."""
        return self.table.sort_values(["p_met", "due_date"], kind="stable").head(top)


def _open_state(result: Replay, model: Model) -> tuple[pd.DataFrame, dict[int, npt.NDArray[np.int16]]]:
    """Each open case's current visit (its step position, entry, days so far), and visits so far per step."""
    v = result.visits
    case = v["case_id"].astype(str).to_numpy()
    last = np.r_[case[1:] != case[:-1], True] if len(case) else np.array([], dtype=bool)
    status = result.cases.set_index(result.cases["case_id"].astype(str))["status"]
    open_ids = [c for c in case[last] if status.get(c) != "complete"]
    cur = v[last & np.isin(case, open_ids)]
    index = {s: i for i, s in enumerate(model.steps)}
    state = pd.DataFrame({
        "case_id": cur["case_id"].astype(str).to_numpy(),
        "step": cur["step"].astype(str).map(index).to_numpy(dtype=np.int64),
        "entered": cur["entered"].to_numpy(dtype="M8[ns]"),
        "days": np.nan_to_num(cur["days"].to_numpy(dtype=float)),
    })  # fmt: skip
    counts: dict[int, npt.NDArray[np.int16]] = {}
    steps = v["step"].astype(str).to_numpy()
    for sid in model.moves_by_visit:  # visits so far to each step whose moves depend on the visit number
        seen = pd.Series(case[steps == sid]).value_counts()
        counts[index[sid]] = np.asarray(seen.reindex(state["case_id"]).fillna(0), dtype=np.int16)
    return state, counts


def forecast(result: Replay, model: Model | None = None, *, runs: int = 300, seed: int = 1,
             due_within: float | None = None) -> Forecast:  # fmt: skip
    """Carry every open case forward ``runs`` times and say, per running span target, how likely it is met.

    Raises
    ------
    FlowmapError
        With no open cases, or ``runs`` below 1.
    """
    if runs < 1:
        raise FlowmapError(f"--runs must be at least 1 (got {runs})")
    model = model or fit(result)
    process = result.process
    state, counts = _open_state(result, model)
    if state.empty:
        raise FlowmapError(f"there are no open cases as of {result.as_of.date()}: nothing to forecast")
    n = len(state)
    origin = pd.Timestamp(state["entered"].min()).normalize()
    model = replace(model, origin=origin.date(), arrival_dates=None)
    entered_days = (state["entered"].to_numpy(dtype="M8[ns]") - np.datetime64(origin, "ns")) / np.timedelta64(1, "D")
    resume = Resume(step=np.tile(state["step"].to_numpy(), runs), entered=np.tile(entered_days, runs),
                    elapsed=np.tile(state["days"].to_numpy(dtype=float), runs),
                    visits={s: np.tile(k, runs) for s, k in counts.items()})  # fmt: skip
    w = walk(model, n * runs, np.random.default_rng(seed), per_run=n, resume=resume)
    # The first entry of each case is the visit under way; what follows is its future.
    case, step, time = w.trace.case[n * runs :], w.trace.step[n * runs :], w.trace.time[n * runs :]
    order = np.lexsort((step, time, case))
    case, step, time = case[order], step[order], time[order]
    origin64 = np.datetime64(origin, "ns")
    index = {s: i for i, s in enumerate(model.steps)}
    spans = result.spans
    running = spans[spans["status"].isin(["running", "overdue"])] if len(spans) else spans
    row_of = {c: i for i, c in enumerate(state["case_id"])}
    due_days = due_within if due_within is not None else (10.0 if process.clock == "working_days" else 14.0)
    rows, summaries = [], []
    as_of64 = np.datetime64(result.as_of.normalize(), "ns")
    for t in process.targets:
        mine = running[running["target"] == t.id] if len(running) else running
        ids = [str(c) for c in mine["case_id"] if str(c) in row_of]
        if not ids:
            continue
        started = mine.set_index(mine["case_id"].astype(str)).loc[ids, "started"].to_numpy(dtype="M8[ns]")
        # first future entry to the stop step, per case and run
        hit = step == index.get(t.to_step, -1)
        first = np.full(n * runs, np.nan)
        rows_hit = np.flatnonzero(hit)
        if len(rows_hit):
            firsts = rows_hit[np.r_[True, case[rows_hit][1:] != case[rows_hit][:-1]]]
            first[case[firsts]] = time[firsts]
        k = np.array([row_of[c] for c in ids])
        grid = first.reshape(runs, n)[:, k]  # runs x cases: calendar days since the origin, NaN = never
        stop = np.where(np.isnan(grid), np.datetime64("NaT"),
                        origin64 + np.nan_to_num(grid * DAY_NS).astype(np.int64).astype("m8[ns]"))  # fmt: skip
        start_grid = np.broadcast_to(started, stop.shape)
        days = clock_days(start_grid, stop, clock=t.clock, calendar=process.calendar)
        if t.within is not None:
            limit = allowed_days(start_grid.ravel(), t.within, t.within_months, clock=t.clock,
                                 calendar=process.calendar).reshape(stop.shape)  # fmt: skip
            met = ~np.isnan(days) & (days <= limit)
            due = due_dates(started, t, process.calendar)
        else:
            met = ~np.isnan(days) & (days >= (t.at_least or 0))
            due = np.full(len(ids), np.datetime64("NaT"), dtype="M8[ns]")
        stop_days = np.where(np.isnan(grid), np.inf, grid)
        q = np.quantile(stop_days, [0.5, 0.1, 0.9], axis=0, method="inverted_cdf")  # a simulated date, no mixing

        def as_date(x: npt.NDArray[np.float64]) -> npt.NDArray[np.datetime64]:
            out = np.full(len(x), np.datetime64("NaT"), dtype="M8[ns]")
            ok = np.isfinite(x)
            out[ok] = (origin64 + np.round(x[ok] * DAY_NS).astype(np.int64).astype("m8[ns]")).astype("M8[D]")
            return out

        p_met = met.mean(axis=0)
        cur = state.set_index("case_id").loc[ids]
        rows.append(pd.DataFrame({
            "case_id": ids, "target": t.id, "started": started, "due_date": due, "p_met": np.round(p_met, 4),
            "expected_stop": as_date(q[0]), "stop_low": as_date(q[1]), "stop_high": as_date(q[2]),
            "current_step": [model.steps[i] for i in cur["step"]], "days_in_step": cur["days"].to_numpy(),
        }))  # fmt: skip
        misses = (~met).sum(axis=1)
        left = clock_days(np.full(len(ids), as_of64), due, clock=t.clock, calendar=process.calendar)
        soon = int(np.sum(~np.isnan(left) & (left >= 0) & (left <= due_days)))
        late = int(np.sum(~np.isnan(left) & (left < 0)))
        lo, hi = np.quantile(misses, [0.025, 0.975])
        summaries.append(TargetSummary(t.id, t.display_label, len(ids), float((1 - p_met).sum()), float(lo),
                                       float(hi), soon, late))  # fmt: skip
    table = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame({c: [] for c in FORECAST_COLUMNS})
    return Forecast(table=table[FORECAST_COLUMNS], summaries=tuple(summaries), as_of=result.as_of, runs=runs,
                    seed=seed, due_within=due_days)  # fmt: skip
