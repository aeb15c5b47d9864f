"""Trackers as teams keep them: title rows, not-yet words, totals rows, every problem with its address."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from openpyxl import Workbook

from flowmap.cli import cli
from flowmap.errors import EventDataError, FlowmapError
from flowmap.events.ledger import PROBLEM_COLUMNS
from flowmap.events.read import read_events
from flowmap.files.process import load_process
from flowmap.privacy import pseudonym

from .conftest import PROCESSES, ROOT

LEGAL = str(PROCESSES / "legal-advice.yaml")
MESSY = ROOT / "examples" / "data" / "messy-tracker.xlsx"
TRACKER = str(ROOT / "examples" / "data" / "legal-advice-tracker.csv")


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def workbook(path: Path, sheets: dict[str, list[list[object]]], merge: str | None = None) -> Path:
    wb = Workbook()
    wb.remove(wb.active)
    for name, rows in sheets.items():
        ws = wb.create_sheet(name)
        for r in rows:
            ws.append(r)
        if merge and name == next(iter(sheets)):
            ws.merge_cells(merge)
    wb.save(path)
    return path


# --- the bundled messy tracker ----------------------------------------------------------


def test_messy_tracker_reads_with_no_options_and_lists_exactly_its_problems(tmp_path: Path) -> None:
    before = digest(MESSY)
    log = read_events(MESSY, process=load_process(LEGAL))
    ledger = log.ledger
    assert log.shape == "wide" and log.columns["case"] == "Child ID"
    assert log.n_cases == 60
    assert any(n.startswith("rows 1–2 above the header skipped: 'Legal Advice Tracker 2024-26") for n in ledger.notes)
    # Not-yet cells are counted apart, never among the problems.
    words = dict(ledger.not_yet_words)
    assert ledger.not_yet == sum(words.values()) and {"n/a", "awaiting", "tbc", "pending", ""} <= set(words)
    assert ledger.read == ledger.used + ledger.not_yet + ledger.problem_count
    problems = ledger.problems()
    assert list(problems.columns) == PROBLEM_COLUMNS
    impossible = problems[problems["reason"] == "unreadable date"]
    assert impossible[["cell", "value", "column"]].to_numpy().tolist() == [
        ["E14", "14/13/2025", "Sent to Legal"],
        ["I40", "31/02/2025", "Advice issued"],
    ]
    totals = problems[problems["reason"].str.startswith("summary row")]
    assert totals[["row", "cell", "value"]].to_numpy().tolist() == [[64, "A64", "Total"]]  # the row, once
    assert len(problems) == len(impossible) + len(totals)
    assert set(problems["sheet"]) == {"Tracker"}
    assert digest(MESSY) == before  # the input is never modified


def test_check_problems_file_and_terminal_short_form(runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "problems.csv"
    result = runner.invoke(cli, ["check", str(MESSY), "--process", LEGAL, "--problems", str(out)])
    assert result.exit_code == 0, result.output
    assert "'Sent to Legal' E14: '14/13/2025'; 'Advice issued' I40: '31/02/2025'" in result.stdout
    assert "not dated yet" in result.stdout
    table = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert list(table.columns) == PROBLEM_COLUMNS
    assert list(table["cell"]) == ["E14", "I40", "A64"]
    xlsx = tmp_path / "problems.xlsx"
    assert runner.invoke(cli, ["check", str(MESSY), "-p", LEGAL, "--problems", str(xlsx)]).exit_code == 0
    assert pd.read_excel(xlsx, dtype=str).shape == (3, 7)


def test_json_carries_the_complete_problem_list(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["check", str(MESSY), "-p", LEGAL, "--json"])
    doc = json.loads(result.stdout)
    assert len(doc["problems"]) == 3 and doc["problems"][0]["cell"] == "E14"
    assert doc["ledger"]["not_dated_yet"] > 0
    audit = json.loads(runner.invoke(cli, ["audit", LEGAL, str(MESSY), "--json"]).stdout)
    assert [p["cell"] for p in audit["problems"]][:2] == ["E14", "I40"]


@pytest.mark.parametrize("command", ["replay", "audit", "drift"])
def test_every_analysis_command_writes_problems(runner: CliRunner, tmp_path: Path, command: str) -> None:
    out = tmp_path / "p.csv"
    result = runner.invoke(cli, [command, LEGAL, str(MESSY), "--problems", str(out), "--pseudonymise", "k"])
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert len(table) == 3
    assert set(table.loc[table["case_id"] != "", "case_id"]) == {pseudonym("CP-011", "k"), pseudonym("CP-037", "k")}


def test_report_lists_the_first_problems_with_their_addresses(runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "r.html"
    result = runner.invoke(cli, ["report", LEGAL, str(MESSY), "-o", str(out), "--runs", "20"])
    assert result.exit_code == 0, result.output
    html = out.read_text(encoding="utf-8")
    assert "Tracker E14" in html and "14/13/2025" in html and "Tracker A64" in html


# --- finding the header -----------------------------------------------------------------


def test_header_below_a_merged_title_and_a_blank_row_in_excel(tmp_path: Path) -> None:
    p = workbook(
        tmp_path / "t.xlsx",
        {
            "Cases": [
                ["Child Protection Tracker 2024-26 - South Locality - OFFICIAL-SENSITIVE", None, None],
                [None, None, None],
                ["Child ID", "Stage", "Date"],
                ["A", "x", "01/02/2025"],
            ]
        },
        merge="A1:C1",
    )
    log = read_events(p)
    assert log.columns == {"case": "Child ID", "event": "Stage", "time": "Date"}
    assert log.events["row"].tolist() == [4]
    assert any("rows 1–2 above the header skipped: 'Child Protection Tracker" in n for n in log.ledger.notes)
    assert read_events(p, case_col="Child ID").columns["case"] == "Child ID"
    assert read_events(p, header_row=3).events["row"].tolist() == [4]
    with pytest.raises(EventDataError, match=r"--header-row 9 is beyond the last row \(4\)"):
        read_events(p, header_row=9)


def test_header_search_on_another_sheet_and_in_csv(tmp_path: Path) -> None:
    p = workbook(
        tmp_path / "t.xlsx",
        {
            "Notes": [["read me first"]],
            "Data": [["Report"], [], ["case_id", "event", "date"], ["A", "x", "2025-02-01"]],
        },
    )
    with pytest.raises(EventDataError, match=r"sheet 'Notes'.*no case column found in rows 1–1"):
        read_events(p)
    assert read_events(p, sheet="Data").events["row"].tolist() == [4]
    csv = tmp_path / "t.csv"
    csv.write_text("Title,,\n,,\n\ncase_id,event,date\nA,x,2025-01-01\n\nB,y,2025-01-02\n", encoding="utf-8")
    log = read_events(csv)
    assert log.events["row"].tolist() == [5, 7]  # file lines, blank lines counted
    assert any(n.startswith("rows 1–3 above the header skipped: 'Title'") for n in log.ledger.notes)


def test_a_header_that_cannot_be_found_says_where_it_looked(tmp_path: Path) -> None:
    p = tmp_path / "t.csv"
    p.write_text("".join(f"note {i},x,y\n" for i in range(40)), encoding="utf-8")
    with pytest.raises(EventDataError) as e:
        read_events(p)
    msg = str(e.value)
    assert "no case column found in rows 1–30" in msg and "'case_id'" in msg and "--header-row" in msg
    title_only = workbook(tmp_path / "title.xlsx", {"S": [["Just a title"]]})
    with pytest.raises(EventDataError, match=r"no case column found in rows 1–1.*'Just a title'"):
        read_events(title_only)


def test_with_a_process_two_step_columns_find_the_header(tmp_path: Path) -> None:
    p = tmp_path / "t.csv"
    p.write_text("Our tracker\nName,Advice needed,Sent to Legal\nA,06/01/2025,13/01/2025\n", encoding="utf-8")
    with pytest.raises(EventDataError, match="no case column found"):
        read_events(p, process=load_process(LEGAL))  # header found by its steps; then the case column is named
    log = read_events(p, process=load_process(LEGAL), case_col="Name")
    assert log.shape == "wide" and len(log.events) == 2


# --- not yet, summary rows, impossible dates --------------------------------------------


def test_not_yet_words_are_not_problems_in_long_form_and_more_words_can_be_added(tmp_path: Path) -> None:
    p = tmp_path / "e.csv"
    p.write_text(
        "case_id,event,date\nA,x,2025-01-01\nA,y,N/A\nA,z, awaiting \nB,x,TBC\nB,y,\nB,z,stuck\nC,x,?\n",
        encoding="utf-8",
    )
    log = read_events(p)
    assert log.ledger.not_yet == 5
    assert [(s.reason, s.count) for s in log.ledger.set_aside] == [("unreadable_date", 1)]
    log2 = read_events(p, not_yet=["Stuck"])
    assert log2.ledger.not_yet == 6 and log2.ledger.set_aside == ()
    assert "6 not dated yet" in "\n".join(log2.ledger.lines())


def test_summary_rows_are_set_aside_as_such(tmp_path: Path) -> None:
    p = tmp_path / "e.csv"
    p.write_text(
        "case_id,event,date,hours\nA,x,2025-01-01,2\nTotal,,,2\nGrand Total:,3,2,1\n,,1,5\nAverage,x,2025-01-01,\n",
        encoding="utf-8",
    )
    log = read_events(p)
    (aside,) = log.ledger.set_aside
    assert aside.reason == "summary_row" and aside.rows.tolist() == [3, 4, 5, 6]
    assert len(log.events) == 1


def test_impossible_dates_and_trailing_words_are_unreadable_not_guessed(tmp_path: Path) -> None:
    values = ["14/13/2025", "31/02/2025", "12/05/2025 (rearranged)", "2025-13-01", "29/02/2025"]
    p = tmp_path / "e.csv"
    p.write_text("case_id,event,date\n" + "".join(f"A{i},x,{v}\n" for i, v in enumerate(values)), encoding="utf-8")
    log = read_events(p)
    (aside,) = log.ledger.set_aside
    assert aside.reason == "unreadable_date" and aside.count == 5
    assert list(log.ledger.problems()["value"]) == values


def test_a_tracker_where_nothing_is_dated_yet_is_usable_no(runner: CliRunner, tmp_path: Path) -> None:
    p = tmp_path / "t.csv"
    p.write_text("Child,Advice needed,Sent to Legal\nA,N/A,tbc\nB,,awaiting\n", encoding="utf-8")
    result = runner.invoke(cli, ["check", str(p), "--process", LEGAL])
    assert result.exit_code == 1
    assert "usable: no; 0 events: every date cell is empty or says not yet" in result.stdout
    assert "Traceback" not in result.output
    drift = runner.invoke(cli, ["drift", LEGAL, str(p)])
    assert drift.exit_code == 1
    assert "no dated events to replay (4 read: 4 not dated yet, 0 set aside)" in drift.stderr


def test_ten_thousand_problems_all_in_the_file_and_a_short_terminal(runner: CliRunner, tmp_path: Path) -> None:
    p = tmp_path / "e.csv"
    p.write_text("case_id,event,date\n" + "".join(f"C{i},x,not a date {i}\n" for i in range(10_000)), encoding="utf-8")
    out = tmp_path / "p.csv"
    result = runner.invoke(cli, ["check", str(p), "--problems", str(out)])
    assert result.exit_code == 1
    assert len(result.stdout.splitlines()) < 12
    table = pd.read_csv(out, dtype=str)
    assert len(table) == 10_000 and table["row"].astype(int).tolist() == list(range(2, 10_002))
    missing = runner.invoke(cli, ["check", str(p), "--problems", str(tmp_path / "no" / "p.csv")])
    assert missing.exit_code == 1 and "does not exist" in missing.stderr


# --- the wrong process, an as-of before the data ----------------------------------------


@pytest.mark.parametrize("command", ["check", "replay", "audit", "drift", "map", "report"])
def test_the_wrong_process_is_one_clear_message(runner: CliRunner, tmp_path: Path, command: str) -> None:
    other = str(PROCESSES / "complaints.yaml")
    if command == "check":
        args = ["check", TRACKER, "--process", other]
    else:
        args = [command, other, TRACKER] + (["-o", str(tmp_path / ("x.svg" if command == "map" else "x.html"))]
                                            if command in ("map", "report") else [])  # fmt: skip
    result = runner.invoke(cli, args)
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    err = result.stderr
    assert "nothing in it matches a step of process 'complaints'" in err
    assert "'Complaint received'" in err and "'Child'" in err
    assert "Is this the right process file for this data?" in err
    assert len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("command", ["check", "audit", "drift", "map", "report"])
def test_an_as_of_before_every_event_is_one_clear_message(runner: CliRunner, tmp_path: Path, command: str) -> None:
    if command == "check":
        args = ["check", TRACKER, "--process", LEGAL]
    else:
        args = [command, LEGAL, TRACKER] + (["-o", str(tmp_path / ("x.svg" if command == "map" else "x.html"))]
                                            if command in ("map", "report") else [])  # fmt: skip
    result = runner.invoke(cli, [*args, "--as-of", "2020-01-01"])
    assert result.exit_code == 1
    assert "the as-of date 2020-01-01 is before every event (they run from 2024-11-13" in result.stderr


# --- case ids as people type them -------------------------------------------------------


def test_case_ids_match_ignoring_case_and_spaces_and_by_pseudonym(runner: CliRunner, tmp_path: Path) -> None:
    svg = tmp_path / "c.svg"
    assert runner.invoke(cli, ["map", LEGAL, TRACKER, "--case", "  child2 ", "-o", str(svg)]).exit_code == 0
    assert "case Child 2 (complete)" in svg.read_text(encoding="utf-8")
    p = pseudonym("Child 2", "key")
    ok = runner.invoke(cli, ["map", LEGAL, TRACKER, "--case", p.lower(), "--pseudonymise", "key", "-o", str(svg)])
    assert ok.exit_code == 0 and f"case {p} (complete)" in svg.read_text(encoding="utf-8")
    assert "Child 2" not in svg.read_text(encoding="utf-8")
    audit = runner.invoke(cli, ["audit", LEGAL, TRACKER, "--case", "CHILD 40", "--json"])
    rows = json.loads(audit.stdout)["audit"]
    assert [r["case_id"] for r in rows] == ["Child 40"]
    bad = runner.invoke(cli, ["audit", LEGAL, TRACKER, "--case", "Child 99", "--pseudonymise", "key"])
    assert bad.exit_code == 1 and "(40 cases)" in bad.stderr and "Child" not in bad.stderr.replace("'Child 99'", "")


# --- what a fuzz run found --------------------------------------------------------------


@pytest.mark.parametrize(("typed", "sep"), [("\\t", "\t"), ("tab", "\t"), ("semicolon", ";"), ("pipe", "|")])
def test_delimiters_as_people_type_them(runner: CliRunner, tmp_path: Path, typed: str, sep: str) -> None:
    p = tmp_path / "e.csv"
    p.write_text(sep.join(["case_id", "event", "date"]) + "\n" + sep.join(["A", "x", "2025-01-01"]) + "\n")
    result = runner.invoke(cli, ["check", str(p), "--delimiter", typed])
    assert result.exit_code == 0, result.output


def test_a_long_delimiter_is_a_usage_error(runner: CliRunner, tmp_path: Path) -> None:
    p = tmp_path / "e.csv"
    p.write_text("case_id,event,date\nA,x,2025-01-01\n")
    result = runner.invoke(cli, ["check", str(p), "--delimiter", "::"])
    assert result.exit_code == 2 and "is not one character" in result.stderr and "Traceback" not in result.output


@pytest.mark.parametrize("command", ["check", "replay", "report"])
def test_dates_beyond_what_timestamps_hold_are_out_of_range(runner: CliRunner, tmp_path: Path, command: str) -> None:
    p = tmp_path / "e.csv"
    p.write_text("case_id,event,date\nA,need identified,0001-01-01\nA,need identified,1600-01-01\n"
                 "A,need identified,9999-12-31\nB,need identified,2025-01-06\nB,bundle sent,2025-01-08\n")  # fmt: skip
    args = {"check": ["check", str(p)], "replay": ["replay", LEGAL, str(p)],
            "report": ["report", LEGAL, str(p), "-o", str(tmp_path / "r.html")]}[command]  # fmt: skip
    result = runner.invoke(cli, args)
    assert result.exit_code == 0, result.output
    log = read_events(p)
    (aside,) = log.ledger.set_aside
    assert aside.reason == "implausible_date" and aside.rows.tolist() == [2, 3, 4]


def test_parquet_and_excel_dates_beyond_nanoseconds_are_out_of_range(tmp_path: Path) -> None:
    import datetime as dt

    import pyarrow as pa
    import pyarrow.parquet as pq

    ts = pa.array([dt.datetime(1, 1, 1), dt.datetime(2025, 1, 1), dt.datetime(9999, 12, 31)], pa.timestamp("us"))
    pq.write_table(pa.table({"case_id": ["A", "B", "C"], "event": ["x", "x", "x"], "timestamp": ts}),
                   tmp_path / "e.parquet")  # fmt: skip
    log = read_events(tmp_path / "e.parquet")
    assert [(s.reason, s.rows.tolist()) for s in log.ledger.set_aside] == [("implausible_date", [1, 3])]
    p = workbook(tmp_path / "e.xlsx", {"S": [["case_id", "event", "date"], ["A", "x", dt.datetime(1600, 1, 1)],
                                             ["B", "x", 2958465], ["C", "x", dt.datetime(2025, 1, 1)]]})  # fmt: skip
    log = read_events(p)
    assert [(s.reason, s.rows.tolist()) for s in log.ledger.set_aside] == [("implausible_date", [2, 3])]


def long_process(tmp_path: Path, n: int) -> Path:
    lines = ["flowmap: 1", f"id: long{n}", f"title: Long {n}", "lanes: [A, B, C]", "steps:"]
    for i in range(n):
        lines.append(f"  - {{id: s{i}, label: 'Step {i}', lane: {'ABC'[i % 3]}{', end: true' if i == n - 1 else ''}}}")
    lines.append("transitions:")
    lines.extend(f"  - s{i} -> s{i + 1}" for i in range(n - 1))
    p = tmp_path / f"long{n}.yaml"
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return p


@pytest.mark.slow
def test_long_processes_draw_and_too_long_ones_say_what_to_do(runner: CliRunner, tmp_path: Path) -> None:
    p = long_process(tmp_path, 300)
    out = tmp_path / "m.svg"
    result = runner.invoke(cli, ["map", str(p), "-o", str(out), "--renderer", "wasm"])
    assert result.exit_code == 0, result.output
    assert out.read_text(encoding="utf-8").count("<rect") >= 300
    big = long_process(tmp_path, 1500)
    assert runner.invoke(cli, ["validate", str(big)]).exit_code == 0
    result = runner.invoke(cli, ["map", str(big), "-o", str(tmp_path / "m.pdf")])
    assert result.exit_code == 1
    assert "has 1,500 steps; flowmap draws maps of up to 1,000 steps" in result.stderr and ".mmd" in result.stderr
    assert runner.invoke(cli, ["map", str(big), "-o", str(tmp_path / "m.mmd")]).exit_code == 0


def test_no_command_writes_over_its_inputs(runner: CliRunner, tmp_path: Path) -> None:
    events = tmp_path / "ev.csv"
    events.write_bytes(Path(TRACKER).read_bytes())
    before = digest(events)
    for args in (
        ["replay", LEGAL, str(events), "-o", str(events)],
        ["drift", LEGAL, str(events), "--targets", str(events)],
        ["check", str(events), "--problems", str(events)],
        ["report", LEGAL, str(events), "-o", str(events)],
    ):
        result = runner.invoke(cli, args)
        assert result.exit_code == 1, args
        assert "is one of this command's inputs" in result.stderr
    link = tmp_path / "link.csv"
    link.symlink_to(events)
    result = runner.invoke(cli, ["audit", LEGAL, str(events), "-o", str(link)])
    assert result.exit_code == 1 and "is one of this command's inputs" in result.stderr
    assert digest(events) == before


def test_damaged_inputs_get_messages_a_person_can_act_on(runner: CliRunner, tmp_path: Path) -> None:
    import gzip
    import zipfile

    bomb = tmp_path / "bomb.xes"
    # Each entity expands to ten of the one before: a billion laughs in nine lines.
    ents = '<!ENTITY l0 "lol">' + "".join(f'<!ENTITY l{i} "{("&l" + str(i - 1) + ";") * 10}">' for i in range(1, 9))
    bomb.write_text(f'<?xml version="1.0"?><!DOCTYPE x [{ents}]><log><trace><string key="concept:name" '
                    'value="&l8;"/></trace></log>')  # fmt: skip
    notbook = tmp_path / "w.xlsx"
    with zipfile.ZipFile(notbook, "w") as z:
        z.writestr("a.txt", "hi")
    quote = tmp_path / "q.csv"
    quote.write_text('case_id,event,date\nA,x,2025-01-01\nB,"y,2025-01-02\nC,z,2025-01-03\n')
    cut = tmp_path / "cut.xes.gz"
    with gzip.open(cut, "wb") as fh:
        fh.write(b'<?xml version="1.0"?><log>' + b'<trace><string key="concept:name" value="t"/></trace>' * 3000)
    cut.write_bytes(cut.read_bytes()[:2000])
    expected = {
        bomb: "remove the <!DOCTYPE …> section",
        notbook: "is a zip file but not an Excel workbook; open it in Excel and save it as .xlsx or CSV",
        quote: "line 3 opens a quote that is never closed",
        cut: "is incomplete, cut off while copying; copy it again",
    }
    for path, words in expected.items():
        result = runner.invoke(cli, ["check", str(path)])
        assert result.exit_code == 1, path
        assert words in result.stderr, (path, result.stderr)
    empty = tmp_path / "pdsa.yaml"
    empty.write_text("")
    chart = runner.invoke(cli, ["chart", LEGAL, TRACKER, "--target", "legal_turnaround", "--pdsa", str(empty),
                                "-o", str(tmp_path / "c.svg")])  # fmt: skip
    assert "pdsa.yaml: is empty; a PDSA log starts with a 'flowmap-pdsa: 1' line" in chart.stderr
    deep = tmp_path / "change.yaml"
    deep.write_text("flowmap-change: 1\nchanges: " + "[" * 3000 + "]" * 3000 + "\n")
    sim = runner.invoke(cli, ["simulate", LEGAL, "--change", str(deep)])
    assert "is nested too deeply to be a change file" in sim.stderr


def test_the_library_refuses_bad_header_rows_and_sheet_options(tmp_path: Path) -> None:
    p = tmp_path / "e.csv"
    p.write_text("case_id,event,date\nA,x,2025-01-01\n")
    with pytest.raises(EventDataError, match="--sheet applies to Excel"):
        read_events(p, sheet="Data")
    with pytest.raises(EventDataError, match=r"--header-row 5 is beyond the last row \(2\)"):
        read_events(p, header_row=5)
    with pytest.raises(FlowmapError, match="not one character"):
        read_events(p, delimiter="::")


def test_line_numbers_stay_right_with_notes_that_span_lines_and_blank_rows(tmp_path: Path) -> None:
    p = tmp_path / "t.csv"
    p.write_bytes(
        b"Child ID,Advice needed,Sent to Legal,Notes\r\n,,,\r\n"
        b'A1,06/01/2025,13/01/2025,"line one\r\nline two\r\nthree"\r\n\r\nA2,07/01/2025,bad,x\r\n,,,\r\nA3,zz,,\r\n'
    )
    log = read_events(p, process=load_process(LEGAL))
    problems = log.ledger.problems()
    assert problems[["row", "value"]].to_numpy().tolist() == [[7, "bad"], [9, "zz"]]  # the file's own lines
    assert any("2 blank rows skipped" in n for n in log.ledger.notes)


def test_a_sheet_that_starts_below_and_right_gives_true_cell_addresses(tmp_path: Path) -> None:
    import datetime as dt

    wb = Workbook()
    ws = wb.active
    ws["B1"] = "Referrals 2025"
    ws.merge_cells("B1:E1")
    ws["B2"] = "Team South"
    for row in ([], [], [None, "Ref", "Stage", "Date", "Comment"], [None, "R1", "bundle sent", dt.datetime(2025, 1, 6)],
                [None, "R1", "advice issued", "31/02/2025"], [None, "R2", "bundle sent", "awaiting"],
                [None, "Total", 2]):  # fmt: skip
        ws.append(row)
    wb.save(tmp_path / "o.xlsx")
    log = read_events(tmp_path / "o.xlsx")
    assert log.columns == {"case": "Ref", "event": "Stage", "time": "Date"}
    problems = log.ledger.problems()
    assert problems[["cell", "reason"]].to_numpy().tolist() == [
        ["D7", "unreadable date"],
        ["B9", "summary row (a total, not a case)"],
    ]
    assert log.ledger.not_yet == 1
