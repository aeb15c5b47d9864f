"""The compiled kernels (numba, the ``flowmap[fast]`` extra) and their numpy twins give identical results."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flowmap.analysis import kernels
from flowmap.analysis.metrics import audit, drift
from flowmap.analysis.replay import replay
from flowmap.files.process import parse_process

from .strategies import process_and_log

pytest.importorskip("numba", reason="the compiled kernels need the flowmap[fast] extra (make test installs it)")


def both(monkeypatch: pytest.MonkeyPatch, call):  # type: ignore[no-untyped-def]
    """``call()`` with the numpy bodies, then with the compiled ones."""
    monkeypatch.setenv("FLOWMAP_KERNELS", "numpy")
    assert kernels.backend() == "numpy"
    plain = call()
    monkeypatch.setenv("FLOWMAP_KERNELS", "numba")
    assert kernels.backend() == "numba"
    fast = call()
    return plain, fast


sorted_events = st.integers(1, 400).flatmap(
    lambda n: st.tuples(
        st.lists(st.integers(0, 30), min_size=n, max_size=n).map(sorted),
        st.lists(st.integers(0, 6), min_size=n, max_size=n),
    )
)


@settings(max_examples=60, deadline=None)
@given(sorted_events)
def test_visit_pass_is_the_same_compiled(events: tuple[list[int], list[int]]) -> None:
    case, pos = np.array(events[0]), np.array(events[1])
    with pytest.MonkeyPatch.context() as mp:
        plain, fast = both(mp, lambda: kernels.visit_pass(case, pos, 7))
    for name in ("start", "first", "last", "seq", "number", "case_start"):
        a, b = getattr(plain, name), getattr(fast, name)
        assert a.dtype == b.dtype and np.array_equal(a, b), name
    # and what the pass means: visit numbers count a case's earlier visits to the same step
    v_case, v_step = case[plain.start], pos[plain.start]
    for i in range(len(v_case)):
        earlier = (v_case[:i] == v_case[i]) & (v_step[:i] == v_step[i])
        assert plain.number[i] == earlier.sum() + 1


values = st.floats(-1e6, 1e6, allow_nan=False) | st.sampled_from([0.0, 1.0, 2.0, 0.5, 1e-9])


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 5), values), max_size=300),
       st.lists(st.floats(0, 1), min_size=1, max_size=4))  # fmt: skip
def test_group_quantiles_are_numpys_bit_for_bit(rows: list[tuple[int, float]], qs: list[float]) -> None:
    groups = np.array([g for g, _ in rows], dtype=np.int64)
    vals = np.array([v for _, v in rows], dtype=float)
    with pytest.MonkeyPatch.context() as mp:
        plain, fast = both(mp, lambda: kernels.group_quantiles(groups, vals, 7, qs))
    expected = np.full((7, len(qs)), np.nan)
    for g in range(7):
        if (groups == g).any():
            expected[g] = np.quantile(vals[groups == g], qs)
    assert np.array_equal(plain, expected, equal_nan=True)
    assert np.array_equal(fast, expected, equal_nan=True)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 5), st.integers(1, 3), st.none() | st.floats(0, 100)), max_size=300))
def test_step_sums_add_in_the_same_order(rows: list[tuple[int, int, float | None]]) -> None:
    step = np.array([r[0] for r in rows], dtype=np.int64)
    number = np.array([r[1] for r in rows], dtype=np.int64)
    over = np.array([np.nan if r[2] is None else r[2] for r in rows], dtype=float)
    with pytest.MonkeyPatch.context() as mp:
        plain, fast = both(mp, lambda: kernels.step_sums(step, number, over, 6))
    for a, b in zip(plain, fast, strict=True):
        assert a.dtype == b.dtype and np.array_equal(a, b)


@settings(max_examples=40, deadline=None)
@given(process_and_log(max_cases=20))
def test_replay_drift_and_audit_are_the_same_on_either_path(pl: tuple[str, pd.DataFrame]) -> None:
    text, log = pl
    process = parse_process(text)

    def run():  # type: ignore[no-untyped-def]
        r = replay(process, log)
        d = drift(r)
        return r.visits, r.cases, d.steps, d.targets, d.edges, audit(r)

    with pytest.MonkeyPatch.context() as mp:
        plain, fast = both(mp, run)
    for a, b in zip(plain, fast, strict=True):
        pd.testing.assert_frame_equal(a, b, check_exact=True)


def test_auto_compiles_only_for_big_work_whose_code_can_be_cached(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.delenv("FLOWMAP_KERNELS", raising=False)
    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    assert kernels.backend(10) == "numpy"
    assert kernels.backend(kernels.COMPILED_FROM) == "numba"
    monkeypatch.setattr(sys, "dont_write_bytecode", True)  # PYTHONDONTWRITEBYTECODE: nothing may be cached
    assert kernels.backend(kernels.COMPILED_FROM) == "numpy"
    monkeypatch.setenv("NUMBA_CACHE_DIR", "/somewhere/the/user/chose")
    assert kernels.backend(kernels.COMPILED_FROM) == "numba"
    monkeypatch.setenv("FLOWMAP_KERNELS", "numpy")
    assert kernels.backend(10**9) == "numpy"
