"""Rates per period: a span target measured week by week, month by month or quarter by quarter, and p-charts.

Teams write their aims as rates ("90% of children presented to panel within
12 weeks") and chart them month by month. A completed clock counts in the
period in which it **stopped**: ``met_rate`` = met / (met + missed) of those,
``median_days``, ``mean_days`` and ``count``. ``overdue`` is the backlog a
completed-only rate hides: the clocks still running at each period's end that
are already past their limit. A period with no completed clock is a gap, not a
zero. Periods are calendar months, ISO weeks (from Monday) or calendar
quarters; each point carries its ``n``.

A **p-chart** of a met rate has centre p̄ = Σmet / Σn over the baseline
periods and limits p̄ ± 3·√(p̄(1 − p̄)/nᵢ) per point, clipped to 0..1, with the
special-cause rules of the XmR chart (docs/semantics.md, "Charts").
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from flowmap.analysis.replay import Replay
from flowmap.errors import ChartError
from flowmap.files.pdsa import PdsaLog
from flowmap.model.calendars import days_word
from flowmap.model.clock import allowed_days, clock_days
from flowmap.spc.charts import ChartResult, Series, XmrRules, _baseline_n, _pdsa_marks, _r, _xmr_signals

__all__ = ["MEASURES", "PERIODS", "Measure", "Per", "p_chart", "period_series", "period_starts"]

Per = Literal["week", "month", "quarter"]
PERIODS: tuple[Per, ...] = ("week", "month", "quarter")
Measure = Literal["met_rate", "median_days", "mean_days", "count", "overdue"]
MEASURES: tuple[Measure, ...] = ("met_rate", "median_days", "mean_days", "count", "overdue")


def period_starts(dates: npt.NDArray[np.datetime64], per: Per) -> Any:
    """The first day of each date's period: its month, its ISO week (Monday) or its quarter.

    Examples
    --------
    >>> d = np.array(["2025-03-05", "2025-03-09", "2025-05-20"], dtype="M8[D]")
    >>> [str(x) for x in period_starts(d, "week")], [str(x) for x in period_starts(d, "quarter")]
    (['2025-03-03', '2025-03-03', '2025-05-19'], ['2025-01-01', '2025-01-01', '2025-04-01'])
    """
    days = dates.astype("M8[D]")
    if per == "week":
        # 1970-01-01 was a Thursday: three days after a Monday.
        return days - ((days.astype(np.int64) + 3) % 7).astype("m8[D]")
    months = days.astype("M8[M]")
    if per == "quarter":
        m = months.astype(np.int64)
        months = (m - m % 3).astype("M8[M]")
    return months.astype("M8[D]")


def _next_start(start: Any, per: Per) -> Any:
    if per == "week":
        return start + np.timedelta64(7, "D")
    step = 3 if per == "quarter" else 1
    return (start.astype("M8[M]") + np.timedelta64(step, "M")).astype("M8[D]")


def period_series(result: Replay, target_id: str, *, per: Per, measure: Measure = "met_rate") -> Series:
    """A span target's measure per period, dated by the period's first day, each point with its ``n``.

    Raises
    ------
    ChartError
        For an unknown target or measure, or fewer than two periods with a point.
    """
    process = result.process
    if target_id not in [t.id for t in process.targets]:
        raise ChartError(f"no span target '{target_id}' in process '{process.id}'; its targets are: "
                         f"{', '.join(t.id for t in process.targets) or 'none'}")  # fmt: skip
    if per not in PERIODS:
        raise ChartError(f"--per must be week, month or quarter (got {per!r})")
    if measure not in MEASURES:
        raise ChartError(f"--measure must be one of {', '.join(MEASURES)} (got {measure!r})")
    t = process.target(target_id)
    sp = result.spans
    mine = sp[sp["target"] == target_id] if len(sp) else sp
    if measure == "overdue":
        starts, values, n, met = _overdue(result, mine, per)
    else:
        starts, values, n, met = _completed(mine, per, measure)
    if len(starts) < 2:
        raise ChartError(f"'{target_id}' has {len(starts)} {per}{'s' if len(starts) != 1 else ''} with a point; "
                         f"a chart per {per} needs at least 2: chart it per case, or per a shorter period")  # fmt: skip
    rate = measure == "met_rate"
    unit = {"met_rate": "share met", "count": "clocks stopped", "overdue": "clocks overdue"}.get(
        measure, days_word(t.clock)
    )
    return Series(
        dates=tuple(pd.Timestamp(d).date() for d in starts),
        values=tuple(float(v) for v in values),
        labels=tuple(None for _ in starts),
        name=f"{t.display_label}: {measure.replace('_', ' ')} per {per}",
        unit=unit,
        target=t.aim if rate else (None if measure in ("count", "overdue") else (t.within or t.at_least)),
        n=tuple(int(x) for x in n),
        met=tuple(int(x) for x in met) if rate else (),
        per=per,
        target_id=target_id,
        is_rate=rate,
    )


Points = tuple[Any, npt.NDArray[np.float64], npt.NDArray[np.int64], npt.NDArray[np.int64]]
"""Period starts, values, n and met, one entry per period with a point."""


def _completed(mine: pd.DataFrame, per: Per, measure: Measure) -> Points:
    done = mine[mine["status"].isin(["met", "missed"])] if len(mine) else mine
    if not len(done):
        empty = np.array([], dtype="M8[D]")
        return empty, np.array([]), np.array([], dtype=np.int64), np.array([], dtype=np.int64)
    key = period_starts(done["stopped"].to_numpy(dtype="M8[ns]"), per)
    frame = pd.DataFrame({"period": key, "days": done["days"].to_numpy(dtype=float),
                          "met": (done["status"] == "met").to_numpy()})  # fmt: skip
    g = frame.groupby("period", sort=True)
    n = g.size().to_numpy()
    met = g["met"].sum().to_numpy().astype(np.int64)
    values = {
        "met_rate": met / n,
        "median_days": g["days"].median().to_numpy(),
        "mean_days": g["days"].mean().to_numpy(),
        "count": n.astype(float),
    }[measure]
    return g.size().index.to_numpy(dtype="M8[D]"), np.asarray(values, dtype=float), n.astype(np.int64), met


def _overdue(result: Replay, mine: pd.DataFrame, per: Per) -> Points:
    """At each period's end (or the as-of date), the clocks running and already past their limit."""
    t_id = str(mine["target"].iloc[0]) if len(mine) else ""
    t = result.process.target(t_id) if t_id else None
    if t is None or t.within is None or not len(mine):
        empty = np.array([], dtype="M8[D]")
        return empty, np.array([]), np.array([], dtype=np.int64), np.array([], dtype=np.int64)
    started = mine["started"].to_numpy(dtype="M8[ns]")
    stopped = mine["stopped"].to_numpy(dtype="M8[ns]")
    # A case that ended without stopping the clock (void) stops counting when it ended.
    cases = result.cases
    ended = np.where(cases["status"].to_numpy() == "complete", cases["entered"].to_numpy(dtype="M8[ns]"),
                     np.datetime64("NaT"))  # fmt: skip
    case_end = ended[result.span_case_codes()[(result.spans["target"] == t_id).to_numpy()]]
    closes = np.where(np.isnat(stopped), case_end, stopped)
    as_of = np.datetime64(result.as_of, "ns")
    first = period_starts(np.array([started.min()]), per)[0]
    starts, values = [], []
    p = first
    while p <= as_of.astype("M8[D]"):  # one pass per period, not per clock
        end = min(_next_start(p, per).astype("M8[ns]") - np.timedelta64(1, "ns"), as_of)
        running = (started <= end) & (np.isnat(closes) | (closes > end))
        days = clock_days(started[running], np.full(int(running.sum()), end), clock=t.clock,
                          calendar=result.process.calendar)  # fmt: skip
        starts.append(p)
        limit = allowed_days(started[running], t.within, t.within_months, clock=t.clock,
                             calendar=result.process.calendar)  # fmt: skip
        values.append(float((days > limit).sum()))
        p = _next_start(p, per)
    n = np.array([int(v) for v in values], dtype=np.int64)
    return np.array(starts, dtype="M8[D]"), np.array(values), n, np.zeros(len(values), dtype=np.int64)


