"""One reader per file format, each giving a :class:`RawTable`: cells as found, and where each row came from.

A reader knows its format and nothing of processes or cases: CSV (pyarrow,
any delimiter), Excel (openpyxl; merged cells filled; A1 letters kept), Parquet
(pyarrow; text dictionary-encoded) and XES (a streaming parser). CSV and Excel
find their header row themselves (:func:`find_header`): a tracker often has a
title, a banner or blank rows above it.

Every row keeps its position as the user sees it: the CSV line (counting the
header line, and any lines above it), the sheet row, the XES event number.
"""

from __future__ import annotations

import csv
import gzip
import re
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from flowmap.errors import EventDataError

if TYPE_CHECKING:
    import numpy.typing as npt

__all__ = [
    "DELIMITER_NAMES",
    "HEADER_SEARCH_ROWS",
    "READERS",
    "HeaderRule",
    "RawTable",
    "format_of",
    "normalise_delimiter",
]

HEADER_SEARCH_ROWS = 30
"""How many rows from the top are searched for the header."""

DELIMITER_NAMES = {"\\t": "\t", "tab": "\t", "comma": ",", "semicolon": ";", "pipe": "|"}
"""Delimiters as people type them on a command line."""


def normalise_delimiter(value: str | None) -> str | None:
    """A one-character delimiter from what a person typed (``\\t``, ``tab``, ``;``, ...).

    Examples
    --------
    >>> normalise_delimiter("\\\\t"), normalise_delimiter("semicolon"), normalise_delimiter(";")
    ('\\t', ';', ';')
    """
    if value is None:
        return None
    named = DELIMITER_NAMES.get(value.strip().casefold()) if value.strip() else None
    if named is not None:
        return named
    if len(value) == 1:
        return value
    raise EventDataError(
        f"--delimiter {value!r} is not one character; give one character such as ';' or ',', "
        "or one of: \\t, tab, comma, semicolon, pipe"
    )


@dataclass(frozen=True)
class RawTable:
    """Cells as read, before any column is given a role."""

    frame: pd.DataFrame
    positions: npt.NDArray[np.int64]
    unit: str  # "line", "row" or "event"
    excel_serials: bool = False
    notes: tuple[str, ...] = ()
    sheet: str | None = None
    letters: dict[str, str] = field(default_factory=dict)  # column -> Excel letter


@dataclass(frozen=True)
class HeaderRule:
    """How to recognise the header row: by the case column's name, or by two step names.

    ``case_names`` are keys (see :func:`key`) of names a case column may
    have; ``step_names`` keys of names that match a step (empty without a
    process).
    """

    case_names: frozenset[str]
    step_names: frozenset[str]
    described: str  # for messages: what was looked for
    header_row: int | None = None  # 1-based, given by the user
    given: str | None = None  # the --case-col the user gave

    def matches(self, cells: Sequence[Any]) -> bool:
        keys = [key(c) for c in cells if c is not None and str(c).strip()]
        if any(k in self.case_names for k in keys):
            return True
        return len(self.step_names) > 0 and sum(k in self.step_names for k in keys) >= 2


def key(name: Any) -> str:
    """A column name as compared: case, spaces, ``_`` and ``-`` ignored.

    Examples
    --------
    >>> key("  Case_ID "), key("Child-Ref")
    ('case id', 'child ref')
    """
    return " ".join(str(name).replace("_", " ").replace("-", " ").split()).casefold()


def _cell_text(v: Any) -> str:
    return "" if v is None else str(v).strip()


