"""Run charts and XmR charts with PDSA cycles marked, their rules, and a reading in words.

A measure is a series of dated values: a span target as one point per case
(dated when its clock stopped, valued in days), or any ``date,value`` file.

Run charts (IHI, Perla, Provost & Murray 2011; and Anhøj & Olesen 2014) use
the median of the baseline. XmR charts follow NHS England's "Making Data
Count": mean and limits at ± 2.66 mean moving ranges from the same baseline.
The baseline is the points before the first PDSA cycle, else the first N
(``baseline``), else all points (run chart) or the first 12 (XmR). Points on
the centre line are never flagged by a run rule.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
import math
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import numpy.typing as npt

from flowmap.errors import ChartError
from flowmap.model.calendars import days_word

if TYPE_CHECKING:
    from flowmap.analysis.replay import Replay
    from flowmap.files.pdsa import PdsaLog

__all__ = [
    "ChartResult",
    "Series",
    "anhoej_limits",
    "chart_figure",
    "pseudonymise_series",
    "read_series",
    "run_chart",
    "runs_limits",
    "target_series",
    "write_chart",
    "xmr_chart",
]

Float = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Series:
    """Dated values in date order; ``labels`` name each point (a case id) where known."""

    dates: tuple[dt.date, ...]
    values: tuple[float, ...]
    labels: tuple[str | None, ...]
    name: str
    unit: str = "days"
    target: float | None = None  # drawn as its own line, apart from the centre
    open_dates: tuple[dt.date, ...] = ()  # open cases already past the target: shown apart
    open_values: tuple[float, ...] = ()
    open_labels: tuple[str, ...] = ()
    n: tuple[int, ...] = ()  # per period: how many clocks each point rests on
    met: tuple[int, ...] = ()  # per period, for a met rate: how many of them were met
    per: str | None = None  # week, month or quarter: points are periods, dated by their first day
    target_id: str | None = None  # the span target charted: cycles about other targets leave its baseline alone
    is_rate: bool = False  # values are shares (0..1) and the target line is the aim


@dataclass(frozen=True)
class PdsaMark:
    """A PDSA cycle on a chart: ``index`` is the first point on or after its start (None: off the chart)."""

    id: str
    date: dt.date
    index: int | None
    title: str | None
    targets: tuple[str, ...] = ()  # the span targets the cycle is meant to move; none: every target

    def concerns(self, target_id: str | None) -> bool:
        return target_id is None or not self.targets or target_id in self.targets

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "date": self.date.isoformat(), "index": self.index, "title": self.title}


@dataclass(frozen=True)
class RunsTest:
    """The number of runs about the median against the limits for random variation (IHI)."""

    count: int
    lower: int | None
    upper: int | None
    signal: Literal["too few", "too many"] | None


@dataclass(frozen=True)
class AnhoejTest:
    """Anhøj's rules: the longest run and the number of crossings against their limits."""

    longest_run: int
    longest_run_max: int
    crossings: int
    crossings_min: int
    signal: bool


@dataclass(frozen=True)
class RunRules:
    """A run chart's rules: the points each flags, and the two tests on the whole series."""

    shift: list[int]
    trend: list[int]
    astronomical: list[int]
    runs: RunsTest
    anhoej: AnhoejTest

    def flagged(self) -> list[int]:
        return sorted({*self.shift, *self.trend, *self.astronomical})

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class XmrRules:
    """An XmR chart's special-cause rules (Making Data Count): the points each flags."""

    outside: list[int]
    seven_one_side: list[int]
    seven_trend: list[int]
    two_of_three: list[int]

    def flagged(self) -> list[int]:
        return sorted({*self.outside, *self.seven_one_side, *self.seven_trend, *self.two_of_three})

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class XmrLimits:
    """The first segment's limits; later ``segments`` start at a rebase (each with its own mean and limits)."""

    ucl: float | None
    lcl: float | None
    upper_two_thirds: float | None
    lower_two_thirds: float | None
    mr_bar: float | None
    segments: tuple[dict[str, Any], ...] = ()

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {k: getattr(self, k) for k in ("ucl", "lcl", "upper_two_thirds", "lower_two_thirds",
                                                             "mr_bar")}  # fmt: skip
        if len(self.segments) > 1:
            out["segments"] = list(self.segments)
        return out


