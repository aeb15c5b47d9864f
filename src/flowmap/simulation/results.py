"""What a simulation gives back: typed estimates per scenario, measure and statistic, and their words.

A scenario (the baseline, or the baseline with one change applied) has, per
span target, the met rate, median and p90 days, and end to end the median and
p90 days; each an :class:`Estimate` (the mean over runs and the 2.5th and
97.5th percentiles over runs). A change also has its paired difference from
the baseline for each of them. :meth:`SimulationResult.as_dict` keeps the JSON
shape documented in docs/semantics.md ("Simulation").
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from flowmap.analysis.replay import SpanArrays, judge_spans
from flowmap.errors import FlowmapError
from flowmap.model.process import Process, SpanTarget
from flowmap.simulation.engines import MAX_MOVES, Trace, Walk
from flowmap.simulation.model import Model, Parameter

__all__ = ["STATISTICS", "Estimate", "Measures", "Scenario", "SimulationResult", "Statistic"]

Statistic = Literal["met_rate", "median_days", "p90_days"]
STATISTICS: tuple[Statistic, ...] = ("met_rate", "median_days", "p90_days")
END_TO_END = "end_to_end"

RunStats = dict[tuple[str, Statistic], npt.NDArray[np.float64]]
"""Per (measure, statistic): one value per run. A measure is a span target id or ``end_to_end``."""


@dataclass(frozen=True)
class Estimate:
    """A figure over runs: its mean, and the 95% interval of the runs (2.5th to 97.5th percentile)."""

    value: float | None
    low: float | None
    high: float | None

    @staticmethod
    def over(per_run: npt.NDArray[np.float64]) -> Estimate:
        ok = per_run[~np.isnan(per_run)]
        if not len(ok):
            return Estimate(None, None, None)
        lo, hi = np.quantile(ok, [0.025, 0.975])
        return Estimate(round(float(np.mean(ok)), 4), round(float(lo), 4), round(float(hi), 4))

    @property
    def interval(self) -> list[float | None]:
        return [self.low, self.high]

    @property
    def excludes_zero(self) -> bool:
        return self.low is not None and self.high is not None and (self.low > 0 or self.high < 0)


@dataclass(frozen=True)
class Measures:
    """The statistics of one measure: a span target (all three) or end to end (no met rate)."""

    median_days: Estimate
    p90_days: Estimate
    met_rate: Estimate | None = None

    def get(self, stat: Statistic) -> Estimate | None:
        return {"met_rate": self.met_rate, "median_days": self.median_days, "p90_days": self.p90_days}[stat]

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for stat in STATISTICS:
            e = self.get(stat)
            if e is not None:
                out[stat], out[f"{stat}_ci"] = e.value, e.interval
        return out


@dataclass(frozen=True)
class Scenario:
    """The baseline, or the baseline with one change applied."""

    name: str
    targets: dict[str, Measures]
    end_to_end: Measures
    vs_baseline: dict[str, dict[Statistic, Estimate]] = field(default_factory=dict)  # paired differences

    def measures(self) -> list[tuple[str, Measures]]:
        return [*self.targets.items(), (END_TO_END, self.end_to_end)]

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "targets": {tid: m.as_dict() for tid, m in self.targets.items()},
            "end_to_end": self.end_to_end.as_dict(),
        }
        if self.vs_baseline:
            out["vs_baseline"] = {
                measure: {stat: {"diff": d.value, "ci": d.interval} for stat, d in stats.items()}
                for measure, stats in self.vs_baseline.items()
            }
        return out


def judged_runs(m: Model, w: Walk) -> tuple[list[tuple[SpanTarget, SpanArrays]], Trace, npt.NDArray[np.datetime64]]:
    """Every simulated case's span clocks, judged by replay's own rule, as of each run's horizon.

    A run's horizon is its last arrival plus the model's ``tail_days`` (the
    days from the last real start to the as-of date), so simulated cases are
    censored as the real ones were; without ``tail_days`` (a model from the
    process file alone) it is the run's last event. Entries after the horizon
    are dropped, and the rest are put in replay's order: by date, then by the
    step's place in the file. Returns the judged clocks, the kept trace in that
    order, and each run's as-of date.
    """
    n = w.per_run
    tr = w.trace
    runs = max(len(w.arrive) // n, 1)
    run_of = tr.case // n
    if m.tail_days is not None:
        last = np.full(runs, -np.inf)
        np.maximum.at(last, np.arange(len(w.arrive)) // n, np.floor(w.arrive))
        horizon = last + m.tail_days
    else:
        horizon = np.full(runs, -np.inf)
        np.maximum.at(horizon, run_of, np.floor(tr.time))
    keep = np.floor(tr.time) <= horizon[run_of]
    case, step, time = tr.case[keep], tr.step[keep], tr.time[keep]
    order = np.lexsort((step, time, case))
    case, step, time = case[order], step[order], time[order]
    origin = np.datetime64(m.origin, "ns")
    entered = origin + np.round(time * 86_400e9).astype(np.int64).astype("m8[ns]")
    n_cases = len(w.arrive)
    last_row = np.r_[case[1:] != case[:-1], True] if len(case) else np.array([], dtype=bool)
    is_end = np.array([s in m.ends for s in m.steps], dtype=bool)
    complete = np.zeros(n_cases, dtype=bool)
    complete[case[last_row]] = is_end[step[last_row]]
    as_of = origin + (np.floor(horizon) * 86_400e9).astype(np.int64).astype("m8[ns]")
    index = {s: i for i, s in enumerate(m.steps)}
    judged = judge_spans(m.targets, index, m.process.calendar, case, step, np.arange(len(case)), entered, complete,
                         as_of[np.arange(n_cases) // n])  # fmt: skip
    return judged, Trace(case=case, step=step, time=time), as_of


def run_stats(m: Model, w: Walk, runs: int, n: int) -> RunStats:
    """Per-run statistics as replay would report them: met rate (met over met, missed and overdue), median and
    p90 days of the stopped clocks per target; median and p90 days end to end, in the process clock."""
    from flowmap.model.clock import clock_days

    out: RunStats = {}
    judged, tr, _ = judged_runs(m, w)
    found = {t.id: sa for t, sa in judged}
    for tg in m.targets:
        sa = found.get(tg.id)
        if sa is None:
            out[(tg.id, "met_rate")] = np.full(runs, np.nan)
            out[(tg.id, "median_days")] = out[(tg.id, "p90_days")] = np.full(runs, np.nan)
            continue
        run = sa.case // n
        met = np.bincount(run, weights=(sa.status == 0).astype(float), minlength=runs)
        judged_n = np.bincount(run, weights=(sa.status <= 2).astype(float), minlength=runs)
        with np.errstate(invalid="ignore", divide="ignore"):
            out[(tg.id, "met_rate")] = met / judged_n
        stopped = sa.status <= 1
        days = np.full((runs, n), np.nan)
        days[run[stopped], sa.case[stopped] % n] = sa.days[stopped]
        out[(tg.id, "median_days")] = _nanquantile_rows(days, 0.5)
        out[(tg.id, "p90_days")] = _nanquantile_rows(days, 0.9)
    # End to end: arrival to the first entry to an end step, in the process clock.
    is_end = np.array([s in m.ends for s in m.steps], dtype=bool)
    rows = np.flatnonzero(is_end[tr.step])
    firsts = rows[np.r_[True, tr.case[rows][1:] != tr.case[rows][:-1]]] if len(rows) else rows
    e2e = np.full((runs, n), np.nan)
    if len(firsts):
        origin = np.datetime64(m.origin, "ns")
        c = tr.case[firsts]

        def at(days: npt.NDArray[np.float64]) -> npt.NDArray[np.datetime64]:
            return origin + np.round(days * 86_400e9).astype(np.int64).astype("m8[ns]")

        e2e[c // n, c % n] = clock_days(at(w.arrive[c]), at(tr.time[firsts]), clock=m.process.clock,
                                        calendar=m.process.calendar)  # fmt: skip
    out[(END_TO_END, "median_days")] = _nanquantile_rows(e2e, 0.5)
    out[(END_TO_END, "p90_days")] = _nanquantile_rows(e2e, 0.9)
    return out


def _nanquantile_rows(a: npt.NDArray[np.float64], q: float) -> npt.NDArray[np.float64]:
    if np.isnan(a).all(axis=1).any():
        res = np.full(a.shape[0], np.nan)
        ok = ~np.isnan(a).all(axis=1)
        if ok.any():
            res[ok] = np.nanquantile(a[ok], q, axis=1)
        return res
    return np.asarray(np.nanquantile(a, q, axis=1), dtype=np.float64)


def scenario(name: str, m: Model, stats: RunStats, base: RunStats | None) -> Scenario:
    """A scenario's estimates; with ``base`` (the baseline's runs, paired by seed), its differences too."""

    def measures(measure: str, with_rate: bool) -> Measures:
        return Measures(
            median_days=Estimate.over(stats[(measure, "median_days")]),
            p90_days=Estimate.over(stats[(measure, "p90_days")]),
            met_rate=Estimate.over(stats[(measure, "met_rate")]) if with_rate else None,
        )

    vs: dict[str, dict[Statistic, Estimate]] = {}
    if base is not None:
        for (measure, stat), values in stats.items():
            if (measure, stat) in base:
                vs.setdefault(measure, {})[stat] = Estimate.over(values - base[(measure, stat)])
    return Scenario(name=name, targets={tg.id: measures(tg.id, True) for tg in m.targets},
                    end_to_end=measures(END_TO_END, False), vs_baseline=vs)  # fmt: skip


def _pct(x: float | None) -> str:
    return "–" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{100 * x:.0f}%"


def _rate_words(e: Estimate) -> str:
    """A simulated met rate in a sentence: with its interval, or alone when it has no spread."""
    if e.low is not None and e.high is not None and abs(e.high - e.low) < 1e-9:
        return f"{_pct(e.value)} (fixed by the model: every run gives it)"
    return f"{_pct(e.value)} ({_pct(e.low)}–{_pct(e.high)})"


def _days(e: Estimate) -> str:
    if e.value is None or e.low is None or e.high is None:
        return "–"
    if abs(e.high - e.low) < 1e-9:
        return f"{e.value:.1f} (fixed)"
    return f"{e.value:.1f} ({e.low:.1f}–{e.high:.1f})"


@dataclass(frozen=True)
class SimulationResult:
    """Baseline and scenarios, per span target and end to end, over many runs."""

    seed: int
    runs: int
    cases: int
    scenarios: tuple[Scenario, ...]
    parameters: tuple[Parameter, ...]
    capped: dict[str, int]
    baseline_check: tuple[dict[str, Any], ...] = ()  # simulation/check.py, when the model was fitted on data
    queues: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict)  # scenario -> lane -> figures
    extra_notes: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        """The JSON of ``simulate -o FILE.json`` (docs/semantics.md, "Simulation")."""
        return {
            "flowmap": "simulate/1",
            "seed": self.seed,
            "runs": self.runs,
            "cases": self.cases,
            "scenarios": [sc.as_dict() for sc in self.scenarios],
            "parameters": [p.as_dict() for p in self.parameters],
            "capped": self.capped,
            "baseline_check": list(self.baseline_check),
            "queues": self.queues,
        }

    def table(self) -> pd.DataFrame:
        """One row per scenario, measure and statistic, with the interval (for CSV and the terminal)."""
        rows = []
        for sc in self.scenarios:
            for measure, ms in sc.measures():
                for stat in STATISTICS:
                    e = ms.get(stat)
                    if e is None:
                        continue
                    d = sc.vs_baseline.get(measure, {}).get(stat)
                    rows.append({
                        "scenario": sc.name, "measure": measure, "statistic": stat, "value": e.value,
                        "ci_low": e.low, "ci_high": e.high,
                        "diff": None if d is None else d.value,
                        "diff_ci_low": None if d is None else d.low,
                        "diff_ci_high": None if d is None else d.high,
                    })  # fmt: skip
        return pd.DataFrame(rows)

    def summary(self) -> pd.DataFrame:
        """For the terminal: per scenario and measure, each figure with its 95% interval, and the change."""
        rows = []
        for sc in self.scenarios:
            for measure, ms in sc.measures():
                row = {"scenario": sc.name, "measure": measure}
                r = ms.met_rate
                row["met rate"] = "" if r is None else ("–" if r.value is None else
                                                       f"{_pct(r.value)} (fixed)" if r.low == r.high else
                                                       f"{_pct(r.value)} ({_pct(r.low)}–{_pct(r.high)})")  # fmt: skip
                row["median days"] = _days(ms.median_days)
                row["p90 days"] = _days(ms.p90_days)
                vs = sc.vs_baseline.get(measure, {})
                rate, median = vs.get("met_rate"), vs.get("median_days")
                if rate is not None and rate.value is not None and rate.low is not None and rate.high is not None:
                    row["change in met rate"] = (f"{100 * rate.value:+.0f} points ({100 * rate.low:+.0f} to "
                                                 f"{100 * rate.high:+.0f})")  # fmt: skip
                elif median is not None and median.value is not None:
                    row["change in met rate"] = f"median {median.value:+.1f} days"
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
        ] + list(self.extra_notes)

    def queue_table(self) -> pd.DataFrame:
        """With capacity: per scenario and lane, the mean utilisation of its servers and mean queue length."""
        return pd.DataFrame([{"scenario": sc, "lane": lane, "utilisation": f"{100 * v['utilisation']:.0f}%",
                              "mean queue (cases)": f"{v['mean_queue']:.1f}"}
                             for sc, lanes in self.queues.items() for lane, v in lanes.items()])  # fmt: skip

    def write(self, path: str | Path) -> Path:
        """Write the result: ``.json`` (the whole result) or ``.csv``/``.xlsx`` (:meth:`table`)."""
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
            for tid, ms in sc.targets.items():
                b = base.targets.get(tid)
                if b is None or b.met_rate is None or b.met_rate.value is None:
                    continue
                if ms.met_rate is None or ms.met_rate.value is None:
                    continue
                d = sc.vs_baseline[tid]["met_rate"]
                before, after = _rate_words(b.met_rate), _rate_words(ms.met_rate)
                diff = d.value or 0.0
                if abs(diff) < 0.005:
                    text = f"stays at {before}"
                else:
                    text = f"{'rises' if diff > 0 else 'falls'} from {before} to {after}"
                sure = "" if d.excludes_zero else " (the difference could be zero)"
                out.append(f"{sc.name}: {labels.get(tid, tid)}: {text}{sure}.")
        return out
