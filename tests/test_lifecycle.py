"""Start and complete events made into intervals: waiting and working time (docs/events.md, "Start and complete")."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from flowmap.analysis.discover import draft
from flowmap.analysis.metrics import drift
from flowmap.analysis.replay import replay
from flowmap.cli import cli
from flowmap.events.read import read_events
from flowmap.files.process import parse_process

from .conftest import LOGS

INTERVALS = LOGS / "interval_event_log.csv"

PROCESS = parse_process("""
flowmap: 1
id: offers
title: Offers
steps:
  - {id: submit, events: [A_SUBMITTED], start: true}
  - {id: check, events: [W_Check]}
  - {id: offer, events: [O_SENT]}
  - {id: decide, events: [A_DECIDED], end: true}
transitions: [submit -> check, check -> offer, offer -> decide]
""")


def bpic_style() -> pd.DataFrame:
    """BPIC 2012's shape: a task's START and COMPLETE with another event between them, a SCHEDULE before."""
    rows = [
        ("1", "A_SUBMITTED", "complete", "2024-01-01T09:00:00+01:00"),
        ("1", "W_Check", "SCHEDULE", "2024-01-01T09:30:00+01:00"),
        ("1", "W_Check", "START", "2024-01-02T09:00:00+01:00"),
        ("1", "O_SENT", "COMPLETE", "2024-01-02T10:00:00+01:00"),  # falls inside the check's work
        ("1", "W_Check", "COMPLETE", "2024-01-02T12:00:00+01:00"),
        ("1", "A_DECIDED", "complete", "2024-01-04T12:00:00+01:00"),
        ("2", "A_SUBMITTED", "complete", "2024-01-03T09:00:00+01:00"),
        ("2", "W_Check", "START", "2024-01-03T15:00:00+01:00"),
    ]
    return pd.DataFrame(rows, columns=["case:concept:name", "concept:name", "lifecycle:transition", "time:timestamp"])


def test_a_start_and_its_complete_are_one_visit_whatever_falls_between() -> None:
    log = read_events(bpic_style())
    result = replay(PROCESS, log, as_of="2024-01-05")
    v = result.visits_table()
    case1 = v[v["case_id"] == "1"]
    # Ordered by start: the check began before the offer was sent, so the path is not split into check>offer>check
    assert case1["step"].astype(str).tolist() == ["submit", "check", "offer", "decide"]
    check = case1[case1["step"] == "check"].iloc[0]
    assert check["entered"] == pd.Timestamp("2024-01-01 08:00")  # when the submission completed (London time)
    assert check["waiting_days"] == pytest.approx(1.0)  # until the work started, a day later
    assert check["working_days"] == pytest.approx(3 / 24)  # 09:00 to 12:00
    assert check["days"] == pytest.approx(check["waiting_days"] + check["working_days"])
    # The case is at the check, in progress: working runs to the as-of date
    case2 = v[v["case_id"] == "2"].iloc[-1]
    assert case2["step"] == "check" and pd.isna(case2["left"])
    assert case2["working_days"] == pytest.approx(34 / 24)  # 15:00 CET is 14:00 in London; to the as-of date
    assert result.cases.set_index("case_id").loc["2", "status"] == "open"
    notes = " ".join(log.ledger.notes)
    assert "1 start/complete pair made into intervals" in notes
    assert "1 start with no complete: kept as work in progress" in notes
    assert "schedule transitions (1) do not move a case" in notes
    assert log.events["schedule_timestamp"].notna().sum() == 1


def test_interval_log_visits_split_into_waiting_and_working_as_the_raw_file_says() -> None:
    log = read_events(INTERVALS)
    result = replay(parse_process(draft(log).text), log)
    v = result.visits
    assert result.intervals and result.deviations.empty
    assert np.allclose(v["waiting_days"] + v["working_days"], v["days"], equal_nan=True)
    # An independent reading of the file: each single-instance visit works from its start to its completion.
    raw = pd.read_csv(INTERVALS)
    raw["work"] = (pd.to_datetime(raw["time:timestamp"]) - pd.to_datetime(raw["start_timestamp"])).dt.total_seconds()
    key = raw.groupby(["case:concept:name", "concept:name"]).filter(lambda g: len(g) == 1)
    expected = {(c, a.replace(" ", "_")): w / 86400 for c, a, w in
                zip(key["case:concept:name"], key["concept:name"], key["work"], strict=True)}  # fmt: skip
    # Work that began before the case arrived (it overlaps the step before) counts from the arrival, so the
    # check takes the visits that waited first: their work ran from its start.
    waited = v["waiting_days"].to_numpy() > 1e-9
    got = {(str(c), str(s)): w for c, s, w in zip(v["case_id"][waited], v["step"][waited], v["working_days"][waited],
                                                   strict=True)}  # fmt: skip
    checked = [k for k in expected if k in got]
    assert len(checked) > 2000
    for k in checked:
        assert got[k] == pytest.approx(expected[k], abs=1e-9), k


def test_drift_and_the_map_show_both_parts(tmp_path: Path) -> None:
    log = read_events(INTERVALS)
    process = parse_process(draft(log).text)
    steps = drift(replay(process, log)).steps.set_index("step")
    assert {"median_waiting_days", "median_working_days"} <= set(steps.columns)
    assert steps.loc["send_reminder", "median_working_days"] > 1  # reminders repeat over days
    draft_path = tmp_path / "p.yaml"
    draft_path.write_text(draft(log).text)
    for part in ("waiting", "working", "total"):
        r = CliRunner().invoke(cli, ["map", str(draft_path), str(INTERVALS), "--metric", "time", "--time", part,
                                     "-o", str(tmp_path / f"{part}.svg")])  # fmt: skip
        assert r.exit_code == 0, r.output
    assert "waiting time" in (tmp_path / "waiting.svg").read_text()
    plain = LOGS / "running-example.xes"
    p2 = tmp_path / "p2.yaml"
    p2.write_text(draft(read_events(plain)).text)
    r = CliRunner().invoke(cli, ["map", str(p2), str(plain), "--metric", "time", "--time", "working", "-o",
                                 str(tmp_path / "x.svg")])  # fmt: skip
    assert r.exit_code == 1 and "needs start and complete times" in r.output and "Traceback" not in r.output


def test_replay_visits_carry_waiting_and_working(tmp_path: Path) -> None:
    p = tmp_path / "p.yaml"
    p.write_text(draft(read_events(INTERVALS)).text)
    out = tmp_path / "v.csv"
    r = CliRunner().invoke(cli, ["replay", str(p), str(INTERVALS), "--visits", str(out)])
    assert r.exit_code == 0, r.output
    header = out.read_text().splitlines()[0].split(",")
    assert header[header.index("days") + 1 : header.index("days") + 3] == ["waiting_days", "working_days"]


def test_lifecycle_complete_keeps_only_completes_as_pm4py_does() -> None:
    log = read_events(bpic_style(), lifecycle="complete")
    assert log.events["event"].astype(str).tolist().count("W_Check") == 1
    assert len(log.events) == 5
    reasons = {s.reason: s.count for s in log.ledger.set_aside}
    assert reasons == {"lifecycle_left_out": 3}
    assert "working_days" not in replay(PROCESS, log).visits


def test_an_unknown_lifecycle_value_is_set_aside_with_its_cell(tmp_path: Path) -> None:
    frame = bpic_style()
    frame.loc[1, "lifecycle:transition"] = "parked"
    path = tmp_path / "l.csv"
    frame.to_csv(path, index=False)
    log = read_events(path)
    bad = [s for s in log.ledger.set_aside if s.reason == "unknown_lifecycle"]
    assert len(bad) == 1 and bad[0].rows.tolist() == [3] and bad[0].values.tolist() == ["parked"]
    r = CliRunner().invoke(cli, ["check", str(path)])
    assert "lifecycle transition not in the XES standard" in r.output and "Traceback" not in r.output


def test_a_complete_with_no_start_is_kept_with_working_time_unknown() -> None:
    frame = bpic_style().drop(index=2)  # the check's START is gone
    log = read_events(frame)
    assert "1 complete with no start: kept, with their working time unknown" in " ".join(log.ledger.notes)
    v = replay(PROCESS, log, as_of="2024-01-05").visits_table()
    check = v[(v["case_id"] == "1") & (v["step"] == "check")].iloc[0]
    assert np.isnan(check["working_days"]) and check["days"] > 0


def test_start_column_options_name_the_columns(tmp_path: Path) -> None:
    raw = pd.read_csv(INTERVALS).rename(columns={"start_timestamp": "began", "time:timestamp": "ended"})
    path = tmp_path / "renamed.csv"
    raw.to_csv(path, index=False)
    assert "start_timestamp" not in read_events(path, time_col="ended").events
    log = read_events(path, time_col="ended", start_col="began")
    assert "start_timestamp" in log.events
    with pytest.raises(Exception, match="--start-col names a column 'begun' that does not exist"):
        read_events(path, time_col="ended", start_col="begun")


@pytest.mark.parametrize("suffix", [".xes", ".csv", ".parquet"])
def test_an_interval_log_exports_and_reads_back_as_the_same_instances(suffix: str, tmp_path: Path) -> None:
    out = tmp_path / f"out{suffix}"
    r = CliRunner().invoke(cli, ["export", str(INTERVALS), "-o", str(out)])
    assert r.exit_code == 0, r.output
    before, after = read_events(INTERVALS).events, read_events(out).events
    for col in ("case_id", "event", "timestamp", "start_timestamp"):
        a = before.sort_values(["case_id", "timestamp", "event"])[col].astype(str).tolist()
        b = after.sort_values(["case_id", "timestamp", "event"])[col].astype(str).tolist()
        assert a == b, col
    if suffix == ".xes":
        text = out.read_text()
        assert text.count('value="start"') == len(before) == text.count('value="complete"') - 1  # one in the header


def test_with_no_start_transitions_other_transitions_still_become_attributes() -> None:
    frame = pd.DataFrame({"case_id": ["1", "1", "1"], "event": ["A", "A", "B"],
                          "lifecycle:transition": ["schedule", "complete", "complete"],
                          "timestamp": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-03"])})  # fmt: skip
    log = read_events(frame)
    assert log.events["event"].astype(str).tolist() == ["A", "B"]
    assert log.events["schedule_timestamp"].tolist()[0] == pd.Timestamp("2024-01-01")
    assert "working_days" not in replay(parse_process(draft(log).text), log).visits
