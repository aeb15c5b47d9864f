"""PDSA predictions scored against what happened: hand-worked verdicts and the bad inputs."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from flowmap.analysis.replay import replay
from flowmap.cli import cli
from flowmap.errors import FlowmapError, SpecError
from flowmap.files.pdsa import parse_pdsa
from flowmap.files.process import parse_process
from flowmap.spc.predictions import PREDICTION_COLUMNS, score_predictions

from .conftest import PROCESSES, ROOT

PROCESS = """\
flowmap: 1
id: p
title: Predictions
steps:
  - {id: a, start: true}
  - {id: b, end: true}
transitions: [a -> b]
targets:
  - {id: ab, from: a, to: b, within: 5}
"""


@pytest.fixture
def result():  # type: ignore[no-untyped-def]
    # Six clocks start in March (cycle C): 4 met (2, 3, 4, 5 days), 2 missed (8, 9 days). One in January.
    rows = [("0", "a", "2025-01-02"), ("0", "b", "2025-01-20")]
    for i, days in enumerate([2, 3, 4, 5, 8, 9], start=1):
        start = pd.Timestamp("2025-03-03") + pd.Timedelta(days=i)
        rows += [(str(i), "a", str(start.date())), (str(i), "b", str((start + pd.Timedelta(days=days)).date()))]
    frame = pd.DataFrame(rows, columns=["case_id", "event", "timestamp"])
    return replay(parse_process(PROCESS), frame.assign(timestamp=pd.to_datetime(frame["timestamp"])))


def log(predictions: str) -> object:
    return parse_pdsa(f"flowmap-pdsa: 1\ncycles:\n  - id: C\n    title: t\n    start: 2025-03-01\n    end: 2025-03-31\n"
                      f"    predictions:\n{predictions}")  # fmt: skip


def test_verdicts_on_clocks_that_started_in_the_cycle(result) -> None:  # type: ignore[no-untyped-def]
    scores = score_predictions(result, log(  # type: ignore[arg-type]
        "      - {target: ab, measure: met_rate, between: [0.5, 0.8]}\n"  # 4/6 = 67%: inside
        "      - {target: ab, measure: met_rate, value: 0.95}\n"  # 95% is outside Wilson(4, 6)
        "      - {target: ab, measure: met_rate, between: [0.1, 0.3]}\n"  # 67% is above: better
        "      - {target: ab, measure: median_days, between: [1, 3]}\n"  # median 4.5 is above: worse
    ))  # fmt: skip
    assert [s.n for s in scores] == [6, 6, 6, 6]  # the January clock is not in the cycle
    assert scores[0].observed == pytest.approx(4 / 6) and scores[0].verdict == "as predicted"
    assert scores[1].verdict == "worse than predicted"
    assert scores[2].verdict == "better than predicted"
    assert scores[3].observed == 4.5 and scores[3].verdict == "worse than predicted"
    assert scores[0].observed_low < scores[0].observed < scores[0].observed_high  # type: ignore[operator]


def test_too_early_to_tell_below_five(result) -> None:  # type: ignore[no-untyped-def]
    early = parse_pdsa("flowmap-pdsa: 1\ncycles:\n  - {id: C, title: t, start: 2025-03-07, end: 2025-03-31,\n"
                       "     predictions: [{target: ab, measure: met_rate, value: 0.5}]}\n")  # fmt: skip
    (score,) = score_predictions(result, early)
    assert score.n == 3 and score.verdict == "too early to tell"


def test_bad_predictions_are_refused_with_their_place(result) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(FlowmapError, match=r"predicts 'abc', which is not a span target.*did you mean 'ab'"):
        score_predictions(result, log("      - {target: abc, measure: met_rate, value: 0.5}\n"))  # type: ignore[arg-type]
    with pytest.raises(SpecError, match="'between' goes from low to high"):
        log("      - {target: ab, measure: met_rate, between: [0.8, 0.5]}\n")
    with pytest.raises(SpecError, match="measure"):
        log("      - {target: ab, measure: p90_days, value: 3}\n")
    with pytest.raises(SpecError, match="needs 'value', 'between' or both"):
        log("      - {target: ab, measure: met_rate}\n")


def test_the_cli_scores_the_example_log_and_simulate_writes_a_block(tmp_path: Path) -> None:
    legal = str(PROCESSES / "legal-advice.yaml")
    tracker = str(ROOT / "examples" / "data" / "legal-advice-tracker.csv")
    out = tmp_path / "p.csv"
    res = CliRunner().invoke(cli, ["pdsa", legal, tracker, "--pdsa", str(ROOT / "examples" / "pdsa-legal-advice.yaml"),
                                   "-o", str(out)])  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "PDSA-2, referral_ready met rate: predicted 70%; observed 62%" in res.stdout
    assert out.read_text().splitlines()[0] == ",".join(PREDICTION_COLUMNS)
    sim = CliRunner().invoke(cli, ["simulate", legal, tracker, "--change", str(PROCESSES / "changes" /
                                   "referral-form.yaml"), "--runs", "30", "--as-prediction"])  # fmt: skip
    assert sim.exit_code == 0, sim.output
    block = sim.stdout.split("predictions:\n", 1)[1]
    assert "  - {target: legal_turnaround, measure: met_rate, value: " in block
    doc = parse_pdsa("flowmap-pdsa: 1\ncycles:\n  - id: X\n    title: t\n    start: 2025-01-01\n    predictions:\n"
                     + "".join("    " + line + "\n" for line in block.splitlines() if line.strip()))  # fmt: skip
    assert len(doc.cycles[0].predictions) == 6  # the block pastes into a log as it is
