"""Case attributes: --where keeps cases, --by groups them; columns that vary within cases are refused."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from flowmap.cli import cli
from flowmap.errors import EventDataError
from flowmap.events.attributes import case_values, conflicts, filter_cases, group_cases, parse_where
from flowmap.events.read import read_events
from flowmap.files.process import load_process

from .conftest import LOGS, PROCESSES, ROOT

LEGAL = str(PROCESSES / "legal-advice.yaml")
MESSY = str(ROOT / "examples" / "data" / "messy-tracker.xlsx")


@pytest.fixture
def log():  # type: ignore[no-untyped-def]
    return read_events(MESSY, process=load_process(LEGAL))


def test_a_trackers_other_columns_are_case_attributes(log) -> None:  # type: ignore[no-untyped-def]
    workers = case_values(log, "worker")  # matched as typed: case ignored
    assert workers.value_counts().to_dict() == {"AB": 20, "CD": 20, "EF": 20}
    kept = filter_cases(log, [parse_where("Worker = ab")])
    assert kept.events["case_id"].nunique() == 20 and kept.ledger.notes[-1] == "--where Worker=ab: 20 of 60 cases kept"
    others = filter_cases(log, [parse_where("worker!=AB"), parse_where("worker != cd")])
    assert set(case_values(others, "worker").dropna()) == {"EF"}
    assert [(g, part.events["case_id"].nunique()) for g, part in group_cases(log, "worker")] == [
        ("AB", 20), ("CD", 20), ("EF", 20)]  # fmt: skip


def test_bad_columns_and_values_are_refused(log, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(EventDataError, match=r"no column 'wroker'.*did you mean 'Worker'"):
        case_values(log, "wroker")
    with pytest.raises(EventDataError, match="no case meets --where worker=ZZ"):
        filter_cases(log, [parse_where("worker=ZZ")])
    with pytest.raises(EventDataError, match="write COLUMN=VALUE"):
        parse_where("worker")
    events = pd.DataFrame({"case_id": ["1", "1", "2"], "event": ["a", "b", "a"], "date": ["2025-01-01"] * 3,
                           "who": ["X", "Y", "X"]})  # fmt: skip
    varied = read_events(events)
    with pytest.raises(EventDataError, match=r"'who' is not one value per case: it varies within 1 of the 1 cases"):
        case_values(varied, "who")  # the only case with two values disagrees: a per-event column


def test_a_case_that_disagrees_with_itself_keeps_its_first_value_and_is_noted() -> None:
    rows = [(c, e, f"2025-01-0{i + 1}", "South" if c != "3" or e == "a" else "North")
            for c in "12345" for i, e in enumerate("ab")]  # fmt: skip
    log = read_events(pd.DataFrame(rows, columns=["case_id", "event", "date", "team"]))
    assert conflicts(log, "team") == ["3"] and case_values(log, "team").to_dict() == dict.fromkeys("12345", "South")
    kept = filter_cases(log, [parse_where("team=South")])
    assert kept.events["case_id"].nunique() == 5
    assert kept.ledger.notes[-2] == (
        "'team' differs within 1 case ('3'): each case's first value is used; correct the file if that is wrong"
    )
    assert [g for g, _ in group_cases(log, "team")] == ["South"]


def test_xes_trace_attributes_are_case_attributes() -> None:
    log = read_events(LOGS / "receipt.xes.gz")
    assert "case:channel" in log.events.columns
    channels = case_values(log, "channel")  # 'channel' finds 'case:channel'
    assert channels.notna().sum() == log.events["case_id"].nunique()


def test_drift_and_compare_by_group_and_where_on_every_command(tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "steps.csv"
    res = runner.invoke(cli, ["drift", LEGAL, MESSY, "--by", "worker", "-o", str(out)])
    assert res.exit_code == 0, res.output
    table = pd.read_csv(out)
    assert next(iter(table.columns)) == "group" and list(pd.unique(table["group"])) == ["AB", "CD", "EF"]
    assert "Notes" not in table.columns and "Worker" not in table.columns  # attributes never leak into outputs
    cmp = tmp_path / "c.csv"
    res = runner.invoke(cli, ["compare", LEGAL, MESSY, "--split", "2025-06-01", "--by", "worker", "-o", str(cmp)])
    assert res.exit_code == 0, res.output and "worker AB:" in res.stdout
    assert pd.read_csv(cmp)["group"].unique().tolist() == ["AB", "CD", "EF"]
    for command in (["replay"], ["audit"], ["map", "-o", str(tmp_path / "m.svg")], ["report", "-o",
                    str(tmp_path / "r.html"), "--runs", "10"]):  # fmt: skip
        res = runner.invoke(cli, [command[0], LEGAL, MESSY, "--where", "worker=AB", *command[1:]])
        assert res.exit_code == 0, (command, res.output)
    counted = runner.invoke(cli, ["replay", LEGAL, MESSY, "--where", "worker=AB", "--json"])
    import json

    assert json.loads(counted.stdout)["counts"]["cases"] == 20
    bad = runner.invoke(cli, ["drift", LEGAL, MESSY, "--where", "team=South"])
    assert bad.exit_code == 1 and "no column 'team'" in bad.stderr


def test_pseudonym_key_file_holds_the_mapping_and_nothing_else_does(tmp_path: Path) -> None:
    from flowmap.privacy import pseudonym

    keys, audit_csv = tmp_path / "keys.csv", tmp_path / "audit.csv"
    base = ["audit", str(LEGAL), str(MESSY)]
    res = CliRunner().invoke(cli, [*base, "--pseudonymise", "k", "--pseudonym-key", str(keys), "-o", str(audit_csv)])
    assert res.exit_code == 0, res.output
    table = pd.read_csv(keys)
    assert list(table.columns) == ["case_id", "pseudonym"] and len(table) == 60
    assert all(pseudonym(c, "k") == p for c, p in zip(table["case_id"], table["pseudonym"], strict=True))
    assert "CP-0" not in audit_csv.read_text() and "CP-0" not in res.output  # real ids look like CP-001
    check = CliRunner().invoke(cli, ["check", str(MESSY), "--pseudonymise", "k", "--pseudonym-key", str(keys)])
    assert "Traceback" not in check.output and pd.read_csv(keys).equals(table)  # exit 1: the tracker has problems
    alone = CliRunner().invoke(cli, [*base, "--pseudonym-key", str(tmp_path / "k2.csv")])
    assert alone.exit_code != 0 and "give --pseudonymise KEY too" in alone.output
    assert not (tmp_path / "k2.csv").exists()


def test_by_reads_the_file_once_and_refuses_the_dask_engine_with_the_reason() -> None:
    from flowmap.analysis.run import replay_groups

    whole, groups = replay_groups(LEGAL, MESSY, "worker", where=["worker!=EF"])
    assert len(whole.cases) == 40 and [g for g, _ in groups] == ["AB", "CD"]
    assert all(part.as_of == whole.as_of for _, part in groups)
    res = CliRunner().invoke(cli, ["drift", LEGAL, MESSY, "--by", "worker", "--engine", "dask"])
    assert res.exit_code != 0 and "does not read" in res.output and "Traceback" not in res.output