def p_chart(series: Series, *, pdsa: PdsaLog | None = None, baseline: int | None = None) -> ChartResult:
    """A p-chart of a per-period met rate: centre Σmet/Σn over the baseline, limits per point from its n."""
    if not series.is_rate or not series.n:
        raise ChartError("a p-chart needs a met rate per period: --per with --measure met_rate")
    values = np.asarray(series.values, dtype=float)
    n = np.asarray(series.n, dtype=float)
    met = np.asarray(series.met, dtype=float)
    marks, warnings = _pdsa_marks(series, pdsa)
    bn = _baseline_n(len(values), marks, baseline, 12, series.target_id)
    if bn < 12:
        warnings.append(f"The limits rest on {bn} periods; they are trial limits until there are 12.")
    p_bar = float(met[:bn].sum() / n[:bn].sum())
    sigma = np.sqrt(p_bar * (1 - p_bar) / n)
    lines: dict[str, list[float | None]] = {
        "mean": [p_bar] * len(values),
        "ucl": np.minimum(1.0, p_bar + 3 * sigma).tolist(),
        "lcl": np.maximum(0.0, p_bar - 3 * sigma).tolist(),
        "upper_two_thirds": np.minimum(1.0, p_bar + 2 * sigma).tolist(),
        "lower_two_thirds": np.maximum(0.0, p_bar - 2 * sigma).tolist(),
    }
    outside, seven_side, seven_trend, two3 = _xmr_signals(values, lines)
    return ChartResult(
        kind="p",
        series=series,
        baseline_n=bn,
        centre=_r(p_bar),
        centre_line=tuple(lines["mean"]),
        rules=XmrRules(outside=outside, seven_one_side=seven_side, seven_trend=seven_trend, two_of_three=two3),
        pdsa=marks,
        limit_lines={k: tuple(v) for k, v in lines.items() if k != "mean"},
        warnings=tuple(warnings),
        better="higher",
    )
