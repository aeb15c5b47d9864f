"""Work in progress over time: the counts are replay's open counts at every period's end."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from flowmap.analysis.replay import replay
from flowmap.analysis.wip import WIP_COLUMNS, open_by_step, wip
from flowmap.cli.main import cli
from flowmap.errors import FlowmapError
from flowmap.events.read import read_events
from flowmap.files.process import load_process, parse_process

from .conftest import PROCESSES, ROOT

DATA = {
    "legal-advice": ROOT / "examples" / "data" / "legal-advice-tracker.csv",
    "permanence-order": ROOT / "examples" / "data" / "permanence-events.csv",
}


@pytest.mark.parametrize("name", sorted(DATA))
@pytest.mark.parametrize("per", ["week", "month"])
def test_every_period_matches_replay_as_of_its_last_day(name: str, per: str) -> None:
    process = load_process(PROCESSES / f"{name}.yaml")
    log = read_events(DATA[name], process=process)
    table = wip(replay(process, log), per=per)  # type: ignore[arg-type]
    assert table.columns.tolist() == WIP_COLUMNS
    for period, g in table.groupby("period"):
        truth = open_by_step(replay(process, log, as_of=pd.Timestamp(period)))
        got = {r.step: (r.open, r.over_target) for r in g.itertuples() if r.open}
        assert got == truth, period


def test_hand_worked_open_and_over_target_counts() -> None:
    p = parse_process("flowmap: 1\nid: h\ntitle: H\nsteps:\n  - {id: a, start: true, target: 3}\n  - {id: b}\n"
                      "  - {id: z, end: true}\ntransitions: [a -> b, b -> z]\n")  # fmt: skip
    # x: a on Mon 3 Mar, b on Fri 7 Mar, done Wed 12 Mar; y: a on Wed 5 Mar, still there
    when = pd.to_datetime(["2025-03-03", "2025-03-07", "2025-03-12", "2025-03-05"])
    log = pd.DataFrame({"case_id": ["x", "x", "x", "y"], "event": ["a", "b", "z", "a"], "timestamp": when})
    t = wip(replay(p, log, as_of="2025-03-16"), per="day").set_index(["period", "step"])

    def at(day: str, step: str) -> tuple[int, int]:
        row = t.loc[(pd.Timestamp(day).date(), step)]
        return int(row["open"]), int(row["over_target"])

    assert at("2025-03-03", "a") == (1, 0)
    assert at("2025-03-06", "a") == (2, 0)  # x has had 3 days at a: not over 3
    assert at("2025-03-07", "a") == (1, 0)  # x moved to b that day
    assert at("2025-03-07", "b") == (1, 0)
    assert at("2025-03-09", "a") == (1, 1)  # y has had 4 days at a: over
    assert at("2025-03-12", "b") == (0, 0)  # x is done
    assert at("2025-03-16", "a") == (1, 1)


def test_the_wip_command_writes_a_chart_and_the_counts(tmp_path: Path, runner) -> None:  # type: ignore[no-untyped-def]
    args = ["wip", str(PROCESSES / "legal-advice.yaml"), str(DATA["legal-advice"])]
    svg = tmp_path / "w.svg"
    result = runner.invoke(cli, [*args, "--pdsa", str(ROOT / "examples" / "pdsa-legal-advice.yaml"), "-o", str(svg)])
    assert result.exit_code == 0, result.output
    text = svg.read_text(encoding="utf-8")
    assert "work in progress by step" in text and "PDSA-1" in text and "over the step" in text
    again = tmp_path / "w2.svg"
    runner.invoke(cli, [*args, "--pdsa", str(ROOT / "examples" / "pdsa-legal-advice.yaml"), "-o", str(again)])
    assert again.read_bytes() == svg.read_bytes()  # the same bytes each time
    csv = tmp_path / "w.csv"
    assert runner.invoke(cli, [*args, "--per", "month", "-o", str(csv)]).exit_code == 0
    assert pd.read_csv(csv).columns.tolist() == WIP_COLUMNS
    bad = runner.invoke(cli, [*args, "-o", str(tmp_path / "w.gif")])
    assert bad.exit_code != 0 and "use .svg, .png, .pdf, .csv, .json or .xlsx" in bad.output


def test_a_window_with_no_events_says_so() -> None:
    p = load_process(PROCESSES / "legal-advice.yaml")
    empty = replay(p, read_events(DATA["legal-advice"], process=p), since="2030-01-01")
    with pytest.raises(FlowmapError, match="no events in the window"):
        wip(empty)


def test_the_report_carries_the_wip_chart_and_the_top_paths(tmp_path: Path, runner) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "r.html"
    result = runner.invoke(cli, ["report", str(PROCESSES / "legal-advice.yaml"), str(DATA["legal-advice"]),
                                 "-o", str(out)])  # fmt: skip
    assert result.exit_code == 0, result.output
    part = out.read_text(encoding="utf-8").split('<section id="flow">', 1)[1].split("</section>", 1)[0]
    assert "<svg" in part and "work in progress by step" in part
    assert "The 4 most common of 4 paths" in part and ">27</td>" in part and ">68%</td>" in part