def _short(text: str, n: int = 80) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def find_header(
    rows: Sequence[tuple[int, Sequence[Any]]], rule: HeaderRule, *, where: str, last_row: int
) -> tuple[int, str | None]:
    """The index in ``rows`` of the header, and a ledger note for the rows skipped above it.

    ``rows`` are (position, cells) for the top of the file or sheet, blank
    rows included; ``where`` names the file (and sheet) in messages.
    """
    if rule.header_row is not None:
        n = rule.header_row
        if n < 1:
            raise EventDataError(f"--header-row must be 1 or more (got {n})")
        found = [i for i, (pos, _) in enumerate(rows) if pos == n]
        if not found:
            raise EventDataError(f"{where}: --header-row {n} is beyond the last row ({last_row})")
        index = found[0]
        if not any(_cell_text(c) for c in rows[index][1]):
            raise EventDataError(f"{where}: --header-row {n} is a blank row; give the row that holds the column names")
    else:
        top = rows[:HEADER_SEARCH_ROWS]
        index = next((i for i, (_, cells) in enumerate(top) if rule.matches(cells)), -1)
        if index < 0:
            first = next(((pos, cells) for pos, cells in top if any(_cell_text(c) for c in cells)), None)
            cells = [_short(_cell_text(c), 30) for c in first[1] if _cell_text(c)] if first else []
            span = f"rows 1–{top[-1][0]}" if top else "the file"
            hint = ""
            seps = [d for d in (";", "\t", "|", ",") if len(cells) == 1 and d in cells[0]]
            if seps:
                hint = (
                    f" The header looks like one column; the file may use {seps[0]!r} as its separator: try --delimiter"
                )
            if rule.given is not None:
                from flowmap.errors import did_you_mean

                raise EventDataError(
                    f"{where}: --case-col names a column '{rule.given}' that does not exist"
                    f"{did_you_mean(rule.given, cells)}; columns are: {', '.join(repr(c) for c in cells)} "
                    f"(row {first[0] if first else 1}; the header was looked for in {span}: give its row number "
                    f"with --header-row if it is further down).{hint}"
                )
            seen = f" Row {first[0]}'s columns are: {', '.join(repr(c) for c in cells)}." if first else " All blank."
            raise EventDataError(
                f"{where}: no case column found in {span} (looked for a column named {rule.described}).{seen} "
                f"Name the case column with --case-col, or give the header's row number with --header-row.{hint}"
            )
    if index == 0 or rows[index][0] == 1:
        return index, None
    skipped = rows[:index]
    texts = list(dict.fromkeys(_short(_cell_text(c)) for _, cells in skipped for c in cells if _cell_text(c)))
    first_pos, last_pos = skipped[0][0], skipped[-1][0]
    span = f"row {first_pos}" if first_pos == last_pos else f"rows {first_pos}–{last_pos}"
    said = ": " + ", ".join(repr(t) for t in texts[:3]) + (", ..." if len(texts) > 3 else "") if texts else " (blank)"
    return index, f"{span} above the header skipped{said}"


def format_of(path: Path) -> str:
    """The format of an event file, by its name: csv, xlsx, parquet or xes."""
    name = path.name.lower()
    if name.endswith((".xes", ".xes.gz")):
        return "xes"
    if name.endswith((".csv", ".txt", ".tsv", ".csv.gz")):
        return "csv"
    if name.endswith((".xlsx", ".xlsm")):
        return "xlsx"
    if name.endswith((".parquet", ".pq")):
        return "parquet"
    if name.endswith(".xls"):
        raise EventDataError(f"{path}: old Excel (.xls) files are not read; open it in Excel and save as .xlsx")
    raise EventDataError(
        f"{path}: unknown file type '{path.suffix or '(none)'}'; use .csv, .xlsx, .parquet, .xes or .xes.gz"
    )


def _opener(path: Path) -> Callable[..., Any]:
    return gzip.open if path.name.lower().endswith(".gz") else open


# --- CSV -------------------------------------------------------------------------------


def _sniff(lines: Sequence[str]) -> str:
    """The delimiter that splits the most lines into the same number of fields."""
    sample = "\n".join(lines)
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:
        pass
    best, best_score = ",", 0
    for d in ",;\t|":
        counts = [ln.count(d) for ln in lines if ln.strip()]
        counts = [c for c in counts if c > 0]
        if counts:
            mode = max(set(counts), key=counts.count)
            score = counts.count(mode) * (mode + 1)
            if score > best_score:
                best, best_score = d, score
    return best


def _unclosed_quote(path: Path, encoding: str, first_line: int) -> int | None:
    """The first line at or after ``first_line`` that opens a quote it does not close."""
    with _opener(path)(path, "rt", encoding=encoding, errors="replace", newline="") as fh:
        for n, line in enumerate(fh, start=1):
            if n >= first_line and line.count('"') % 2 == 1:
                return n
    return None


