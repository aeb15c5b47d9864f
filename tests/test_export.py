"""Logs out: XES (and CSV, Parquet) that flowmap and pm4py read back with the same events."""

from __future__ import annotations

import warnings
from pathlib import Path

import pandas as pd
import pytest

from flowmap.cli.main import cli
from flowmap.events.read import read_events
from flowmap.files.process import load_process

from .conftest import LOGS, PROCESSES, ROOT

TRACKER = ROOT / "examples" / "data" / "legal-advice-tracker.csv"


def canonical(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame[["case_id", "event", "timestamp"]].astype({"case_id": str, "event": str})
    return out.sort_values(["case_id", "timestamp", "event"], kind="stable").reset_index(drop=True)


@pytest.mark.parametrize("suffix", [".xes", ".csv", ".parquet"])
def test_an_exported_tracker_reads_back_as_the_same_events(suffix: str, tmp_path: Path, runner) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / f"log{suffix}"
    r = runner.invoke(cli, ["export", str(TRACKER), "--process", str(PROCESSES / "legal-advice.yaml"), "-o", str(out)])
    assert r.exit_code == 0, r.output
    original = read_events(TRACKER, process=load_process(PROCESSES / "legal-advice.yaml"))
    again = read_events(out)
    pd.testing.assert_frame_equal(canonical(again.events), canonical(original.events))


def test_xes_round_trips_a_public_log_with_its_times_and_escapes_markup(tmp_path: Path, runner) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "log.xes"
    assert runner.invoke(cli, ["export", str(LOGS / "running-example.xes"), "-o", str(out)]).exit_code == 0
    pd.testing.assert_frame_equal(canonical(read_events(out).events),
                                  canonical(read_events(LOGS / "running-example.xes").events))  # fmt: skip
    hostile = tmp_path / "h.csv"
    pd.DataFrame({"case_id": ['<a href="x">1</a>'], "event": ["A & B"], "timestamp": ["2024-10-27 01:30"],
                  "note": ["line1\nline2"]}).to_csv(hostile, index=False)  # fmt: skip
    out2 = tmp_path / "h.xes"
    assert runner.invoke(cli, ["export", str(hostile), "-o", str(out2)]).exit_code == 0
    text = out2.read_text(encoding="utf-8")
    assert "<a href" not in text and "&lt;a href=&quot;x&quot;&gt;" in text and "A &amp; B" in text
    # 01:30 on 27 October 2024 happens twice in London: read as the first time round (summer time), as when read
    assert 'value="2024-10-27T01:30:00.000+01:00"' in text
    back = read_events(out2).events
    assert back["case_id"].astype(str).tolist() == ['<a href="x">1</a>'] and back["event"].tolist() == ["A & B"]


def test_pseudonymised_and_coarsened_export(tmp_path: Path, runner) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "log.csv"
    args = ["export", str(TRACKER), "--process", str(PROCESSES / "legal-advice.yaml"), "-o", str(out),
            "--pseudonymise", "k", "--coarsen-dates", "month"]  # fmt: skip
    assert runner.invoke(cli, args).exit_code == 0
    back = pd.read_csv(out)
    assert back["case_id"].str.startswith("P-").all() and "Child" not in out.read_text(encoding="utf-8")
    assert (pd.to_datetime(back["timestamp"]).dt.day == 1).all()


def test_pm4py_reads_flowmaps_xes_as_the_same_events(tmp_path: Path, runner) -> None:  # type: ignore[no-untyped-def]
    pm4py = pytest.importorskip("pm4py", reason="pm4py is the peer for interop tests; `make test` installs it")
    out = tmp_path / "log.xes"
    assert runner.invoke(cli, ["export", str(LOGS / "receipt.xes.gz"), "-o", str(out)]).exit_code == 0
    ours = read_events(LOGS / "receipt.xes.gz").events
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = pm4py.read_xes(str(out))
    assert len(theirs) == len(ours)
    assert theirs["case:concept:name"].nunique() == ours["case_id"].nunique()
    assert sorted(theirs["concept:name"].astype(str)) == sorted(ours["event"].astype(str))
    assert (theirs["lifecycle:transition"] == "complete").all()


def test_synth_writes_pm4pys_column_names_on_request(tmp_path: Path, runner) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "s.csv"
    r = runner.invoke(cli, ["synth", str(PROCESSES / "complaints.yaml"), "--cases", "20", "--columns", "pm4py",
                            "-o", str(out)])  # fmt: skip
    assert r.exit_code == 0, r.output
    frame = pd.read_csv(out)
    assert frame.columns.tolist() == ["case:concept:name", "concept:name", "time:timestamp"]
    assert frame["case:concept:name"].iloc[0] == "S-00"  # cases numbered in the order they arrive
    assert read_events(out).events["case_id"].nunique() == 20
