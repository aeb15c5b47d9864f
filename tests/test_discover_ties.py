"""A draft from `discover` agrees with replay: replaying a log against its own draft finds no deviation."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flowmap.analysis.discover import discover
from flowmap.analysis.replay import replay
from flowmap.events.read import read_events
from flowmap.files.process import parse_process

from .conftest import LOGS


def deviations_against_own_draft(path: Path) -> int:
    draft = parse_process(discover(read_events(path)))
    return len(replay(draft, read_events(path, process=draft)).deviations)


def test_the_tiny_reproducer_has_no_deviation(tmp_path: Path) -> None:
    # S, then X and Y on the same day: the draft said s -> y -> x, and replay read s > x > y
    path = tmp_path / "l.csv"
    pd.DataFrame({"case_id": ["c", "c", "c"], "event": ["S", "X", "Y"],
                  "timestamp": ["2025-01-01", "2025-01-02", "2025-01-02"]}).to_csv(path, index=False)  # fmt: skip
    assert deviations_against_own_draft(path) == 0


@pytest.mark.slow
@pytest.mark.parametrize("name", ["running-example.xes", "receipt.xes.gz", "roadtraffic100traces.xes",
                                  "interval_event_log.csv", "helpdesk.xes.gz", "hospital_log_high.xes.gz",
                                  "receipt.csv.gz"])  # fmt: skip
def test_every_public_log_in_the_repo_replays_against_its_own_draft_without_deviation(name: str) -> None:
    assert deviations_against_own_draft(LOGS / name) == 0


@settings(max_examples=40, deadline=None)
@given(cases=st.lists(st.lists(st.tuples(st.sampled_from("ABCDEF"), st.integers(0, 3)), min_size=1, max_size=8),
                      min_size=1, max_size=12))  # fmt: skip
def test_generated_logs_with_ties_replay_against_their_draft_without_deviation(
    cases: list[list[tuple[str, int]]], tmp_path_factory: pytest.TempPathFactory
) -> None:
    rows = []
    for i, events in enumerate(cases):
        day = 0
        for name, gap in events:
            day += gap  # a gap of 0: the same day as the event before, a tie for replay to break
            rows.append((f"c{i}", name, pd.Timestamp("2025-01-01") + pd.Timedelta(days=day)))
    path = tmp_path_factory.mktemp("ties") / "l.csv"
    pd.DataFrame(rows, columns=["case_id", "event", "timestamp"]).to_csv(path, index=False)
    assert deviations_against_own_draft(path) == 0
