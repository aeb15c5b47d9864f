"""Windows (--from, --to): what began in the window, each kind of thing by its own date; hand-worked."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from click.testing import CliRunner

from flowmap.analysis.metrics import audit, drift, map_metrics
from flowmap.analysis.replay import replay, window
from flowmap.cli import cli
from flowmap.files.process import parse_process

from .conftest import PROCESSES, ROOT

PROCESS = """\
flowmap: 1
id: w
title: Windows
steps:
  - {id: a, start: true}
  - {id: b, target: 5}
  - {id: c, end: true}
transitions: [a -> b, b -> c]
targets:
  - {id: ac, from: a, to: c, within: 30}
"""


@pytest.fixture
def events() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "case_id": ["1", "1", "1", "2", "2"],
            "event": ["a", "b", "c", "a", "b"],
            "timestamp": pd.to_datetime(["2025-01-01", "2025-01-10", "2025-01-20", "2025-02-01", "2025-02-05"]),
        }
    )


def test_a_window_keeps_cases_by_first_event_visits_by_entry_and_clocks_by_start(events: pd.DataFrame) -> None:
    p = parse_process(PROCESS)
    r = replay(p, events, as_of="2025-02-10", since="2025-01-15")
    assert list(r.cases_table()["case_id"].astype(str)) == ["2"]  # case 1 began on 1 January
    assert r.counts["cases"] == 1
    v = r.visits_table()
    # Case 1's move into c (20 January) is in the window; its earlier visits are not.
    assert list(zip(v["case_id"].astype(str), v["step"].astype(str), strict=True)) == [("1", "c"), ("2", "a"),
                                                                                      ("2", "b")]  # fmt: skip
    edges = drift(r).edges.set_index(["from", "to"])
    assert edges.loc[("b", "c"), "count"] == 1 and edges.loc[("b", "c"), "median_days"] == 10  # b lasted 10 days
    assert edges.loc[("a", "b"), "count"] == 1 and edges.loc[("a", "b"), "median_days"] == 4
    assert list(r.spans["case_id"].astype(str)) == ["2"]  # case 1's clock started on 1 January
    steps = drift(r).steps.set_index("step")
    assert steps.loc["b", "visits"] == 1 and steps.loc["b", "excess_days"] == 0  # case 2's b: 5 days, target 5
    assert list(audit(r)["case_id"]) == ["2"]
    assert map_metrics(r).cases == 1
    assert r.window_text() == "window: what began on or after 2025-01-15"


def test_before_bounds_the_window_and_no_window_changes_nothing(events: pd.DataFrame) -> None:
    p = parse_process(PROCESS)
    full = replay(p, events, as_of="2025-02-10")
    early = window(full, before="2025-02-01")
    assert list(early.cases_table()["case_id"].astype(str)) == ["1"]
    assert early.spans["status"].astype(str).tolist() == ["met"]
    assert full.window_text() is None
    assert len(full.cases_table()) == 2 and len(full.visits) == 5
    pd.testing.assert_frame_equal(window(full).cases_table(), full.cases_table())


def test_the_cli_says_the_window_everywhere(tmp_path) -> None:  # type: ignore[no-untyped-def]
    legal = str(PROCESSES / "legal-advice.yaml")
    tracker = str(ROOT / "examples" / "data" / "legal-advice-tracker.csv")
    runner = CliRunner()
    text = runner.invoke(cli, ["drift", legal, tracker, "--from", "2025-03-01"])
    assert text.exit_code == 0, text.output
    assert "window: what began on or after 2025-03-01" in text.stdout.splitlines()[0]
    doc = json.loads(runner.invoke(cli, ["audit", legal, tracker, "--from", "2025-03-01", "--to", "2025-09-30",
                                         "--json"]).stdout)  # fmt: skip
    assert doc["window"] == {"from": "2025-03-01", "to": "2025-09-30"} and doc["as_of"] == "2025-09-30"
    out = tmp_path / "m.svg"
    assert runner.invoke(cli, ["map", legal, tracker, "--from", "2025-03-01", "-o", str(out)]).exit_code == 0
    assert "window: what began on or after 2025-03-01" in out.read_text(encoding="utf-8")
    bad = runner.invoke(cli, ["drift", legal, tracker, "--from", "someday"])
    assert bad.exit_code == 1 and "cannot read --from 'someday'" in bad.stderr
