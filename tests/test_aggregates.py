"""Drift's sums add up across partitions of cases: counts and sums exactly, medians exactly or within the bound."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from flowmap.analysis.aggregates import ALPHA, TINY, ExactValues, Sketch, drift_sums, merge_sums
from flowmap.analysis.metrics import drift, drift_tables
from flowmap.analysis.replay import replay
from flowmap.events.read import read_events
from flowmap.files.process import parse_process

from .strategies import process_and_log

COUNTS = {"steps": ["step", "visits", "cases", "breaches", "excess_days", "breach_rate"],
          "targets": ["target", "met", "missed", "overdue", "running", "void", "met_rate"],
          "edges": ["from", "to", "count", "declared"]}  # fmt: skip
MEDIANS = {"steps": ["median_days", "p90_days"], "targets": ["median_days", "p90_days"], "edges": ["median_days"]}


def within_bound(exact: np.ndarray, sketched: np.ndarray) -> bool:
    """docs/scale.md: within ALPHA of the exact value (values of one sign), or TINY days of it."""
    ok = ~np.isnan(exact)
    return bool(np.array_equal(ok, ~np.isnan(sketched))) and bool(
        (np.abs(sketched[ok] - exact[ok]) <= ALPHA * np.abs(exact[ok]) * (1 + 1e-12) + TINY).all()
    )


@settings(max_examples=40, deadline=None)
@given(process_and_log(max_cases=24), st.integers(1, 5), st.randoms(use_true_random=False), st.booleans())
def test_partitions_of_cases_add_up_to_the_whole(pl, k, rnd, timed) -> None:  # type: ignore[no-untyped-def]
    text, log = pl
    process = parse_process(text)
    if timed:  # times of day: durations in fractions of days, the sketch's hard case
        seconds = np.array([rnd.randrange(86_400) for _ in range(len(log))])
        log = log.assign(timestamp=log["timestamp"] + pd.to_timedelta(seconds, unit="s"))
    whole = replay(process, log)
    want = drift(whole)
    cases = sorted(log["case_id"].unique())
    part_of = {c: rnd.randrange(k) for c in cases}
    parts = [log[log["case_id"].map(part_of) == i] for i in range(k)]
    # as the Dask engine does: the whole log decides once whether times of day count
    has_time = bool((log["timestamp"] != log["timestamp"].dt.normalize()).any())
    results = [replay(process, read_events(p, process=process, timed=has_time), as_of=whole.as_of)
               for p in parts if len(p)]  # fmt: skip
    for sketch in (False, True):
        sums = [drift_sums(r, sketch=sketch) for r in results]
        rnd.shuffle(sums)  # any order of merging
        got = drift_tables(merge_sums(sums))
        for name in ("steps", "targets", "edges"):
            w, g = getattr(want, name), getattr(got, name)
            pd.testing.assert_frame_equal(w[COUNTS[name]], g[COUNTS[name]], check_exact=True)
            for col in MEDIANS[name]:
                x, y = w[col].to_numpy(dtype=float), g[col].to_numpy(dtype=float)
                if sketch:
                    assert within_bound(x, y), (name, col, x, y)
                else:
                    assert np.array_equal(x, y, equal_nan=True), (name, col, x, y)


values = st.floats(-1e5, 1e5, allow_nan=False) | st.integers(-500, 500).map(float) | st.just(0.0)


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), values), min_size=1, max_size=200), st.integers(1, 4))
def test_sketches_merge_in_any_order_and_stay_within_the_bound(rows, k) -> None:  # type: ignore[no-untyped-def]
    groups = np.array([g for g, _ in rows], dtype=np.int64)
    vals = np.array([v for _, v in rows])
    pieces = np.array_split(np.arange(len(rows)), k)
    sketches = [Sketch.of(groups[i], vals[i]) for i in pieces]
    a = sketches[0].merge(sketches[1:])
    b = sketches[-1].merge(sketches[:-1][::-1])
    whole = Sketch.of(groups, vals)
    for s in (a, b):
        assert np.array_equal(s.groups, whole.groups) and np.array_equal(s.keys, whole.keys)
        assert np.array_equal(s.counts, whole.counts)
    ids = np.arange(5, dtype=np.int64)
    qs = (0.0, 0.1, 0.5, 0.9, 1.0)
    exact = ExactValues.of(groups, vals).quantiles(ids, qs)
    sketched = whole.quantiles(ids, qs)
    for g in ids:
        x, y = exact[g], sketched[g]
        if np.isnan(x).all():
            assert np.isnan(y).all()
            continue
        one_sign = (vals[groups == g] >= 0).all() or (vals[groups == g] <= 0).all()
        if one_sign:
            assert within_bound(x, y), (x, y)
        else:  # mixed signs: within ALPHA of the larger of the two order statistics around the quantile
            top = np.abs(vals[groups == g]).max()
            assert (np.abs(y - x) <= ALPHA * top * (1 + 1e-12) + TINY).all()
    whole_days = np.floor(vals) == vals
    if whole_days.all():  # whole numbers of days are counted exactly: numpy's answer, bit for bit
        assert np.array_equal(exact, sketched, equal_nan=True)


def test_a_sketch_stays_small_however_many_values() -> None:
    rng = np.random.default_rng(0)
    small = Sketch.of(np.zeros(1_000, dtype=np.int64), rng.exponential(20, 1_000))
    big = Sketch.of(np.zeros(1_000_000, dtype=np.int64), rng.exponential(20, 1_000_000))
    assert big.nbytes < 4 * 24 * 5_000  # at most a few thousand buckets, each 24 bytes
    assert big.nbytes < 5 * small.nbytes


def test_an_interval_log_split_by_case_adds_up_waiting_and_working_medians_too() -> None:
    """Start and complete events (a public log): the waiting and working parts merge like the rest."""
    from flowmap.analysis.discover import discover

    from .conftest import LOGS

    path = LOGS / "interval_event_log.csv"
    process = parse_process(discover(read_events(path)))
    raw = pd.read_csv(path)
    whole = replay(process, read_events(raw, process=process))
    assert whole.intervals
    want = drift(whole)
    case_col = next(c for c in raw.columns if "case" in c.lower())
    part_of = pd.factorize(raw[case_col])[0] % 3  # cases dealt round three partitions
    results = [replay(process, read_events(raw[part_of == i], process=process, timed=True), as_of=whole.as_of)
               for i in range(3)]  # fmt: skip
    for sketch in (False, True):
        got = drift_tables(merge_sums([drift_sums(r, sketch=sketch) for r in results])).steps
        pd.testing.assert_frame_equal(want.steps[COUNTS["steps"]], got[COUNTS["steps"]], check_exact=True)
        for col in ("median_days", "p90_days", "median_waiting_days", "median_working_days"):
            x, y = want.steps[col].to_numpy(dtype=float), got[col].to_numpy(dtype=float)
            assert within_bound(x, y) if sketch else np.array_equal(x, y, equal_nan=True), (col, x, y)
