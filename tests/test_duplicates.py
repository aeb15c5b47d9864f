"""Exact duplicates: set aside and counted by default, kept with --keep-duplicates, announced for XES/Parquet."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

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
