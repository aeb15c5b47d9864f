"""PDSA predictions, scored: what the team said a target would do in a cycle, against what it did.

A prediction (``predictions:`` in a PDSA log) names a span target, a measure
(``met_rate`` or ``median_days``) and a ``value``, a ``between: [LOW, HIGH]``
range, or both. It is scored on the clocks that **started** within the cycle
(its start to its end date, or to the as-of date): the observed figure with
its 95% interval (Wilson's for a rate; the percentile bootstrap's for a
median), and a verdict:

- ``as predicted``: the observed figure lies inside ``between``, or (with a
  ``value`` alone) the value lies inside the observed interval;
- ``better than predicted`` / ``worse than predicted``: otherwise, by which
  side it fell (a higher met rate is better; a lower median is better);
- ``too early to tell``: fewer than 5 completed clocks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from flowmap.analysis.replay import Replay, window
from flowmap.errors import FlowmapError, did_you_mean
from flowmap.files.pdsa import Cycle, PdsaLog, Prediction
from flowmap.spc.compare import MIN_N, RESAMPLES, wilson

__all__ = ["PREDICTION_COLUMNS", "Score", "prediction_block", "score_predictions", "scores_table"]

PREDICTION_COLUMNS = ["cycle", "target", "measure", "predicted", "predicted_low", "predicted_high", "observed",
                      "observed_low", "observed_high", "n", "verdict"]  # fmt: skip
"""The columns of ``flowmap pdsa -o``, exactly."""


@dataclass(frozen=True)
class Score:
    """One prediction against what happened."""

    cycle: str
    target: str
    measure: str
    predicted: float | None
    predicted_low: float | None
    predicted_high: float | None
    observed: float | None
    observed_low: float | None
    observed_high: float | None
    n: int
    verdict: str

    def row(self) -> dict[str, Any]:
        return {c: getattr(self, c) for c in PREDICTION_COLUMNS}

    def sentence(self, *, suppress_below: int | None = None) -> str:
        """The score in words; ``n`` below ``suppress_below`` shown as <N, and then no observed rate."""
        from flowmap.privacy import suppress

        what = "met rate" if self.measure == "met_rate" else "median days"
        n = suppress(self.n, suppress_below)

        def fmt(v: float) -> str:
            return f"{100 * v:.0f}%" if self.measure == "met_rate" else f"{v:g}"

        said = []
        if self.predicted is not None:
            said.append(fmt(self.predicted))
        if self.predicted_low is not None and self.predicted_high is not None:
            said.append(f"between {fmt(self.predicted_low)} and {fmt(self.predicted_high)}")
        if self.observed is None or self.verdict == "too early to tell":
            return f"{self.cycle}, {self.target} {what}: predicted {', '.join(said)}; too early to tell ({n} " \
                   f"completed, {MIN_N} needed)."  # fmt: skip
        met = round(self.observed * self.n) if self.measure == "met_rate" else 0
        if self.measure == "met_rate" and (n.startswith("<") or suppress(met, suppress_below).startswith("<")):
            # The rate with its n would give a hidden count away: say the verdict, not the figure.
            return f"{self.cycle}, {self.target} {what}: predicted {', '.join(said)}; {self.verdict} (figures " \
                   "hidden: small counts)."  # fmt: skip
        seen = fmt(self.observed)
        if self.observed_low is not None and self.observed_high is not None:
            seen += f" (95% CI {fmt(self.observed_low)} to {fmt(self.observed_high)}, n = {n})"
        return f"{self.cycle}, {self.target} {what}: predicted {', '.join(said)}; observed {seen}: {self.verdict}."


def _observe(values: pd.DataFrame, measure: str, seed: int) -> tuple[float | None, float | None, float | None, int]:
    """The observed figure, its 95% interval, and how many completed clocks it rests on."""
    done = values[values["status"].isin(["met", "missed"])]
    if measure == "met_rate":
        judged = values["status"].isin(["met", "missed", "overdue"])
        n, met = int(judged.sum()), int((values["status"] == "met").sum())
        if not n:
            return None, None, None, 0
        lo, hi = wilson(met, n)
        return met / n, lo, hi, n
    days = done["days"].to_numpy(dtype=float)
    if not len(days):
        return None, None, None, 0
    if len(days) < 2 or np.ptp(days) == 0:
        m = float(np.median(days))
        return m, m, m, len(days)
    from scipy.stats import bootstrap

    res = bootstrap((days,), np.median, n_resamples=RESAMPLES, method="percentile", vectorized=True,
                    rng=np.random.default_rng(seed))  # fmt: skip
    return float(np.median(days)), float(res.confidence_interval.low), float(res.confidence_interval.high), len(days)


def _verdict(p: Prediction, observed: float | None, lo: float | None, hi: float | None, n: int) -> str:
    if observed is None or n < MIN_N:
        return "too early to tell"
    higher_is_better = p.measure == "met_rate"
    if p.low is not None and p.high is not None:
        if p.low <= observed <= p.high:
            return "as predicted"
        above = observed > p.high
    else:
        assert p.value is not None
        if lo is not None and hi is not None and lo <= p.value <= hi:
            return "as predicted"
        above = observed > p.value
    return "better than predicted" if above == higher_is_better else "worse than predicted"


def score_predictions(result: Replay, log: PdsaLog, *, seed: int = 0) -> tuple[Score, ...]:
    """Every prediction of every cycle, scored on the clocks that started within its cycle.

    Raises
    ------
    FlowmapError
        For a prediction that names a span target the process does not have.
    """
    targets = [t.id for t in result.process.targets]
    scores = []
    for c in log.cycles:
        for p in c.predictions:
            if p.target not in targets:
                raise FlowmapError(f"{c.id} predicts '{p.target}', which is not a span target of "
                                   f"'{result.process.id}'{did_you_mean(p.target, targets)}; its targets are: "
                                   f"{', '.join(targets)}")  # fmt: skip
            spans = _cycle_spans(result, c, p.target)
            observed, lo, hi, n = _observe(spans, p.measure, seed)
            scores.append(Score(c.id, p.target, p.measure, p.value, p.low, p.high, observed, lo, hi, n,
                                _verdict(p, observed, lo, hi, n)))  # fmt: skip
    return tuple(scores)


def scores_table(scores: tuple[Score, ...]) -> pd.DataFrame:
    """The scores with exactly :data:`PREDICTION_COLUMNS`."""
    return pd.DataFrame([s.row() for s in scores], columns=PREDICTION_COLUMNS)


def _cycle_spans(result: Replay, c: Cycle, target: str) -> pd.DataFrame:
    end = pd.Timestamp(c.end) + pd.Timedelta(days=1) if c.end is not None else None
    inside = window(result, since=c.start, before=end).spans
    if not len(inside):
        return pd.DataFrame({"status": pd.Series(dtype=object), "days": pd.Series(dtype=float)})
    return inside[inside["target"] == target]


def prediction_block(result: Any, process: Any) -> str:
    """A ``predictions:`` block for a PDSA log, from a simulation: each change's interval for each target.

    ``result`` is a :class:`~flowmap.simulation.results.SimulationResult`; the
    block is ready to paste under the cycle that tests the change.
    """
    lines = []
    for sc in result.scenarios[1:]:
        lines.append(f"# {sc.name}: simulated {result.runs} runs of {result.cases} cases, seed {result.seed}")
        lines.append("predictions:")
        for tid, ms in sc.targets.items():
            for measure in ("met_rate", "median_days"):
                e = ms.get(measure)
                if e is None or e.value is None or e.low is None or e.high is None:
                    continue
                lines.append(f"  - {{target: {tid}, measure: {measure}, value: {e.value:.3g}, "
                             f"between: [{e.low:.3g}, {e.high:.3g}]}}")  # fmt: skip
    return "\n".join(lines) + "\n" if lines else ""
