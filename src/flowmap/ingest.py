"""Event files -> the canonical event table, with every input record accounted for.

Canonical table (:attr:`EventLog.events`): ``case_id`` and ``event``
(categorical text), ``timestamp`` (local, naive ``datetime64[ns]``), ``row``
(the record's position in its source: CSV line, sheet row, XES event number),
then any other columns as attributes.

Formats: CSV (any delimiter; UTF-8 with or without BOM; other encodings on
request), XLSX, Parquet, XES and ``.xes.gz``, or a pandas DataFrame. Long
form is one row per event; wide form (a tracker) is one row per case with a
date column per step, matched to the process's steps.
"""

from __future__ import annotations

import csv
import gzip
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .dates import parse_dates
from .errors import EventDataError
from .ledger import Ledger
from .model import normalise_name

if TYPE_CHECKING:
    from .model import Process

__all__ = ["EVENT_FORMATS", "EventLog", "read_events"]

EVENT_FORMATS = (".csv", ".txt", ".tsv", ".xlsx", ".xlsm", ".parquet", ".pq", ".xes", ".xes.gz")

_CASE_NAMES = (
    "case:concept:name", "case_id", "case", "caseid", "case id", "case ref", "case_ref", "case reference",
    "child", "child_id", "child id", "child_ref", "child ref", "child reference", "reference", "ref", "id",
)  # fmt: skip
_EVENT_NAMES = (
    "concept:name", "event", "activity", "event_type", "event type", "event name", "activity name", "step",
    "stage", "action", "task",
)  # fmt: skip
_TIME_NAMES = (
    "time:timestamp", "timestamp", "date", "event_date", "event date", "datetime", "date time", "time",
    "completed", "complete_timestamp", "end_timestamp",
)  # fmt: skip


def _key(name: str) -> str:
    return " ".join(str(name).replace("_", " ").replace("-", " ").split()).casefold()


@dataclass(frozen=True)
class EventLog:
    """Canonical events from one source, and the ledger of how they were read."""

    events: pd.DataFrame
    ledger: Ledger
    columns: dict[str, str]
    shape: str  # "long" or "wide"

    @property
    def n_cases(self) -> int:
        return int(self.events["case_id"].nunique())

    @property
    def date_range(self) -> tuple[pd.Timestamp, pd.Timestamp] | None:
        ts = self.events["timestamp"]
        if ts.empty:
            return None
        return pd.Timestamp(ts.min()), pd.Timestamp(ts.max())

    def with_events(self, events: pd.DataFrame, ledger: Ledger) -> EventLog:
        return replace(self, events=events, ledger=ledger)


