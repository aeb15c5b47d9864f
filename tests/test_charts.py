"""Run and XmR chart rules: hand-worked edge cases, and published reference values."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from flowmap.cli import cli
from flowmap.errors import ChartError, SpecError
from flowmap.files.pdsa import parse_pdsa
from flowmap.spc.charts import Series, anhoej_limits, read_series, run_chart, runs_limits, target_series, xmr_chart

from .conftest import PROCESSES, ROOT


def series(values: list[float], start: str = "2025-01-01") -> Series:
    d0 = dt.date.fromisoformat(start)
    return Series(dates=tuple(d0 + dt.timedelta(days=7 * i) for i in range(len(values))),
                  values=tuple(float(v) for v in values), labels=(None,) * len(values), name="test")  # fmt: skip


# --- reference values from outside the project ------------------------------------------

# R: set.seed(123); rnorm(20): the series NHSRplotthedots tests its limits on.
RNORM_123 = [-0.56047565, -0.23017749, 1.55870831, 0.07050839, 0.12928774, 1.71506499, 0.46091621, -1.26506123,
             -0.68685285, -0.44566197, 1.22408180, 0.35981383, 0.40077145, 0.11068272, -0.55584113, 1.78691314,
             0.49785048, -1.96661716, 0.70135590, -0.47279141]  # fmt: skip


def test_xmr_limits_match_nhsrplotthedots() -> None:
    # NHSRplotthedots tests/testthat/_snaps/ptd_spc_standard.md: mean 0.142, lpl -3.01, upl 3.29
    r = xmr_chart(series(RNORM_123), baseline=20, screen=True, floor_zero=False)
    assert round(r.centre, 3) == 0.142
    assert round(r.limits.lcl, 2) == -3.01
    assert round(r.limits.ucl, 2) == 3.29
    assert not r.rules.flagged()  # common cause throughout, as the package reports


def test_two_of_three_needs_the_same_side_as_nhsrplotthedots() -> None:
    # NHSRplotthedots tests/testthat/test-ptd_spc_standard.R: 1, -1 repeated 8 times, then points 15 and 16
    # (1-based) set to 5.5 and -5.5: two points near the limits on opposite sides are common cause.
    values = [1.0, -1.0] * 8
    values[14], values[15] = 5.5, -5.5
    r = xmr_chart(series(values), baseline=16, floor_zero=False)  # NHSRplotthedots' default: all points
    assert r.centre == 0
    assert r.limits.mr_bar == pytest.approx((13 * 2 + 6.5 + 11) / 15)
    assert values[14] > r.limits.upper_two_thirds and values[15] < r.limits.lower_two_thirds
    assert r.rules.two_of_three == [] and r.rules.outside == []


# Anhøj longest-run limits, log2(n) + 3 rounded (published table of critical values, n = 10..59).
LONGEST = {10: 6, 11: 6, 12: 7, 13: 7, 14: 7, 15: 7, 16: 7, 17: 7, 18: 7, 19: 7, 20: 7, 21: 7, 22: 7, 23: 8, 24: 8,
           25: 8, 26: 8, 27: 8, 28: 8, 29: 8, 30: 8, 35: 8, 40: 8, 45: 8, 46: 9, 50: 9, 59: 9}  # fmt: skip
# Anhøj & Olesen 2014, table 1: fewest crossings, qbinom(0.05, n - 1, 0.5).
CROSSINGS = {10: 2, 11: 2, 12: 3, 13: 3, 14: 4, 15: 4, 16: 4, 17: 5, 18: 5, 19: 6, 20: 6, 21: 6, 22: 7, 23: 7,
             24: 8, 25: 8, 26: 8, 27: 9, 28: 9, 29: 10, 30: 10}  # fmt: skip


@pytest.mark.parametrize("n", sorted(LONGEST))
def test_anhoej_longest_run_limits_match_the_published_table(n: int) -> None:
    assert anhoej_limits(n)[0] == LONGEST[n]


@pytest.mark.parametrize("n", sorted(CROSSINGS))
def test_anhoej_crossings_limits_match_the_published_table(n: int) -> None:
    assert anhoej_limits(n)[1] == CROSSINGS[n]


def test_runs_limits_are_exact_two_sided_five_percent() -> None:
    assert runs_limits(9) is None  # the rule needs 10 useful points
    assert runs_limits(10) == (3, 9)
    assert runs_limits(30) == (11, 21)
    lo, hi = runs_limits(24)  # type: ignore[misc]
    assert lo < 13 < hi  # the expected number of runs, n/2 + 1, lies inside


# --- hand-worked rules --------------------------------------------------------------------


def test_shift_points_on_the_median_neither_count_nor_break() -> None:
    # median of the 10-point baseline is 5; then 3 below, one ON the median, 3 below: a run of 6 below
    values = [2, 8, 3, 7, 4, 6, 5, 5, 1, 9, 3, 2, 1, 5, 4, 3, 2]
    r = run_chart(series(values), baseline=10)
    assert r.centre == 5
    assert r.rules.shift == [10, 11, 12, 14, 15, 16]  # index 13 (on the median) is not flagged
    assert 13 not in r.rules.shift
    five_only = run_chart(series([2, 8, 3, 7, 4, 6, 5, 5, 1, 9, 3, 2, 1, 4, 3]), baseline=10)
    assert five_only.rules.shift == []


def test_trend_skips_ties() -> None:
    r = run_chart(series([5, 1, 2, 2, 3, 4, 5, 5, 3]))
    assert r.rules.trend == [1, 2, 3, 4, 5, 6]  # 1,2,(2),3,4,5: five rising, the tie inside skipped
    assert run_chart(series([1, 2, 3, 4, 4, 3])).rules.trend == []


def test_runs_and_crossings_counted_without_median_points() -> None:
    values = [1, 9] * 6  # alternating: 12 useful points, 11 crossings, 12 runs
    r = run_chart(series(values))
    assert r.rules.runs.count == 12
    assert r.rules.anhoej.crossings == 11
    assert r.rules.runs.signal == "too many"
    few = run_chart(series([1] * 8 + [9] * 8))
    assert few.rules.runs.signal == "too few"
    assert few.rules.anhoej.signal is True


def test_all_equal_values_and_a_single_point() -> None:
    r = run_chart(series([4.0] * 12))
    assert r.rules.shift == [] and r.rules.runs.count == 0 and r.rules.anhoej.signal is False
    x = xmr_chart(series([4.0] * 12))
    assert x.limits.mr_bar == 0 and x.limits.ucl == 4 and not x.rules.flagged()
    one = run_chart(series([3.0]))
    assert one.centre == 3 and "10 or more are recommended" in one.reading()
    assert xmr_chart(series([3.0])).limits.ucl == 3


def test_astronomical_point() -> None:
    r = run_chart(series([10, 11, 9, 10, 12, 11, 10, 9, 11, 10, 80]), baseline=10)
    assert r.rules.astronomical == [10]


def test_xmr_rules_by_hand() -> None:
    base = [10, 12, 11, 9, 10, 11, 12, 10, 9, 11, 10, 11]
    r = xmr_chart(series([*base, 30]))
    mean = np.mean(base)
    mr = np.mean(np.abs(np.diff(base)))
    assert r.centre == pytest.approx(mean)
    assert r.limits.ucl == pytest.approx(mean + 2.66 * mr)
    assert r.rules.outside == [12]
    seven = xmr_chart(series([*base, 12, 12, 13, 12, 12, 13, 12]))
    assert seven.rules.seven_one_side == list(range(11, 19))  # index 11 (11 > mean 10.5) starts the run
    trend = xmr_chart(series([*base, 5, 6, 7, 8, 9, 10, 11]))
    assert trend.rules.seven_trend == list(range(12, 19))
    two3 = xmr_chart(series([*base, 13.2, 10, 13.3]))
    assert two3.rules.two_of_three == [12, 14]


def test_lower_limit_floored_at_zero_for_days() -> None:
    r = xmr_chart(series([1, 9, 1, 9, 1, 9, 1, 9, 1, 9, 1, 9]))
    assert r.limits.lcl == 0.0


PDSA = """flowmap-pdsa: 1
cycles:
  - {id: PDSA-1, title: Form, start: 2025-03-05}
  - {id: PDSA-2, title: Later, start: 2027-01-01}
