"""Event files -> the canonical event table, with every input record accounted for.

Canonical table (:attr:`EventLog.events`): ``case_id`` and ``event``
(categorical text), ``timestamp`` (local, naive ``datetime64[ns]``), ``row``
(the record's position in its source: CSV line, sheet row, XES event number),
for a tracker ``column`` (the step column the date came from), then any other
columns as attributes.

Formats (:mod:`flowmap.readers`): CSV, XLSX, Parquet, XES and ``.xes.gz``, or
a pandas DataFrame. Long form is one row per event; wide form (a tracker) is
one row per case with a date column per step, matched to the process's steps.

Reading a tracker as teams keep it: the header is searched for below titles
and blank rows; cells that say a step has not happened yet (``N/A``,
``awaiting``) are counted apart, not as problems; a totals row is a
``summary row``, not a case; every cell set aside keeps its address.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from flowmap.errors import EventDataError, NoMatchError
from flowmap.events.dates import Times, check_timezone, not_yet, read_times
from flowmap.events.ledger import Ledger
from flowmap.events.lifecycle import LIFECYCLE_MODES, LIFECYCLE_NAMES, START_NAMES, pair_lifecycle
from flowmap.events.readers import READERS, HeaderRule, RawTable, format_of, key, normalise_delimiter
from flowmap.model.process import normalise_name

if TYPE_CHECKING:
    import numpy.typing as npt

    from flowmap.model.process import Process

__all__ = ["CASE_NAMES", "EVENT_FORMATS", "EVENT_NAMES", "SUMMARY_WORDS", "TIME_NAMES", "EventLog", "ReadOptions",
           "no_match_error", "read_events"]  # fmt: skip

EVENT_FORMATS = (".csv", ".txt", ".tsv", ".xlsx", ".xlsm", ".parquet", ".pq", ".xes", ".xes.gz")

CASE_NAMES = (
    "case:concept:name", "case_id", "case", "caseid", "case id", "case ref", "case_ref", "case reference",
    "child", "child_id", "child id", "child_ref", "child ref", "child reference", "reference", "ref", "id",
)  # fmt: skip
EVENT_NAMES = (
    "concept:name", "event", "activity", "event_type", "event type", "event name", "activity name", "step",
    "stage", "action", "task",
)  # fmt: skip
TIME_NAMES = (
    "time:timestamp", "timestamp", "date", "event_date", "event date", "datetime", "date time", "time",
    "completed", "complete_timestamp", "end_timestamp",
)  # fmt: skip
SUMMARY_WORDS = ("total", "totals", "sum", "average", "mean", "median", "count", "grand total")
"""A case cell reading one of these (case-insensitive) marks a summary row, not a case."""


@dataclass(frozen=True)
class ReadOptions:
    """How to read an event file: the options every reading command shares."""

    case_col: str | None = None
    event_col: str | None = None
    time_col: str | None = None
    sheet: str | None = None
    header_row: int | None = None
    monthfirst: bool = False
    encoding: str = "utf-8"
    delimiter: str | None = None
    not_yet: tuple[str, ...] = ()
    timezone: str | None = None
    keep_duplicates: bool = False
    guess_zone: bool = False  # name the time zone the data's own offsets follow (``discover``)
    lifecycle_col: str | None = None
    start_col: str | None = None
    lifecycle: str = "intervals"  # or "complete": pm4py's default view
    timed: bool | None = None  # whether times of day count; None: when any value has one (the Dask engine decides
    # once for the whole dataset, so that a partition whose times all fall at midnight is measured alike)


@dataclass(frozen=True)
class EventLog:
    """Canonical events from one source, and the ledger of how they were read."""

    events: pd.DataFrame
    ledger: Ledger
    columns: dict[str, str]
    shape: str  # "long" or "wide"
    found: tuple[str, ...] = field(default=())  # every column of the source, for messages
    timezone: str = "Europe/London"  # the zone local dates are counted in
    data_zone: tuple[str, str] | None = None  # with ``guess_zone``: a zone the data's offsets follow, and why
    # A log with times of day whose every event has the same UTC offset (seconds): there is no ``utc_offset``
    # column, yet an as-of date on the other side of a clock change is an hour nearer or further.
    fixed_offset: int | None = None

    @property
    def n_cases(self) -> int:
        return int(self.events["case_id"].nunique())

    @property
    def date_range(self) -> tuple[pd.Timestamp, pd.Timestamp] | None:
        ts = self.events["timestamp"]
        if ts.empty or ts.isna().all():
            return None
        return pd.Timestamp(ts.min()), pd.Timestamp(ts.max())

    def with_events(self, events: pd.DataFrame, ledger: Ledger) -> EventLog:
        return replace(self, events=events, ledger=ledger)


def read_events(
    source: str | Path | pd.DataFrame | None = None,
    *,
    process: Process | None = None,
    case_col: str | None = None,
    event_col: str | None = None,
    time_col: str | None = None,
    sheet: str | None = None,
    header_row: int | None = None,
    monthfirst: bool = False,
    encoding: str = "utf-8",
    delimiter: str | None = None,
    not_yet: Sequence[str] = (),
    timezone: str | None = None,
    keep_duplicates: bool = False,
    guess_zone: bool = False,
    lifecycle_col: str | None = None,
    start_col: str | None = None,
    lifecycle: str = "intervals",
    timed: bool | None = None,
    db: Any = None,
    sql: str | None = None,
    table: str | None = None,
    params: Mapping[str, Any] | None = None,
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
        Column names (of the header row), when automatic detection is not enough.
    sheet
        XLSX sheet name (default: the first sheet).
    header_row
        The header's row number in the sheet or file, from 1 (default: the
        first of the top 30 rows that holds the case column, or with a
        process two step columns).
    monthfirst
        Read slashed dates as month first (US); the default is day first (UK).
    encoding
        CSV text encoding, e.g. ``cp1252`` for files saved by older Excel.
    delimiter
        CSV delimiter (one character, or ``\\t``, ``tab``, ``comma``,
        ``semicolon``, ``pipe``); by default it is detected.
    not_yet
        More words that mean "no date yet" in a date cell, beside
        :data:`flowmap.dates.NOT_YET_WORDS`.
    timezone
        The time zone dates are counted in and times without an offset are
        read in (default: the process's, else Europe/London); times with an
        offset are kept as instants (docs/events.md, "Time zones").
    keep_duplicates
        Keep rows that exactly repeat an earlier one (default: set aside).
    guess_zone
        Also name a time zone the data's own UTC offsets follow
        (:attr:`EventLog.data_zone`), as ``discover`` does.
    lifecycle_col, start_col
        The lifecycle column (``start``/``complete``/...) or the start-time
        column, when automatic detection (``lifecycle:transition``,
        ``start_timestamp``, ...) is not enough (docs/events.md, "Start and
        complete").
    lifecycle
        ``intervals`` (the default): each activity instance is one row from
        its start to its completion; ``complete``: completes only, pm4py's
        default view.
    timed
        Whether the times are read with their time of day (elapsed days) or
        as dates (whole dates). Default: with times of day when any value has
        one. The Dask engine decides it once for all partitions.
    db, sql, table, params
        Instead of ``source``: a database (a SQLAlchemy URL with no password
        in it, or an Engine) and a query (``sql``, with named ``params``) or a
        ``table`` (docs/events.md, "Databases").

    Returns
    -------
    EventLog

    Raises
    ------
    EventDataError
        When the file cannot be read or has no usable columns; the message says
        which columns exist. :class:`~flowmap.errors.NoMatchError` when a
        process is given and none of the tracker's columns matches a step.
    """
    opts = ReadOptions(case_col=case_col, event_col=event_col, time_col=time_col, sheet=sheet,
                       header_row=header_row, monthfirst=monthfirst, encoding=encoding,
                       delimiter=normalise_delimiter(delimiter), not_yet=tuple(not_yet),
                       timezone=timezone, keep_duplicates=keep_duplicates, guess_zone=guess_zone,
                       lifecycle_col=lifecycle_col, start_col=start_col, lifecycle=lifecycle,
                       timed=timed)  # fmt: skip
    if lifecycle not in LIFECYCLE_MODES:
        raise EventDataError(f"lifecycle must be one of {', '.join(LIFECYCLE_MODES)} (got '{lifecycle}')")
    if db is not None or sql is not None or table is not None:
        if source is not None:
            raise EventDataError("give an event file or a database (--db with --query or --table), not both")
        if db is None:
            raise EventDataError("--query and --table read from a database: give it with --db URL")
        from flowmap.events.readers.database import read_database

        name, raw = read_database(db, sql=sql, table=table, params=params)
        return _canonical(name, raw, opts, process)
    if source is None:
        raise EventDataError("no events given: give an event file, or a database with --db URL and --query or --table")
    name, raw = _read_raw(source, opts, process)
    return _canonical(name, raw, opts, process)