def read_events(
    source: str | Path | pd.DataFrame,
    *,
    process: Process | None = None,
    case_col: str | None = None,
    event_col: str | None = None,
    time_col: str | None = None,
    sheet: str | None = None,
    monthfirst: bool = False,
    encoding: str = "utf-8",
    delimiter: str | None = None,
    timezone: str | None = None,
) -> EventLog:
    """Read an event file (or DataFrame) into the canonical table.

    Parameters
    ----------
    source
        A ``.csv``, ``.xlsx``, ``.parquet``, ``.xes`` or ``.xes.gz`` file, or a DataFrame.
    process
        When given, its time zone is used and a wide tracker (one row per case,
        one date column per step) is recognised by matching columns to steps.
    case_col, event_col, time_col
        Column names, when automatic detection is not enough.
    sheet
        XLSX sheet name (default: the first sheet).
    monthfirst
        Read slashed dates as month first (US); the default is day first (UK).
    encoding
        CSV text encoding, e.g. ``cp1252`` for files saved by older Excel.
    delimiter
        CSV delimiter; by default it is detected.
    timezone
        Local time zone (default: the process's, else Europe/London).

    Returns
    -------
    EventLog

    Raises
    ------
    EventDataError
        When the file cannot be read or has no usable columns; the message says
        which columns exist.
    """
    tz = timezone or (process.timezone if process is not None else "Europe/London")
    if isinstance(source, pd.DataFrame):
        raw, unit, name, first_pos, serials = source.reset_index(drop=True), "row", "<DataFrame>", 1, False
        fmt = "frame"
    else:
        path = Path(source)
        name = str(path)
        if not path.exists():
            raise EventDataError(f"{name}: no such file")
        if path.is_dir():
            raise EventDataError(f"{name}: is a folder; give an event file (.csv, .xlsx, .parquet, .xes)")
        fmt = _format_of(path)
        if path.stat().st_size == 0:
            raise EventDataError(f"{name}: the file is empty")
        if fmt == "xes":
            raw = _read_xes(path)
            unit, first_pos, serials = "event", 1, False
        elif fmt == "csv":
            raw = _read_csv(path, encoding=encoding, delimiter=delimiter)
            unit, first_pos, serials = "line", 2, False
        elif fmt == "xlsx":
            raw, notes = _read_xlsx(path, sheet)
            unit, first_pos, serials = "row", 2, True
        else:
            raw = _read_parquet(path)
            unit, first_pos, serials = "row", 1, False
    if fmt != "xlsx":
        notes = []
    raw.columns = [str(c).lstrip("\ufeff").strip() for c in raw.columns]
    if len(raw.columns) != len(set(raw.columns)):
        dupes = sorted({c for c in raw.columns if list(raw.columns).count(c) > 1})
        raise EventDataError(f"{name}: column names appear twice: {', '.join(dupes)}; rename one of each")
    if raw.empty:
        raise EventDataError(
            f"{name}: no rows of data (only a header: {', '.join(map(str, raw.columns)) or 'none'})"
            if len(raw.columns)
            else f"{name}: no rows of data"
        )
    positions = np.arange(first_pos, first_pos + len(raw), dtype=np.int64)
    if "__row__" in raw.columns:
        positions = raw.pop("__row__").to_numpy(dtype=np.int64)

    case = _pick(raw, case_col, _CASE_NAMES, "case", "--case-col", name)
    event = _pick(raw, event_col, _EVENT_NAMES, "event", "--event-col", name, required=False)
    wide_cols = _wide_columns(raw, process, exclude={case}) if event is None and time_col is None else {}
    if event is None and not wide_cols:
        hint = (
            "; if this is a tracker with one date column per step, name the columns after the steps "
            "(or set 'column:' on each step)"
            if process is not None
            else "; if this is a tracker with one date column per step, give --process so flowmap can match them"
        )
        raise EventDataError(
            f"{name}: no event column found (looked for {', '.join(_EVENT_NAMES[:4])}, ...); "
            f"columns are: {_list(raw.columns)}. Name it with --event-col{hint}"
        )
    ledger = Ledger(source=name, unit=unit, read=0)
    for n in notes:
        ledger = ledger.note(n)
    if wide_cols:
        for c in raw.columns:  # trackers are small: plain objects keep the cell logic simple
            if isinstance(raw[c].dtype, pd.CategoricalDtype):
                raw[c] = raw[c].astype(object)
        return _wide(raw, case, wide_cols, positions, ledger, process, tz=tz, monthfirst=monthfirst, serials=serials)
    assert event is not None
    time = _pick(raw, time_col, _TIME_NAMES, "date", "--time-col", name)
    if len(raw.columns) == 1 or case in (event, time) or event == time:
        raise EventDataError(f"{name}: the case, event and date must be three different columns; columns are: "
                             f"{_list(raw.columns)}")  # fmt: skip
    ledger = replace(ledger, read=len(raw))
    ts = parse_dates(raw[time], timezone=tz, monthfirst=monthfirst, excel_serials=serials)
    attrs = raw.drop(columns=[case, event, time])
    frame = pd.DataFrame(
        {
            "case_id": _text(raw[case]),
            "event": _text(raw[event]),
            "timestamp": ts.to_numpy(),
            "row": positions,
        }
    )
    frame = pd.concat([frame, attrs.reset_index(drop=True)], axis=1) if len(attrs.columns) else frame
    frame, ledger = _set_aside(frame, ledger, raw[time])
    return EventLog(events=_categorise(frame), ledger=ledger, columns={"case": case, "event": event, "time": time},
                    shape="long")  # fmt: skip


# --- helpers -------------------------------------------------------------------------


def _list(cols: Any) -> str:
    names = [str(c) for c in cols]
    shown = ", ".join(repr(c) for c in names[:20])
    return shown + (f" and {len(names) - 20} more" if len(names) > 20 else "")


def _format_of(path: Path) -> str:
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


