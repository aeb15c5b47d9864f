"""CSV and other delimited text, read with pyarrow below a header it finds itself."""

from __future__ import annotations

import csv
import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from flowmap.errors import EventDataError
from flowmap.events.readers.header import HEADER_SEARCH_ROWS, HeaderRule, RawTable, find_header, opener

if TYPE_CHECKING:
    import numpy.typing as npt

__all__ = ["read_csv"]


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
    with opener(path)(path, "rt", encoding=encoding, errors="replace", newline="") as fh:
        for n, line in enumerate(fh, start=1):
            if n >= first_line and line.count('"') % 2 == 1:
                return n
    return None


def _data_lines(path: Path, header_line: int, n_rows: int, *, sep: str, encoding: str) -> npt.NDArray[np.int64]:
    """The line number of each data row: pyarrow skips blank lines, so count them out.

    A quoted value may hold line breaks (an Excel notes cell with Alt+Enter);
    then a row spans several lines, and each row's first line is found by
    reading the file record by record.
    """
    plain = np.arange(header_line + 1, header_line + 1 + n_rows, dtype=np.int64)
    blanks: list[npt.NDArray[np.int64]] = []
    line_base = 1
    tail = b""
    with opener(path)(path, "rb") as fh:
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
    blank = np.concatenate(blanks) if blanks else np.array([], dtype=np.int64)
    blank = blank[blank > header_line]
    total_lines = line_base - 1 + (1 if tail.strip() else 0)
    if total_lines - header_line - blank.size != n_rows:
        return _record_lines(path, header_line, n_rows, sep=sep, encoding=encoding)
    if blank.size == 0:
        return plain
    # The k-th data row is on the k-th line after the header that is not blank.
    candidates = np.arange(header_line + 1, header_line + 1 + n_rows + blank.size, dtype=np.int64)
    return candidates[~np.isin(candidates, blank)][:n_rows]


def _record_lines(path: Path, header_line: int, n_rows: int, *, sep: str, encoding: str) -> npt.NDArray[np.int64]:
    """Each data row's first line, record by record (rows that span lines; the slow path, used only then)."""
    starts: list[int] = []
    with opener(path)(path, "rt", encoding=encoding, errors="replace", newline="") as fh:
        reader = csv.reader(fh, delimiter=sep)
        last = 0
        for record in reader:
            first, last = last + 1, reader.line_num
            if first > header_line and record:  # a blank line is an empty record; pyarrow skips only those
                starts.append(first)
    out = np.asarray(starts[:n_rows], dtype=np.int64)
    return out if len(out) == n_rows else np.arange(header_line + 1, header_line + 1 + n_rows, dtype=np.int64)


def read_csv(
    path: Path, rule: HeaderRule, *, encoding: str = "utf-8", delimiter: str | None = None, zoned_text: bool = False
) -> RawTable:
    import pyarrow as pa
    import pyarrow.csv as pacsv

    with opener(path)(path, "rb") as fh:
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
    parsers = {"timestamp_parsers": ["%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d"]} if zoned_text else {}
    try:
        table = pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(encoding=encoding, block_size=1 << 24, skip_rows=header_line - 1),
            parse_options=pacsv.ParseOptions(delimiter=sep, newlines_in_values=False),
            # pyarrow's fast ISO 8601 parser types clean timestamp columns; anything
            # else (day-first dates, mixed formats) stays text for the date reader.
            # With ``zoned_text``, times with a UTC offset stay text too, so that
            # each one's own offset is known (pyarrow keeps only the instant).
            convert_options=pacsv.ConvertOptions(
                strings_can_be_null=True, auto_dict_encode=True, auto_dict_max_cardinality=2**31 - 1, **parsers
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
    positions = _data_lines(path, header_line, len(frame), sep=sep, encoding=encoding)
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
