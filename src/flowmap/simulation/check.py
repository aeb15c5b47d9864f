"""Does the simulated baseline look like the data? The baseline check printed before any comparison.

For each span target, the observed met rate and median (from the replay the
model was fitted on) against the simulated baseline's mean and 95% interval
over runs. An observed value outside the interval is flagged in words: the
model does not reproduce it, so a comparison built on the model needs care.
The simulated runs are censored at the as-of date as the data was
(:func:`flowmap.simulation.results.judged_runs`), so like is compared with like.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from flowmap.analysis.metrics import target_table
from flowmap.analysis.replay import Replay
from flowmap.simulation.model import Model
from flowmap.simulation.results import Estimate, SimulationResult

__all__ = ["CheckRow", "baseline_check", "check_sentences", "check_table", "versus"]


@dataclass(frozen=True)
class CheckRow:
    """One span target's measure: observed, simulated (mean and interval), and whether it falls inside."""

    target: str
    label: str
    measure: str  # met_rate or median_days
    observed: float | None
    simulated: Estimate
    inside: bool | None  # None: nothing to compare

    def as_dict(self) -> dict[str, Any]:
        return {"target": self.target, "measure": self.measure, "observed": self.observed,
                "simulated": self.simulated.value, "ci": self.simulated.interval, "inside": self.inside}  # fmt: skip


def baseline_check(result: Replay, sim: SimulationResult) -> list[CheckRow]:
    """Observed against simulated, per span target: met rate and median days of stopped clocks."""
    observed = {(str(r["target"]), m): float(r[m]) for r in target_table(result).to_dict("records")
                for m in ("met_rate", "median_days")}  # fmt: skip
    base = sim.scenarios[0]
    rows = []
    for t in result.process.targets:
        ms = base.targets.get(t.id)
        if ms is None or (t.id, "met_rate") not in observed:
            continue
        for measure, est in (("met_rate", ms.met_rate), ("median_days", ms.median_days)):
            if est is None:
                continue
            rows.append(versus(t.id, t.display_label, measure, observed.get((t.id, measure), math.nan), est))
    return rows


def versus(target: str, label: str, measure: str, value: float, est: Estimate) -> CheckRow:
    """An observed value (NaN: none) against a simulated estimate: inside its 95% interval or not."""
    obs = None if math.isnan(value) else round(value, 4)
    inside = None
    if obs is not None and est.low is not None and est.high is not None:
        inside = est.low - 1e-9 <= obs <= est.high + 1e-9
    return CheckRow(target, label, measure, obs, est, inside)


def _show(measure: str, v: float | None) -> str:
    if v is None:
        return "–"
    return f"{100 * v:.1f}%" if measure == "met_rate" else f"{v:.1f} days"


def shown(measure: str, e: Estimate) -> str:
    """A simulated figure: one value when it has no spread (fixed), else the mean and its interval."""
    if e.value is None:
        return "–"
    if e.low is not None and e.high is not None and abs(e.high - e.low) < 1e-9:
        return f"{_show(measure, e.value)} (fixed: no spread)"
    return f"{_show(measure, e.value)} ({_show(measure, e.low)} to {_show(measure, e.high)})"


def check_table(rows: list[CheckRow]) -> list[dict[str, str]]:
    """The check for the terminal: one row per target and measure."""
    return [{"target": r.label, "measure": "met rate" if r.measure == "met_rate" else "median days",
             "observed": _show(r.measure, r.observed), "simulated (95% interval)": shown(r.measure, r.simulated),
             "fits": "" if r.inside is None else ("yes" if r.inside else "NO")} for r in rows]  # fmt: skip


def check_sentences(rows: list[CheckRow], model: Model, result: Replay | None) -> list[str]:
    """The check in words: every observed value the model does not reproduce, and when it is guesswork."""
    out = []
    durations = [p for p in model.parameters if p.what == "duration"]
    if durations and all(p.source == "default" for p in durations):
        out.append("Baseline check: every step's time is a default (no data and no typical times in the process "
                   "file): the model is guesswork, and so is any comparison built on it.")  # fmt: skip
    if result is None:
        out.append("Baseline check: no data to check against (the model comes from the process file alone); "
                   "treat its figures as a sketch.")  # fmt: skip
        return out
    flagged = [r for r in rows if r.inside is False]
    for r in flagged:
        what = "met rate" if r.measure == "met_rate" else "median days"
        out.append(f"The model does not reproduce {r.label}'s {what}: observed {_show(r.measure, r.observed)}, "
                   f"simulated {shown(r.measure, r.simulated)}; treat the comparison with care.")  # fmt: skip
    if rows and not flagged:
        out.append("Baseline check: every observed met rate and median lies inside the simulated baseline's 95% "
                   "interval.")  # fmt: skip
    return out