def _data_lines(path: Path, header_line: int, n_rows: int) -> npt.NDArray[np.int64]:
    """The line number of each data row: pyarrow skips blank lines, so count them out."""
    plain = np.arange(header_line + 1, header_line + 1 + n_rows, dtype=np.int64)
    blanks: list[npt.NDArray[np.int64]] = []
    line_base = 1
    tail = b""
    with _opener(path)(path, "rb") as fh:
        while True:
            block = fh.read(1 << 24)
            if not block:
                break
            data = tail + block
            # Complete lines only; the remainder is carried into the next block.
            cut = data.rfind(b"\n") + 1
            full, tail = data[:cut], data[cut:]
            if b"\n\n" in full or b"\n\r\n" in full or full.startswith((b"\n", b"\r\n")):
                arr = np.frombuffer(full, dtype=np.uint8)
                ends = np.flatnonzero(arr == 10)
                starts = np.concatenate([[0], ends[:-1] + 1])
                length = ends - starts
                cr = length == 1
                cr[cr] = arr[starts[cr]] == 13
                empty = (length == 0) | cr
                blanks.append(np.flatnonzero(empty).astype(np.int64) + line_base)
            line_base += full.count(b"\n")
    if not blanks:
        return plain
    blank = np.concatenate(blanks)
    blank = blank[blank > header_line]
    if blank.size == 0:
        return plain
    # The k-th data row is on the k-th line after the header that is not blank.
    candidates = np.arange(header_line + 1, header_line + 1 + n_rows + blank.size, dtype=np.int64)
    return candidates[~np.isin(candidates, blank)][:n_rows]


def read_csv(path: Path, rule: HeaderRule, *, encoding: str = "utf-8", delimiter: str | None = None) -> RawTable:
    import pyarrow as pa
    import pyarrow.csv as pacsv

    with _opener(path)(path, "rb") as fh:
        try:
            head = fh.read(65536)
        except (EOFError, OSError):
            raise EventDataError(f"{path}: is incomplete, cut off while copying; copy it again") from None
    try:
        sample = head.decode(encoding, errors="strict" if len(head) < 65536 else "ignore")
    except UnicodeDecodeError as e:
        line = head[: e.start].count(b"\n") + 1
        raise EventDataError(
            f"{path}:{line}: not {encoding} text (byte 0x{head[e.start]:02x}); if Excel saved it, "
            "try --encoding cp1252, or save it as 'CSV UTF-8'"
        ) from None
    except LookupError:
        raise EventDataError(f"unknown encoding '{encoding}'; try utf-8 or cp1252") from None
    if "\x00" in sample[:4096]:
        raise EventDataError(f"{path}: this is not a text file (it contains NUL bytes); is it the right file?")
    lines = sample.lstrip("\ufeff").splitlines()
    if len(head) == 65536 and lines:
        lines = lines[:-1]  # the last line of a cut sample may be partial
    top = lines[: HEADER_SEARCH_ROWS + 20]
    sep = delimiter or _sniff([ln for ln in top if ln.strip()][:HEADER_SEARCH_ROWS])
    rows = [(n, next(csv.reader([ln], delimiter=sep), [])) for n, ln in enumerate(top, start=1)]
    last = len(lines) if len(head) < 65536 else max(len(lines), rule.header_row or 0) + 1
    index, note = find_header(rows, rule, where=str(path), last_row=last)
    header_line = rows[index][0]
    try:
        table = pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(encoding=encoding, block_size=1 << 24, skip_rows=header_line - 1),
            parse_options=pacsv.ParseOptions(delimiter=sep, newlines_in_values=False),
            # pyarrow's fast ISO 8601 parser types clean timestamp columns; anything
            # else (day-first dates, mixed formats) stays text for the date reader.
            convert_options=pacsv.ConvertOptions(
                strings_can_be_null=True, auto_dict_encode=True, auto_dict_max_cardinality=2**31 - 1
            ),
        )
    except (EOFError, OSError) as e:
        if not isinstance(e, pa.ArrowInvalid):
            raise EventDataError(f"{path}: is incomplete, cut off while copying; copy it again") from None
        raise _csv_error(path, e, sep, encoding, header_line) from None
    except pa.ArrowInvalid as e:
        raise _csv_error(path, e, sep, encoding, header_line) from None
    cols = {}
    for i, name in enumerate(table.column_names):
        col = table.column(i)
        if pa.types.is_date(col.type):
            col = col.cast(pa.timestamp("s"))
        if pa.types.is_timestamp(col.type) and col.type.unit != "ns":
            # Keep a typed column typed, but never let a year such as 0001 or 9999 wrap round
            # in nanoseconds: the date reader flags those as out of range.
            col = col.cast(pa.timestamp("us", tz=col.type.tz))
        cols[name] = col
    table = pa.table(cols)
    frame: pd.DataFrame = table.to_pandas(
        types_mapper=lambda t: pd.StringDtype() if t == pa.string() else None, coerce_temporal_nanoseconds=False
    )
    positions = _data_lines(path, header_line, len(frame))
    return RawTable(frame=frame, positions=positions, unit="line", notes=(note,) if note else ())


