"""Did the change work? Before against after a date, for every span target and step, with intervals.

Before is what began before the split date; after is what began on or after it
(visits by entry, span targets by the start of their clock:
docs/semantics.md, "Windows"). For each span target: the met rate (difference
with Newcombe's hybrid score interval, from each side's Wilson interval;
Fisher's exact test) and the median days over completed clocks (percentile
bootstrap of the difference of medians, 2,000 resamples within each side,
seeded; Mann–Whitney U). For each step with a target: the median days over
completed visits and the breach rate, the same ways. Sources are in
docs/compare.md.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from flowmap.analysis.replay import Replay, window
from flowmap.errors import FlowmapError
from flowmap.privacy import Protected

__all__ = ["COMPARE_COLUMNS", "Comparison", "MeasureChange", "compare", "grouped_table", "newcombe", "wilson",
           "write_comparison"]  # fmt: skip

COMPARE_COLUMNS = ["kind", "id", "measure", "before", "after", "difference", "ci_low", "ci_high", "p_value",
                   "n_before", "n_after"]  # fmt: skip
"""The columns of ``flowmap compare -o``, exactly."""

Z = 1.959963984540054  # the normal quantile for a 95% interval
MIN_N = 5
"""Below this many on either side, a comparison says the numbers are too small to judge."""
RESAMPLES = 2000


def _pct(v: float | None) -> str:
    return "–" if v is None or math.isnan(v) else f"{100 * v:.0f}%"


def _num(v: float | None) -> str:
    return "–" if v is None or math.isnan(v) else (f"{v:.0f}" if float(v).is_integer() or abs(v) >= 10 else f"{v:.1f}")


def wilson(x: int, n: int) -> tuple[float, float]:
    """Wilson's score interval for a proportion x/n (95%).

    Examples
    --------
    Newcombe (1998), Table I: 81/263 gives 0.2553 to 0.3662.

    >>> [round(v, 4) for v in wilson(81, 263)]
    [0.2553, 0.3662]
    """
    if n == 0:
        return (math.nan, math.nan)
    centre = (x + Z * Z / 2) / (n + Z * Z)
    half = Z * math.sqrt(x * (n - x) / n + Z * Z / 4) / (n + Z * Z)
    return (centre - half, centre + half)


def newcombe(x1: int, n1: int, x2: int, n2: int) -> tuple[float, float]:
    """Newcombe's hybrid score interval (his method 10) for p2 − p1, from each side's Wilson interval.

    Examples
    --------
    Newcombe (1998), Statistics in Medicine 17:873–890, Table II (a): 56/70 − 48/80.

    >>> [round(v, 4) for v in newcombe(48, 80, 56, 70)]
    [0.0524, 0.3339]
    """
    p1, p2 = x1 / n1, x2 / n2
    l1, u1 = wilson(x1, n1)
    l2, u2 = wilson(x2, n2)
    d = p2 - p1
    return (d - math.sqrt((p2 - l2) ** 2 + (u1 - p1) ** 2), d + math.sqrt((u2 - p2) ** 2 + (p1 - l1) ** 2))


@dataclass(frozen=True)
class MeasureChange:
    """One measure before and after: the row of ``compare -o``."""

    kind: Literal["target", "step"]
    id: str
    label: str
    measure: Literal["met_rate", "median_days", "breach_rate"]
    before: float | None
    after: float | None
    difference: float | None
    ci_low: float | None
    ci_high: float | None
    p_value: float | None
    n_before: int
    n_after: int
    counts: tuple[int, int] | None = None  # (successes before, after) for a rate

    @property
    def judged(self) -> bool:
        return self.n_before >= MIN_N and self.n_after >= MIN_N and self.difference is not None

    @property
    def direction(self) -> Literal["better", "worse", "no clear change", "too few"]:
        """Clearly better or worse (the interval excludes zero), no clear change, or too few to judge."""
        if not self.judged or self.ci_low is None or self.ci_high is None:
            return "too few"
        if self.ci_low <= 0 <= self.ci_high:
            return "no clear change"
        up_is_good = self.measure == "met_rate"
        return "better" if (self.ci_low > 0) == up_is_good else "worse"

    def row(self) -> dict[str, Any]:
        return {c: getattr(self, c) for c in COMPARE_COLUMNS}


@dataclass(frozen=True)
class Comparison:
    """Before and after a split date."""

    split: dt.date
    end: dt.date | None  # after ends here (exclusive), e.g. at a PDSA cycle's end
    since: dt.date | None
    as_of: dt.date
    changes: tuple[MeasureChange, ...]
    cycle: str | None = None

    def table(self) -> pd.DataFrame:
        return pd.DataFrame([c.row() for c in self.changes], columns=COMPARE_COLUMNS)

    def sides(self) -> str:
        """The two sides in words: "before 2025-06-02 against 2025-06-02 to 2025-10-27"."""
        return f"before {self.split} against {self.split} to {self.end or self.as_of}"

    def step_verdicts(self) -> dict[str, tuple[str, list[str]]]:
        """Per step: its verdict and its figure lines (before → after) for ``compare --map``.

        The verdict is ``better`` or ``worse`` when a measure's interval
        excludes zero that way and none excludes it the other way, ``mixed``
        when both happen, ``no clear change`` when every judged interval holds
        zero, and ``too few`` when no measure has 5 visits on each side.
        """
        out: dict[str, tuple[str, list[str]]] = {}
        steps: dict[str, list[MeasureChange]] = {}
        for c in self.changes:
            if c.kind == "step":
                steps.setdefault(c.id, []).append(c)
        for sid, changes in steps.items():
            directions = {c.direction for c in changes}
            if "better" in directions and "worse" in directions:
                verdict = "mixed"
            elif "better" in directions or "worse" in directions:
                verdict = "better" if "better" in directions else "worse"
            elif "no clear change" in directions:
                verdict = "no clear change"
            else:
                verdict = "too few"
            lines = []
            for c in changes:
                what = "median" if c.measure == "median_days" else "over target"
                fmt = _pct if c.measure == "breach_rate" else _num
                lines.append(f"{what} {fmt(c.before)} → {fmt(c.after)}")
            out[sid] = (verdict, lines)
        return out

    def sentences(self, *, suppress_below: int | None = None) -> list[str]:
        """One plain sentence per span target's met rate; counts below ``suppress_below`` shown as <N.

        When a count is hidden, so are the rates and the difference, which would give it away; and
        its partner (after for before, and so on) is hidden too, since a reader may know their sum.
        """
        out = []
        for c in self.changes:
            if c.kind != "target" or c.measure != "met_rate":
                continue
            shown = pair_counts(c, suppress_below)
            nb, na = shown.text("n_before", words=True), shown.text("n_after", words=True)
            if not c.judged or c.counts is None or c.before is None or c.after is None:
                out.append(f"{c.label}: {nb} before and {na} after; the numbers are too small to "
                           f"judge (fewer than {MIN_N} on a side).")  # fmt: skip
                continue
            assert c.difference is not None and c.ci_low is not None and c.ci_high is not None
            mb, ma = shown.text("met_before", words=True), shown.text("met_after", words=True)
            if shown.primary or shown.secondary:
                out.append(f"{c.label}: met {mb} of {nb} before and {ma} of {na} after; rates not shown, as they "
                           "would reveal a small count.")  # fmt: skip
                continue
            pts = 100 * c.difference
            move = "no change" if round(pts) == 0 else f"{'up' if pts > 0 else 'down'} {abs(pts):.0f} points"
            chance = ("this is unlikely to be chance" if c.p_value is not None and c.p_value < 0.05
                      else "this could be chance")  # fmt: skip
            out.append(
                f"{c.label}: met {100 * c.before:.0f}% before ({mb} of {nb}), "
                f"{100 * c.after:.0f}% after ({ma} of {na}): {move} "
                f"(95% CI {100 * c.ci_low:.0f} to {100 * c.ci_high:.0f}); {chance} (p = {_p(c.p_value)})."
            )
        return out

    def as_dict(self) -> dict[str, Any]:
        return {
            "flowmap": "compare/1",
            "split": self.split.isoformat(),
            "end": None if self.end is None else self.end.isoformat(),
            "from": None if self.since is None else self.since.isoformat(),
            "as_of": self.as_of.isoformat(),
            "cycle": self.cycle,
            "rows": [c.row() for c in self.changes],
            "counts": {f"{c.kind}:{c.id}:{c.measure}": list(c.counts) for c in self.changes if c.counts},
        }


def _p(p: float | None) -> str:
    if p is None:
        return "–"
    return "< 0.001" if p < 0.001 else f"{p:.2g}"


def _rate(kind: Literal["target", "step"], id_: str, label: str, measure: Any, x1: int, n1: int, x2: int,
          n2: int) -> MeasureChange:  # fmt: skip
    from scipy.stats import fisher_exact

    before = x1 / n1 if n1 else None
    after = x2 / n2 if n2 else None
    lo: float | None = None
    hi: float | None = None
    p: float | None = None
    diff: float | None = None
    if n1 and n2:
        lo, hi = newcombe(x1, n1, x2, n2)
        p = float(fisher_exact([[x1, n1 - x1], [x2, n2 - x2]], alternative="two-sided").pvalue)
        diff = x2 / n2 - x1 / n1
    return MeasureChange(kind, id_, label, measure, before, after, diff, lo, hi, p, n1, n2, counts=(x1, x2))


def _median(kind: Literal["target", "step"], id_: str, label: str, a: npt.NDArray[np.float64],
            b: npt.NDArray[np.float64], seed: int) -> MeasureChange:  # fmt: skip
    from scipy.stats import bootstrap, mannwhitneyu

    before = float(np.median(a)) if len(a) else None
    after = float(np.median(b)) if len(b) else None
    lo: float | None = None
    hi: float | None = None
    p: float | None = None
    diff: float | None = None
    if len(a) and len(b):
        diff = float(np.median(b) - np.median(a))
        p = float(mannwhitneyu(b, a, alternative="two-sided").pvalue)
        if len(a) > 1 and len(b) > 1 and not (np.ptp(a) == 0 and np.ptp(b) == 0):
            res = bootstrap((b, a), lambda x, y, axis=-1: np.median(x, axis=axis) - np.median(y, axis=axis),
                            n_resamples=RESAMPLES, method="percentile", vectorized=True, paired=False,
                            rng=np.random.default_rng(seed))  # fmt: skip
            lo, hi = float(res.confidence_interval.low), float(res.confidence_interval.high)
        else:
            lo = hi = diff
    return MeasureChange(kind, id_, label, "median_days", before, after, diff, lo, hi, p, len(a), len(b))


def compare(result: Replay, split: Any, *, end: Any = None, seed: int = 0, cycle: str | None = None) -> Comparison:
    """Before against after ``split`` in a replay (its own window, if any, bounds both sides).

    Raises
    ------
    FlowmapError
        When the split date is outside the data (saying where the data lies), or a side is empty.
    """
    from flowmap.analysis.replay import parse_date

    s = parse_date(split, "the split date")
    e = parse_date(end, "the end date") if end is not None else None
    assert s is not None
    first, last = result.first_event, result.last_event
    if first is None or last is None or not (first.normalize() < s <= last.normalize()):
        where = f"the data runs from {first.date()} to {last.date()}" if first is not None and last is not None else ""
        raise FlowmapError(f"the split date {s.date()} leaves nothing on one side: {where}; choose a date inside it")
    before = window(result, since=result.since, before=s)
    after = window(result, since=s, before=e + pd.Timedelta(days=1) if e is not None else result.before)
    if not len(before.window_cases) and not len(before.visits):
        raise FlowmapError(f"nothing began before {s.date()} (the data starts {first.date()}); move the split later")
    if not len(after.visits):
        raise FlowmapError(f"nothing began on or after {s.date()}; move the split earlier")
    changes: list[MeasureChange] = []
    for t in result.process.targets:
        sb = _spans_of(before, t.id)
        sa = _spans_of(after, t.id)
        met_b, n_b = int((sb["status"] == "met").sum()), int(sb["status"].isin(["met", "missed", "overdue"]).sum())
        met_a, n_a = int((sa["status"] == "met").sum()), int(sa["status"].isin(["met", "missed", "overdue"]).sum())
        changes.append(_rate("target", t.id, t.display_label, "met_rate", met_b, n_b, met_a, n_a))
        done_b = sb.loc[sb["status"].isin(["met", "missed"]), "days"].to_numpy(dtype=float)
        done_a = sa.loc[sa["status"].isin(["met", "missed"]), "days"].to_numpy(dtype=float)
        changes.append(_median("target", t.id, t.display_label, done_b, done_a, seed))
    for st in result.process.steps:
        if st.end:
            continue
        vb, va = _visits_of(before, st.id), _visits_of(after, st.id)
        changes.append(_median("step", st.id, st.label, vb["days"].dropna().to_numpy(dtype=float),
                               va["days"].dropna().to_numpy(dtype=float), seed))  # fmt: skip
        if st.target is not None:
            changes.append(_rate("step", st.id, st.label, "breach_rate", int((vb["days_over"] > 0).sum()), len(vb),
                                 int((va["days_over"] > 0).sum()), len(va)))  # fmt: skip
    return Comparison(split=s.date(), end=e.date() if e is not None else None,
                      since=None if result.since is None else result.since.date(), as_of=result.as_of.date(),
                      changes=tuple(changes), cycle=cycle)  # fmt: skip


def _spans_of(r: Replay, target: str) -> pd.DataFrame:
    s = r.spans
    return s[s["target"] == target] if len(s) else pd.DataFrame({"status": [], "days": []})


def _visits_of(r: Replay, step: str) -> pd.DataFrame:
    v = r.visits
    mine = v[v["step"].astype(str) == step]
    completed = ~mine["left"].isna()  # median over completed visits; breaches over every visit
    return mine.assign(days=mine["days"].where(completed))


def grouped_table(comparisons: list[tuple[str, Comparison]]) -> pd.DataFrame:
    """The tables of several groups' comparisons (``--by``), one block each, with a leading ``group`` column."""
    frames = [c.table().assign(group=g) for g, c in comparisons]
    table = pd.concat(frames, ignore_index=True)
    return table[["group", *COMPARE_COLUMNS]]


