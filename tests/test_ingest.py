"""Reading events: formats, column detection, dates, wide trackers, and every bad input."""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
from pathlib import Path

import pandas as pd
import pytest

from flowmap.errors import EventDataError
from flowmap.events.read import read_events
from flowmap.files.process import load_process

from .conftest import PROCESSES, log_file

CSV = "case_id,event,date\nC1,need identified,03/02/2025\nC1,bundle sent,2025-02-10\nC2,need identified,10/02/2025\n"


def write(tmp_path: Path, name: str, text: str | bytes) -> Path:
    p = tmp_path / name
    if isinstance(text, bytes):
        p.write_bytes(text)
    else:
        p.write_text(text, encoding="utf-8")
    return p


def test_csv_long_form_with_mixed_date_formats(tmp_path: Path) -> None:
    log = read_events(write(tmp_path, "e.csv", CSV))
    ev = log.events
    assert list(ev["case_id"].astype(str)) == ["C1", "C1", "C2"]
    assert list(ev["timestamp"]) == [pd.Timestamp("2025-02-03"), pd.Timestamp("2025-02-10"), pd.Timestamp("2025-02-10")]
    assert list(ev["row"]) == [2, 3, 4]  # CSV line numbers, header on line 1
    assert log.columns == {"case": "case_id", "event": "event", "time": "date"}


def test_monthfirst(tmp_path: Path) -> None:
    log = read_events(write(tmp_path, "e.csv", CSV), monthfirst=True)
    assert log.events["timestamp"].iloc[0] == pd.Timestamp("2025-03-02")


@pytest.mark.parametrize("sep", [";", "\t", "|"])
def test_other_delimiters_are_detected(tmp_path: Path, sep: str) -> None:
    log = read_events(write(tmp_path, "e.csv", CSV.replace(",", sep)))
    assert len(log.events) == 3


def test_bom_and_cp1252(tmp_path: Path) -> None:
    bom = write(tmp_path, "bom.csv", b"\xef\xbb\xbf" + CSV.encode())
    assert read_events(bom).columns["case"] == "case_id"
    text = "child,activity,date\nAoife \xc9,need identified,01/02/2025\n"
    cp = write(tmp_path, "cp.csv", text.encode("cp1252"))
    with pytest.raises(EventDataError, match="--encoding cp1252"):
        read_events(cp)
    assert read_events(cp, encoding="cp1252").events["case_id"].iloc[0] == "Aoife \xc9"


def test_column_options_and_missing_column_lists_columns(tmp_path: Path) -> None:
    p = write(tmp_path, "e.csv", "ref,what,when\nA,x,2025-01-01\n")
    log = read_events(p, case_col="ref", event_col="what", time_col="when")
    assert len(log.events) == 1
    with pytest.raises(EventDataError, match=r"--case-col names a column 'kid' that does not exist.*'ref', 'what'"):
        read_events(p, case_col="kid")


def test_wrong_delimiter_is_explained(tmp_path: Path) -> None:
    p = write(tmp_path, "e.csv", "case_id;event;date\nA;x;2025-01-01\n")
    with pytest.raises(EventDataError, match="separator"):
        read_events(p, delimiter=",")


def test_empty_and_header_only(tmp_path: Path) -> None:
    with pytest.raises(EventDataError, match="empty"):
        read_events(write(tmp_path, "e.csv", ""))
    with pytest.raises(EventDataError, match=r"no rows of data \(only a header: case_id, event, date\)"):
        read_events(write(tmp_path, "h.csv", "case_id,event,date\n"))


