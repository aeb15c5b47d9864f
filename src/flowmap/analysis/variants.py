"""Common paths (variants): cases grouped by their path of steps, most common first.

A case's path is the steps of its visits in order, joined by ``>`` (the
``path`` column of ``replay``): a case that goes round a loop twice has the
loop in its path twice. ``flowmap variants`` prints this table; ``map
--variant K`` and ``--where path=...`` keep the cases of one path.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd

from flowmap.analysis.replay import Replay
from flowmap.model.clock import clock_days

__all__ = ["BASE_COLUMNS", "case_days", "fold_path", "path_cases", "variants"]

BASE_COLUMNS = ["path", "cases", "share", "complete", "median_days"]
"""Then one ``met_rate:ID`` column per span target, then ``deviations``."""


def case_days(result: Replay) -> pd.Series:
    """Each complete case's duration: its first entry to its entry to the end step, in the process clock,
    indexed by case id."""
    process = result.process
    v = result.visits
    if not len(v):
        return pd.Series(dtype=float)
    case = v["case_id"].astype(str).to_numpy()
    first = np.r_[True, case[1:] != case[:-1]]
    last = np.r_[case[1:] != case[:-1], True]
    done = last & v["step"].astype(str).isin(set(process.end_steps)).to_numpy()
    start_of = pd.Series(v["entered"].to_numpy()[first], index=case[first])
    started = start_of.reindex(case[done]).to_numpy()
    offsets = None
    if "utc_offset" in v:  # instants across a clock change: elapsed time, as replay measures visits
        off = v["utc_offset"].to_numpy(dtype=np.int64)
        offsets = (pd.Series(off[first], index=case[first]).reindex(case[done]).to_numpy(dtype=np.int64), off[done])
    days = clock_days(started, v["entered"].to_numpy()[done], clock=process.clock, calendar=process.calendar,
                      offsets=offsets)  # fmt: skip
    return pd.Series(days, index=case[done], dtype=float)


def variants(result: Replay, *, top: int | None = None) -> pd.DataFrame:
    """One row per path: its cases, their share, how many are complete, the median duration of the complete
    ones, each span target's met rate over its cases (met / (met + missed + overdue)), and the number of
    moves in the path that the process does not declare. Most common first; ties by path."""
    cases = result.cases_table()
    targets = [t.id for t in result.process.targets]
    columns = [*BASE_COLUMNS, *(f"met_rate:{t}" for t in targets), "deviations"]
    if cases.empty:
        return pd.DataFrame({c: [] for c in columns})
    ids = cases["case_id"].astype(str)
    path = cases["path"].astype(str).to_numpy()
    frame = pd.DataFrame({"path": path, "case": ids.to_numpy(), "complete": (cases["status"] == "complete").to_numpy(),
                          "deviations": cases["deviations"].to_numpy(dtype=np.int64)})  # fmt: skip
    frame["days"] = case_days(result).reindex(ids).to_numpy()
    g = frame.groupby("path", sort=False)
    out = pd.DataFrame({
        "cases": g.size(),
        "complete": g["complete"].sum().astype(np.int64),
        "median_days": g["days"].median(),
        "deviations": g["deviations"].max(),
    })  # fmt: skip
    out["share"] = out["cases"] / len(frame)
    spans = result.spans
    if len(spans):
        of_case = pd.Series(path, index=ids.to_numpy())
        sp = spans.assign(path=of_case.reindex(spans["case_id"].astype(str)).to_numpy(),
                          met=(spans["status"] == "met").to_numpy(),
                          judged=spans["status"].isin(["met", "missed", "overdue"]).to_numpy())  # fmt: skip
        for t in targets:
            mine = sp[sp["target"] == t].groupby("path")
            rate = mine["met"].sum() / mine["judged"].sum().replace(0, np.nan)
            out[f"met_rate:{t}"] = rate.reindex(out.index)
    for t in targets:
        if f"met_rate:{t}" not in out:
            out[f"met_rate:{t}"] = np.nan
    out = out.reset_index().rename(columns={"index": "path"})
    out = out.sort_values(["cases", "path"], ascending=[False, True], kind="stable").reset_index(drop=True)
    out = out[columns]
    return out.head(top) if top else out


def fold_path(path: str, *, longest: int = 12) -> str:
    """A path as people read it: arrows, a loop run twice or more as ``(a → b) ×2``, and the middle of a very
    long path left out.

    Examples
    --------
    >>> fold_path("a>b>c>b>c>b>c>d")
    'a → (b → c) ×3 → d'
    >>> fold_path(">".join(f"s{i}" for i in range(20)), longest=6)
    's0 → s1 → s2 → … 14 more … → s17 → s18 → s19'
    """
    steps = [s for s in path.split(">") if s]
    out: list[str] = []
    i = 0
    while i < len(steps):
        for size in range(1, 5):  # the longest repeat of a block of 1 to 4 steps starting here
            block = steps[i : i + size]
            times = 1
            while steps[i + times * size : i + (times + 1) * size] == block and len(block) == size:
                times += 1
            if times > 1:
                inner = " → ".join(block)
                out.append(f"({inner}) ×{times}" if size > 1 else f"{inner} ×{times}")
                i += times * size
                break
        else:
            out.append(steps[i])
            i += 1
    if len(out) > longest:
        keep = longest // 2
        out = [*out[:keep], f"… {len(out) - 2 * keep} more …", *out[-keep:]]
    return " → ".join(out)


def path_cases(result: Replay, wanted: str, equal: bool = True) -> set[str]:
    """The ids of the cases whose path is ``wanted`` (``>`` or ``→`` between steps, spaces ignored)."""
    norm = "".join(wanted.replace("→", ">").split()).casefold()
    paths = result.cases_table()
    got = paths["path"].astype(str).str.replace(" ", "", regex=False).str.casefold().to_numpy()
    pick: npt.NDArray[np.bool_] = got == norm
    return set(paths["case_id"].astype(str).to_numpy()[pick if equal else ~pick])
