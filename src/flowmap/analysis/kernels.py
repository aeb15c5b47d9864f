"""The replay's hot loops, twice: compiled with numba (the ``flowmap[fast]`` extra) and in plain numpy.

Each kernel has one contract and two bodies. The numpy bodies are whole-array
operations (sorts, shifts, ``bincount``); the numba bodies do the same work
in one pass over the events or the visits, with no temporary arrays, which
is where the time goes at millions of events. Both give identical results,
bit for bit: the float sums add in the same order, and quantiles are
numpy's own linear rule on the same order statistics
(``tests/test_kernels.py`` checks this on generated logs).

Which body runs is :func:`backend`. With ``FLOWMAP_KERNELS`` unset (or
``auto``), numba runs when it is installed and the work has at least
:data:`COMPILED_FROM` rows: importing numba and loading its cached machine
code costs about half a second, which a smaller log would not win back.
``FLOWMAP_KERNELS=numba`` always compiles, ``numpy`` never does. Compiled
kernels are cached by numba (in this package's ``__pycache__``, or
``NUMBA_CACHE_DIR``): machine code only, never data; nothing is cached when
Python writes no bytecode (``PYTHONDONTWRITEBYTECODE``) and ``NUMBA_CACHE_DIR``
is not set, and then ``auto`` keeps to numpy, since compiling afresh each run
would cost more than it saves.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    import numpy.typing as npt

__all__ = ["COMPILED_FROM", "VisitPass", "backend", "group_quantiles", "step_sums", "visit_pass"]


_TICKS = 1048576.0  # 2**20: excess days are summed in these fractions of a day
COMPILED_FROM = 2_000_000
"""With ``FLOWMAP_KERNELS=auto``, the fewest rows (events or visits) a kernel compiles for."""


def _mode() -> str:
    mode = os.environ.get("FLOWMAP_KERNELS", "auto").strip().lower()
    return mode if mode in ("numba", "numpy") else "auto"


@cache
def _numba() -> Any:
    try:
        import numba
    except ImportError:
        return None
    return numba


def _cached() -> bool:
    """Whether compiled code may be kept for the next run: where Python writes bytecode, or where the user
    named numba's own cache folder."""
    return bool(os.environ.get("NUMBA_CACHE_DIR")) or not sys.dont_write_bytecode


def backend(rows: int = COMPILED_FROM) -> str:
    """``"numba"`` when a kernel over ``rows`` rows runs compiled, else ``"numpy"``.

    In ``auto`` mode the kernels compile only when their code can be cached: compiling them afresh costs
    seconds each run, more than they save.
    """
    mode = _mode()
    if mode == "numpy" or (mode == "auto" and (rows < COMPILED_FROM or not _cached())):
        return "numpy"
    return "numba" if _numba() is not None else "numpy"


@dataclass(frozen=True)
class VisitPass:
    """Visits found in events sorted by case then time: a new visit at each change of case or step.

    ``start`` indexes the event that begins each visit; per visit, ``first`` and
    ``last`` mark a case's first and last visit, ``seq`` counts the case's visits
    from 0 and ``number`` its visits to the same step from 1; ``case_start``
    indexes each case's first visit.
    """

    start: npt.NDArray[np.int64]
    first: npt.NDArray[np.bool_]
    last: npt.NDArray[np.bool_]
    seq: npt.NDArray[np.int64]
    number: npt.NDArray[np.int64]
    case_start: npt.NDArray[np.int64]


def visit_pass(case: npt.NDArray[Any], pos: npt.NDArray[Any], n_steps: int) -> VisitPass:
    """The visits of sorted events (``case`` codes, ``pos`` step positions in ``range(n_steps)``)."""
    case = np.ascontiguousarray(case, dtype=np.int64)
    pos = np.ascontiguousarray(pos, dtype=np.int64)
    kernel = _compiled("visit_pass", len(case))
    if kernel is not None:
        return VisitPass(*kernel(case, pos, n_steps))
    return _visit_pass_numpy(case, pos)