# --- reading ---------------------------------------------------------------------------


def _step_keys(process: Process) -> dict[str, str]:
    """Name keys -> step id, for a step's ``column``, label, id and event names."""
    names: dict[str, str] = {}
    for s in process.steps:
        for n in (s.column, s.label, s.id, *s.events):
            if n:
                names.setdefault(key(n), s.id)
                names.setdefault(normalise_name(n), s.id)
    return names


def _header_rule(opts: ReadOptions, process: Process | None) -> HeaderRule:
    if opts.case_col is not None:
        case_names = frozenset({key(opts.case_col)})
        described = repr(opts.case_col)
    else:
        case_names = frozenset(key(n) for n in CASE_NAMES)
        described = ", ".join(repr(n) for n in CASE_NAMES[:8]) + ", ..."
    steps = frozenset(_step_keys(process)) if process is not None else frozenset()
    if steps:
        described += ", or two columns named after steps"
    return HeaderRule(case_names=case_names, step_names=steps, described=described, header_row=opts.header_row,
                      given=opts.case_col)  # fmt: skip


def _read_raw(source: str | Path | pd.DataFrame, opts: ReadOptions, process: Process | None) -> tuple[str, RawTable]:
    if isinstance(source, pd.DataFrame):
        frame = source.reset_index(drop=True)
        if "__row__" in frame.columns:  # rows numbered by the caller (the Dask engine's global numbers)
            positions = frame.pop("__row__").to_numpy(dtype=np.int64)
        else:
            positions = np.arange(1, len(frame) + 1, dtype=np.int64)
        return "<DataFrame>", RawTable(frame=frame, positions=positions, unit="row")
    path = Path(source)
    name = str(path)
    if not path.exists():
        raise EventDataError(f"{name}: no such file")
    if path.is_dir():
        raise EventDataError(f"{name}: is a folder; give an event file (.csv, .xlsx, .parquet, .xes)")
    fmt = format_of(path)
    if path.stat().st_size == 0:
        raise EventDataError(f"{name}: the file is empty")
    if fmt != "xlsx" and opts.sheet is not None:
        raise EventDataError(f"--sheet applies to Excel workbooks; {name} is not one")
    if fmt not in ("csv", "xlsx") and opts.header_row is not None:
        raise EventDataError(f"--header-row applies to CSV and Excel files; {name} has its own column names")
    reader = READERS[fmt]
    if fmt == "csv":
        raw = reader(path, _header_rule(opts, process), encoding=opts.encoding, delimiter=opts.delimiter,
                     zoned_text=opts.guess_zone)  # fmt: skip
    elif fmt == "xlsx":
        raw = reader(path, _header_rule(opts, process), sheet=opts.sheet)
    else:
        raw = reader(path)
    return name, raw


