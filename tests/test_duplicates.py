"""Exact duplicates: set aside and counted by default, kept with --keep-duplicates, announced for XES/Parquet."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from flowmap.cli.main import cli
from flowmap.events.read import read_events

WHEN = pd.to_datetime(["2025-01-01", "2025-01-01", "2025-01-02", "2025-01-01"])
ROWS = pd.DataFrame({"case_id": ["a", "a", "a", "b"], "event": ["x", "x", "y", "x"], "timestamp": WHEN})


def test_duplicates_are_counted_in_the_ledger_or_kept_on_request(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    ROWS.to_csv(path, index=False)
    log = read_events(path)
    dup = [s for s in log.ledger.set_aside if s.reason == "duplicate"]
    assert len(log.events) == 3 and dup and dup[0].count == 1 and log.ledger.read == 4
    kept = read_events(path, keep_duplicates=True)
    assert len(kept.events) == 4 and not [s for s in kept.ledger.set_aside if s.reason == "duplicate"]
    assert any("--keep-duplicates: 1 exact duplicate" in n for n in kept.ledger.notes)


def test_a_parquet_log_with_many_duplicates_says_so_in_one_line(tmp_path: Path, runner) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "log.parquet"
    ROWS.to_parquet(path)
    result = runner.invoke(cli, ["check", str(path)])
    assert "note: 1 of 4 rows (25%) exactly repeat an earlier one and were set aside; --keep-duplicates keeps them" \
        in result.output  # fmt: skip
    result = runner.invoke(cli, ["check", str(path), "--keep-duplicates"])
    assert "exactly repeat" not in result.output and "kept as events of their own" in result.output


@settings(max_examples=80, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(["a", "b", None]), st.integers(0, 3), st.sampled_from([0, 86_400, 3_600, 4 * 10**9]),
                  st.sampled_from([1.5, 2.0, float("nan")])),
        max_size=60,
    ),
    st.booleans(),
)  # fmt: skip
def test_the_lean_duplicate_check_agrees_with_pandas(rows: list[tuple], categorical: bool) -> None:  # type: ignore[type-arg]
    from flowmap.events.read import duplicated

    frame = pd.DataFrame(rows, columns=["case_id", "event", "t", "x"])
    frame["t"] = pd.to_datetime(frame["t"], unit="s")
    if categorical:
        frame["case_id"] = frame["case_id"].astype("category")
        frame["event"] = frame["event"].astype("category")
    for c in range(12):  # wide enough that the packed key must be renumbered on the way
        frame[f"big{c}"] = frame["event"].astype(str) + frame["x"].astype(str) * (c + 1)
    assert duplicated(frame).tolist() == frame.duplicated(keep="first").tolist()
