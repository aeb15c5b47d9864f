"""Back-tests: fit before a date, simulate after it, compare with what happened."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest

from flowmap.cli.main import cli
from flowmap.errors import FlowmapError
from flowmap.files.process import load_process
from flowmap.simulation.backtest import backtest
from flowmap.simulation.change import apply_change, load_change
from flowmap.simulation.simulate import model_from_process, synthesize

from .conftest import PROCESSES, ROOT

LEGAL = PROCESSES / "legal-advice.yaml"
CHANGE = "flowmap-change: 1\nname: Fewer requests\nchanges:\n" \
         "  - set_probability: {{from: allocated, to: info_requested, probability: {p}}}\n"  # fmt: skip


def change(tmp_path: Path, p: float, name: str) -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(CHANGE.format(p=p), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def two_periods(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A log whose rework loop (more information asked for) falls from 60% to 5% on 2024-11-01."""
    tmp = tmp_path_factory.mktemp("bt")
    process = load_process(LEGAL)
    base = replace(model_from_process(process), arrivals_per_day=1.0)
    before = replace(apply_change(base, load_change(change(tmp, 0.6, "high"), process)), tail_days=200.0)
    after = replace(apply_change(base, load_change(change(tmp, 0.05, "low"), process)), tail_days=60.0)
    a = synthesize(before, cases=300, seed=1, start="2024-01-01")
    b = synthesize(after, cases=300, seed=2, start="2024-11-01")
    a["case_id"] = "A" + a["case_id"]
    b["case_id"] = "B" + b["case_id"]
    end = b["timestamp"].max()
    log = pd.concat([a[a["timestamp"] <= end], b], ignore_index=True)
    path = tmp / "log.csv"
    log.to_csv(path, index=False)
    return path, change(tmp, 0.05, "matching")


def test_the_matching_change_reproduces_the_after_period_and_no_change_does_not(two_periods) -> None:  # type: ignore[no-untyped-def]
    log, matching = two_periods
    process = load_process(LEGAL)
    events = pd.read_csv(log, parse_dates=["timestamp"])
    with_change = backtest(process, events, "2024-11-01", changes=[load_change(matching, process)], runs=200)
    without = backtest(process, events, "2024-11-01", runs=200)
    row = {(r.target, r.measure): r for r in with_change.rows}[("legal_turnaround", "met_rate")]
    assert row.inside, row
    row = {(r.target, r.measure): r for r in without.rows}[("legal_turnaround", "met_rate")]
    assert row.inside is False, row
    assert with_change.emd_target_days["legal_turnaround"] < without.emd_target_days["legal_turnaround"]
    assert with_change.cases_after == 300 and with_change.cases_before >= 290


def test_the_cli_writes_the_backtest_under_its_key(two_periods, tmp_path: Path, runner) -> None:  # type: ignore[no-untyped-def]
    log, matching = two_periods
    out = tmp_path / "bt.json"
    result = runner.invoke(cli, ["simulate", str(LEGAL), str(log), "--holdout", "2024-11-01", "--change",
                                 str(matching), "--runs", "100", "-o", str(out)])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "Back-test" in result.output and "Earth mover's distance" in result.output
    doc = json.loads(out.read_text(encoding="utf-8"))["backtest"]
    assert doc["holdout"] == "2024-11-01" and doc["changes"] == ["Fewer requests"]
    assert {"target", "measure", "observed", "simulated", "ci", "inside"} <= set(doc["targets"][0])
    assert doc["emd_case_days"] is not None


def test_a_holdout_with_too_few_cases_on_a_side_says_so() -> None:
    process = load_process(LEGAL)
    events = pd.read_csv(ROOT / "examples" / "data" / "legal-advice-tracker.csv")
    with pytest.raises(FlowmapError, match=r"leaves \d+ cases before it and \d+ on or after it; a back-test needs"):
        backtest(process, events, "2025-10-01", runs=10)