def _canonical(name: str, raw: RawTable, opts: ReadOptions, process: Process | None) -> EventLog:
    frame = raw.frame
    frame.columns = [str(c).lstrip("\ufeff").strip() for c in frame.columns]
    if len(frame.columns) != len(set(frame.columns)):
        dupes = sorted({c for c in frame.columns if list(frame.columns).count(c) > 1})
        raise EventDataError(f"{name}: column names appear twice: {', '.join(dupes)}; rename one of each")
    frame, positions, blank = _drop_blank_rows(frame, raw.positions)
    if frame.empty:
        raise EventDataError(
            f"{name}: no rows of data (only a header: {', '.join(map(str, frame.columns)) or 'none'})"
            if len(frame.columns)
            else f"{name}: no rows of data"
        )
    tz = check_timezone(opts.timezone or (process.timezone if process is not None else "Europe/London"))
    case = _pick(frame, opts.case_col, CASE_NAMES, "case", "--case-col", name)
    event = _pick(frame, opts.event_col, EVENT_NAMES, "event", "--event-col", name, required=False)
    wide_cols = _wide_columns(frame, process, exclude={case}) if event is None and opts.time_col is None else {}
    if event is None and not wide_cols:
        if process is not None:
            raise no_match_error(name, process, columns=[str(c) for c in frame.columns])
        raise EventDataError(
            f"{name}: no event column found (looked for {', '.join(EVENT_NAMES[:4])}, ...); "
            f"columns are: {_list(frame.columns)}. Name it with --event-col; if this is a tracker with one date "
            "column per step, give --process so flowmap can match them"
        )
    ledger = Ledger(source=name, unit=raw.unit, read=0, sheet=raw.sheet, letters=raw.letters)
    for n in raw.notes:
        ledger = ledger.note(n)
    if blank:
        ledger = ledger.note(f"{blank} blank row{'s' if blank != 1 else ''} skipped")
    found = tuple(str(c) for c in frame.columns)
    summary = _summary_rows(frame, case)
    if wide_cols:
        for c in frame.columns:  # trackers are small: plain objects keep the cell logic simple
            if isinstance(frame[c].dtype, pd.CategoricalDtype):
                frame[c] = frame[c].astype(object)
        assert process is not None
        events, ledger, fixed = _wide(frame, case, wide_cols, positions, summary, ledger, process, tz=tz,
                                      opts=opts, excel_serials=raw.excel_serials)  # fmt: skip
        return EventLog(events=events, ledger=ledger, columns={"case": case, **wide_cols}, shape="wide", found=found,
                        timezone=tz, fixed_offset=fixed)  # fmt: skip
    assert event is not None
    time = _pick(frame, opts.time_col, TIME_NAMES, "date", "--time-col", name)
    if len(frame.columns) == 1 or case in (event, time) or event == time:
        raise EventDataError(f"{name}: the case, event and date must be three different columns; columns are: "
                             f"{_list(frame.columns)}")  # fmt: skip
    ledger = replace(ledger, read=len(frame))
    ids = _text(frame[case])
    if summary.any():
        ledger = ledger.add("summary_row", positions[summary], column=case,
                            values=_summary_values(frame, case, summary))  # fmt: skip
    start = _pick(frame.drop(columns=[case, event, time]), opts.start_col, START_NAMES, "start time", "--start-col",
                  name, required=False)  # fmt: skip
    life = _pick(frame.drop(columns=[case, event, time]), opts.lifecycle_col, LIFECYCLE_NAMES, "lifecycle",
                 "--lifecycle-col", name, required=False)  # fmt: skip
    start, life = _lifecycle_columns(frame, start, life, opts, tz)
    attrs = frame.drop(columns=[case, event, time, *(["utc_offset"] if "utc_offset" in frame else []),
                                *([start] if start is not None else [])])  # fmt: skip
    if "utc_offset" in frame and pd.api.types.is_datetime64_dtype(frame[time].dtype):
        # flowmap's own table (local times and their offsets) read again: the same instants.
        seconds = pd.to_numeric(frame["utc_offset"], errors="coerce").fillna(0).to_numpy(dtype=np.int64)
        local = frame[time].to_numpy(dtype="M8[ns]")
        instants = pd.Series((local.view(np.int64) - seconds * 1_000_000_000).view("M8[ns]"), index=frame.index)
        frame = frame.assign(**{time: instants.dt.tz_localize("UTC")})
    events = pd.DataFrame({"case_id": ids, "event": _text(frame[event]), "row": positions})
    events = pd.concat([events, attrs.reset_index(drop=True)], axis=1) if len(attrs.columns) else events
    raw_time = frame[time].reset_index(drop=True)
    keep = ~summary
    # A row with a case and an event but no date yet is counted apart, not set aside.
    waiting, said = not_yet(raw_time, opts.not_yet)
    waiting &= keep & ids.notna().to_numpy() & events["event"].notna().to_numpy()
    if waiting.any():
        ledger = ledger.with_not_yet(_word_counts(said[waiting]))
        keep &= ~waiting
    if not keep.all():
        events, raw_time = events[keep].reset_index(drop=True), raw_time[keep].reset_index(drop=True)
    times = read_times(raw_time, timezone=tz, monthfirst=opts.monthfirst, excel_serials=raw.excel_serials,
                       timed=opts.timed)  # fmt: skip
    events, ledger, fixed = _place_times(events, times, ledger, tz)
    data_zone = guess_zone(times, opts.timezone) if opts.guess_zone else None
    if start is not None:
        raw_start = frame[start].reset_index(drop=True)
        raw_start = raw_start[keep].reset_index(drop=True) if not keep.all() else raw_start
        events, ledger = _start_times(events, times, raw_start, start, ledger, tz, opts,
                                      excel_serials=raw.excel_serials)  # fmt: skip
    events, ledger = _set_aside(events, ledger, raw_time, times.outside, columns=(case, event, time),
                                keep_duplicates=opts.keep_duplicates)  # fmt: skip
    if start is not None and opts.lifecycle == "complete":
        events = events.drop(columns=[c for c in ("start_timestamp", "start_offset") if c in events])
        ledger = ledger.note(f"--lifecycle complete: the start times in '{start}' are not used")
    elif start is None and life is not None:
        events, ledger = pair_lifecycle(events, life, ledger, opts.lifecycle)
    return EventLog(events=_categorise(events), ledger=ledger, columns={"case": case, "event": event, "time": time},
                    shape="long", found=found, timezone=tz, data_zone=data_zone, fixed_offset=fixed)  # fmt: skip