def _pick(
    raw: pd.DataFrame,
    given: str | None,
    names: Sequence[str],
    what: str,
    option: str,
    source: str,
    *,
    required: bool = True,
) -> Any:
    if given is not None:
        if given in raw.columns:
            return given
        by_key = {_key(c): c for c in raw.columns}
        if _key(given) in by_key:
            return by_key[_key(given)]
        from .errors import did_you_mean

        raise EventDataError(
            f"{source}: {option} names a column '{given}' that does not exist"
            f"{did_you_mean(given, [str(c) for c in raw.columns])}; columns are: {_list(raw.columns)}"
        )
    by_key = {}
    for c in raw.columns:
        by_key.setdefault(_key(c), c)
    for n in names:
        if _key(n) in by_key:
            return by_key[_key(n)]
    if not required:
        return None
    hint = ""
    if len(raw.columns) == 1:
        only = str(raw.columns[0])
        seps = [s for s in (";", "\t", "|", ",") if s in only]
        if seps:
            hint = f" The header looks like one column; the file may use {seps[0]!r} as its separator: try --delimiter"
    raise EventDataError(
        f"{source}: no {what} column found (looked for {', '.join(names[:5])}, ...); "
        f"columns are: {_list(raw.columns)}. Name it with {option}.{hint}"
    )


def _text(values: pd.Series) -> pd.Series:
    """Text ids and names; numbers written without a trailing '.0'; blanks are missing.

    A categorical column is cleaned once per category, and stays categorical.
    """
    if isinstance(values.dtype, pd.CategoricalDtype):
        cats = pd.Series(values.cat.categories)
        clean = _text(cats)
        codes = np.asarray(values.cat.codes)
        mapping = pd.Categorical(clean)
        new_codes = np.where(codes >= 0, np.asarray(mapping.codes)[np.maximum(codes, 0)], -1)
        return pd.Series(pd.Categorical.from_codes(new_codes, dtype=mapping.dtype), index=values.index)
    s = values
    if pd.api.types.is_float_dtype(s.dtype):
        whole = s.dropna()
        if (whole == np.floor(whole)).all():
            s = s.astype("Int64")
    out = s.astype("string").str.strip()
    return out.mask(out == "")