"""


def test_pdsa_sets_the_baseline_and_marks_cycles() -> None:
    log = parse_pdsa(PDSA)
    r = run_chart(series([5] * 20), pdsa=log)
    marks = {m.id: m for m in r.pdsa}
    assert marks["PDSA-1"].index == 9  # 2025-01-01 + 9 weeks is 5 March: the first point on or after it
    assert r.baseline_n == 9
    assert marks["PDSA-2"].index is None
    assert any("PDSA-2 starts (2027-01-01) after the last point" in w for w in r.warnings)


def test_xmr_rebase_at_a_pdsa() -> None:
    log = parse_pdsa(PDSA)
    r = xmr_chart(series([20.0 + (i % 3) for i in range(9)] + [5.0 + (i % 3) for i in range(10)]), pdsa=log,
                  rebase=("PDSA-1",))  # fmt: skip
    assert r.centre_line[0] == pytest.approx(21.0)
    assert r.centre_line[15] == pytest.approx(np.mean([5.0 + (i % 3) for i in range(10)]))
    assert len(r.limits.segments) == 2
    with pytest.raises(ChartError, match="--rebase names 'PDSA-9'"):
        xmr_chart(series([1.0] * 5), pdsa=log, rebase=("PDSA-9",))


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("flowmap-pdsa: 1\ncycles:\n  - {id: P1, title: x, start: 2025-13-01}\n", "cannot read value"),
        ("flowmap-pdsa: 1\ncycles:\n  - {id: P1, title: x, start: 2025-03-01, end: 2025-02-01}\n", "before 'start'"),
        (
            "flowmap-pdsa: 1\ncycles:\n  - {id: P1, title: x, start: 2025-03-01}\n  - {id: P1, title: y, "
            "start: 2025-04-01}\n",
            "duplicate cycle id 'P1'",
        ),
        ("flowmap-pdsa: 1\ncycles:\n  - {id: P1, titel: x, start: 2025-03-01}\n", "did you mean 'title'"),
    ],
)
def test_bad_pdsa_logs_are_located(text: str, fragment: str) -> None:
    with pytest.raises(SpecError) as info:
        parse_pdsa(text, file="p.yaml")
    assert any(fragment in str(p) and str(p).startswith("p.yaml:") for p in info.value.problems), info.value


def test_series_file_errors_and_duplicates(tmp_path: Path) -> None:
    good = tmp_path / "s.csv"
    good.write_text("date,days\n2025-01-08,3\n03/01/2025,4\n2025-01-08,5\n")
    s = read_series(good)
    assert s.dates[0] == dt.date(2025, 1, 3) and s.values == (4.0, 3.0, 5.0)  # equal dates keep file order
    bad = tmp_path / "b.csv"
    bad.write_text("date,value\n,3\n2025-01-01,lots\n")
    with pytest.raises(ChartError, match=r"b\.csv:2: cannot read the date ''"):
        read_series(bad)


def test_target_series_lists_open_overdue_cases_apart() -> None:
    from flowmap import load_process, read_events, replay

    p = load_process(PROCESSES / "legal-advice.yaml")
    r = replay(p, read_events(ROOT / "examples" / "data" / "legal-advice-tracker.csv", process=p))
    s = target_series(r, "legal_turnaround")
    assert len(s.values) == 39 and s.target == 8 and len(s.open_values) == 1
    with pytest.raises(ChartError, match="its targets are: referral_ready, legal_turnaround"):
        target_series(r, "nope")


def test_chart_cli_signals_shape(tmp_path: Path) -> None:
    out = tmp_path / "sig.json"
    res = CliRunner().invoke(cli, ["chart", str(PROCESSES / "legal-advice.yaml"),
                                   str(ROOT / "examples" / "data" / "legal-advice-tracker.csv"), "--target",
                                   "legal_turnaround", "--pdsa", str(ROOT / "examples" / "pdsa-legal-advice.yaml"),
                                   "-o", str(tmp_path / "c.svg"), "--signals", str(out)])  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "points of Advice within 8 working days" in res.stdout
    doc = json.loads(out.read_text())
    assert (doc["flowmap"], doc["kind"], doc["n"]) == ("chart/1", "run", 39)
    assert {"shift", "trend", "astronomical", "runs", "anhoej"} <= set(doc["rules"])
    assert {"count", "lower", "upper", "signal"} <= set(doc["rules"]["runs"])
    assert doc["pdsa"][0]["id"] == "PDSA-1" and doc["pdsa"][0]["index"] == doc["baseline_n"]
    assert doc["points"][0]["case_id"] == "Child 1"
    xmr = CliRunner().invoke(cli, ["chart", "--series", str(_series_file(tmp_path)), "--kind", "xmr", "-o",
                                   str(tmp_path / "x.png"), "--signals", str(out)])  # fmt: skip
    assert xmr.exit_code == 0, xmr.output
    doc = json.loads(out.read_text())
    assert {"ucl", "lcl", "upper_two_thirds", "lower_two_thirds", "mr_bar"} <= set(doc["limits"])
    assert {"outside", "seven_one_side", "seven_trend", "two_of_three"} <= set(doc["rules"])
    bad = CliRunner().invoke(cli, ["chart", str(PROCESSES / "legal-advice.yaml"),
                                   str(ROOT / "examples" / "data" / "legal-advice-tracker.csv"), "--target", "nope",
                                   "-o", str(tmp_path / "c.svg")])  # fmt: skip
    assert bad.exit_code == 1 and "its targets are" in bad.stderr


def test_chart_svg_is_deterministic(tmp_path: Path) -> None:
    from flowmap.spc.charts import chart_figure

    r = run_chart(series(RNORM_123))
    assert chart_figure(r, fmt="svg") == chart_figure(r, fmt="svg")


def _series_file(tmp_path: Path) -> Path:
    p = tmp_path / "series.csv"
    p.write_text("date,value\n" + "".join(f"2025-01-{i + 1:02d},{v}\n" for i, v in enumerate(RNORM_123)))
    return p