@dataclass(frozen=True)
class ChartResult:
    """A chart's points, centre, limits, rules and PDSA marks (``--signals`` is :meth:`signals`)."""

    kind: Literal["run", "xmr", "p"]
    series: Series
    baseline_n: int
    centre: float | None
    centre_line: tuple[float | None, ...]  # per point (changes at a rebase)
    rules: RunRules | XmrRules
    pdsa: tuple[PdsaMark, ...]
    limits: XmrLimits | None = None
    limit_lines: dict[str, tuple[float | None, ...]] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    better: Literal["lower", "higher"] | None = None

    def signals(self) -> dict[str, Any]:
        """The JSON of ``--signals`` (docs/semantics.md, "Charts")."""
        doc: dict[str, Any] = {
            "flowmap": "chart/1",
            "kind": self.kind,
            "measure": self.series.name,
            "n": len(self.series.values),
            "baseline_n": self.baseline_n,
            "centre": _r(self.centre),
            "points": self._points(),
            "rules": self.rules.as_dict(),
            "pdsa": [m.as_dict() for m in self.pdsa],
            "target": self.series.target,
            "warnings": list(self.warnings),
        }
        if self.limits is not None:
            doc["limits"] = self.limits.as_dict()
        return doc

    def _points(self) -> list[dict[str, Any]]:
        s = self.series
        points = []
        for i, (d, v, lab) in enumerate(zip(s.dates, s.values, s.labels, strict=True)):
            point: dict[str, Any] = {"date": d.isoformat(), "value": _r(v)}
            if lab is not None:
                point["case_id"] = lab
            if s.per is not None:
                point["period"] = d.isoformat()
                point["n"] = s.n[i]
            if self.kind == "p":
                point["lower"] = _r(self.limit_lines["lcl"][i])
                point["upper"] = _r(self.limit_lines["ucl"][i])
            points.append(point)
        return points

    def reading(self) -> str:
        """One paragraph in plain words: what the chart shows."""
        s = self.series
        n = len(s.values)
        parts = [f"{n} point{'s' if n != 1 else ''} of {s.name}"]
        base = "all points" if self.baseline_n == n else f"the first {self.baseline_n}"
        if self.pdsa and self.pdsa[0].index is not None and self.baseline_n == self.pdsa[0].index:
            base += f" (before {self.pdsa[0].id})"
        word = {"run": "median", "xmr": "mean", "p": "proportion"}[self.kind]
        if self.centre is not None:
            centre = f"{100 * self.centre:.0f}%" if s.is_rate else f"{round(self.centre, 1):g} {s.unit}"
            parts.append(f"baseline {word} {centre} from {base}")
        text = "; ".join(parts) + ". "
        found = []
        r = self.rules

        def since(idx: list[int]) -> str:
            first = idx[0]
            when = s.dates[first].isoformat()
            cyc = [p.id for p in self.pdsa if p.index is not None and p.index <= first]
            return f" from {when}" + (f" (since {cyc[-1]})" if cyc else "")

        if isinstance(r, RunRules):
            if r.shift:
                side = "below" if s.values[r.shift[0]] < (self.centre_line[r.shift[0]] or 0) else "above"
                found.append(f"{len(r.shift)} points in runs of 6 or more {side} the baseline median"
                             f"{since(r.shift)}: a shift")  # fmt: skip
            if r.trend:
                found.append(f"{len(r.trend)} points rising or falling in runs of 5 or more{since(r.trend)}: a trend")
            if r.runs.signal:
                found.append(f"{r.runs.signal} runs ({r.runs.count}; expected {r.runs.lower}–{r.runs.upper})")
            if r.astronomical:
                found.append(f"{len(r.astronomical)} astronomical point(s){since(r.astronomical)}")
            a = r.anhoej
            if a.signal:
                found.append(f"Anhøj rules signal (longest run {a.longest_run} > {a.longest_run_max} or "
                             f"crossings {a.crossings} < {a.crossings_min})")  # fmt: skip
        else:
            named = [(r.outside, "point(s) outside the limits"),
                     (r.seven_one_side, "points in runs of 7 on one side of the mean"),
                     (r.seven_trend, "points in runs of 7 rising or falling"),
                     (r.two_of_three, "points in 2 of 3 beyond two thirds of the way to a limit")]  # fmt: skip
            found += [f"{len(idx)} {label}{since(idx)}" for idx, label in named if idx]
        text += ("Signals: " + "; ".join(found) + ".") if found else "No signal: the variation looks like common cause."
        if s.is_rate and s.target is not None and s.values:
            last = s.values[-1]
            state = "met in the last period" if last >= s.target else "not yet met"
            text += f" Aim {100 * s.target:.0f}%: {state} ({100 * last:.0f}% in the period from {s.dates[-1]})."
        if self.warnings:
            text += " Note: " + " ".join(self.warnings)
        return text