def _categorise(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.reset_index(drop=True)
    out["case_id"] = out["case_id"].astype("category")
    out["event"] = out["event"].astype("category")
    return out


def _set_aside(frame: pd.DataFrame, ledger: Ledger, raw_time: pd.Series) -> tuple[pd.DataFrame, Ledger]:
    row = frame["row"].to_numpy()
    no_case = frame["case_id"].isna().to_numpy()
    ledger = ledger.add("no_case_id", row[no_case])
    keep = ~no_case
    no_event = frame["event"].isna().to_numpy() & keep
    ledger = ledger.add("no_event", row[no_event])
    keep &= ~no_event
    nat = frame["timestamp"].isna().to_numpy() & keep
    raw_vals = raw_time.reset_index(drop=True)
    ledger = ledger.add("unreadable_date", row[nat], examples=[str(v) for v in raw_vals[nat].head(5) if pd.notna(v)])
    keep &= ~nat
    ts = frame["timestamp"].to_numpy()
    with np.errstate(invalid="ignore"):
        odd = keep & ((ts < np.datetime64("1910-01-01")) | (ts >= np.datetime64("2100-01-01")))
    ledger = ledger.add("implausible_date", row[odd], examples=[str(v) for v in raw_vals[odd].head(5)])
    keep &= ~odd
    kept = frame[keep]
    dup = kept.drop(columns=["row"]).duplicated(keep="first").to_numpy()
    ledger = ledger.add("duplicate", kept["row"].to_numpy()[dup])
    return kept[~dup], ledger


# --- wide trackers ---------------------------------------------------------------------


def _wide_columns(raw: pd.DataFrame, process: Process | None, exclude: set[str]) -> dict[str, str]:
    """Column -> step id, for columns named by a step's ``column``, label, id or event names."""
    if process is None:
        return {}
    names: dict[str, str] = {}
    for s in process.steps:
        for n in (s.column, s.label, s.id, *s.events):
            if n:
                names.setdefault(_key(n), s.id)
                names.setdefault(normalise_name(n), s.id)
    out: dict[str, str] = {}
    for c in raw.columns:
        if c in exclude:
            continue
        step = names.get(_key(c)) or names.get(normalise_name(str(c)))
        if step is not None:  # several columns may date one step, e.g. a rework loop's second sending
            out[c] = step
    return out


def _wide(
    raw: pd.DataFrame,
    case: str,
    cols: dict[str, str],
    positions: np.ndarray[Any, Any],
    ledger: Ledger,
    process: Process | None,
    *,
    tz: str,
    monthfirst: bool,
    serials: bool,
) -> EventLog:
    ids = _text(raw[case]).reset_index(drop=True)
    parts = []
    assert process is not None
    for col, step in cols.items():
        cell = raw[col].reset_index(drop=True)
        filled = np.array(cell.notna(), dtype=bool)
        if cell.dtype == object or pd.api.types.is_string_dtype(cell.dtype):
            filled &= (cell.astype("string").str.strip() != "").fillna(False).to_numpy(dtype=bool)
        if not filled.any():
            continue
        parts.append(
            pd.DataFrame(
                {
                    "case_id": ids[filled].to_numpy(),
                    "event": process.step(step).events[0],
                    "timestamp": parse_dates(
                        cell[filled], timezone=tz, monthfirst=monthfirst, excel_serials=serials
                    ).to_numpy(),
                    "row": positions[filled],
                    "__raw__": cell[filled].astype(str).to_numpy(),
                }
            )
        )
    if not parts:
        raise EventDataError(f"{ledger.source}: the step columns ({_list(list(cols))}) hold no dates")
    frame = pd.concat(parts, ignore_index=True)
    frame["case_id"] = frame["case_id"].astype("string")
    ledger = replace(ledger, unit="dated cell", read=len(frame)).note(
        f"wide tracker: {len(raw)} rows, step columns " + ", ".join(f"{c!r}->{s}" for c, s in cols.items())
    )
    raw_time = frame.pop("__raw__")
    frame, ledger = _set_aside(frame, ledger, raw_time)
    return EventLog(events=_categorise(frame), ledger=ledger, columns={"case": case, **cols}, shape="wide")


# --- readers -----------------------------------------------------------------------------


def _sniff(sample: str) -> str:
    first = sample.splitlines()[0] if sample else ""
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:
        counts = {d: first.count(d) for d in ",;\t|"}
        best = max(counts, key=lambda d: counts[d])
        return best if counts[best] else ","


def _read_csv(path: Path, *, encoding: str, delimiter: str | None) -> pd.DataFrame:
    import pyarrow as pa
    import pyarrow.csv as pacsv

    opener = gzip.open if path.name.lower().endswith(".gz") else open
    with opener(path, "rb") as fh:
        head = fh.read(65536)
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
    sep = delimiter or _sniff(sample.lstrip("\ufeff"))
    try:
        table = pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(encoding=encoding, block_size=1 << 24),
            parse_options=pacsv.ParseOptions(delimiter=sep, newlines_in_values=False),
            # pyarrow's fast ISO 8601 parser types clean timestamp columns; anything
            # else (day-first dates, mixed formats) stays text for parse_dates.
            convert_options=pacsv.ConvertOptions(
                strings_can_be_null=True, auto_dict_encode=True, auto_dict_max_cardinality=2**31 - 1
            ),
        )
    except pa.ArrowInvalid as e:
        msg = str(e)
        m = re.search(r"Row #(\d+)", msg)
        where = f":{m.group(1)}" if m else ""
        if "UTF8" in msg or "utf8" in msg.lower():
            raise EventDataError(f"{path}{where}: not UTF-8 text; if Excel saved it, try --encoding cp1252") from None
        detail = msg.splitlines()[0]
        raise EventDataError(
            f"{path}{where}: cannot read as CSV with separator {sep!r}: {detail}. Check the separator "
            "(--delimiter) and that every line has the same number of fields"
        ) from None
    cols = {}
    for i, name in enumerate(table.column_names):
        col = table.column(i)
        if pa.types.is_date(col.type):
            col = col.cast(pa.timestamp("ns"))
        cols[name] = col
    table = pa.table(cols)
    frame: pd.DataFrame = table.to_pandas(types_mapper=lambda t: pd.StringDtype() if t == pa.string() else None)
    return frame


