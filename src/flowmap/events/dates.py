"""Reading dates as people write them: ISO 8601, UK day-first, Excel serials, time zones.

All parsing is vectorised: each format is tried once over every value not yet
read, so a column of a million dates costs a handful of passes, not a million
Python calls. Values that no format reads come back as NaT and the caller
sets them aside in the ledger. A date with trailing words
(``12/05/2025 (rearranged)``) or one that cannot exist (``31/02/2025``) is not
guessed at: it is unreadable.

Timestamps are held in nanoseconds, which reach from 1677-09-22 to
2262-04-11. A real date outside that range (``0001-01-01``, ``9999-12-31``)
is never wrapped round: :func:`read_dates` flags it as out of range.

Cells that say a step has not happened yet (empty, ``N/A``, ``awaiting``, ...:
:data:`NOT_YET_WORDS`) are told apart by :func:`not_yet`.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from flowmap.errors import FlowmapError, did_you_mean

if TYPE_CHECKING:
    import numpy.typing as npt

__all__ = [
    "NOT_YET_WORDS",
    "Times",
    "check_timezone",
    "not_yet",
    "parse_dates",
    "read_dates",
    "read_times",
    "to_local_naive",
]

NOT_YET_WORDS = (
    "n/a", "na", "none", "-", "–", "—", "tbc", "tba", "awaiting", "pending", "not yet", "ongoing", "?",
)  # fmt: skip
"""Words in a date cell that mean "no date yet": the step has not happened (case and outer space ignored)."""

_NS_MIN = np.datetime64("1677-09-22", "D")
_NS_MAX = np.datetime64("2262-04-11", "D")

_OFFSET = r"(?:[Zz]|[+-]\d{2}:?\d{2})$"
_ISO = r"^\d{4}-\d{2}-\d{2}"
_DAYFIRST = (
    "%d/%m/%Y",
    "%d/%m/%Y %H:%M",
    "%d/%m/%Y %H:%M:%S",
    "%d/%m/%y",
    "%d-%m-%Y",
    "%d.%m.%Y",
    "%d-%m-%Y %H:%M",
    "%d.%m.%Y %H:%M",
)
_NAMED = ("%d %b %Y", "%d %B %Y", "%d-%b-%Y", "%d-%b-%y", "%b %d %Y", "%B %d %Y", "%d %b %Y %H:%M")
_EXCEL_EPOCH = np.datetime64("1899-12-30", "ns")


def _monthfirst(fmt: str) -> str:
    return fmt.replace("%d", "\0").replace("%m", "%d").replace("\0", "%m")


def not_yet(values: pd.Series, words: Sequence[str] = ()) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.object_]]:
    """Which cells mean "no date yet", and the word each says (``""`` for an empty cell).

    ``words`` are added to :data:`NOT_YET_WORDS`. Dates, numbers and other
    text are not "not yet".

    Examples
    --------
    >>> mask, said = not_yet(pd.Series(["N/A", " awaiting ", "12/05/2025", None, "Stuck"]), ["stuck"])
    >>> mask.tolist(), said[mask].tolist()
    ([True, True, False, True, True], ['n/a', 'awaiting', '', 'stuck'])
    """
    vocabulary = {*NOT_YET_WORDS, *(w.strip().casefold() for w in words)}
    if isinstance(values.dtype, pd.CategoricalDtype):
        cats = pd.Series(np.asarray(values.cat.categories, dtype=object))
        cat_mask, cat_said = not_yet(cats, words)
        codes = np.asarray(values.cat.codes)
        mask = np.where(codes >= 0, cat_mask[np.maximum(codes, 0)], True)
        said = np.where(codes >= 0, cat_said[np.maximum(codes, 0)], "").astype(object)
        return mask, said
    missing = np.array(values.isna(), dtype=bool)
    if pd.api.types.is_datetime64_any_dtype(values.dtype) or (
        pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_object_dtype(values.dtype)
    ):  # typed dates or numbers say no word: one shared "" (read-only), not ten million pointers to it
        return missing, np.broadcast_to(np.array("", dtype=object), (len(values),))
    said = np.full(len(values), "", dtype=object)
    if pd.api.types.is_string_dtype(values.dtype) and not pd.api.types.is_object_dtype(values.dtype):
        is_text = ~missing  # a string column: every value present is text, no need to look at each
    else:
        is_text = np.array(values.map(lambda v: isinstance(v, str), na_action="ignore").fillna(False), dtype=bool)
    if is_text.any():
        key = values[is_text].astype(str).str.strip().str.casefold()
        empty = (key == "").to_numpy()
        word = key.isin(vocabulary).to_numpy() | empty
        idx = np.flatnonzero(is_text)
        missing[idx[word]] = True
        said[idx[word]] = key.to_numpy(dtype=object)[word]
    return missing, said


def _ns(values: Any) -> tuple[npt.NDArray[np.datetime64], npt.NDArray[np.bool_]]:
    """Naive datetimes of any unit -> nanoseconds; values nanoseconds cannot hold become NaT, flagged."""
    arr = np.asarray(values)
    if arr.dtype.kind != "M":
        arr = np.asarray(pd.to_datetime(pd.Series(values), errors="coerce"))
    unit = np.datetime_data(arr.dtype)[0]
    if unit == "ns":
        return arr.astype("M8[ns]"), np.zeros(len(arr), dtype=bool)
    present = ~np.isnat(arr)
    outside = present & ((arr < _NS_MIN.astype(arr.dtype)) | (arr >= _NS_MAX.astype(arr.dtype)))
    safe = np.where(outside, np.datetime64("NaT"), arr)
    return safe.astype("M8[ns]"), outside


def to_local_naive(values: pd.Series, timezone: str) -> pd.Series:
    """Datetimes with a zone -> local wall time in ``timezone``, without zone (out-of-range values: NaT)."""
    out: pd.Series = (
        values.dt.tz_convert(timezone).dt.tz_localize(None) if isinstance(values.dtype, pd.DatetimeTZDtype) else values
    )
    return pd.Series(_ns(out.to_numpy())[0], index=values.index)


@lru_cache(maxsize=32)
def check_timezone(name: str) -> str:
    """The IANA name of a time zone, or a clear error with the nearest names.

    Examples
    --------
    >>> check_timezone("europe/amsterdam")
    'Europe/Amsterdam'
    >>> try:
    ...     check_timezone("Europe/Londn")
    ... except FlowmapError as e:
    ...     print(str(e).split("?")[0])
    unknown time zone 'Europe/Londn'; did you mean 'Europe/London'
    """
    known = zoneinfo.available_timezones() | {"UTC"}
    if name in known:
        return name
    folded = {k.casefold(): k for k in known}
    if name.strip().casefold() in folded:
        return folded[name.strip().casefold()]
    hint = did_you_mean(name, sorted(known))
    sep = " Time" if hint else "; time"
    raise FlowmapError(
        f"unknown time zone '{name}'{hint}{sep} zones are IANA names such as Europe/London, Europe/Amsterdam or UTC"
    )


@dataclass(frozen=True)
class Times:
    """A column of dates read once: local wall times, and where each sits on the world's clock.

    ``local`` is the wall time in the reading time zone (what dates, months and
    working days count); ``offset`` is local minus UTC in nanoseconds, so
    ``local - offset`` is the instant (what orders events and measures elapsed
    time). ``timed`` says whether any value has a time of day: a log of dates
    only counts days by the calendar and its offsets are all zero.
    """

    local: npt.NDArray[np.datetime64]
    outside: npt.NDArray[np.bool_]
    offset: npt.NDArray[np.int64]
    zoned: npt.NDArray[np.bool_]  # the value carried its own UTC offset or zone
    own_offset: npt.NDArray[np.float64]  # that offset in minutes (NaN for a value without one)
    ambiguous: npt.NDArray[np.bool_]  # a wall time without offset that the clock showed twice (autumn)
    nonexistent: npt.NDArray[np.bool_]  # a wall time without offset the clock skipped (spring)
    timed: bool

    @property
    def instants(self) -> npt.NDArray[np.datetime64]:
        """UTC instants (naive ``datetime64[ns]``)."""
        return (self.local.view(np.int64) - self.offset).view("M8[ns]")


def parse_dates(
    values: pd.Series,
    *,
    timezone: str = "Europe/London",
    monthfirst: bool = False,
    excel_serials: bool = False,
) -> pd.Series:
    """Local, naive ``datetime64[ns]`` from a column of dates; unreadable values become NaT.

    Parameters
    ----------
    values
        Strings, datetimes (with or without zone), or Excel serial numbers.
    timezone
        Values with a UTC offset or zone are converted to local time here.
    monthfirst
        Read ``03/04/2025`` as 4 March (US order) instead of 3 April.
    excel_serials
        Read plain numbers as Excel serial dates (days since 1899-12-30).

    Examples
    --------
    >>> s = pd.Series(["2025-01-03", "04/02/2025", "2025-03-30T10:00:00+02:00", "soon", None])
    >>> [str(x) for x in parse_dates(s)]
    ['2025-01-03 00:00:00', '2025-02-04 00:00:00', '2025-03-30 09:00:00', 'NaT', 'NaT']
    """
    return read_dates(values, timezone=timezone, monthfirst=monthfirst, excel_serials=excel_serials)[0]


def read_dates(
    values: pd.Series,
    *,
    timezone: str = "Europe/London",
    monthfirst: bool = False,
    excel_serials: bool = False,
) -> tuple[pd.Series, npt.NDArray[np.bool_]]:
    """As :func:`parse_dates`, and which values are real dates outside 1677-09-22 to 2262-04-11.

    Examples
    --------
    >>> ts, outside = read_dates(pd.Series(["0001-01-01", "2025-01-03", "31/12/9999", "14/13/2025"]))
    >>> [str(x) for x in ts], outside.tolist()
    (['NaT', '2025-01-03 00:00:00', 'NaT', 'NaT'], [True, False, True, False])
    """
    t = read_times(values, timezone=timezone, monthfirst=monthfirst, excel_serials=excel_serials)
    return pd.Series(t.local, index=values.index), t.outside


def read_times(
    values: pd.Series,
    *,
    timezone: str = "Europe/London",
    monthfirst: bool = False,
    excel_serials: bool = False,
    timed: bool | None = None,
) -> Times:
    """Read a column of dates into local wall times and their UTC offsets (docs/events.md, "Time zones").

    ``timed`` says whether times of day count (default: when any value has one).

    A value with a UTC offset or zone is an instant, shown in ``timezone``. A
    value without one is wall time in ``timezone``: in the hour the clock
    repeats (autumn) it is read as the first time round (summer time); in the
    hour the clock skips (spring) it is read as if the clock had not yet been
    put forward (01:30 becomes 02:30 summer time). Both are flagged.

    Examples
    --------
    >>> t = read_times(pd.Series(["2024-10-27T00:30:00Z", "2024-10-27T01:10:00Z", "2024-10-27 01:30"]))
    >>> [str(x)[:16] for x in t.local], t.ambiguous.tolist()
    (['2024-10-27T01:30', '2024-10-27T01:10', '2024-10-27T01:30'], [False, False, True])
    >>> [str(x)[:16] for x in t.instants]
    ['2024-10-27T00:30', '2024-10-27T01:10', '2024-10-27T00:30']
    """
    arr, outside, zoned, own = _read(values, monthfirst, excel_serials)
    return _place(arr, outside, zoned, own, timezone, timed)


_DAY = np.int64(86_400 * 10**9)


def has_time_of_day(arr: Any, zoned: Any) -> bool:
    """Whether any time carries an offset or a time of day other than midnight."""
    present = ~np.isnat(arr)
    return bool(zoned.any()) or bool((arr[present].view(np.int64) % _DAY).any())


def _place(arr: Any, outside: Any, zoned: Any, own: Any, timezone: str, timed: bool | None = None) -> Times:
    """Zoned values are UTC instants and naive ones wall times: give every value both."""
    n = len(arr)
    present = ~np.isnat(arr)
    if timed is None:
        timed = has_time_of_day(arr, zoned)
    if not timed:  # dates only: a date has no instant, and its offset is never used (shared read-only zeros)
        zero, none = np.broadcast_to(np.zeros(1, dtype=np.int64), (n,)), np.broadcast_to(np.zeros(1, bool), (n,))
        return Times(arr, outside, zero, zoned, own, none, none, False)
    zero = np.zeros(n, dtype=np.int64)
    no = np.zeros(n, dtype=bool)
    utc = arr.copy()
    ambiguous, nonexistent = no.copy(), no.copy()
    naive = present & ~zoned
    if naive.any():
        utc[naive], ambiguous[naive], nonexistent[naive] = _instants_of(arr[naive], timezone)
    local_idx = pd.DatetimeIndex(utc).tz_localize("UTC").tz_convert(timezone).tz_localize(None)
    local = np.asarray(local_idx, dtype="M8[ns]")
    local_ns, utc_ns = local.view(np.int64), utc.view(np.int64)
    offset = np.where(present, local_ns - utc_ns, 0).astype(np.int64)
    return Times(local, outside, offset, zoned, own, ambiguous, nonexistent, True)


def _instants_of(wall: Any, timezone: str) -> tuple[Any, Any, Any]:
    """UTC instants of naive wall times in ``timezone``, and which were ambiguous or skipped."""
    idx = pd.DatetimeIndex(wall)
    strict = idx.tz_localize(timezone, ambiguous="NaT", nonexistent="NaT")
    utc = np.asarray(strict.tz_convert("UTC").tz_localize(None), dtype="M8[ns]")
    bad = np.isnat(utc)
    ambiguous = np.zeros(len(wall), dtype=bool)
    nonexistent = np.zeros(len(wall), dtype=bool)
    if bad.any():
        sub = idx[bad]
        yes = np.ones(len(sub), dtype=bool)
        first = sub.tz_localize(timezone, ambiguous=yes, nonexistent="NaT")  # the first time round: summer time
        amb = np.asarray(~first.isna())
        # A skipped time: the offset in force a day before (the clock not yet put forward).
        day_before = (sub - pd.Timedelta(days=1)).tz_localize(timezone, ambiguous=yes, nonexistent="shift_forward")
        before = np.asarray(day_before.tz_localize(None), dtype="M8[ns]").view(np.int64) - np.asarray(
            day_before.tz_convert("UTC").tz_localize(None), dtype="M8[ns]").view(np.int64)  # fmt: skip
        inst = np.asarray(sub, dtype="M8[ns]").view(np.int64) - before
        inst[amb] = np.asarray(first[amb].tz_convert("UTC").tz_localize(None), dtype="M8[ns]").view(np.int64)
        utc[bad] = inst.view("M8[ns]")
        idx_bad = np.flatnonzero(bad)
        ambiguous[idx_bad[amb]] = True
        nonexistent[idx_bad[~amb]] = True
    return utc, ambiguous, nonexistent


def _none(n: int) -> tuple[Any, Any]:
    return np.zeros(n, dtype=bool), np.full(n, np.nan)


def _read(values: pd.Series, monthfirst: bool, excel_serials: bool) -> tuple[Any, Any, Any, Any]:
    """Values -> (naive ns times, outside, zoned, own offset minutes); zoned values come back in UTC."""
    n = len(values)
    if isinstance(values.dtype, pd.CategoricalDtype):
        # Parse each distinct value once: dates repeat, often heavily.
        cats = pd.Series(np.asarray(values.cat.categories, dtype=object))
        c_arr, c_out, c_zoned, c_own = _read(cats, monthfirst, excel_serials)
        codes = np.asarray(values.cat.codes)
        pick = np.maximum(codes, 0)
        out = c_arr[pick] if len(c_arr) else np.full(n, np.datetime64("NaT"), dtype="M8[ns]")
        out[codes < 0] = np.datetime64("NaT")
        has = codes >= 0
        if not len(c_arr):
            return out, np.zeros(n, dtype=bool), *_none(n)
        return out, c_out[pick] & has, c_zoned[pick] & has, np.where(has, c_own[pick], np.nan)
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        if isinstance(values.dtype, pd.DatetimeTZDtype):
            utc = values.dt.tz_convert("UTC").dt.tz_localize(None)
            arr, outside = _ns(utc.to_numpy())
            own_ns = values.dt.tz_localize(None).to_numpy().view(np.int64) - utc.to_numpy().view(np.int64)
            present = ~np.isnat(arr)
            # A column typed in UTC (Parquet, pyarrow's CSV reader) keeps the instant, not the offset written.
            known = present & (str(values.dt.tz) != "UTC")
            return arr, outside, present, np.where(known, own_ns / 60e9, np.nan)
        arr, outside = _ns(values.to_numpy())
        return arr, outside, *_none(n)
    if pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values.dtype):
        arr, outside = _from_numbers(values.to_numpy(dtype=float, na_value=np.nan), excel_serials)
        return arr, outside, *_none(n)
    if pd.api.types.is_string_dtype(values.dtype) and not pd.api.types.is_object_dtype(values.dtype):
        return _text_series(values, monthfirst)
    kind = pd.api.types.infer_dtype(values, skipna=True)
    if kind in ("string", "empty"):
        return _text_series(values, monthfirst)
    out = np.full(n, np.datetime64("NaT"), dtype="M8[ns]")
    outside = np.zeros(n, dtype=bool)
    zoned, own = _none(n)
    obj = values.astype(object)
    # A column of mixed kinds (an Excel sheet where some dates are typed and some
    # are text): Python datetimes, numbers and text, each its own way.
    is_dt = np.array(obj.map(lambda v: hasattr(v, "year") and hasattr(v, "month"), na_action="ignore").fillna(False),
                     dtype=bool)  # fmt: skip
    if is_dt.any():
        dts = pd.to_datetime(obj[is_dt].astype(object), errors="coerce", utc=False, format="mixed")
        if isinstance(dts.dtype, pd.DatetimeTZDtype):
            out[is_dt], outside[is_dt], zoned[is_dt], own[is_dt] = _read(dts, monthfirst, excel_serials)
        else:
            out[is_dt], outside[is_dt] = _ns(dts.to_numpy())
    numeric = obj.map(lambda v: isinstance(v, (int, float)) and not isinstance(v, bool), na_action="ignore")
    is_num = np.array(numeric.fillna(False), dtype=bool) & ~is_dt
    if is_num.any() and excel_serials:
        out[is_num], outside[is_num] = _from_numbers(obj[is_num].to_numpy(dtype=float), True)
    is_text = ~(is_dt | is_num) & obj.notna().to_numpy()
    if is_text.any():
        text = pd.Series(obj[is_text].astype(str).str.strip().to_numpy(dtype=object))
        out[is_text], outside[is_text], zoned[is_text], own[is_text] = _from_text(text, monthfirst)
    return out, outside, zoned, own


def _text_series(values: pd.Series, monthfirst: bool) -> tuple[Any, Any, Any, Any]:
    text = values.astype("string").str.strip()
    present = np.array(text.notna(), dtype=bool)
    n = len(values)
    out = np.full(n, np.datetime64("NaT"), dtype="M8[ns]")
    outside = np.zeros(n, dtype=bool)
    zoned, own = _none(n)
    if present.all():
        out[:], outside[:], zoned[:], own[:] = _from_text(pd.Series(text.to_numpy(dtype=object)), monthfirst)
    elif present.any():
        out[present], outside[present], zoned[present], own[present] = _from_text(
            pd.Series(text[present].to_numpy(dtype=object)), monthfirst)  # fmt: skip
    return out, outside, zoned, own


# Excel serials: 1 is 1900-01-01; the last serial nanoseconds can hold is the day before 2262-04-11.
_SERIAL_MAX = int((_NS_MAX - np.datetime64("1899-12-30", "D")).astype(np.int64))


def _from_numbers(arr: npt.NDArray[np.float64], excel_serials: bool) -> tuple[Any, npt.NDArray[np.bool_]]:
    out = np.full(arr.shape, np.datetime64("NaT"), dtype="M8[ns]")
    outside = np.zeros(arr.shape, dtype=bool)
    if excel_serials:
        finite = np.isfinite(arr)
        ok = finite & (arr >= 1) & (arr < _SERIAL_MAX)
        outside = finite & (arr >= _SERIAL_MAX) & (arr < 2958466)  # Excel's own last day is 9999-12-31
        ns = np.round(arr[ok] * 86_400e9).astype(np.int64)
        out[ok] = _EXCEL_EPOCH + ns.astype("m8[ns]")
    return out, outside


def _offset_minutes(text: pd.Series) -> Any:
    """The UTC offset each ISO 8601 text ends with, in minutes (read once per distinct ending)."""
    tails = text.str[-6:].astype("category")
    found = tails.cat.categories.to_series().str.extract(r"([Zz]|([+-])(\d{2}):?(\d{2}))$")
    sign = np.where(found[1].to_numpy(dtype=object) == "-", -1.0, 1.0)
    minutes = sign * (pd.to_numeric(found[2], errors="coerce").fillna(0).to_numpy() * 60
                      + pd.to_numeric(found[3], errors="coerce").fillna(0).to_numpy())  # fmt: skip
    minutes[found[0].isna().to_numpy()] = np.nan
    codes = np.asarray(tails.cat.codes)
    return np.where(codes >= 0, minutes[np.maximum(codes, 0)] if len(minutes) else np.nan, np.nan)


def _from_text(text: pd.Series, monthfirst: bool) -> tuple[Any, Any, Any, Any]:
    n = len(text)
    out = np.full(n, np.datetime64("NaT"), dtype="M8[ns]")
    outside = np.zeros(n, dtype=bool)
    zoned, own = _none(n)
    todo = np.array(text != "", dtype=bool)
    iso = text.str.match(_ISO).to_numpy() & todo
    if iso.any():
        with_offset = text.str.contains(_OFFSET, regex=True).to_numpy() & iso
        if with_offset.any():
            parsed = pd.to_datetime(text[with_offset], format="ISO8601", utc=True, errors="coerce")
            out[with_offset], outside[with_offset] = _ns(parsed.dt.tz_localize(None).to_numpy())
            zoned[with_offset] = ~np.isnat(out[with_offset])
            own[with_offset] = np.where(zoned[with_offset], _offset_minutes(text[with_offset]), np.nan)
        naive = iso & ~with_offset
        if naive.any():
            parsed = pd.to_datetime(text[naive], format="ISO8601", errors="coerce")
            out[naive], outside[naive] = _ns(parsed.to_numpy())
        todo &= ~iso
    formats = [_monthfirst(f) for f in _DAYFIRST] if monthfirst else list(_DAYFIRST)
    for fmt in [*formats, *_NAMED]:
        if not todo.any():
            break
        parsed = pd.to_datetime(text[todo], format=fmt, errors="coerce")
        got = parsed.notna().to_numpy()
        idx = np.flatnonzero(todo)[got]
        out[idx], outside[idx] = _ns(parsed[got].to_numpy())
        todo[idx] = False
    return out, outside, zoned, own