def test_blank_case_ids_unreadable_and_implausible_dates_go_to_the_ledger(tmp_path: Path) -> None:
    text = (
        "case_id,event,date\n"
        ",a,2025-01-01\n"  # line 2: no case id
        "A,a,31/02/2025\n"  # line 3: no such date
        "A,a,1900-01-01\n"  # line 4: implausible
        "A,a,2200-01-01\n"  # line 5: implausible
        "A,a,2025-01-01\n"  # line 6: used
        "A,a,2025-01-01\n"  # line 7: exact duplicate
        "A,,2025-01-02\n"  # line 8: no event name
    )
    log = read_events(write(tmp_path, "e.csv", text))
    reasons = {s.reason: (s.count, s.first) for s in log.ledger.set_aside}
    assert reasons == {
        "no_case_id": (1, (2,)),
        "no_event": (1, (8,)),
        "unreadable_date": (1, (3,)),
        "implausible_date": (2, (4, 5)),
        "duplicate": (1, (7,)),
    }
    assert log.ledger.read == 7 and log.ledger.used == 1
    assert "31/02/2025" in "\n".join(log.ledger.lines())


def test_all_blank_case_column_loses_nothing_silently(tmp_path: Path) -> None:
    log = read_events(write(tmp_path, "e.csv", "case_id,event,date\n,a,2025-01-01\n,b,2025-01-02\n"))
    assert log.ledger.used == 0
    assert log.ledger.set_aside[0].count == 2


def test_garbage_is_refused_with_a_message(tmp_path: Path) -> None:
    junk = hashlib.sha256(b"x").digest() * 4000
    with pytest.raises(EventDataError):
        read_events(write(tmp_path, "junk.csv", junk))
    lines = "".join(f"{i} lorem ipsum, dolor; sit amet\n" for i in range(2000))
    with pytest.raises(EventDataError, match="columns are"):
        read_events(write(tmp_path, "lorem.csv", lines))


def test_input_file_is_never_modified(tmp_path: Path) -> None:
    p = write(tmp_path, "e.csv", CSV)
    before = (p.read_bytes(), p.stat().st_mtime_ns)
    read_events(p)
    assert (p.read_bytes(), p.stat().st_mtime_ns) == before


def test_xlsx_sheets_serial_dates_and_merged_cells(tmp_path: Path) -> None:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "notes"
    ws.append(["nothing here"])
    data = wb.create_sheet("events")
    data.append(["Child", "Event type", "Event date"])
    data.append(["C1", "need identified", dt.datetime(2025, 1, 6)])
    data.append([None, "bundle sent", 45667])  # serial for 2025-01-10, and a merged case id above
    data.append(["C2", "need identified", "07/01/2025"])
    data.merge_cells("A2:A3")
    p = tmp_path / "t.xlsx"
    wb.save(p)
    with pytest.raises(EventDataError, match=r"no sheet named 'Events'.*'notes', 'events'"):
        read_events(p, sheet="Events")
    log = read_events(p, sheet="events")
    ev = log.events
    assert list(ev["case_id"].astype(str)) == ["C1", "C1", "C2"]
    assert list(ev["timestamp"]) == [pd.Timestamp("2025-01-06"), pd.Timestamp("2025-01-10"), pd.Timestamp("2025-01-07")]
    assert list(ev["row"]) == [2, 3, 4]
    assert any("merged" in n for n in log.ledger.notes)


def test_parquet_with_time_zone(tmp_path: Path) -> None:
    df = pd.DataFrame(
        {
            "case_id": ["A", "A"],
            "activity": ["x", "y"],
            "timestamp": pd.to_datetime(["2025-03-30T00:30:00Z", "2025-03-30T01:30:00Z"]),
        }
    )
    p = tmp_path / "e.parquet"
    df.to_parquet(p)
    ev = read_events(p).events
    # the clocks went forward at 01:00 UTC on 30 March 2025
    assert list(ev["timestamp"]) == [pd.Timestamp("2025-03-30T00:30"), pd.Timestamp("2025-03-30T02:30")]


