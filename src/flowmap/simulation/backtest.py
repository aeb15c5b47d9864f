"""Back-tests: fit on what began before a date, simulate what began after it, and compare with what happened.

``simulate --holdout DATE`` fits the model on the cases that began before
DATE, with only the events up to DATE (nothing from the future leaks in),
applies any ``--change``, and simulates the cases that began on or after
DATE: as many as there were, arriving on their real start dates. Both the
simulated and the real cases are judged as of the data's as-of date, so open
cases are censored the same way. Per span target it reports the observed met
rate and median against the simulated 95% interval (inside or outside), and
two distribution distances used to judge business-process simulation models
(Chapela-Campa et al., 2023, "Can I trust my simulation model? Measuring the
quality of business process simulation models", BPM 2023; Leemans et al.,
2019, "Earth movers' stochastic conformance checking", BPM Forum): the earth
mover's (Wasserstein-1) distance between the simulated and observed
distributions of case duration (complete cases, arrival to end step, in
days), and of each span target's days (stopped clocks).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from flowmap.analysis.metrics import target_table
from flowmap.analysis.replay import replay, window
from flowmap.analysis.variants import case_days
from flowmap.errors import FlowmapError
from flowmap.model.clock import clock_days
from flowmap.model.process import Process
from flowmap.simulation.change import Change, apply_change
from flowmap.simulation.check import CheckRow, versus
from flowmap.simulation.model import Model, fit
from flowmap.simulation.results import Estimate, judged_runs, run_stats

__all__ = ["MIN_SIDE", "Backtest", "backtest"]

MIN_SIDE = 10
"""Fewer cases than this on either side of the holdout date, and a back-test says nothing."""


@dataclass(frozen=True)
class Backtest:
    holdout: dt.date
    as_of: dt.date
    cases_before: int
    cases_after: int
    runs: int
    seed: int
    changes: tuple[str, ...]
    rows: tuple[CheckRow, ...]
    emd_case_days: float | None  # earth mover's distance, case durations (days)
    emd_target_days: dict[str, float | None]

    def as_dict(self) -> dict[str, Any]:
        return {"holdout": self.holdout.isoformat(), "as_of": self.as_of.isoformat(),
                "cases_before": self.cases_before, "cases_after": self.cases_after, "runs": self.runs,
                "seed": self.seed, "changes": list(self.changes), "targets": [r.as_dict() for r in self.rows],
                "emd_case_days": self.emd_case_days, "emd_target_days": self.emd_target_days}  # fmt: skip

    def table(self) -> pd.DataFrame:
        def show(measure: str, v: float | None) -> str:
            if v is None:
                return "–"
            return f"{100 * v:.1f}%" if measure == "met_rate" else f"{v:.1f}"

        return pd.DataFrame([{
            "target": r.label, "measure": "met rate" if r.measure == "met_rate" else "median days",
            "observed": show(r.measure, r.observed),
            "simulated (95% interval)": f"{show(r.measure, r.simulated.value)} ({show(r.measure, r.simulated.low)}"
                                        f" to {show(r.measure, r.simulated.high)})",
            "inside": "" if r.inside is None else ("inside" if r.inside else "OUTSIDE"),
            "EMD days": "" if r.measure != "median_days" or self.emd_target_days.get(r.target) is None
                        else f"{self.emd_target_days[r.target]:.1f}",
        } for r in self.rows])  # fmt: skip

    def sentences(self) -> list[str]:
        out = [f"Back-test: fitted on the {self.cases_before} cases that began before {self.holdout}, then "
               f"simulated the {self.cases_after} that began on or after it, on their real start dates, "
               f"{self.runs} runs, judged as of {self.as_of}."]  # fmt: skip
        if self.changes:
            out.append(f"With the change{'s' if len(self.changes) > 1 else ''} {', '.join(self.changes)} applied.")
        bad = [r for r in self.rows if r.inside is False]
        for r in bad:
            what = "met rate" if r.measure == "met_rate" else "median days"
            out.append(f"The model did not foresee {r.label}'s {what}: it happened outside the simulated 95% "
                       "interval.")  # fmt: skip
        if self.rows and not bad:
            out.append("Every observed met rate and median fell inside the simulated 95% interval.")
        if self.emd_case_days is not None:
            out.append(f"Earth mover's distance between simulated and observed case durations: "
                       f"{self.emd_case_days:.1f} days (0 = the same distribution).")  # fmt: skip
        return out


def backtest(process: Process, events: Any, holdout: Any, *, changes: Sequence[Change] = (), runs: int = 300,
             seed: int = 1, as_of: Any = None) -> Backtest:  # fmt: skip
    """Fit before ``holdout``, simulate the cases that began after it, compare with what happened to them."""
    from scipy.stats import wasserstein_distance

    from flowmap.analysis.replay import parse_date
    from flowmap.simulation.simulate import MAX_RUNS, _runs

    if runs < 1 or runs > MAX_RUNS:
        raise FlowmapError(f"--runs must be between 1 and {MAX_RUNS} (got {runs})")
    cut = parse_date(holdout, "--holdout")
    assert cut is not None
    full = replay(process, events, as_of=as_of)
    if cut.date() > full.as_of.date():
        raise FlowmapError(f"--holdout {cut.date()} is after the as-of date {full.as_of.date()}: nothing to test")
    fitted_on = replay(process, events, as_of=cut - pd.Timedelta(days=1), before=cut)
    after = window(full, since=cut)
    n_before, n_after = len(fitted_on.window_cases), len(after.window_cases)
    if n_before < MIN_SIDE or n_after < MIN_SIDE:
        raise FlowmapError(
            f"--holdout {cut.date()} leaves {n_before} case{'s' if n_before != 1 else ''} before it and {n_after} "
            f"on or after it; a back-test needs at least {MIN_SIDE} on each side: choose a date nearer the "
            "middle of the data"
        )
    model: Model = fit(fitted_on)
    for c in changes:
        model = apply_change(model, c)
    starts = np.sort(after.window_cases["started"].to_numpy(dtype="M8[ns]")).astype("M8[D]")
    origin = starts[0]
    days = (starts - origin).astype(np.int64).astype(float)
    model = replace(model, origin=pd.Timestamp(origin).date(), arrival_dates=tuple(days.tolist()),
                    tail_days=float((full.as_of.normalize() - pd.Timestamp(starts[-1])).days),
                    cases=n_after)  # fmt: skip
    rng = np.random.default_rng(seed)
    w = _runs(model, runs, n_after, rng)
    stats = run_stats(model, w, runs, n_after)
    judged, trace, _ = judged_runs(model, w)
    observed = {(str(r["target"]), m): float(r[m]) for r in target_table(after).to_dict("records")
                for m in ("met_rate", "median_days")}  # fmt: skip
    rows = []
    emd_targets: dict[str, float | None] = {}
    sim_days = {t.id: sa.days[sa.status <= 1] for t, sa in judged}
    for t in process.targets:
        obs_spans = after.spans[(after.spans["target"] == t.id) & after.spans["status"].isin(["met", "missed"])]
        a, b = sim_days.get(t.id, np.array([])), obs_spans["days"].to_numpy(dtype=float)
        emd_targets[t.id] = round(float(wasserstein_distance(a, b)), 3) if len(a) and len(b) else None
        for measure in ("met_rate", "median_days"):
            est = Estimate.over(stats[(t.id, measure)])
            rows.append(versus(t.id, t.display_label, measure, observed.get((t.id, measure), math.nan), est))
    # case durations: simulated complete cases (arrival to end step) against the real ones
    is_end = np.array([s in model.ends for s in model.steps], dtype=bool)
    ends = np.flatnonzero(is_end[trace.step])
    firsts = ends[np.r_[True, trace.case[ends][1:] != trace.case[ends][:-1]]] if len(ends) else ends
    origin64 = np.datetime64(model.origin, "ns")

    def at(d: npt.NDArray[np.float64]) -> npt.NDArray[np.datetime64]:
        return origin64 + np.round(d * 86_400e9).astype(np.int64).astype("m8[ns]")

    sim_case = clock_days(at(w.arrive[trace.case[firsts]]), at(trace.time[firsts]), clock=process.clock,
                          calendar=process.calendar)  # fmt: skip
    obs_case = case_days(after).to_numpy(dtype=float)
    emd_case = round(float(wasserstein_distance(sim_case, obs_case)), 3) if len(sim_case) and len(obs_case) else None
    return Backtest(holdout=cut.date(), as_of=full.as_of.date(), cases_before=n_before, cases_after=n_after,
                    runs=runs, seed=seed, changes=tuple(c.name for c in changes), rows=tuple(rows),
                    emd_case_days=emd_case, emd_target_days=emd_targets)  # fmt: skip