def _read_parquet(path: Path) -> pd.DataFrame:
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
    frame: pd.DataFrame = table.to_pandas()
    return frame


def _read_xlsx(path: Path, sheet: str | None) -> tuple[pd.DataFrame, list[str]]:
    import zipfile

    from openpyxl import load_workbook

    notes: list[str] = []
    big = path.stat().st_size > 20_000_000
    try:
        wb = load_workbook(path, read_only=big, data_only=True)
    except (zipfile.BadZipFile, OSError, KeyError, ValueError) as e:
        raise EventDataError(f"{path}: cannot read as an Excel workbook ({e}); is it really .xlsx?") from None
    try:
        if sheet is None:
            ws = wb.worksheets[0]
        elif sheet in wb.sheetnames:
            ws = wb[sheet]
        else:
            raise EventDataError(f"{path}: no sheet named '{sheet}'; sheets are: {_list(wb.sheetnames)}")
        if not big:
            merged = list(ws.merged_cells.ranges)
            for rng in merged:
                top = ws.cell(rng.min_row, rng.min_col).value
                ws.unmerge_cells(str(rng))
                for r in range(rng.min_row, rng.max_row + 1):
                    for c in range(rng.min_col, rng.max_col + 1):
                        ws.cell(r, c).value = top
            if merged:
                notes.append(
                    f"{len(merged)} merged cell ranges in sheet '{ws.title}' were read as their top-left value "
                    f"repeated ({', '.join(str(r) for r in merged[:5])}{', ...' if len(merged) > 5 else ''})"
                )
        rows = ws.iter_rows(values_only=True)
        header = next(rows, None)
        if header is None:
            raise EventDataError(f"{path}: sheet '{ws.title}' is empty")
        width = len(header)
        while width and header[width - 1] is None:
            width -= 1
        names = [str(h).strip() if h is not None else f"column {i + 1}" for i, h in enumerate(header[:width])]
        data = []
        numbers = []
        for i, r in enumerate(rows, start=2):
            vals = list(r[:width])
            if all(v is None or (isinstance(v, str) and not v.strip()) for v in vals):
                continue
            data.append(vals + [None] * (width - len(vals)))
            numbers.append(i)
    finally:
        wb.close()
    frame = pd.DataFrame(data, columns=names, dtype=object) if data else pd.DataFrame(columns=names)
    frame["__row__"] = np.asarray(numbers, dtype=np.int64)
    return frame, notes


def _read_xes(path: Path) -> pd.DataFrame:
    """A streaming XES reader: one pass over end-of-element events, memory for the
    table it builds and one trace. Trace attributes are read when the trace closes."""
    import xml.etree.ElementTree as ET

    opener = gzip.open if path.name.lower().endswith(".gz") else open
    cases: list[Any] = []
    names: list[Any] = []
    times: list[Any] = []
    extra: dict[str, list[Any]] = {}
    n = 0
    trace_start = 0
    local: dict[str, str] = {}
    try:
        with opener(path, "rb") as fh:
            for _, el in ET.iterparse(fh, events=("end",)):
                tag = local.get(el.tag)
                if tag is None:
                    tag = local[el.tag] = el.tag.rsplit("}", 1)[-1]
                if tag == "event":
                    name = time = None
                    for child in el:
                        key = child.get("key")
                        if key == "concept:name":
                            name = child.get("value")
                        elif key == "time:timestamp":
                            time = child.get("value")
                        elif key is not None:
                            val = child.get("value")
                            if val is None:
                                continue
                            col = extra.get(key)
                            if col is None:
                                col = extra[key] = [None] * n
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
    except (ET.ParseError, EOFError, OSError) as e:
        where = f":{e.position[0]}" if isinstance(e, ET.ParseError) else ""
        raise EventDataError(f"{path}{where}: cannot read as XES: {e}") from None
    if n == 0:
        raise EventDataError(f"{path}: no events found in this XES file")
    cases.extend([None] * (n - len(cases)))  # events outside a closed trace have no case
    frame = pd.DataFrame({"case:concept:name": cases, "concept:name": names, "time:timestamp": times})
    for k, v in extra.items():
        if k not in frame.columns:
            v.extend([None] * (n - len(v)))
            frame[k] = v
    return frame