def write_comparison(comparison: Comparison | list[tuple[str, Comparison]], path: Any) -> Any:
    """``compare -o``: the table as .csv or .xlsx, or .json with the counts behind each rate."""
    import json
    from pathlib import Path

    from flowmap.io import write_table, write_text

    p = Path(path)
    ext = p.suffix.lower()
    grouped = isinstance(comparison, list)
    if ext == ".json":
        doc = ({"flowmap": "compare/1", "groups": [{"group": g, **c.as_dict()} for g, c in comparison]}
               if isinstance(comparison, list) else comparison.as_dict())  # fmt: skip
        write_text(p, json.dumps(doc, indent=2, ensure_ascii=False, allow_nan=False) + "\n")
    elif ext in (".csv", ".xlsx"):
        table = grouped_table(comparison) if isinstance(comparison, list) else comparison.table()
        write_table(table, p, sheet="compare" if not grouped else "compare by group")
    else:
        raise FlowmapError(f"cannot write a comparison to {p}: use .csv, .json or .xlsx")
    return p


def pair_counts(c: MeasureChange, below: int | None) -> Protected:
    """A change's before and after counts for sharing: small ones as ``<N``, and the other of the pair
    hidden too, since a reader may know the pair's total (all the cases judged on the target)."""
    from flowmap.privacy import Relation, protect

    values = {"n_before": int(c.n_before), "n_after": int(c.n_after), "n": int(c.n_before) + int(c.n_after)}
    relations = [Relation("n", ("n_before", "n_after"))]
    if c.counts is not None:
        values |= {"met_before": int(c.counts[0]), "met_after": int(c.counts[1]),
                   "met": int(c.counts[0]) + int(c.counts[1])}  # fmt: skip
        relations.append(Relation("met", ("met_before", "met_after")))
    return protect(values, relations, below, exact={"n", "met"})
