"""Writing results: files written whole or not at all, spreadsheet-safe cells.

Tables go to ``.csv``, ``.json`` or ``.xlsx`` by the file's extension. Text
cells that a spreadsheet would read as a formula (starting ``=``, ``+``, ``-``
or ``@``) are prefixed with an apostrophe; numbers stay numbers. Every file is
written to a temporary file beside the target and renamed into place, so an
interrupted run never leaves half a file.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import tempfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flowmap.errors import FlowmapError

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "TABLE_FORMATS",
    "atomic_path",
    "jsonable",
    "neutralise",
    "table_records",
    "workbook_bytes",
    "write_bytes",
    "write_events",
    "write_table",
    "write_text",
]

TABLE_FORMATS = (".csv", ".json", ".xlsx")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success rename it into place."""
    path = Path(path)
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise FlowmapError(f"cannot write {path}: folder {parent} does not exist; create it first")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        # mkstemp makes the file private (0600); give it the mode any new file would have.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp_path, 0o666 & ~umask)
        os.replace(tmp_path, path)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise


def write_bytes(path: Path, data: bytes) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def write_text(path: Path, text: str) -> None:
    write_bytes(path, text.encode("utf-8"))


def neutralise(value: Any) -> Any:
    """Make a text cell safe for spreadsheets; leave everything else alone.

    Examples
    --------
    >>> neutralise("=HYPERLINK(\\"x\\")")
    '\\'=HYPERLINK("x")'
    >>> neutralise(-3)
    -3
    """
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _safe_frame(df: pd.DataFrame) -> pd.DataFrame:
    import pandas as pd

    out = df.copy()
    for col in out.columns:
        s = out[col]
        if pd.api.types.is_object_dtype(s) or pd.api.types.is_string_dtype(s):
            out[col] = s.map(neutralise, na_action="ignore")
    return out


def jsonable(v: Any) -> Any:
    import numpy as np
    import pandas as pd

    if v is None:
        return None
    if isinstance(v, float) and math.isnan(v):
        return None
    if v is pd.NaT or (isinstance(v, type(pd.NA)) and v is pd.NA):
        return None
    if isinstance(v, pd.Timestamp):
        return v.isoformat() if (v.hour or v.minute or v.second or v.microsecond) else v.date().isoformat()
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.floating):
        f = float(v)
        return None if math.isnan(f) else f
    if isinstance(v, np.bool_):
        return bool(v)
    return v


def table_records(df: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as plain JSON-ready dicts (dates as ISO text, missing as null)."""
    cols = [str(c) for c in df.columns]
    return [{c: jsonable(v) for c, v in zip(cols, row, strict=True)} for row in df.itertuples(index=False, name=None)]


def _format_cell(v: Any) -> str:
    j = jsonable(v)
    if j is None:
        return ""
    if isinstance(j, float):
        return f"{j:.10g}" if j != int(j) else str(int(j)) if abs(j) < 1e15 else repr(j)
    return str(j)


def _csv_text(df: pd.DataFrame) -> str:
    import csv
    import io

    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow([str(c) for c in df.columns])
    for row in df.itertuples(index=False, name=None):
        w.writerow([_format_cell(v) for v in row])
    return buf.getvalue()


def write_table(
    df: pd.DataFrame,
    path: Path,
    *,
    sheet: str = "data",
    meta: Mapping[str, Any] | None = None,
) -> None:
    """Write ``df`` to ``path`` as CSV, JSON or XLSX (by extension), whole or not at all.

    Parameters
    ----------
    df
        The table; its column names are the documented output columns.
    path
        Destination; ``.csv``, ``.json`` or ``.xlsx``.
    sheet
        Sheet name for XLSX.
    meta
        For JSON: extra top-level keys (for example ``as_of``); rows go under ``rows``.

    Raises
    ------
    FlowmapError
        For an unknown extension or a missing folder.
    """
    path = Path(path)
    ext = path.suffix.lower()
    if ext not in TABLE_FORMATS:
        raise FlowmapError(
            f"cannot write a table to {path}: unknown extension '{ext or '(none)'}'; "
            f"use one of {', '.join(TABLE_FORMATS)}"
        )
    safe = _safe_frame(df)
    writer: Callable[[Path], None]
    if ext == ".csv":
        text = _csv_text(safe)

        def writer(tmp: Path) -> None:
            tmp.write_text(text, encoding="utf-8", newline="")

    elif ext == ".json":
        doc: dict[str, Any] = dict(meta or {})
        doc["rows"] = table_records(df)
        text = json.dumps(doc, indent=2, ensure_ascii=False, allow_nan=False) + "\n"

        def writer(tmp: Path) -> None:
            tmp.write_text(text, encoding="utf-8")

    else:

        def writer(tmp: Path) -> None:
            _write_xlsx(safe, tmp, sheet)

    with atomic_path(path) as tmp:
        writer(tmp)


EVENT_FORMATS_OUT = (".csv", ".parquet")


def write_events(frame: pd.DataFrame, path: Path) -> Path:
    """Write an event log (``case_id, event, timestamp``) to ``.csv`` or ``.parquet``, whole or not at all."""
    path = Path(path)
    ext = path.suffix.lower()
    if ext == ".parquet":
        with atomic_path(path) as tmp:
            frame.to_parquet(tmp, index=False)
    elif ext == ".csv":
        write_table(frame, path)
    else:
        raise FlowmapError(f"cannot write events to {path}: use .csv or .parquet")
    return path


def _write_xlsx(df: pd.DataFrame, path: Path, sheet: str) -> None:
    import datetime as dt

    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = sheet[:31]
    ws.append([str(c) for c in df.columns])
    for row in df.itertuples(index=False, name=None):
        cells = []
        for v in row:
            j = jsonable(v)
            if isinstance(j, str) and len(j) == 10 and j[4:5] == "-" and j[7:8] == "-":
                with contextlib.suppress(ValueError):
                    j = dt.date.fromisoformat(j)
            cells.append(j)
        ws.append(cells)
    path.write_bytes(workbook_bytes(wb))


_FIXED_TIME = "2000-01-01T00:00:00Z"


def workbook_bytes(wb: Any) -> bytes:
    """An openpyxl workbook as .xlsx bytes that are the same for the same content.

    openpyxl stamps the save time into ``docProps/core.xml`` and into every
    zip entry; both are replaced by a fixed time.
    """
    import io
    import re
    import zipfile

    buffer = io.BytesIO()
    wb.save(buffer)
    out = io.BytesIO()
    with zipfile.ZipFile(buffer) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "docProps/core.xml":
                data = re.sub(rb"(<dcterms:(created|modified)[^>]*>)[^<]*(</dcterms:)", rb"\g<1>" +
                              _FIXED_TIME.encode() + rb"\g<3>", data)  # fmt: skip
            info = zipfile.ZipInfo(item.filename, date_time=(2000, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o600 << 16
            dst.writestr(info, data)
    return out.getvalue()
