"""Rates per period and p-charts: hand-worked periods, the p-chart formula for unequal n, the backlog."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from flowmap.analysis.replay import replay
from flowmap.cli import cli
from flowmap.errors import ChartError
from flowmap.files.pdsa import parse_pdsa
from flowmap.files.process import parse_process
from flowmap.spc.charts import run_chart, target_series
from flowmap.spc.periods import p_chart, period_series

from .conftest import PROCESSES, ROOT

PROCESS = """\
flowmap: 1
id: p
title: Periods
steps:
  - {id: a, start: true}
  - {id: b, end: true}
transitions: [a -> b]
targets:
  - {id: ab, from: a, to: b, within: 10, aim: "80%"}
"""


def events(rows: list[tuple[str, str, str]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["case_id", "event", "timestamp"]).assign(
        timestamp=lambda f: pd.to_datetime(f["timestamp"])
    )


@pytest.fixture
def result():  # type: ignore[no-untyped-def]
    # Clocks stop: January 5 (4 days, met), January 30 (25 days, missed), February 12 (2 days, met),
    # April 20 (5 days, met); case 5 starts on 1 March and is still running on the as-of date, 10 May.
    return replay(parse_process(PROCESS), events([
        ("1", "a", "2025-01-01"), ("1", "b", "2025-01-05"),
        ("2", "a", "2025-01-05"), ("2", "b", "2025-01-30"),
        ("3", "a", "2025-02-10"), ("3", "b", "2025-02-12"),
        ("4", "a", "2025-04-15"), ("4", "b", "2025-04-20"),
        ("5", "a", "2025-03-01"),
    ]), as_of="2025-05-10")  # fmt: skip


def test_clocks_count_in_the_period_they_stopped_and_empty_periods_are_gaps(result) -> None:  # type: ignore[no-untyped-def]
    s = period_series(result, "ab", per="month", measure="met_rate")
    assert [d.isoformat() for d in s.dates] == ["2025-01-01", "2025-02-01", "2025-04-01"]  # March: a gap, not 0
    assert s.values == (0.5, 1.0, 1.0) and s.n == (2, 1, 1) and s.met == (1, 1, 1)
    assert s.target == 0.8 and s.is_rate
    med = period_series(result, "ab", per="month", measure="median_days")
    assert med.values == (14.5, 2.0, 5.0)
    quarters = period_series(result, "ab", per="quarter", measure="count")
    assert quarters.values == (3.0, 1.0) and [d.isoformat() for d in quarters.dates] == ["2025-01-01", "2025-04-01"]
    weeks = period_series(result, "ab", per="week", measure="count")
    assert weeks.dates[0].isoformat() == "2024-12-30"  # 5 January 2025 is a Sunday: its ISO week began on Monday


def test_overdue_is_the_backlog_at_each_period_end(result) -> None:  # type: ignore[no-untyped-def]
    s = period_series(result, "ab", per="month", measure="overdue")
    # Case 2 (from 5 January) is past 10 days at the end of January? No: it stopped on 30 January.
    # Case 5 starts on 1 March: running 30 days at the end of March, 60 at April's end, 70 at 10 May.
    assert [d.isoformat() for d in s.dates] == ["2025-01-01", "2025-02-01", "2025-03-01", "2025-04-01", "2025-05-01"]
    assert s.values == (0.0, 0.0, 1.0, 1.0, 1.0)


def test_p_chart_centre_and_limits_follow_the_formula_for_unequal_n(result) -> None:  # type: ignore[no-untyped-def]
    s = period_series(result, "ab", per="month")
    chart = p_chart(s, baseline=3)
    p_bar = 3 / 4
    assert chart.centre == pytest.approx(p_bar)
    for i, n in enumerate(s.n):
        sigma = math.sqrt(p_bar * (1 - p_bar) / n)
        assert chart.limit_lines["ucl"][i] == pytest.approx(min(1.0, p_bar + 3 * sigma))
        assert chart.limit_lines["lcl"][i] == pytest.approx(max(0.0, p_bar - 3 * sigma))
    doc = chart.signals()
    assert doc["kind"] == "p" and {"period", "n", "lower", "upper"} <= set(doc["points"][0])
    assert "Aim 80%: met in the last period (100% in the period from 2025-04-01)" in chart.reading()


def test_the_baseline_ends_at_the_first_cycle_about_this_target() -> None:
    p = parse_process(PROCESS.replace("targets:\n", "targets:\n  - {id: other, from: a, to: b, within: 99}\n"))
    rows = [(str(i), e, d) for i, day in enumerate(range(1, 29)) for e, d in
            (("a", f"2025-02-{day:02d}"), ("b", f"2025-03-{day:02d}"))]  # fmt: skip
    r = replay(p, events(rows))
    log = parse_pdsa("flowmap-pdsa: 1\ncycles:\n  - {id: C1, title: other only, start: 2025-03-10, targets: [other]}\n"
                     "  - {id: C2, title: ours, start: 2025-03-20, targets: [ab]}\n")  # fmt: skip
    chart = run_chart(target_series(r, "ab"), pdsa=log)
    stops = target_series(r, "ab").dates
    assert chart.baseline_n == sum(d.isoformat() < "2025-03-20" for d in stops)  # C1 does not touch 'ab'


def test_the_cli_draws_a_p_chart_and_refuses_what_cannot_be_charted(tmp_path: Path) -> None:
    legal = str(PROCESSES / "legal-advice.yaml")
    tracker = str(ROOT / "examples" / "data" / "legal-advice-tracker.csv")
    runner = CliRunner()
    sig = tmp_path / "s.json"
    pdsa = str(ROOT / "examples" / "pdsa-legal-advice.yaml")
    res = runner.invoke(cli, ["chart", legal, tracker, "--target", "legal_turnaround", "--per", "month", "--kind", "p",
                              "--pdsa", pdsa, "-o", str(tmp_path / "p.svg"), "--signals", str(sig)])  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "Aim 90%: not yet met" in res.stdout
    svg = (tmp_path / "p.svg").read_text(encoding="utf-8")
    assert "aim: 90%" in svg and "p-chart" in svg
    doc = json.loads(sig.read_text())
    n = np.array([pt["n"] for pt in doc["points"]])
    assert all(pt["lower"] <= doc["centre"] <= pt["upper"] for pt in doc["points"]) and n.sum() > 0
    nop = runner.invoke(cli, ["chart", legal, tracker, "--target", "legal_turnaround", "--kind", "p",
                              "-o", str(tmp_path / "x.svg")])  # fmt: skip
    assert nop.exit_code == 1 and "give --per" in nop.stderr
    few = runner.invoke(cli, ["chart", legal, tracker, "--target", "legal_turnaround", "--per", "quarter",
                              "--to", "2024-12-31", "-o", str(tmp_path / "y.svg")])  # fmt: skip
    assert few.exit_code == 1 and "needs at least 2" in few.stderr


def test_aims_read_as_shares_or_percentages() -> None:
    p = parse_process(PROCESS)
    assert p.target("ab").aim == 0.8
    with pytest.raises(Exception, match="aim must be a share between 0 and 1"):
        parse_process(PROCESS.replace('"80%"', "1.5"))
    with pytest.raises(ChartError, match="needs at least 2"):
        period_series(replay(p, events([("1", "a", "2025-01-01"), ("1", "b", "2025-01-02")])), "ab", per="month")