def _csv_error(path: Path, e: Exception, sep: str, encoding: str, header_line: int) -> EventDataError:
    msg = str(e)
    if "UTF8" in msg or "utf8" in msg.lower():
        return EventDataError(f"{path}: not UTF-8 text; if Excel saved it, try --encoding cp1252")
    if "gzip" in msg.lower() or "truncated" in msg.lower() or "unexpected end" in msg.lower():
        return EventDataError(f"{path}: is incomplete, cut off while copying; copy it again")
    quote = _unclosed_quote(path, encoding, header_line)
    if quote is not None:
        return EventDataError(
            f"{path}: line {quote} opens a quote that is never closed; close it, or remove the stray '\"'"
        )
    m = re.search(r"Row #(\d+)", msg)
    where = f":{m.group(1)}" if m else ""
    detail = msg.splitlines()[0]
    return EventDataError(
        f"{path}{where}: cannot read as CSV with separator {sep!r}: {detail}. Check the separator "
        "(--delimiter) and that every line has the same number of fields"
    )


# --- Excel -----------------------------------------------------------------------------


def read_xlsx(path: Path, rule: HeaderRule, *, sheet: str | None = None) -> RawTable:
    from openpyxl import load_workbook
    from openpyxl.utils import get_column_letter

    big = path.stat().st_size > 20_000_000
    try:
        wb = load_workbook(path, read_only=big, data_only=True)
    except (zipfile.BadZipFile, OSError, KeyError, ValueError, TypeError, AttributeError) as e:
        if zipfile.is_zipfile(path):
            raise EventDataError(
                f"{path}: is a zip file but not an Excel workbook; open it in Excel and save it as .xlsx or CSV"
            ) from None
        raise EventDataError(
            f"{path}: is not an Excel workbook ({type(e).__name__}); open it in Excel and save it as .xlsx or CSV"
        ) from None
    notes: list[str] = []
    try:
        if sheet is None:
            ws = wb.worksheets[0]
        elif sheet in wb.sheetnames:
            ws = wb[sheet]
        else:
            from flowmap.errors import did_you_mean

            raise EventDataError(
                f"{path}: no sheet named '{sheet}'{did_you_mean(sheet, wb.sheetnames)}; "
                f"sheets are: {', '.join(repr(s) for s in wb.sheetnames)}"
            )
        merged = [] if big else list(ws.merged_cells.ranges)
        for rng in merged:
            top = ws.cell(rng.min_row, rng.min_col).value
            ws.unmerge_cells(str(rng))
            for r in range(rng.min_row, rng.max_row + 1):
                for c in range(rng.min_col, rng.max_col + 1):
                    ws.cell(r, c).value = top
        width_all = ws.max_column or 0
        rows = [
            (i, tuple(r))
            for i, r in enumerate(ws.iter_rows(min_row=1, min_col=1, max_col=max(width_all, 1), values_only=True), 1)
        ]
        title = ws.title
    finally:
        wb.close()
    where = f"{path} (sheet '{title}')"
    if not rows or not any(_cell_text(c) for _, r in rows for c in r):
        raise EventDataError(f"{where}: the sheet is empty")
    index, note = find_header(rows, rule, where=where, last_row=len(rows))
    header_pos, header = rows[index]
    width = len(header)
    while width and _cell_text(header[width - 1]) == "":
        width -= 1
    letters = [get_column_letter(i + 1) for i in range(width)]
    names = [_cell_text(h) or f"column {letters[i]}" for i, h in enumerate(header[:width])]
    if note:
        notes.append(note)
    in_data = [rng for rng in merged if rng.max_row >= header_pos]
    if in_data:
        notes.append(
            f"{len(in_data)} merged cell ranges in sheet '{title}' were read as their top-left value "
            f"repeated ({', '.join(str(r) for r in in_data[:5])}{', ...' if len(in_data) > 5 else ''})"
        )
    data = []
    numbers = []
    for sheet_row, cells in rows[index + 1 :]:
        vals = list(cells[:width])
        if all(v is None or (isinstance(v, str) and not v.strip()) for v in vals):
            continue
        data.append(vals + [None] * (width - len(vals)))
        numbers.append(sheet_row)
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        places = "; ".join(
            f"{d!r} in " + " and ".join(f"{letters[i]}{header_pos}" for i, n in enumerate(names) if n == d)
            for d in dupes
        )
        raise EventDataError(f"{where}: column names appear twice: {places}; rename one of each")
    frame = pd.DataFrame(data, columns=names, dtype=object) if data else pd.DataFrame(columns=names)
    return RawTable(
        frame=frame,
        positions=np.asarray(numbers, dtype=np.int64),
        unit="row",
        excel_serials=True,
        notes=tuple(notes),
        sheet=title,
        letters=dict(zip(names, letters, strict=True)),
    )


