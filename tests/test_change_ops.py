"""Changes that match how services work: schedules, priority, and what capacity does to the queue."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from flowmap.cli.main import cli
from flowmap.errors import ChangeError, FlowmapError
from flowmap.files.process import parse_process
from flowmap.simulation.change import parse_change
from flowmap.simulation.model import Duration
from flowmap.simulation.simulate import apply_change, model_from_process, simulate, synthesize

PANEL = parse_process(
    "flowmap: 1\nid: p\ntitle: Panel\nlanes: [Social Work, Panel]\nsteps:\n"
    "  - {id: report, lane: Social Work, start: true, typical: 10}\n"
    "  - {id: panel, lane: Panel, typical: 1}\n  - {id: decided, lane: Panel, end: true}\n"
    "transitions: [report -> panel, panel -> decided]\n"
)
SCHEDULE = "flowmap-change: 1\nname: Panel every 4 weeks\nchanges:\n" \
           "  - set_schedule: {{step: panel, every: {every}, on: {on}, from: 2025-01-09}}\n"  # fmt: skip


@pytest.mark.parametrize("capacity", [False, True])
def test_a_scheduled_step_finishes_only_on_its_dates(capacity: bool) -> None:
    change = parse_change(SCHEDULE.format(every="4 weeks", on="Thursday"), PANEL)
    model = apply_change(replace(model_from_process(PANEL), origin=pd.Timestamp("2025-01-06").date()), change)
    if capacity:
        model = replace(model, capacity={"Social Work": 3})
        from flowmap.simulation.engines import discrete_events

        w = discrete_events(model, 200, np.random.default_rng(1))
    else:
        from flowmap.simulation.engines import walk

        w = walk(model, 200, np.random.default_rng(1))
    decided = w.trace.time[w.trace.step == model.steps.index("decided")]
    dates = np.datetime64("2025-01-06") + decided.astype(np.int64).astype("m8[D]")
    since = (dates - np.datetime64("2025-01-09")).astype(np.int64)
    assert len(dates) == 200 and (since >= 0).all() and (since % 28 == 0).all()  # Thursdays, four weeks apart


def test_a_synthetic_log_waits_for_the_panel(tmp_path: Path) -> None:
    change = parse_change(SCHEDULE.format(every="2 weeks", on="thursday"), PANEL)
    log = synthesize(apply_change(model_from_process(PANEL), change), cases=50, seed=2, start="2025-01-06")
    decided = pd.to_datetime(log.loc[log["event"] == "decided", "timestamp"])
    assert (decided.dt.day_of_week == 3).all()


@pytest.mark.parametrize(("every", "on", "message"), [
    ("0 weeks", "Thursday", "would schedule nothing"),
    ("fortnightly", "Thursday", "is not a period: write it as N weeks or N days"),
    ("4 weeks", "Funday", "'Funday' is not a day of the week; did you mean 'sunday'?"),
])  # fmt: skip
def test_a_bad_schedule_says_what_is_wrong_and_where(every: str, on: str, message: str) -> None:
    with pytest.raises(ChangeError) as e:
        parse_change(SCHEDULE.format(every=every, on=on), PANEL, file="c.yaml")
    assert message in str(e.value) and "c.yaml:4:" in str(e.value)


def test_capacity_reports_utilisation_and_queue_length_as_queueing_theory_has_them() -> None:
    lam, mu = 0.5, 1.0  # M/M/1: utilisation rho = 0.5; mean queue length Lq = rho^2 / (1 - rho) = 0.5
    p = parse_process("flowmap: 1\nid: q\nlanes: [Desk]\nsteps:\n  - {id: served, lane: Desk, start: true}\n"
                      "  - {id: done, end: true}\ntransitions: [served -> done]\n")  # fmt: skip
    m = replace(model_from_process(p), durations={"served": Duration("exponential", mean=1 / mu)},
                arrivals_per_day=lam, capacity={"Desk": 1}, whole_days=False)  # fmt: skip
    res = simulate(m, runs=30, seed=4, cases=2000)
    figures = res.queues["baseline"]["Desk"]
    assert figures["utilisation"] == pytest.approx(0.5, abs=0.04)
    assert figures["mean_queue"] == pytest.approx(0.5, rel=0.2)
    assert res.as_dict()["queues"]["baseline"]["Desk"] == figures


def test_priority_needs_the_attribute_and_says_when_it_changes_nothing(tmp_path: Path, runner) -> None:  # type: ignore[no-untyped-def]
    process = tmp_path / "p.yaml"
    process.write_text("flowmap: 1\nid: p\ntitle: P\nlanes: [Team]\nsteps:\n"
                       "  - {id: waiting, lane: Team, start: true, typical: 5}\n  - {id: seen, end: true}\n"
                       "transitions: [waiting -> seen]\ntargets: [{id: t, from: waiting, to: seen, within: 7}]\n",
                       encoding="utf-8")  # fmt: skip
    rows = []
    for i in range(40):
        start = pd.Timestamp("2025-01-06") + pd.Timedelta(days=i)
        band = "0-5" if i % 3 == 0 else "6-17"
        rows += [(f"C{i}", "waiting", start, band), (f"C{i}", "seen", start + pd.Timedelta(days=3 + i % 7), band)]
    events = tmp_path / "e.csv"
    pd.DataFrame(rows, columns=["case_id", "event", "timestamp", "case:age_band"]).to_csv(events, index=False)
    ok = tmp_path / "ok.yaml"
    ok.write_text("flowmap-change: 1\nname: Youngest first\nchanges:\n"
                  "  - set_capacity: {lane: Team, servers: 1}\n"
                  "  - set_priority: {step: waiting, where: {column: age_band, equals: '0-5'}}\n",
                  encoding="utf-8")  # fmt: skip
    result = runner.invoke(cli, ["simulate", str(process), str(events), "-c", str(ok), "--runs", "20"])
    assert result.exit_code == 0, result.output
    assert "Capacity: how busy each lane's servers are" in result.output
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "flowmap-change: 1\nname: By team\nchanges:\n"
        "  - set_priority: {step: waiting, where: {column: team, equals: A}}\n",
        encoding="utf-8",
    )
    result = runner.invoke(cli, ["simulate", str(process), str(events), "-c", str(bad), "--runs", "20"])
    assert result.exit_code == 1 and "no case attribute 'team'" in result.output and "age_band" in result.output
    assert "Traceback" not in result.output
    alone = tmp_path / "alone.yaml"
    alone.write_text("flowmap-change: 1\nname: Youngest first\nchanges:\n"
                     "  - set_priority: {step: waiting, where: {column: age_band, equals: '0-5'}}\n",
                     encoding="utf-8")  # fmt: skip
    result = runner.invoke(cli, ["simulate", str(process), str(events), "-c", str(alone), "--runs", "20"])
    assert result.exit_code == 0 and "changes nothing without set_capacity" in result.output


def test_priority_without_the_attribute_in_the_model_is_a_clear_error() -> None:
    op = "set_priority: {step: panel, where: {column: age_band, equals: '0-5'}}"
    text = f"flowmap-change: 1\nname: X\nchanges:\n  - {op}\n"
    change = parse_change(text, PANEL)
    with pytest.raises(FlowmapError, match="needs the case attribute 'age_band'"):
        apply_change(model_from_process(PANEL), change)


def test_runs_zero_is_refused(runner) -> None:  # type: ignore[no-untyped-def]
    from .conftest import PROCESSES

    result = runner.invoke(cli, ["simulate", str(PROCESSES / "complaints.yaml"), "--runs", "0"])
    assert result.exit_code == 1 and "--runs must be at least 1" in result.output
