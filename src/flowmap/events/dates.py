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

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    import numpy.typing as npt

__all__ = ["NOT_YET_WORDS", "not_yet", "parse_dates", "read_dates", "to_local_naive"]

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
    said = np.full(len(values), "", dtype=object)
    if pd.api.types.is_datetime64_any_dtype(values.dtype) or (
        pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_object_dtype(values.dtype)
    ):
        return missing, said
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
    index = values.index
    if isinstance(values.dtype, pd.CategoricalDtype):
        # Parse each distinct value once: dates repeat, often heavily.
        cats = pd.Series(np.asarray(values.cat.categories, dtype=object))
        parsed, cat_out = read_dates(cats, timezone=timezone, monthfirst=monthfirst, excel_serials=excel_serials)
        codes = np.asarray(values.cat.codes)
        out = np.asarray(parsed, dtype="M8[ns]")[np.maximum(codes, 0)]
        out[codes < 0] = np.datetime64("NaT")
        return pd.Series(out, index=index), cat_out[np.maximum(codes, 0)] & (codes >= 0)
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        local = (
            values.dt.tz_convert(timezone).dt.tz_localize(None)
            if isinstance(values.dtype, pd.DatetimeTZDtype)
            else values
        )
        arr, outside = _ns(local.to_numpy())
        return pd.Series(arr, index=index), outside
    if pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values.dtype):
        arr, outside = _from_numbers(values.to_numpy(dtype=float, na_value=np.nan), excel_serials)
        return pd.Series(arr, index=index), outside
    if pd.api.types.is_string_dtype(values.dtype) and not pd.api.types.is_object_dtype(values.dtype):
        return _text_series(values, timezone, monthfirst)
    kind = pd.api.types.infer_dtype(values, skipna=True)
    if kind in ("string", "empty"):
        return _text_series(values, timezone, monthfirst)
    out = np.full(len(values), np.datetime64("NaT"), dtype="M8[ns]")
    outside = np.zeros(len(values), dtype=bool)
    obj = values.astype(object)
    # A column of mixed kinds (an Excel sheet where some dates are typed and some
    # are text): Python datetimes, numbers and text, each its own way.
    is_dt = np.array(obj.map(lambda v: hasattr(v, "year") and hasattr(v, "month"), na_action="ignore").fillna(False),
                     dtype=bool)  # fmt: skip
    if is_dt.any():
        dts = pd.to_datetime(obj[is_dt].astype(object), errors="coerce", utc=False, format="mixed")
        if isinstance(dts.dtype, pd.DatetimeTZDtype):
            dts = dts.dt.tz_convert(timezone).dt.tz_localize(None)
        out[is_dt], outside[is_dt] = _ns(dts.to_numpy())
    numeric = obj.map(lambda v: isinstance(v, (int, float)) and not isinstance(v, bool), na_action="ignore")
    is_num = np.array(numeric.fillna(False), dtype=bool) & ~is_dt
    if is_num.any() and excel_serials:
        out[is_num], outside[is_num] = _from_numbers(obj[is_num].to_numpy(dtype=float), True)
    is_text = ~(is_dt | is_num) & obj.notna().to_numpy()
    if is_text.any():
        text = pd.Series(obj[is_text].astype(str).str.strip().to_numpy(dtype=object))
        out[is_text], outside[is_text] = _from_text(text, timezone, monthfirst)
    return pd.Series(out, index=index), outside


def _text_series(values: pd.Series, timezone: str, monthfirst: bool) -> tuple[pd.Series, npt.NDArray[np.bool_]]:
    text = values.astype("string").str.strip()
    present = np.array(text.notna(), dtype=bool)
    out = np.full(len(values), np.datetime64("NaT"), dtype="M8[ns]")
    outside = np.zeros(len(values), dtype=bool)
    if present.all():
        out[:], outside[:] = _from_text(pd.Series(text.to_numpy(dtype=object)), timezone, monthfirst)
    elif present.any():
        out[present], outside[present] = _from_text(pd.Series(text[present].to_numpy(dtype=object)), timezone,
                                                    monthfirst)  # fmt: skip
    return pd.Series(out, index=values.index), outside


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


def _from_text(text: pd.Series, timezone: str, monthfirst: bool) -> tuple[Any, npt.NDArray[np.bool_]]:
    out = np.full(len(text), np.datetime64("NaT"), dtype="M8[ns]")
    outside = np.zeros(len(text), dtype=bool)
    todo = np.array(text != "", dtype=bool)
    iso = text.str.match(_ISO).to_numpy() & todo
    if iso.any():
        with_offset = text.str.contains(_OFFSET, regex=True).to_numpy() & iso
        if with_offset.any():
            parsed = pd.to_datetime(text[with_offset], format="ISO8601", utc=True, errors="coerce")
            local = parsed.dt.tz_convert(timezone).dt.tz_localize(None)
            out[with_offset], outside[with_offset] = _ns(local.to_numpy())
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
    return out, outside
