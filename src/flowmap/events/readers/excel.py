"""Excel workbooks (.xlsx, .xlsm): a sheet's cells below its header, with A1 letters and sheet rows."""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from flowmap.errors import EventDataError, did_you_mean
from flowmap.events.readers.header import HeaderRule, RawTable, cell_text, find_header

__all__ = ["read_xlsx"]


def read_xlsx(path: Path, rule: HeaderRule, *, sheet: str | None = None) -> RawTable:
    """A sheet's cells below its header, each row with its sheet row and each column with its letter."""
    from openpyxl.utils import get_column_letter

    title, rows, merged = _sheet_rows(path, sheet)
    where = f"{path} (sheet '{title}')"
    if not rows or not any(cell_text(c) for _, r in rows for c in r):
        raise EventDataError(f"{where}: the sheet is empty")
    index, note = find_header(rows, rule, where=where, last_row=len(rows))
    header_pos, header = rows[index]
    width = len(header)
    while width and cell_text(header[width - 1]) == "":
        width -= 1
    letters = [get_column_letter(i + 1) for i in range(width)]
    names = [cell_text(h) or f"column {letters[i]}" for i, h in enumerate(header[:width])]
    notes = [note] if note else []
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


def _sheet_rows(path: Path, sheet: str | None) -> tuple[str, list[tuple[int, tuple[Any, ...]]], list[Any]]:
    """The sheet's title, every row from row 1 and column A (merged cells filled), and the merged ranges."""
    from openpyxl import load_workbook

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
    try:
        if sheet is None:
            ws = wb.worksheets[0]
        elif sheet in wb.sheetnames:
            ws = wb[sheet]
        else:
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
        width = max(ws.max_column or 0, 1)
        rows = [(i, tuple(r)) for i, r in enumerate(ws.iter_rows(min_row=1, min_col=1, max_col=width,
                                                                  values_only=True), 1)]  # fmt: skip
        return ws.title, rows, merged
    finally:
        wb.close()