# Zones tried, in order, when the data's offsets change through the year: each names a rule many countries share.
_ZONES_TRIED = ("Europe/London", "CET", "EET", "WET", "EST5EDT", "CST6CDT", "MST7MDT", "PST8PDT")


def guess_zone(times: Times, given: str | None) -> tuple[str, str] | None:
    """A time zone the data's own UTC offsets follow, and a sentence saying how it was found.

    ``given`` (``--timezone``) wins when every offset agrees with it; else one
    offset shared by every event gives a fixed zone (``UTC``, ``Etc/GMT-1`` for
    +01:00); else ``given``, if there is one; else the first of
    :data:`_ZONES_TRIED` whose clock changes match every offset. ``None``
    (the zone the data was read in) when the data carries no offsets or none
    fits.
    """
    z = times.zoned & ~np.isnat(times.local) & ~np.isnan(times.own_offset)
    if not z.any():
        return None
    inst = pd.DatetimeIndex(times.instants[z]).tz_localize("UTC")
    own = np.round(times.own_offset[z]).astype(np.int64)

    def fits(zone: str) -> bool:
        local = np.asarray(inst.tz_convert(zone).tz_localize(None), dtype="M8[ns]").view(np.int64)
        return bool(np.array_equal((local - np.asarray(inst.tz_localize(None), dtype="M8[ns]").view(np.int64))
                                   // 60_000_000_000, own))  # fmt: skip

    if given is not None and fits(given):
        return given, f"the data's UTC offsets agree with --timezone {given}"
    values = np.unique(own)
    if len(values) == 1:
        m = int(values[0])
        shown = f"{'+' if m >= 0 else '-'}{abs(m) // 60:02d}:{abs(m) % 60:02d}"
        if m == 0:
            return "UTC", "every time in the data carries the offset +00:00"
        if m % 60 == 0:
            return f"Etc/GMT{-m // 60:+d}", f"every time in the data carries the offset {shown}"
        return None
    if given is not None:  # offsets that change, and a zone the user chose: theirs, as they asked
        return None
    for zone in _ZONES_TRIED:
        if fits(zone):
            listed = ", ".join(f"{'+' if m >= 0 else '-'}{abs(m) // 60:02d}:{abs(m) % 60:02d}" for m in values)
            return zone, f"the data's UTC offsets ({listed}) change on the dates {zone}'s clocks do"
    return None


def _lifecycle_columns(
    frame: pd.DataFrame, start: str | None, life: str | None, opts: ReadOptions, tz: str
) -> tuple[str | None, str | None]:
    """A column found by its name only counts when its values say so: dates for a start column, standard
    transitions for a lifecycle column (a column named with --start-col or --lifecycle-col always counts)."""
    from flowmap.events.lifecycle import STANDARD_TRANSITIONS

    if start is not None and opts.start_col is None:
        sample = frame[start].dropna().head(500).reset_index(drop=True)
        if not len(sample) or np.isnat(read_times(sample, timezone=tz, monthfirst=opts.monthfirst).local).all():
            start = None
    if life is not None and opts.lifecycle_col is None:
        sample = frame[life].dropna().head(500).astype(str).str.strip().str.casefold()
        if not len(sample) or sample.isin(STANDARD_TRANSITIONS).mean() < 0.5:
            life = None
    return start, life


def _start_times(
    events: pd.DataFrame,
    times: Times,
    raw_start: pd.Series,
    column: str,
    ledger: Ledger,
    tz: str,
    opts: ReadOptions,
    *,
    excel_serials: bool,
) -> tuple[pd.DataFrame, Ledger]:
    """A start-time column beside the time column: each row is an activity instance from start to completion."""
    started = read_times(raw_start, timezone=tz, monthfirst=opts.monthfirst, excel_serials=excel_serials)
    at = list(events.columns).index("timestamp") + 1
    events.insert(int(at), "start_timestamp", started.local)
    if "in_progress" in events:  # flowmap's own export read again
        flag = events.pop("in_progress").astype("string").str.strip().str.casefold().isin(["true", "1", "yes"])
        events.insert(int(at) + 1, "in_progress", flag.to_numpy(dtype=bool))
    else:
        events.insert(int(at) + 1, "in_progress", np.zeros(len(events), dtype=bool))
    present = ~np.isnat(started.local)
    if "utc_offset" in events or (present.any() and started.offset[present].min() != started.offset[present].max()):
        if "utc_offset" not in events:
            events.insert(3, "utc_offset", (times.offset // 1_000_000_000).astype(np.int32))
        events["start_offset"] = (started.offset // 1_000_000_000).astype(np.int32)
    missing = int((~present).sum())
    note = (f"'{column}' gives each event's start: time at a step is split into waiting (until the work started) "
            "and working (until it completed)")  # fmt: skip
    if missing:
        note += f"; {missing:,} row{'s' if missing != 1 else ''} with no readable start: working time unknown"
    return events, ledger.note(note)


def _place_times(events: pd.DataFrame, times: Times, ledger: Ledger,
                 tz: str) -> tuple[pd.DataFrame, Ledger, int | None]:  # fmt: skip
    """Local wall times into the table; the UTC offsets too when they differ (docs/events.md, "Time zones").
    Also the one offset (seconds) of a timed log whose offsets do not differ."""
    events.insert(2, "timestamp", times.local)
    present = ~np.isnat(times.local)
    fixed = None
    if times.timed and present.any():
        off = times.offset[present]
        if off.min() != off.max():
            events.insert(3, "utc_offset", (times.offset // 1_000_000_000).astype(np.int32))
        else:
            fixed = int(off[0] // 1_000_000_000)
    n_zoned = int(times.zoned.sum())
    if n_zoned:
        ledger = ledger.note(f"{n_zoned:,} time{'s' if n_zoned != 1 else ''} carried a UTC offset: events are ordered "
                             f"and timed as instants, and dates and working days are counted in {tz} "
                             "(--timezone changes it)")  # fmt: skip
    n = int(times.ambiguous.sum())
    if n:
        ledger = ledger.note(f"{n:,} time{'s' if n != 1 else ''} without an offset fell in the hour {tz}'s clocks "
                             "repeat when they go back: read as the first time round (summer time)")  # fmt: skip
    n = int(times.nonexistent.sum())
    if n:
        ledger = ledger.note(f"{n:,} time{'s' if n != 1 else ''} without an offset fell in the hour {tz}'s clocks "
                             "skip when they go forward: read as if the clock had not yet changed "
                             "(01:30 becomes 02:30 summer time)")  # fmt: skip
    return events, ledger, fixed


def no_match_error(
    source: str, process: Process, *, columns: Sequence[str] = (), events: Sequence[str] = ()
) -> NoMatchError:
    """The one message for data that matches no step: what the process expects, what the file has."""
    expects = ", ".join(
        f"{s.label!r}" + (f" (events {', '.join(repr(e) for e in s.events[:2])})" if s.events else "")
        for s in process.steps[:4]
    )
    more = ", ..." if len(process.steps) > 4 else ""
    if events:
        has = f"its event names include {', '.join(repr(str(e)) for e in list(events)[:8])}"
        has += ", ..." if len(events) > 8 else ""
    else:
        has = f"its columns are {', '.join(repr(str(c)) for c in list(columns)[:10])}"
        has += ", ..." if len(columns) > 10 else ""
    return NoMatchError(
        f"{source}: nothing in it matches a step of process '{process.id}' ({process.title}). "
        f"The process expects steps such as {expects}{more}; {has}. "
        "Is this the right process file for this data? If it is, add the names to the steps' 'events' lists "
        "(or 'column:' for a tracker)"
    )


# --- helpers -------------------------------------------------------------------------


def _list(cols: Any) -> str:
    names = [str(c) for c in cols]
    shown = ", ".join(repr(c) for c in names[:20])
    return shown + (f" and {len(names) - 20} more" if len(names) > 20 else "")


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
        by_key = {key(c): c for c in raw.columns}
        if key(given) in by_key:
            return by_key[key(given)]
        from flowmap.errors import did_you_mean

        raise EventDataError(
            f"{source}: {option} names a column '{given}' that does not exist"
            f"{did_you_mean(given, [str(c) for c in raw.columns])}; columns are: {_list(raw.columns)}"
        )
    by_key = {}
    for c in raw.columns:
        by_key.setdefault(key(c), c)
    for n in names:
        if key(n) in by_key:
            return by_key[key(n)]
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
    elif s.dtype == object:
        # Excel gives whole numbers as floats (12.0) in an otherwise text column.
        s = s.map(lambda v: int(v) if isinstance(v, float) and v.is_integer() else v, na_action="ignore")
    out = s.astype("string").str.strip()
    return out.mask(out == "")


def _is_blank(col: pd.Series) -> npt.NDArray[np.bool_]:
    if isinstance(col.dtype, pd.CategoricalDtype):
        cats = _is_blank(pd.Series(np.asarray(col.cat.categories, dtype=object)))
        codes = np.asarray(col.cat.codes)
        return np.where(codes >= 0, cats[np.maximum(codes, 0)] if len(cats) else True, True)
    blank = np.array(col.isna(), dtype=bool)
    if col.dtype == object or pd.api.types.is_string_dtype(col.dtype):
        text = col.astype("string").str.strip()
        blank |= np.array((text == "").fillna(True), dtype=bool)
    return blank


def _drop_blank_rows(
    frame: pd.DataFrame, positions: npt.NDArray[np.int64]
) -> tuple[pd.DataFrame, npt.NDArray[np.int64], int]:
    """Rows with every cell empty (`,,,,` in a CSV) hold nothing: they are skipped, and counted in a note."""
    if frame.empty or not len(frame.columns):
        return frame, positions, 0
    candidates = np.ones(len(frame), dtype=bool)
    for c in frame.columns:
        # Most columns rule most rows out at once; only rows still blank are looked at further.
        idx = np.flatnonzero(candidates)
        if idx.size == 0:
            break
        candidates[idx] = _is_blank(frame[c].iloc[idx])
    n = int(candidates.sum())
    if n == 0:
        return frame, positions, 0
    keep = ~candidates
    return frame[keep].reset_index(drop=True), positions[keep], n


def _summary_words(values: pd.Series) -> npt.NDArray[np.bool_]:
    """Which cells read like a summary (Total, Average, ...); a categorical column is read once per category."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        cats = _summary_words(pd.Series(np.asarray(values.cat.categories, dtype=object)))
        codes = np.asarray(values.cat.codes)
        return np.where(codes >= 0, cats[np.maximum(codes, 0)] if len(cats) else False, False)
    text = values.astype("string").str.strip().str.casefold().str.rstrip(":").str.strip()
    return np.array(text.isin(SUMMARY_WORDS).fillna(False), dtype=bool)


def _summary_rows(frame: pd.DataFrame, case: str) -> npt.NDArray[np.bool_]:
    """Rows whose case cell says Total, Average, ... or is empty beside cells that are only numbers."""
    words = _summary_words(frame[case])
    empty_case = _is_blank(frame[case])
    if not empty_case.any():
        return words
    idx = np.flatnonzero(empty_case)
    rest = frame.iloc[idx].drop(columns=[case])
    numeric = np.ones(len(idx), dtype=bool)
    filled = np.zeros(len(idx), dtype=bool)
    for c in rest.columns:
        col = rest[c]
        blank = _is_blank(col)
        is_num = np.array(pd.to_numeric(col.astype(object), errors="coerce").notna(), dtype=bool)
        is_num &= ~np.array(col.map(lambda v: isinstance(v, bool), na_action="ignore").fillna(False), dtype=bool)
        numeric &= blank | is_num
        filled |= ~blank
    out = words.copy()
    out[idx[numeric & filled]] = True
    return out


def _summary_values(frame: pd.DataFrame, case: str, summary: npt.NDArray[np.bool_]) -> list[str]:
    """What a summary row says, for the problem list: its case cell, or its numbers."""
    out = []
    for _, r in frame[summary].iterrows():  # a handful of rows at most
        label = r[case]
        if label is None or (isinstance(label, float) and np.isnan(label)) or not str(label).strip():
            nums = [str(int(v)) if isinstance(v, float) and v.is_integer() else str(v) for v in r if pd.notna(v)]
            out.append(" ".join(nums[:6]))
        else:
            out.append(str(label).strip())
    return out


def _word_counts(said: npt.NDArray[np.object_]) -> dict[str, int]:
    words, counts = np.unique(np.asarray(said, dtype=str), return_counts=True)
    return {str(w): int(k) for w, k in zip(words, counts, strict=True)}


def _categorise(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.reset_index(drop=True)
    for c in ("case_id", "event"):
        col = out[c]
        # Already categorical (set aside on codes): drop the ids and names only set-aside rows had.
        if not isinstance(col.dtype, pd.CategoricalDtype):
            out[c] = col.astype("category")
        elif (np.bincount(np.asarray(col.cat.codes)[np.asarray(col.cat.codes) >= 0],
                          minlength=len(col.cat.categories)) == 0).any():  # fmt: skip
            out[c] = col.cat.remove_unused_categories()
    return out


def _set_aside(
    frame: pd.DataFrame,
    ledger: Ledger,
    raw_time: pd.Series,
    outside: npt.NDArray[np.bool_],
    *,
    columns: tuple[str, str, str] | None = None,
    cell_columns: npt.NDArray[np.object_] | None = None,
    keep_duplicates: bool = False,
) -> tuple[pd.DataFrame, Ledger]:
    """Set aside rows with no case, no event, a date that cannot be read or is out of range, and duplicates.

    Long form names its (case, event, time) ``columns``; a tracker gives each
    record's ``cell_columns`` (the step column of the dated cell).
    """
    frame = frame.copy(deep=False)  # columns are replaced, never written into: no copy of ten million rows
    for c in ("case_id", "event"):  # codes make the duplicate check below a pass over integers
        if not isinstance(frame[c].dtype, pd.CategoricalDtype):
            frame[c] = frame[c].astype("category")
    row = frame["row"].to_numpy()
    raw_time = raw_time.reset_index(drop=True)
    case_col, event_col, time_col = columns if columns is not None else (None, None, None)
    date_col: Any = cell_columns if cell_columns is not None else time_col

    # Values and ids are looked up only for the rows set aside: a million typed dates turned
    # into Python objects to report three of them would cost seconds.
    def raw_vals_at(mask: npt.NDArray[np.bool_]) -> npt.NDArray[np.object_]:
        return raw_time.iloc[np.flatnonzero(mask)].to_numpy(dtype=object)

    def ids_at(mask: npt.NDArray[np.bool_]) -> npt.NDArray[np.object_]:
        return frame["case_id"].iloc[np.flatnonzero(mask)].astype(object).to_numpy()

    def at(mask: npt.NDArray[np.bool_], col: Any) -> Any:
        return col[mask] if isinstance(col, np.ndarray) else col

    no_case = frame["case_id"].isna().to_numpy()
    ledger = ledger.add("no_case_id", row[no_case], column=at(no_case, case_col if columns else date_col),
                        values=None if columns else raw_vals_at(no_case), case_ids=ids_at(no_case))  # fmt: skip
    keep = ~no_case
    no_event = frame["event"].isna().to_numpy() & keep
    ledger = ledger.add("no_event", row[no_event], column=event_col, case_ids=ids_at(no_event))
    keep &= ~no_event
    nat = frame["timestamp"].isna().to_numpy() & keep & ~outside
    ledger = ledger.add("unreadable_date", row[nat], column=at(nat, date_col), values=raw_vals_at(nat),
                        case_ids=ids_at(nat))  # fmt: skip
    keep &= ~nat
    ts = frame["timestamp"].to_numpy()
    with np.errstate(invalid="ignore"):
        odd = keep & (outside | (ts < np.datetime64("1910-01-01")) | (ts >= np.datetime64("2100-01-01")))
    ledger = ledger.add("implausible_date", row[odd], column=at(odd, date_col), values=raw_vals_at(odd),
                        case_ids=ids_at(odd))  # fmt: skip
    keep &= ~odd
    kept_idx = np.flatnonzero(keep)
    kept = frame if len(kept_idx) == len(frame) else frame.iloc[kept_idx]
    dup_cols = [c for c in kept.columns if c not in ("row", "column")]  # a tracker's attributes repeat per cell
    dup = duplicated(kept[dup_cols])
    if keep_duplicates:
        n = int(dup.sum())
        if n:
            ledger = ledger.note(f"--keep-duplicates: {n:,} exact duplicate{'s' if n != 1 else ''} of earlier rows "
                                 "kept as events of their own")  # fmt: skip
        return kept, ledger
    d = kept_idx[dup]
    dmask = np.zeros(len(frame), dtype=bool)
    dmask[d] = True
    ledger = ledger.add("duplicate", row[d], column=at(dmask, date_col), values=raw_vals_at(dmask),
                        case_ids=ids_at(dmask))  # fmt: skip
    return (kept[~dup] if dup.any() else kept), ledger


def duplicated(frame: pd.DataFrame) -> npt.NDArray[np.bool_]:
    """Rows that repeat an earlier row exactly (as ``DataFrame.duplicated(keep="first")``), with little memory.

    Each column becomes integer codes (a categorical's own, a time's ticks, else factorised), packed into
    one int64 key while they fit; one stable sort of the keys then marks every row but the first of each run.
    """
    n = len(frame)
    key = np.zeros(n, dtype=np.int64)
    card = 1
    for c in frame.columns:
        col = frame[c]
        if isinstance(col.dtype, pd.CategoricalDtype):
            code, size = col.cat.codes.to_numpy(), len(col.cat.categories) + 1  # -1 (missing) becomes 0 below
            shift = 1
        elif pd.api.types.is_datetime64_dtype(col.dtype) and not col.isna().any():
            code = col.to_numpy(dtype="M8[ns]").view(np.int64).copy()  # in place from here: one array at a time
            if n:
                code -= code.min()
                step = int(np.gcd.reduce(code)) or 1
                if step > 1:
                    code //= step
            size, shift = (int(code.max()) + 1 if n else 1), 0
        else:
            factor, distinct = pd.factorize(col, use_na_sentinel=False)
            code, size, shift = factor, len(distinct), 0
        if card > (1 << 62) // max(size, 1):  # would overflow: renumber the key so far first
            renumbered, seen = pd.factorize(key)
            key, card = renumbered.astype(np.int64), len(seen)
        key *= size
        key += code
        if shift:
            key += shift
        card *= size
        del code
    order = np.argsort(key, kind="stable")
    ordered = key[order]
    del key
    dup = np.zeros(n, dtype=bool)
    dup[order[1:][ordered[1:] == ordered[:-1]]] = True
    return dup


# --- wide trackers ---------------------------------------------------------------------


def _wide_columns(raw: pd.DataFrame, process: Process | None, exclude: set[str]) -> dict[str, str]:
    """Column -> step id, for columns named by a step's ``column``, label, id or event names."""
    if process is None:
        return {}
    names = _step_keys(process)
    out: dict[str, str] = {}
    for c in raw.columns:
        if c in exclude:
            continue
        step = names.get(key(c)) or names.get(normalise_name(str(c)))
        if step is not None:  # several columns may date one step, e.g. a rework loop's second sending
            out[c] = step
    return out


def _wide(
    raw: pd.DataFrame,
    case: str,
    cols: dict[str, str],
    positions: npt.NDArray[np.int64],
    summary: npt.NDArray[np.bool_],
    ledger: Ledger,
    process: Process,
    *,
    tz: str,
    opts: ReadOptions,
    excel_serials: bool,
) -> tuple[pd.DataFrame, Ledger, int | None]:
    """One event per dated step cell; empty and not-yet cells counted; a summary row set aside whole.

    The ledger counts the step cells of the case rows, and each summary row as
    one record: ``read = used + not dated yet + set aside`` still holds.
    """
    ids = _text(raw[case]).reset_index(drop=True)
    reserved = ("case_id", "event", "timestamp", "utc_offset", "row", "column")
    others = [c for c in raw.columns if c != case and c not in cols and c not in reserved]
    parts = []
    words: dict[str, int] = {}
    read = int(summary.sum())
    for col, step in cols.items():
        cell = raw[col].reset_index(drop=True)
        waiting, said = not_yet(cell, opts.not_yet)
        counted = waiting & ~summary
        for w, k in _word_counts(said[counted]).items():
            words[w] = words.get(w, 0) + k
        use = ~waiting & ~summary
        read += int(counted.sum()) + int(use.sum())
        if not use.any():
            continue
        part = pd.DataFrame(
            {
                "case_id": ids[use].to_numpy(),
                "event": process.step(step).events[0],
                "row": positions[use],
                "column": col,
                "__raw__": cell[use].to_numpy(dtype=object),
            }
        )
        # The tracker's other columns (team, worker, age band, notes) ride along as case attributes:
        # kept inside flowmap for --where and --by, never written out unless grouped by.
        for other in others:
            part[other] = raw[other].reset_index(drop=True)[use].to_numpy(dtype=object)
        parts.append(part)
    ledger = replace(ledger, unit="cell", position=ledger.unit, read=read).note(
        f"wide tracker: {len(raw)} rows, step columns " + ", ".join(f"{c!r}->{s}" for c, s in cols.items())
    )
    if words:
        ledger = ledger.with_not_yet(words)
    if summary.any():
        ledger = ledger.add("summary_row", positions[summary], column=case,
                            values=_summary_values(raw, case, summary))  # fmt: skip
    if not parts:
        frame = pd.DataFrame({"case_id": pd.Series(dtype="string"), "event": pd.Series(dtype=object),
                              "row": pd.Series(dtype=np.int64), "column": pd.Series(dtype=object),
                              "__raw__": pd.Series(dtype=object)})  # fmt: skip
    else:
        frame = pd.concat(parts, ignore_index=True)
    frame["case_id"] = frame["case_id"].astype("string")
    raw_time = frame.pop("__raw__")
    times = read_times(raw_time, timezone=tz, monthfirst=opts.monthfirst, excel_serials=excel_serials,
                       timed=opts.timed)  # fmt: skip
    frame, ledger, fixed = _place_times(frame, times, ledger, tz)
    cell_cols = frame["column"].to_numpy(dtype=object)
    frame, ledger = _set_aside(frame, ledger, raw_time, times.outside, cell_columns=cell_cols,
                               keep_duplicates=opts.keep_duplicates)  # fmt: skip
    frame = _categorise(frame)
    frame["column"] = frame["column"].astype("category")
    return frame, ledger, fixed
