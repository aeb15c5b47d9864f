"""compare: before against after, checked against hand counts and published values."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from flowmap.analysis.replay import replay
from flowmap.cli import cli
from flowmap.events.read import read_events
from flowmap.files.process import load_process
from flowmap.spc.compare import COMPARE_COLUMNS, Comparison, MeasureChange, _rate, compare, newcombe, wilson

from .conftest import PROCESSES, ROOT

LEGAL = str(PROCESSES / "legal-advice.yaml")
TRACKER = str(ROOT / "examples" / "data" / "legal-advice-tracker.csv")
PDSA = str(ROOT / "examples" / "pdsa-legal-advice.yaml")


def test_newcombe_and_wilson_reproduce_the_published_worked_examples() -> None:
    # Newcombe (1998) Table II (a): 56/70 − 48/80, method 10: 0.0524 to 0.3339.
    lo, hi = newcombe(48, 80, 56, 70)
    assert (round(lo, 4), round(hi, 4)) == (0.0524, 0.3339)
    # Newcombe (1998) Table I: Wilson's interval for 81/263 is 0.2553 to 0.3662.
    assert tuple(round(v, 4) for v in wilson(81, 263)) == (0.2553, 0.3662)


def test_fisher_exact_on_the_lady_tasting_tea() -> None:
    # Fisher's own example: 3 of 4 right each way; two-sided p = 34/70 = 0.4857.
    change = _rate("target", "t", "t", "met_rate", 1, 4, 3, 4)
    assert change.p_value == pytest.approx(34 / 70, abs=1e-4)
    assert change.difference == 0.5 and change.counts == (1, 3)


def test_counts_agree_with_a_hand_count_of_the_spans(tmp_path: Path) -> None:
    p = load_process(LEGAL)
    result = replay(p, read_events(TRACKER, process=p))
    c = compare(result, "2025-06-02", seed=0)
    rows = c.table().set_index(["kind", "id", "measure"])
    spans = result.spans[result.spans["target"] == "legal_turnaround"]
    before = spans[spans["started"] < pd.Timestamp("2025-06-02")]
    after = spans[spans["started"] >= pd.Timestamp("2025-06-02")]
    judged = ["met", "missed", "overdue"]
    row = rows.loc[("target", "legal_turnaround", "met_rate")]
    assert (
        row["n_before"] == before["status"].isin(judged).sum() and row["n_after"] == after["status"].isin(judged).sum()
    )
    assert row["before"] == pytest.approx((before["status"] == "met").sum() / before["status"].isin(judged).sum())
    assert row["difference"] == pytest.approx(row["after"] - row["before"])
    assert row["ci_low"] < row["difference"] < row["ci_high"]
    med = rows.loc[("target", "legal_turnaround", "median_days")]
    done = before[before["status"].isin(["met", "missed"])]["days"]
    assert med["before"] == done.median() and med["n_before"] == len(done)
    assert list(c.table().columns) == COMPARE_COLUMNS
    again = compare(result, "2025-06-02", seed=0).table()
    pd.testing.assert_frame_equal(c.table(), again)  # the bootstrap is seeded: the same numbers every time


def test_the_cli_prints_sentences_and_writes_the_table(tmp_path: Path) -> None:
    out = tmp_path / "c.json"
    res = CliRunner().invoke(cli, ["compare", LEGAL, TRACKER, "--pdsa", PDSA, "--cycle", "PDSA-2", "-o", str(out)])
    assert res.exit_code == 0, res.output
    assert "Advice within 8 working days of a complete referral: met 23% before (5 of 22), 39% after (7 of 18)" in (
        res.stdout
    )
    assert "this could be chance" in res.stdout
    doc = json.loads(out.read_text())
    assert doc["split"] == "2025-06-02" and doc["cycle"] == "PDSA-2"
    assert doc["counts"]["target:legal_turnaround:met_rate"] == [5, 7]
    csv = tmp_path / "c.csv"
    assert CliRunner().invoke(cli, ["compare", LEGAL, TRACKER, "--split", "2025-06-02", "-o", str(csv)]).exit_code == 0
    assert csv.read_text().splitlines()[0] == ",".join(COMPARE_COLUMNS)


def test_too_few_to_judge_and_bad_input(tmp_path: Path) -> None:
    runner = CliRunner()
    few = runner.invoke(cli, ["compare", LEGAL, TRACKER, "--split", "2025-10-20"])
    assert few.exit_code == 0 and "the numbers are too small to judge" in few.stdout
    outside = runner.invoke(cli, ["compare", LEGAL, TRACKER, "--split", "2030-01-01"])
    assert outside.exit_code == 1 and "the data runs from 2024-11-13 to 2025-10-27" in outside.stderr
    nocycle = runner.invoke(cli, ["compare", LEGAL, TRACKER, "--pdsa", PDSA, "--cycle", "PDSA-9"])
    assert nocycle.exit_code == 1 and "cycles are: PDSA-1, PDSA-2" in nocycle.stderr
    both = runner.invoke(cli, ["compare", LEGAL, TRACKER, "--split", "2025-06-02", "--pdsa", PDSA, "--cycle", "PDSA-2"])
    assert both.exit_code == 1 and "give either --split DATE, or --pdsa FILE --cycle ID" in both.stderr


def _change(measure: str, low: float, high: float, n: int = 10) -> MeasureChange:
    return MeasureChange(
        kind="step", id="s", label="s", measure=measure,  # type: ignore[arg-type]
        before=1.0, after=2.0, difference=(low + high) / 2, ci_low=low, ci_high=high, p_value=0.5,
        n_before=n, n_after=n,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("changes", "verdict"),
    [
        ([("median_days", -5, -1), ("breach_rate", -0.2, 0.1)], "better"),  # fewer days, clearly
        ([("median_days", 1, 5), ("breach_rate", -0.2, 0.1)], "worse"),
        ([("median_days", -5, -1), ("breach_rate", 0.05, 0.3)], "mixed"),
        ([("median_days", -5, 1), ("breach_rate", -0.2, 0.1)], "no clear change"),
    ],
)
def test_a_steps_verdict_follows_its_intervals(changes: list[tuple[str, float, float]], verdict: str) -> None:
    comparison = Comparison(split=dt.date(2025, 1, 1), end=None, since=None, as_of=dt.date(2025, 6, 1),
                            changes=tuple(_change(m, lo, hi) for m, lo, hi in changes))  # fmt: skip
    got, lines = comparison.step_verdicts()["s"]
    assert got == verdict and lines == ["median 1 → 2", "over target 100% → 200%"]
    few = Comparison(split=dt.date(2025, 1, 1), end=None, since=None, as_of=dt.date(2025, 6, 1),
                     changes=(_change("median_days", -5, -1, n=4),))  # fmt: skip
    assert few.step_verdicts()["s"][0] == "too few"


def test_compare_map_colours_and_names_each_steps_direction(tmp_path: Path) -> None:
    out = tmp_path / "compare.svg"
    res = CliRunner().invoke(cli, ["compare", LEGAL, TRACKER, "--pdsa", PDSA, "--cycle", "PDSA-2", "--map", str(out)])
    assert res.exit_code == 0, res.output
    svg = out.read_text()
    # every step with figures carries its verdict in words, and the key explains them
    assert svg.count(">NO CLEAR CHANGE<") == 5 and svg.count(">TOO FEW<") == 1
    assert "median 3 → 3" in svg and "over target 52% → 65%" in svg
    assert "BETTER: an interval of the change excludes zero" in svg and "before 2025-06-02 against" in svg
    refused = CliRunner().invoke(cli, ["compare", LEGAL, TRACKER, "--split", "2025-06-02", "--by", "x", "--map",
                                       str(tmp_path / "m.svg")])  # fmt: skip
    assert refused.exit_code != 0 and "choose a group with --where" in refused.output
    assert not (tmp_path / "m.svg").exists()