def _r(v: float | None) -> float | None:
    return None if v is None or (isinstance(v, float) and math.isnan(v)) else round(float(v), 6)


# --- measures ---------------------------------------------------------------------------


def target_series(result: Replay, target_id: str) -> Series:
    """One point per case whose clock for ``target_id`` stopped, at the stop date, valued in days.

    Open cases already past the target (overdue) are returned apart, at the
    as-of date: they are the ones a run chart otherwise hides.
    """
    ids = [t.id for t in result.process.targets]
    if target_id not in ids:
        raise ChartError(f"no span target '{target_id}' in process '{result.process.id}'; "
                         f"its targets are: {', '.join(ids) or 'none'}")  # fmt: skip
    t = result.process.target(target_id)
    sp = result.spans
    mine = sp[(sp["target"] == target_id)] if len(sp) else sp
    stopped = mine[mine["status"].isin(["met", "missed"])].sort_values(["stopped", "case_id"], kind="stable")
    overdue = mine[mine["status"] == "overdue"].sort_values("case_id", kind="stable")
    bound = t.within if t.within is not None else t.at_least
    return Series(
        target_id=target_id,
        dates=tuple(d.date() for d in stopped["stopped"]),
        values=tuple(float(x) for x in stopped["days"]),
        labels=tuple(str(c) for c in stopped["case_id"]),
        name=t.display_label,
        unit=days_word(t.clock),
        target=bound,
        open_dates=tuple(result.as_of.date() for _ in range(len(overdue))),
        open_values=tuple(float(x) for x in overdue["days"]),
        open_labels=tuple(str(c) for c in overdue["case_id"]),
    )


def read_series(path: str | Path, *, name: str | None = None, monthfirst: bool = False) -> Series:
    """A ``date,value`` CSV (a header row; an optional third column labels points).

    Dates are read as event dates are (:func:`flowmap.events.dates.parse_dates`):
    ISO, day-first ``dd/mm/yyyy`` (month first with ``monthfirst``), named months.
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ChartError(f"{p}: no such file") from None
    except UnicodeDecodeError:
        raise ChartError(f"{p}: not UTF-8 text; save it as CSV UTF-8") from None
    rows = list(csv.reader(io.StringIO(text)))
    if len(rows) < 2:
        raise ChartError(f"{p}: needs a header row and at least one 'date,value' row")
    out: list[tuple[dt.date, float, str | None, int]] = []
    errors = []
    for line, row in enumerate(rows[1:], start=2):
        if not row or all(not c.strip() for c in row):
            continue
        if len(row) < 2:
            errors.append(f"{p}:{line}: expected 'date,value', found {','.join(row)!r}")
            continue
        d = _date(row[0], monthfirst)
        if d is None:
            errors.append(f"{p}:{line}: cannot read the date {row[0]!r}; write YYYY-MM-DD or dd/mm/yyyy")
            continue
        try:
            v = float(row[1])
            if not math.isfinite(v):
                raise ValueError
        except ValueError:
            errors.append(f"{p}:{line}: cannot read the value {row[1]!r} as a number")
            continue
        out.append((d, v, row[2].strip() if len(row) > 2 and row[2].strip() else None, line))
    if errors:
        raise ChartError("\n".join(errors[:20]) + (f"\n... and {len(errors) - 20} more" if len(errors) > 20 else ""))
    if not out:
        raise ChartError(f"{p}: no data rows")
    out.sort(key=lambda r: (r[0], r[3]))  # equal dates keep their order in the file
    return Series(dates=tuple(r[0] for r in out), values=tuple(r[1] for r in out),
                  labels=tuple(r[2] for r in out), name=name or rows[0][1].strip() or p.stem, unit="")  # fmt: skip


def _date(text: str, monthfirst: bool) -> dt.date | None:
    import pandas as pd

    from flowmap.events.dates import parse_dates

    parsed = parse_dates(pd.Series([text.strip()], dtype=object), monthfirst=monthfirst)[0]
    return None if pd.isna(parsed) else pd.Timestamp(parsed).date()


def pseudonymise_series(series: Series, key: str | None) -> Series:
    """The series with every point's case id replaced by its keyed pseudonym (``key`` None: as it is)."""
    if not key:
        return series
    from flowmap.privacy import pseudonym

    return replace(
        series,
        labels=tuple(None if x is None else pseudonym(x, key) for x in series.labels),
        open_labels=tuple(pseudonym(x, key) for x in series.open_labels),
    )


