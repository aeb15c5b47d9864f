"""Forecasts for open cases: calibrated against outcomes hidden from them."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import binomtest

from flowmap.analysis.metrics import target_table
from flowmap.analysis.replay import replay
from flowmap.cli.main import cli
from flowmap.errors import FlowmapError
from flowmap.files.process import load_process
from flowmap.simulation.forecast import FORECAST_COLUMNS, forecast
from flowmap.simulation.simulate import model_from_process, synthesize

from .conftest import PROCESSES, ROOT

LEGAL = PROCESSES / "legal-advice.yaml"


@pytest.fixture(scope="module")
def cut_log() -> tuple[pd.DataFrame, pd.Timestamp]:
    process = load_process(LEGAL)
    model = replace(model_from_process(process), arrivals_per_day=3.0, tail_days=250.0)
    log = synthesize(model, cases=900, seed=11, start="2024-01-01")
    return log, pd.Timestamp("2024-07-01")


def test_forecasts_are_calibrated_and_beat_the_overall_rate(cut_log) -> None:  # type: ignore[no-untyped-def]
    log, cut = cut_log
    process = load_process(LEGAL)
    seen = replay(process, log, as_of=cut)  # later events hidden
    fc = forecast(seen, runs=300, seed=3)
    assert list(fc.table.columns) == FORECAST_COLUMNS
    truth = replay(process, log).spans
    truth = truth.assign(case_id=truth["case_id"].astype(str))
    outcome = truth.set_index(["case_id", "target"])["status"].astype(str)
    rows = fc.table.assign(status=[outcome.get((c, t), "") for c, t in zip(fc.table["case_id"], fc.table["target"],
                                                                              strict=True)])  # fmt: skip
    judged = rows[rows["status"].isin(["met", "missed", "overdue"])]
    assert len(judged) >= 60, len(judged)
    for t, g in judged.groupby("target"):
        y = (g["status"] == "met").to_numpy()
        ci = binomtest(int(y.sum()), len(y)).proportion_ci(0.95)
        assert ci.low <= g["p_met"].mean() <= ci.high, (t, g["p_met"].mean(), y.mean(), ci)
    y = (judged["status"] == "met").to_numpy(dtype=float)
    p = judged["p_met"].to_numpy(dtype=float)
    overall = target_table(seen).set_index("target")["met_rate"]
    constant = judged["target"].map(overall).to_numpy(dtype=float)
    brier, brier_constant = np.mean((p - y) ** 2), np.mean((constant - y) ** 2)
    assert brier < brier_constant, (brier, brier_constant)


def test_a_forecast_with_no_open_cases_says_so() -> None:
    process = load_process(LEGAL)
    names = model_from_process(process).events
    steps = ["need_identified", "referral_prep", "bundle_sent", "allocated", "advice_issued", "advice_considered"]
    log = pd.DataFrame({"case_id": ["a"] * 6, "event": [names[s] for s in steps],
                        "timestamp": pd.date_range("2025-01-06", periods=6, freq="D")})  # fmt: skip
    with pytest.raises(FlowmapError, match="no open cases as of 2025-01-11"):
        forecast(replay(process, log))


def test_the_forecast_command_writes_its_columns_and_says_what_is_at_risk(tmp_path: Path, runner) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "f.csv"
    result = runner.invoke(cli, ["forecast", str(PROCESSES / "permanence-order.yaml"),
                                 str(ROOT / "examples" / "data" / "permanence-events.csv"), "--runs", "200",
                                 "-o", str(out), "--pseudonymise", "k"])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "Of the 2 open cases on Panel within 12 weeks of the recommendation, about 2" in result.output
    assert "Most at risk" in result.output
    table = pd.read_csv(out)
    assert list(table.columns) == FORECAST_COLUMNS
    assert table["case_id"].str.startswith("P-").all() and "PO-0" not in result.output
    assert ((table["p_met"] >= 0) & (table["p_met"] <= 1)).all()


def test_the_report_has_a_forecast_section(tmp_path: Path, runner) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "r.html"
    events = ROOT / "examples" / "data" / "permanence-events.csv"
    result = runner.invoke(cli, ["report", str(PROCESSES / "permanence-order.yaml"), str(events), "-o", str(out)])
    assert result.exit_code == 0, result.output
    part = out.read_text(encoding="utf-8").split('<section id="forecast">', 1)[1].split("</section>", 1)[0]
    assert "Of the 2 open cases on Panel within 12 weeks of the recommendation" in part
    assert "<th>p_met</th>" in part and "PO-042" in part