# --- Parquet ---------------------------------------------------------------------------


def read_parquet(path: Path) -> RawTable:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        schema = pq.read_schema(path)
        text_cols = [f.name for f in schema if pa.types.is_string(f.type) or pa.types.is_large_string(f.type)]
        # Dictionary-encoded text becomes pandas categoricals: each distinct case id and event
        # name is held once, not once per row (10M rows of ids would otherwise take gigabytes).
        table = pq.read_table(path, read_dictionary=text_cols)
    except (pa.ArrowInvalid, OSError) as e:
        raise EventDataError(f"{path}: cannot read as Parquet: {str(e).splitlines()[0]}") from None
    frame: pd.DataFrame = table.to_pandas(coerce_temporal_nanoseconds=False)
    return RawTable(frame=frame, positions=np.arange(1, len(frame) + 1, dtype=np.int64), unit="row")


# --- XES -------------------------------------------------------------------------------


def read_xes(path: Path) -> RawTable:
    """A streaming XES reader: one pass over end-of-element events, memory for the
    table it builds and one trace. Trace attributes are read when the trace closes."""
    import xml.etree.ElementTree as ET

    cases: list[Any] = []
    names: list[Any] = []
    times: list[Any] = []
    extra: dict[str, list[Any]] = {}
    n = 0
    trace_start = 0
    local: dict[str, str] = {}
    try:
        with _opener(path)(path, "rb") as fh:
            for _, el in ET.iterparse(fh, events=("end",)):
                tag = local.get(el.tag)
                if tag is None:
                    tag = local[el.tag] = el.tag.rsplit("}", 1)[-1]
                if tag == "event":
                    name = time = None
                    for child in el:
                        k = child.get("key")
                        if k == "concept:name":
                            name = child.get("value")
                        elif k == "time:timestamp":
                            time = child.get("value")
                        elif k is not None:
                            val = child.get("value")
                            if val is None:
                                continue
                            col = extra.get(k)
                            if col is None:
                                col = extra[k] = [None] * n
                            if len(col) < n:
                                col.extend([None] * (n - len(col)))
                            col.append(val)
                    names.append(name)
                    times.append(time)
                    n += 1
                    el.clear()
                elif tag == "trace":
                    case_id = None
                    for child in el:
                        if child.get("key") == "concept:name" and local.get(child.tag) == "string":
                            case_id = child.get("value")
                            break
                    cases.extend([case_id] * (n - trace_start))
                    trace_start = n
                    el.clear()
    except ET.ParseError as e:
        text = str(e)
        if "entit" in text.lower() or "doctype" in text.lower():
            raise EventDataError(
                f"{path}:{e.position[0]}: defines entities that expand to too much text, or refers to ones it does "
                "not define; remove the <!DOCTYPE …> section"
            ) from None
        if "no element found" in text and path.name.lower().endswith(".gz"):
            raise EventDataError(f"{path}: is incomplete, cut off while copying; copy it again") from None
        raise EventDataError(f"{path}:{e.position[0]}: cannot read as XES: {e}") from None
    except (EOFError, gzip.BadGzipFile, zlib_error()) as e:
        what = "is incomplete, cut off while copying; copy it again" if isinstance(e, EOFError) else f"is damaged ({e})"
        raise EventDataError(f"{path}: {what}") from None
    except OSError as e:
        raise EventDataError(f"{path}: cannot read as XES: {e}") from None
    if n == 0:
        raise EventDataError(f"{path}: no events found in this XES file")
    cases.extend([None] * (n - len(cases)))  # events outside a closed trace have no case
    frame = pd.DataFrame({"case:concept:name": cases, "concept:name": names, "time:timestamp": times})
    for k, v in extra.items():
        if k not in frame.columns:
            v.extend([None] * (n - len(v)))
            frame[k] = v
    return RawTable(frame=frame, positions=np.arange(1, n + 1, dtype=np.int64), unit="event")


def zlib_error() -> type[Exception]:
    import zlib

    return zlib.error


READERS: dict[str, Callable[..., RawTable]] = {
    "csv": read_csv,
    "xlsx": read_xlsx,
    "parquet": read_parquet,
    "xes": read_xes,
}
"""Format name -> reader. CSV and Excel readers take a :class:`HeaderRule`; the others need none."""