def coarsen_series(series: Series, how: str | None) -> Series:
    """A per-case series with each point dated by the first day of its month or quarter only
    (``how`` None: as it is); the order of the points is kept."""
    if not how:
        return series

    def first_day(d: dt.date) -> dt.date:
        month = d.month if how == "month" else 3 * ((d.month - 1) // 3) + 1
        return dt.date(d.year, month, 1)

    return replace(series, dates=tuple(first_day(d) for d in series.dates),
                   open_dates=tuple(first_day(d) for d in series.open_dates))  # fmt: skip


CHART_FORMATS = (".svg", ".png", ".pdf")


def write_chart(result: ChartResult, path: str | Path, *, title: str | None = None) -> Path:
    """Draw ``result`` to ``path`` (.svg, .png or .pdf, by its extension), whole or not at all."""
    from flowmap.io import write_bytes

    p = Path(path)
    ext = p.suffix.lower()
    if ext not in CHART_FORMATS:
        raise ChartError(f"cannot write a chart to {p}: use .svg, .png or .pdf")
    write_bytes(p, chart_figure(result, fmt=ext.lstrip("."), title=title))
    return p


# --- baseline and PDSA --------------------------------------------------------------------


def _pdsa_marks(series: Series, pdsa: PdsaLog | None) -> tuple[tuple[PdsaMark, ...], list[str]]:
    marks: list[PdsaMark] = []
    warnings: list[str] = []
    if pdsa is None:
        return (), warnings
    dates = series.dates
    for c in pdsa.cycles:
        idx = next((i for i, d in enumerate(dates) if d >= c.start), None)
        if not dates or c.start > dates[-1]:
            warnings.append(f"{c.id} starts ({c.start}) after the last point.")
            idx = None
        elif c.start < dates[0]:
            warnings.append(f"{c.id} starts ({c.start}) before the first point.")
        marks.append(PdsaMark(id=c.id, date=c.start, index=idx, title=c.title, targets=tuple(c.targets)))
    return tuple(marks), warnings


def _baseline_n(
    n: int, marks: tuple[PdsaMark, ...], baseline: int | None, default: int | None, target_id: str | None = None
) -> int:
    """The points before the first PDSA cycle that concerns this target (cycles listing no targets concern
    every target); else ``baseline``; else all (``default`` for XmR and p: 12)."""
    if baseline is not None:
        if baseline < 1:
            raise ChartError(f"--baseline must be at least 1 (got {baseline})")
        return min(baseline, n)
    first = next((m.index for m in marks if m.index is not None and m.index > 0 and m.concerns(target_id)), None)
    if first is not None:
        return int(first)
    return n if default is None else min(default, n)


# --- run charts -----------------------------------------------------------------------------


def _side_runs(side: npt.NDArray[np.int64], min_len: int) -> list[int]:
    """Indices of points in runs of ``min_len`` or more on one side (zeros neither count nor break)."""
    useful = np.flatnonzero(side != 0)
    flagged: list[int] = []
    start = 0
    for i in range(1, len(useful) + 1):
        if i == len(useful) or side[useful[i]] != side[useful[start]]:
            if i - start >= min_len:
                flagged.extend(int(x) for x in useful[start:i])
            start = i
    return flagged


def _trends(values: Float, min_points: int, *, skip_ties: bool) -> list[int]:
    """Indices of points in runs of ``min_points`` or more all rising or all falling."""
    n = len(values)
    if n < min_points:
        return []
    if skip_ties:  # an equal neighbour neither makes nor breaks a trend
        keep = [0] + [i for i in range(1, n) if values[i] != values[i - 1]]
    else:
        keep = list(range(n))
    flagged: set[int] = set()
    k = np.asarray(keep)
    steps = np.sign(np.diff(values[k]))
    start = 0
    for i in range(1, len(steps) + 1):
        if i == len(steps) or steps[i] != steps[start] or steps[i] == 0:
            if steps[start] != 0 and (i - start) + 1 >= min_points:
                flagged.update(range(int(k[start]), int(k[i]) + 1))
            start = i
    return sorted(flagged)


def runs_limits(n: int, alpha: float = 0.05) -> tuple[int, int] | None:
    """Too few / too many runs for ``n`` useful points (Swed & Eisenhart, halves of n/2).

    The exact distribution of the number of runs when half the points lie on
    each side of the median, with ``alpha`` split between the two tails: fewer
    runs than ``lower`` (or more than ``upper``) happen by chance less than
    2.5% of the time each. This is how the IHI table (Perla, Provost & Murray
    2011, from Swed & Eisenhart 1943) is made; printed tables round some rows
    outward by one run.

    Examples
    --------
    >>> runs_limits(10), runs_limits(30)
    ((3, 9), (11, 21))
    """
    tail = alpha / 2
    if n < 10:
        return None
    a = n // 2
    b = n - a
    total = math.comb(n, a)
    probs: dict[int, float] = {}
    for r in range(2, n + 1):
        if r % 2 == 0:
            k = r // 2
            p = 2 * math.comb(a - 1, k - 1) * math.comb(b - 1, k - 1)
        else:
            k = (r - 1) // 2
            p = math.comb(a - 1, k - 1) * math.comb(b - 1, k) + math.comb(a - 1, k) * math.comb(b - 1, k - 1)
        probs[r] = p / total
    cum = 0.0
    lower = 2
    for r in range(2, n + 1):
        if cum + probs[r] > tail:
            lower = r
            break
        cum += probs[r]
    cum = 0.0
    upper = n
    for r in range(n, 1, -1):
        if cum + probs[r] > tail:
            upper = r
            break
        cum += probs[r]
    return lower, upper


def anhoej_limits(n: int) -> tuple[int, int]:
    """Longest run allowed, and fewest crossings, for ``n`` useful points (Anhøj & Olesen 2014).

    Examples
    --------
    >>> anhoej_limits(24)
    (8, 8)
    """
    longest = math.floor(math.log2(n) + 3 + 0.5) if n > 0 else 0
    # the 5% lower quantile of Binomial(n - 1, 0.5): qbinom(0.05, n - 1, 0.5) in R
    trials = max(n - 1, 0)
    cum = 0.0
    crossings = 0
    for x in range(trials + 1):
        cum += math.comb(trials, x) / 2**trials
        if cum >= 0.05:
            crossings = x
            break
    return longest, crossings


def run_chart(
    series: Series,
    *,
    pdsa: PdsaLog | None = None,
    baseline: int | None = None,
    better: Literal["lower", "higher"] | None = None,
) -> ChartResult:
    """A run chart: the baseline median and the IHI and Anhøj rules over every point.

    ``better`` says which way is improvement, for colouring signals.
    """
    values = np.asarray(series.values, dtype=float)
    n = len(values)
    if n == 0:
        raise ChartError(f"no points to chart for {series.name}")
    marks, warnings = _pdsa_marks(series, pdsa)
    bn = _baseline_n(n, marks, baseline, None, series.target_id)
    if bn < 10:
        warnings.append(f"The baseline has {bn} points; 10 or more are recommended before judging a median.")
    median = float(np.median(values[:bn]))
    side = np.sign(values - median).astype(np.int64)
    useful = int((side != 0).sum())
    crossings = int((np.diff(side[side != 0]) != 0).sum()) if useful else 0
    lim = runs_limits(useful)
    runs = crossings + 1 if useful else 0
    signal: Literal["too few", "too many"] | None = None
    if lim is not None:
        signal = "too few" if runs < lim[0] else ("too many" if runs > lim[1] else None)
    longest = max((len(g) for g in _groups(side[side != 0])), default=0)
    amax, cmin = anhoej_limits(useful)
    q1, q3 = np.quantile(values[:bn], [0.25, 0.75])
    iqr = q3 - q1
    astro = [] if iqr == 0 else [int(i) for i in np.flatnonzero((values > q3 + 3 * iqr) | (values < q1 - 3 * iqr))]
    rules = RunRules(
        shift=_side_runs(side, 6),
        trend=_trends(values, 5, skip_ties=True),
        astronomical=astro,
        runs=RunsTest(count=runs, lower=lim[0] if lim else None, upper=lim[1] if lim else None, signal=signal),
        anhoej=AnhoejTest(longest_run=longest, longest_run_max=amax, crossings=crossings, crossings_min=cmin,
                          signal=bool(useful and (longest > amax or crossings < cmin))),
    )  # fmt: skip
    return ChartResult(kind="run", series=series, baseline_n=bn, centre=median, centre_line=(median,) * n,
                       rules=rules, pdsa=marks, warnings=tuple(warnings), better=better)  # fmt: skip


def _groups(a: npt.NDArray[np.int64]) -> list[npt.NDArray[np.int64]]:
    if len(a) == 0:
        return []
    cuts = np.flatnonzero(np.diff(a) != 0) + 1
    return np.split(a, cuts)


# --- XmR charts ------------------------------------------------------------------------------


def _limits(values: Float, screen: bool, floor_zero: bool) -> dict[str, float]:
    mean = float(np.mean(values))
    mr = np.abs(np.diff(values))
    mr_bar = float(np.mean(mr)) if len(mr) else 0.0
    if screen and len(mr):
        kept = mr[mr <= 3.267 * mr_bar]
        mr_bar = float(np.mean(kept)) if len(kept) else mr_bar
    width = 2.66 * mr_bar
    lcl = mean - width
    lower_two = mean - width * 2 / 3
    return {
        "mean": mean,
        "ucl": mean + width,
        "lcl": max(lcl, 0.0) if floor_zero else lcl,
        "upper_two_thirds": mean + width * 2 / 3,
        "lower_two_thirds": max(lower_two, 0.0) if floor_zero else lower_two,
        "mr_bar": mr_bar,
    }


def _rebase_cuts(marks: tuple[PdsaMark, ...], rebase: tuple[str, ...]) -> list[int]:
    """The points where a new set of limits starts: 0, and each rebased PDSA cycle's first point."""
    known = {m.id: m for m in marks}
    cuts = [0]
    for rid in rebase:
        if rid not in known:
            raise ChartError(f"--rebase names '{rid}', which is not a cycle in the PDSA log "
                             f"({', '.join(known) or 'no log given'})")  # fmt: skip
        idx = known[rid].index
        if idx is not None and idx > 0:
            cuts.append(int(idx))
    return sorted(set(cuts))


def _xmr_lines(
    values: Float, cuts: list[int], bn: int, screen: bool, floor_zero: bool
) -> tuple[dict[str, list[float | None]], list[dict[str, Any]], dict[str, float]]:
    """Per point, the mean and limits of its segment; the segments; the first segment's limits."""
    n = len(values)
    bounds = [*cuts, n]
    lines: dict[str, list[float | None]] = {k: [None] * n for k in ("mean", "ucl", "lcl", "upper_two_thirds",
                                                                     "lower_two_thirds")}  # fmt: skip
    segments = []
    first_limits: dict[str, float] = {}
    for s, e in itertools.pairwise(bounds):
        seg_base = values[s : s + (bn if s == 0 else min(12, e - s))]
        lim = _limits(seg_base, screen, floor_zero)
        if s == 0:
            first_limits = lim
        segments.append({"start": s, **{k: _r(v) for k, v in lim.items()}})
        for k in lines:
            for i in range(s, e):
                lines[k][i] = lim[k]
    return lines, segments, first_limits


def _xmr_signals(
    values: Float, lines: dict[str, list[float | None]]
) -> tuple[list[int], list[int], list[int], list[int]]:
    """The points each special-cause rule flags: outside, seven on one side, seven trending, two of three."""
    n = len(values)
    mean_a = np.array(lines["mean"], dtype=float)
    ucl = np.array(lines["ucl"], dtype=float)
    lcl = np.array(lines["lcl"], dtype=float)
    up2 = np.array(lines["upper_two_thirds"], dtype=float)
    lo2 = np.array(lines["lower_two_thirds"], dtype=float)
    outside = [int(i) for i in np.flatnonzero((values > ucl + 1e-12) | (values < lcl - 1e-12))]
    side = np.sign(np.round(values - mean_a, 12)).astype(np.int64)
    seven_side: list[int] = []
    start = 0
    for i in range(1, n + 1):  # points on the mean break a run here (and are never flagged)
        if i == n or side[i] != side[start]:
            if side[start] != 0 and i - start >= 7:
                seven_side.extend(range(start, i))
            start = i
    two3: set[int] = set()
    for i in range(n - 2):
        win = range(i, i + 3)
        hi = [j for j in win if values[j] > up2[j]]
        lo = [j for j in win if values[j] < lo2[j]]
        if len(hi) >= 2:
            two3.update(hi)
        if len(lo) >= 2:
            two3.update(lo)
    return outside, seven_side, _trends(values, 7, skip_ties=False), sorted(two3)


def xmr_chart(
    series: Series,
    *,
    pdsa: PdsaLog | None = None,
    baseline: int | None = None,
    rebase: tuple[str, ...] = (),
    screen: bool = False,
    floor_zero: bool = True,
    better: Literal["lower", "higher"] | None = None,
) -> ChartResult:
    """An XmR (individuals) chart per NHS England "Making Data Count".

    Parameters
    ----------
    rebase
        PDSA ids at which to start new limits (recalculated from the points from there).
    screen
        Leave out moving ranges above 3.267 times their mean before setting the limits.
    floor_zero
        Floor the lower limit at 0 (days cannot be negative).
    better
        Which way is improvement, for colouring signals.
    """
    values = np.asarray(series.values, dtype=float)
    n = len(values)
    if n == 0:
        raise ChartError(f"no points to chart for {series.name}")
    marks, warnings = _pdsa_marks(series, pdsa)
    bn = _baseline_n(n, marks, baseline, 12, series.target_id)
    if bn < 12:
        warnings.append(f"The limits rest on {bn} points; they are trial limits until there are 12.")
    cuts = _rebase_cuts(marks, rebase)
    lines, segments, first_limits = _xmr_lines(values, cuts, bn, screen, floor_zero)
    outside, seven_side, seven_trend, two3 = _xmr_signals(values, lines)
    rules = XmrRules(outside=outside, seven_one_side=seven_side, seven_trend=seven_trend, two_of_three=two3)
    limits = XmrLimits(**{k: _r(first_limits[k]) for k in ("ucl", "lcl", "upper_two_thirds", "lower_two_thirds",
                                                           "mr_bar")}, segments=tuple(segments))  # fmt: skip
    return ChartResult(
        kind="xmr",
        series=series,
        baseline_n=bn,
        centre=first_limits["mean"],
        centre_line=tuple(lines["mean"]),
        rules=rules,
        pdsa=marks,
        limits=limits,
        limit_lines={k: tuple(v) for k, v in lines.items() if k != "mean"},
        warnings=tuple(warnings),
        better=better,
    )


# --- figures ----------------------------------------------------------------------------------

BLUE = "#0072B2"  # improvement (Making Data Count uses blue)
ORANGE = "#E69F00"  # concern
GREY = "#7a7a7a"
TARGET = "#CC79A7"


def chart_figure(result: ChartResult, *, fmt: str = "svg", title: str | None = None) -> bytes:
    """The chart as SVG, PNG or PDF: points, centre line, target line, limits, signals, PDSA marks."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    s = result.series
    x = np.arange(len(s.values))
    y = np.asarray(s.values, dtype=float)
    fig = Figure(figsize=(10.5, 4.6), dpi=100)
    ax = fig.add_axes((0.07, 0.2, 0.68, 0.68))
    ax.plot(x, y, color=GREY, lw=1.2, marker="o", ms=5, mfc="white", mec=GREY, zorder=2, label="points")
    flagged = result.rules.flagged()
    if flagged:
        colours = []
        for i in flagged:
            above = y[i] > (result.centre_line[i] or 0)
            good = (result.better == "higher" and above) or (result.better == "lower" and not above)
            colours.append(BLUE if good or result.better is None else ORANGE)
        ax.scatter(flagged, y[flagged], s=46, c=colours, zorder=3, label="signal")
    centre = np.array([np.nan if c is None else c for c in result.centre_line], dtype=float)
    bn = result.baseline_n
    word = {"run": "median", "xmr": "mean", "p": "proportion"}[result.kind]
    ax.plot(x[:bn], centre[:bn], color="#222222", lw=1.6, label=f"baseline {word}")
    if bn < len(x):
        ax.plot(x[bn - 1 :], centre[bn - 1 :], color="#222222", lw=1.2, ls="--", label=f"{word}, extended")
    for key, style in (("ucl", "-"), ("lcl", "-"), ("upper_two_thirds", ":"), ("lower_two_thirds", ":")):
        line = result.limit_lines.get(key)
        if line:
            vals = np.array([np.nan if v is None else v for v in line], dtype=float)
            steps = "steps-mid" if result.kind == "p" else "default"  # a p-chart's limits move with each n
            ax.plot(x, vals, color="#9a9a9a", lw=1.0, ls=style, drawstyle=steps,
                    label={"ucl": "process limits", "upper_two_thirds": "two thirds to limits"}.get(key))  # fmt: skip
    if s.target is not None:
        aim = f"aim: {100 * s.target:.0f}%" if s.is_rate else f"target: {s.target:g}"
        ax.axhline(s.target, color=TARGET, lw=1.6, ls=(0, (6, 3)), label=aim)
    if s.open_values:
        ax.scatter([len(x) - 0.5] * len(s.open_values), s.open_values, marker="^", s=40, facecolors="none",
                   edgecolors=ORANGE, label="open, already over target", zorder=3)  # fmt: skip
    # Everything drawn stays inside the plotted range: points, limits, the target or aim.
    limits = [v for line in result.limit_lines.values() for v in line if v is not None]
    drawn = [*y, *(s.open_values or [0]), s.target or 0, *limits]
    top = float(np.nanmax(drawn)) if len(y) else 1.0
    bottom = min(0.0, float(np.nanmin(drawn)) if len(y) else 0.0)
    # PDSA labels never overlap: a label close to the one before is raised a line.
    last_x, level = -1e9, 0
    gap = max(len(x), 8) / 10
    for m in result.pdsa:
        if m.index is None:
            continue
        xi = m.index - 0.5
        level = level + 1 if xi - last_x < gap * (1 + len(m.id) / 8) else 0
        last_x = xi
        ax.axvline(xi, color=BLUE, lw=1.0, ls="-", alpha=0.7)
        ax.text(xi + 0.1, top * (1.04 + 0.08 * level) + 0.01, m.id, color=BLUE, fontsize=9, ha="left", va="bottom")
    ticks = list(range(0, len(x), max(1, len(x) // 12)))
    ax.set_xticks(ticks)
    ax.set_xticklabels([s.dates[i].isoformat() for i in ticks], rotation=35, ha="right", fontsize=8)
    ax.set_ylabel(s.unit or "value")
    ax.set_ylim(bottom=bottom, top=min(top * 1.3, 1.12) if s.is_rate else top * 1.3 + 0.5)
    if s.is_rate:
        from matplotlib.ticker import PercentFormatter

        ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    kind = {"run": "Run chart", "xmr": "XmR chart", "p": "p-chart"}[result.kind]
    ax.set_title(title or f"{kind}: {s.name}", fontsize=12, loc="left")
    ax.spines[["top", "right"]].set_visible(False)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    buf = io.BytesIO()
    meta: dict[str, Any] = {"svg": {"Date": None}, "pdf": {"CreationDate": None}, "png": {"Software": None}}[fmt]
    with matplotlib.rc_context({"svg.hashsalt": "flowmap", "font.family": "DejaVu Sans"}):
        fig.savefig(buf, format=fmt, metadata=meta)
    return buf.getvalue()
