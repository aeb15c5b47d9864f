"""A seeded, vectorised synthetic log for benchmarks: N cases, about 10 events each.

The process is a 10-step chain with one rework loop (s6 -> s4, 20% of cases go
round once more), 5% of cases still open at the end, and same-day ties. It is
written as Parquet (timestamps typed) and CSV (ISO text), with its process file.
"""

from __future__ import annotations

import itertools
import sys
from pathlib import Path

import numpy as np
import pandas as pd

STEPS = [f"s{i}" for i in range(10)]

PROCESS = "\n".join(
    [
        "flowmap: 1",
        "id: bench",
        "clock: calendar_days",
        "steps:",
        *[
            f"  - {{id: {s}, label: 'Step {i}', events: ['Activity {i}']"
            + (", target: 5" if i < 9 else "")
            + (", start: true" if i == 0 else "")
            + (", end: true" if i == 9 else "")
            + "}"
            for i, s in enumerate(STEPS)
        ],
        "transitions:",
        *[f"  - {a} -> {b}" for a, b in itertools.pairwise(STEPS)],
        "  - {from: s6, to: s4, label: rework}",
        "targets:",
        "  - {id: whole, from: s0, to: s9, within: 60}",
        "",
    ]
)


def make(n_cases: int, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rework = rng.random(n_cases) < 0.2
    # Each case: s0..s6, then (if rework) s4, s5, s6 again, then s7..s9.
    base = np.arange(10)
    loop = np.array([0, 1, 2, 3, 4, 5, 6, 4, 5, 6, 7, 8, 9])
    lengths = np.where(rework, 13, 10)
    open_case = rng.random(n_cases) < 0.05
    lengths = np.where(open_case, lengths - 3, lengths)
    total = int(lengths.sum())
    case = np.repeat(np.arange(n_cases), lengths)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    pos = np.arange(total) - np.repeat(starts, lengths)
    steps = np.where(np.repeat(rework, lengths), loop[np.minimum(pos, 12)], base[np.minimum(pos, 9)])
    gaps = np.floor(rng.lognormal(1.2, 0.8, total)).astype(np.int64)  # whole days, ~10% same-day ties
    gaps[starts] = rng.integers(0, 1000, n_cases)
    days = np.cumsum(gaps) - np.repeat(np.cumsum(gaps)[starts] - gaps[starts], lengths)
    ts = np.datetime64("2020-01-01", "ns") + days.astype("m8[D]").astype("m8[ns]")
    return pd.DataFrame(
        {
            "case_id": pd.Series(np.char.add("case-", case.astype(str))),
            "activity": pd.Series(np.array([f"Activity {i}" for i in range(10)])[steps]),
            "timestamp": ts,
        }
    )


def write(n_cases: int, out: Path) -> dict[str, Path]:
    out.mkdir(parents=True, exist_ok=True)
    stem = out / f"synthetic-{n_cases}"
    paths = {"parquet": stem.with_suffix(".parquet"), "csv": stem.with_suffix(".csv"), "process": out / "bench.yaml"}
    if not paths["parquet"].exists():
        df = make(n_cases)
        df.to_parquet(paths["parquet"], index=False)
        df.assign(timestamp=df["timestamp"].dt.strftime("%Y-%m-%d")).to_csv(paths["csv"], index=False)
    paths["process"].write_text(PROCESS, encoding="utf-8")
    return paths


if __name__ == "__main__":
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    print(write(n, Path(sys.argv[2]) if len(sys.argv) > 2 else Path("bench/out")))