def step_sums(
    step: npt.NDArray[Any], number: npt.NDArray[Any], over: npt.NDArray[np.float64], n: int
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """Per step: visits, cases (first visits), breaches (days over > 0) and excess days (NaN counts 0).

    Each visit's excess is rounded to 2^-20 of a day (0.08 s) before it is added: sums of such values are
    exact in float arithmetic (below 2^33 days), so they do not depend on the order of addition, and
    partitions of cases add up to the whole exactly."""
    step = np.ascontiguousarray(step, dtype=np.int64)
    number = np.ascontiguousarray(number, dtype=np.int64)
    over = np.ascontiguousarray(over, dtype=np.float64)
    kernel = _compiled("step_sums", len(step))
    if kernel is not None:
        out: tuple[Any, Any, Any, Any] = kernel(step, number, over, n)
        return out
    visits = np.bincount(step, minlength=n).astype(np.int64)
    cases = np.bincount(step[number == 1], minlength=n).astype(np.int64)
    clean = np.nan_to_num(over, nan=0.0)
    breaches = np.bincount(step, weights=clean > 0, minlength=n).astype(np.int64)
    excess = np.bincount(step, weights=np.floor(clean * _TICKS + 0.5) / _TICKS, minlength=n).astype(np.float64)
    return visits, cases, breaches, excess


def group_quantiles(
    groups: npt.NDArray[Any], values: npt.NDArray[np.float64], n_groups: int, qs: Sequence[float]
) -> npt.NDArray[np.float64]:
    """``np.quantile(values[groups == g], qs)`` for every group ``g`` in ``range(n_groups)``, NaN where empty.

    One row per group, one column per quantile. The values must hold no NaN.
    """
    groups = np.ascontiguousarray(groups, dtype=np.int64)
    values = np.ascontiguousarray(values, dtype=np.float64)
    q = np.asarray(qs, dtype=np.float64)
    kernel = _compiled("group_quantiles", len(values))
    if kernel is not None:
        result: npt.NDArray[np.float64] = kernel(groups, values, n_groups, q)
        return result
    out = np.full((n_groups, len(q)), np.nan)
    order = np.argsort(groups.astype(np.int16 if n_groups < 2**15 else np.int64), kind="stable")
    bounds = np.concatenate([[0], np.cumsum(np.bincount(groups, minlength=n_groups))])
    grouped = values[order]
    for g in np.flatnonzero(np.diff(bounds)):  # a loop over groups that have values, not over values
        out[g] = np.quantile(grouped[bounds[g] : bounds[g + 1]], q)
    return out


# --- numpy bodies ----------------------------------------------------------------------------


def _visit_pass_numpy(case: npt.NDArray[np.int64], pos: npt.NDArray[np.int64]) -> VisitPass:
    n = len(case)
    new = np.ones(n, dtype=bool)
    new[1:] = (case[1:] != case[:-1]) | (pos[1:] != pos[:-1])
    start = np.flatnonzero(new).astype(np.int64)
    v_case, v_step = case[start], pos[start]
    nv = len(start)
    first = np.ones(nv, dtype=bool)
    first[1:] = v_case[1:] != v_case[:-1]
    last = np.ones(nv, dtype=bool)
    last[:-1] = first[1:]
    case_start = np.flatnonzero(first).astype(np.int64)
    seq = np.arange(nv, dtype=np.int64) - np.repeat(case_start, np.diff(np.append(case_start, nv)))
    # Visit numbers: a stable sort by step puts visits in (step, case, time) order; each run of one case
    # and step is numbered 1, 2, ...
    order = np.argsort(v_step.astype(np.int16) if len(v_step) and v_step.max() < 2**15 else v_step, kind="stable")
    sc, ss = v_case[order], v_step[order]
    run = np.ones(nv, dtype=bool)
    run[1:] = (sc[1:] != sc[:-1]) | (ss[1:] != ss[:-1])
    idx = np.arange(nv, dtype=np.int64)
    number = np.empty(nv, dtype=np.int64)
    number[order] = idx - np.maximum.accumulate(np.where(run, idx, 0))
    number += 1
    return VisitPass(start=start, first=first, last=last, seq=seq, number=number, case_start=case_start)


# --- numba bodies ----------------------------------------------------------------------------


def _visit_pass_py(case: Any, pos: Any, n_steps: int) -> Any:
    n = len(case)
    nv = 0
    for i in range(n):
        if i == 0 or case[i] != case[i - 1] or pos[i] != pos[i - 1]:
            nv += 1
    start = np.empty(nv, dtype=np.int64)
    first = np.zeros(nv, dtype=np.bool_)
    last = np.zeros(nv, dtype=np.bool_)
    seq = np.empty(nv, dtype=np.int64)
    number = np.empty(nv, dtype=np.int64)
    seen = np.zeros(max(n_steps, 1), dtype=np.int64)  # visits to each step so far in this case
    n_cases = 0
    v = -1
    case_first = 0
    for i in range(n):
        new_case = i == 0 or case[i] != case[i - 1]
        if new_case or pos[i] != pos[i - 1]:
            v += 1
            start[v] = i
            if new_case:
                for k in range(case_first, v):  # forget the last case's counts, step by step
                    seen[pos[start[k]]] = 0
                case_first = v
                first[v] = True
                if v > 0:
                    last[v - 1] = True
                n_cases += 1
            seq[v] = v - case_first
            p = pos[i]
            seen[p] += 1
            number[v] = seen[p]
    if nv > 0:
        last[nv - 1] = True
    case_start = np.empty(n_cases, dtype=np.int64)
    c = 0
    for k in range(nv):
        if first[k]:
            case_start[c] = k
            c += 1
    return start, first, last, seq, number, case_start


def _step_sums_py(step: Any, number: Any, over: Any, n: int) -> Any:
    visits = np.zeros(n, dtype=np.int64)
    cases = np.zeros(n, dtype=np.int64)
    breaches = np.zeros(n, dtype=np.int64)
    excess = np.zeros(n, dtype=np.float64)
    for i in range(len(step)):
        s = step[i]
        visits[s] += 1
        if number[i] == 1:
            cases[s] += 1
        o = over[i]
        if o == o:  # not NaN
            if o > 0:
                breaches[s] += 1
            excess[s] += np.floor(o * _TICKS + 0.5) / _TICKS
    return visits, cases, breaches, excess


def _group_quantiles_py(groups: Any, values: Any, n_groups: int, qs: Any) -> Any:
    counts = np.zeros(n_groups + 1, dtype=np.int64)
    for i in range(len(groups)):
        counts[groups[i] + 1] += 1
    bounds = np.cumsum(counts)
    fill = bounds[:-1].copy()
    grouped = np.empty(len(values), dtype=np.float64)
    for i in range(len(groups)):  # a counting sort: values grouped, in input order within a group
        g = groups[i]
        grouped[fill[g]] = values[i]
        fill[g] += 1
    out = np.full((n_groups, len(qs)), np.nan)
    for g in range(n_groups):
        lo, hi = bounds[g], bounds[g + 1]
        m = hi - lo
        if m == 0:
            continue
        part = grouped[lo:hi]
        for j in range(len(qs)):
            # numpy's linear method: virtual index (n - 1) * q between order statistics k and k + 1, then
            # numpy's _lerp (from the upper end when the weight is a half or more). The k-th order statistic
            # comes from a selection (Hoare's, median-of-three pivots: linear time, as numpy's partition).
            virtual = (m - 1) * qs[j]
            top = virtual >= m - 1
            k = m - 1 if top else int(np.floor(virtual))
            left, right = 0, m - 1
            while right > left:
                mid = (left + right) // 2
                if part[mid] < part[left]:
                    part[mid], part[left] = part[left], part[mid]
                if part[right] < part[left]:
                    part[right], part[left] = part[left], part[right]
                if part[right] < part[mid]:
                    part[right], part[mid] = part[mid], part[right]
                pivot = part[mid]
                i, r = left, right
                while i <= r:
                    while part[i] < pivot:
                        i += 1
                    while pivot < part[r]:
                        r -= 1
                    if i <= r:
                        part[i], part[r] = part[r], part[i]
                        i += 1
                        r -= 1
                if k <= r:
                    right = r
                elif k >= i:
                    left = i
                else:
                    break
            a = part[k]
            if top:
                out[g, j] = a
                continue
            b = part[k + 1]
            for i in range(k + 2, m):  # after the selection, k + 1 is the smallest of what lies above k
                if part[i] < b:
                    b = part[i]
            gamma = virtual - k
            diff = b - a
            if gamma >= 0.5:
                out[g, j] = b - diff * (1.0 - gamma)
            else:
                out[g, j] = a + diff * gamma
    return out


_BODIES: dict[str, Callable[..., Any]] = {
    "visit_pass": _visit_pass_py,
    "step_sums": _step_sums_py,
    "group_quantiles": _group_quantiles_py,
}


def _compiled(name: str, rows: int) -> Callable[..., Any] | None:
    return _jit(name) if backend(rows) == "numba" else None


@cache
def _jit(name: str) -> Callable[..., Any]:
    # The compiled code is cached beside the module, as Python caches its bytecode; where Python is told not
    # to write bytecode (PYTHONDONTWRITEBYTECODE, python -B), numba writes nothing either and compiles anew.
    compiled: Callable[..., Any] = _numba().njit(cache=_cached(), nogil=True)(_BODIES[name])
    return compiled
