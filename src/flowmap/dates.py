"""Reading dates as people write them: ISO 8601, UK day-first, Excel serials, time zones.

All parsing is vectorised: each format is tried once over every value not yet
read, so a column of a million dates costs a handful of passes, not a million
Python calls. Values that no format reads come back as NaT and the caller
sets them aside in the ledger.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

__all__ = ["parse_dates", "to_local_naive"]

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


def to_local_naive(values: pd.Series, timezone: str) -> pd.Series:
    """Datetimes with a zone -> local wall time in ``timezone``, without zone."""
    out: pd.Series = (
        values.dt.tz_convert(timezone).dt.tz_localize(None) if isinstance(values.dtype, pd.DatetimeTZDtype) else values
    )
    return out.astype("datetime64[ns]")


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
    index = values.index
    if isinstance(values.dtype, pd.CategoricalDtype):
        # Parse each distinct value once: dates repeat, often heavily.
        cats = pd.Series(np.asarray(values.cat.categories, dtype=object))
        parsed = parse_dates(cats, timezone=timezone, monthfirst=monthfirst, excel_serials=excel_serials)
        codes = np.asarray(values.cat.codes)
        out = np.asarray(parsed, dtype="M8[ns]")[np.maximum(codes, 0)]
        out[codes < 0] = np.datetime64("NaT")
        return pd.Series(out, index=index)
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        return pd.Series(to_local_naive(values, timezone).to_numpy(), index=index)
    if pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values.dtype):
        return _from_numbers(values, excel_serials)
    if pd.api.types.is_string_dtype(values.dtype) and not pd.api.types.is_object_dtype(values.dtype):
        return _text_series(values, timezone, monthfirst)
    kind = pd.api.types.infer_dtype(values, skipna=True)
    if kind in ("string", "empty"):
        return _text_series(values, timezone, monthfirst)
    out = np.full(len(values), np.datetime64("NaT"), dtype="M8[ns]")
    obj = values.astype(object)
    # A column of mixed kinds (an Excel sheet where some dates are typed and some
    # are text): Python datetimes, numbers and text, each its own way.
    is_dt = np.array(obj.map(lambda v: hasattr(v, "year") and hasattr(v, "month"), na_action="ignore").fillna(False),
                     dtype=bool)  # fmt: skip
    if is_dt.any():
        dts = pd.to_datetime(obj[is_dt].astype(object), errors="coerce", utc=False, format="mixed")
        if isinstance(dts.dtype, pd.DatetimeTZDtype):
            dts = dts.dt.tz_convert(timezone).dt.tz_localize(None)
        out[is_dt] = np.asarray(dts, dtype="M8[ns]")
    numeric = obj.map(lambda v: isinstance(v, (int, float)) and not isinstance(v, bool), na_action="ignore")
    is_num = np.array(numeric.fillna(False), dtype=bool) & ~is_dt
    if is_num.any() and excel_serials:
        out[is_num] = _from_numbers(pd.Series(obj[is_num].astype(float)), True).to_numpy()
    is_text = ~(is_dt | is_num) & obj.notna().to_numpy()
    if is_text.any():
        text = pd.Series(obj[is_text].astype(str).str.strip().to_numpy(dtype=object))
        out[is_text] = _from_text(text, timezone, monthfirst)
    return pd.Series(out, index=index)


def _text_series(values: pd.Series, timezone: str, monthfirst: bool) -> pd.Series:
    text = values.astype("string").str.strip()
    present = np.array(text.notna(), dtype=bool)
    out = np.full(len(values), np.datetime64("NaT"), dtype="M8[ns]")
    if present.all():
        out[:] = _from_text(pd.Series(text.to_numpy(dtype=object)), timezone, monthfirst)
    elif present.any():
        out[present] = _from_text(pd.Series(text[present].to_numpy(dtype=object)), timezone, monthfirst)
    return pd.Series(out, index=values.index)


def _from_numbers(values: pd.Series, excel_serials: bool) -> pd.Series:
    arr = values.to_numpy(dtype=float, na_value=np.nan)
    out = np.full(arr.shape, np.datetime64("NaT"), dtype="M8[ns]")
    if excel_serials:
        ok = np.isfinite(arr) & (arr >= 1) & (arr < 2958466)
        ns = np.round(arr[ok] * 86_400e9).astype(np.int64)
        out[ok] = _EXCEL_EPOCH + ns.astype("m8[ns]")
    return pd.Series(out, index=values.index)


def _from_text(text: pd.Series, timezone: str, monthfirst: bool) -> Any:
    out = np.full(len(text), np.datetime64("NaT"), dtype="M8[ns]")
    todo = np.array(text != "", dtype=bool)
    iso = text.str.match(_ISO).to_numpy() & todo
    if iso.any():
        with_offset = text.str.contains(_OFFSET, regex=True).to_numpy() & iso
        if with_offset.any():
            parsed = pd.to_datetime(text[with_offset], format="ISO8601", utc=True, errors="coerce")
            out[with_offset] = parsed.dt.tz_convert(timezone).dt.tz_localize(None).to_numpy(dtype="M8[ns]")
        naive = iso & ~with_offset
        if naive.any():
            parsed = pd.to_datetime(text[naive], format="ISO8601", errors="coerce")
            out[naive] = parsed.to_numpy(dtype="M8[ns]")
        todo &= ~iso
    formats = [_monthfirst(f) for f in _DAYFIRST] if monthfirst else list(_DAYFIRST)
    for fmt in [*formats, *_NAMED]:
        if not todo.any():
            break
        parsed = pd.to_datetime(text[todo], format=fmt, errors="coerce")
        got = parsed.notna().to_numpy()
        idx = np.flatnonzero(todo)[got]
        out[idx] = parsed[got].to_numpy(dtype="M8[ns]")
        todo[idx] = False
    return out