def test_wide_tracker_matches_columns_to_steps(tmp_path: Path) -> None:
    process = load_process(PROCESSES / "legal-advice.yaml")
    text = (
        "Child,Advice needed,Sent to Legal,Solicitor allocated,Advice issued,Notes\n"
        "Child 1,06/01/2025,13/01/2025,14/01/2025,20/01/2025,free text never copied\n"
        "Child 2,07/01/2025,,,,\n"
        "Child 3,not known,08/01/2025,,,\n"
    )
    log = read_events(write(tmp_path, "tracker.csv", text), process=process)
    assert log.shape == "wide"
    assert log.ledger.unit == "cell"
    assert log.ledger.read == 12  # 3 rows x 4 step columns: 6 dated, 5 empty (not dated yet), 1 unreadable
    assert log.ledger.not_yet == 5
    (aside,) = log.ledger.set_aside
    assert (aside.reason, aside.first) == ("unreadable_date", (4,))
    # Other columns are case attributes inside flowmap (for --where and --by), never copied to an output.
    from flowmap.analysis.replay import replay

    result = replay(process, log)
    for table in (result.cases_table(), result.visits_table()):
        assert "Notes" not in table.columns and not table.astype(str).isin(["free text never copied"]).any().any()
    assert len(log.events) == 6


def test_wide_without_process_says_how(tmp_path: Path) -> None:
    p = write(tmp_path, "tracker.csv", "Child,Advice needed,Sent to Legal\nA,06/01/2025,13/01/2025\n")
    with pytest.raises(EventDataError, match="give --process"):
        read_events(p)


def test_xes_missing_timestamp_goes_to_the_ledger(tmp_path: Path) -> None:
    xes = """<?xml version="1.0" encoding="UTF-8"?>
<log xes.version="1.0">
  <trace><string key="concept:name" value="T1"/>
    <event><string key="concept:name" value="a"/><date key="time:timestamp" value="2025-01-01T10:00:00+01:00"/></event>
    <event><string key="concept:name" value="b"/></event>
  </trace>
</log>"""
    p = write(tmp_path, "e.xes", xes)
    log = read_events(p)
    assert log.events["timestamp"].iloc[0] == pd.Timestamp("2025-01-01T09:00")
    # An event with no date yet is counted apart, not set aside as a problem.
    assert log.ledger.set_aside == () and log.ledger.not_yet == 1 and log.ledger.read == 2
    gz = tmp_path / "e.xes.gz"
    gz.write_bytes(gzip.compress(xes.encode()))
    assert len(read_events(gz).events) == 1
    broken = write(tmp_path, "bad.xes", xes[:200])
    with pytest.raises(EventDataError, match="cannot read as XES"):
        read_events(broken)


def test_unknown_extension_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(EventDataError, match="unknown file type"):
        read_events(write(tmp_path, "e.docx", "x"))
    with pytest.raises(EventDataError, match="no such file"):
        read_events(tmp_path / "none.csv")


def test_xes_and_its_csv_twin_give_identical_tables() -> None:
    a = read_events(log_file("receipt.xes")).events
    b = read_events(log_file("receipt.csv")).events
    cols = ["case_id", "event", "timestamp"]
    left = a[cols].astype({"case_id": str, "event": str}).sort_values(cols).reset_index(drop=True)
    right = b[cols].astype({"case_id": str, "event": str}).sort_values(cols).reset_index(drop=True)
    pd.testing.assert_frame_equal(left, right)


@pytest.mark.parametrize(
    ("name", "cases", "events", "activities"),
    [
        ("running-example.xes", 6, 42, 8),
        ("roadtraffic100traces.xes", 100, 390, 10),
        ("receipt.xes", 1434, 8577, 27),
        ("interval_event_log.csv", 1266, 8109, 8),
        ("hospital_log_high.xes.gz", 10000, 69528, 10),
    ],
)
def test_shared_logs_read_with_the_published_counts(name: str, cases: int, events: int, activities: int) -> None:
    log = read_events(log_file(name))
    assert log.n_cases == cases
    assert len(log.events) == events
    assert log.events["event"].nunique() == activities


def test_helpdesk_exact_duplicates_are_set_aside_not_lost() -> None:
    # pm4py counts 21,348 events; 127 of them repeat an earlier event in every column.
    log = read_events(log_file("helpdesk.xes.gz"))
    assert log.ledger.read == 21348
    assert [(s.reason, s.count) for s in log.ledger.set_aside] == [("duplicate", 127)]
    assert log.n_cases == 4580
