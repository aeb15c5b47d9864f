"""One reader per file format, each giving a :class:`RawTable`: cells as found, and where each row came from.

A reader knows its format and nothing of processes or cases: CSV
(:mod:`.delimited`, pyarrow, any delimiter), Excel (:mod:`.excel`, openpyxl;
merged cells filled; A1 letters kept), Parquet (:mod:`.parquet`; text
dictionary-encoded) and XES (:mod:`.xes`, a streaming parser). CSV and Excel
find their header row themselves (:mod:`.header`): a tracker often has a
title, a banner or blank rows above it.

Every row keeps its position as the user sees it: the CSV line (counting the
header line, and any lines above it), the sheet row, the XES event number.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from flowmap.errors import EventDataError
from flowmap.events.readers.delimited import read_csv
from flowmap.events.readers.excel import read_xlsx
from flowmap.events.readers.header import HEADER_SEARCH_ROWS, HeaderRule, RawTable, find_header, key
from flowmap.events.readers.parquet import read_parquet
from flowmap.events.readers.xes import read_xes

__all__ = [
    "DELIMITER_NAMES",
    "HEADER_SEARCH_ROWS",
    "READERS",
    "HeaderRule",
    "RawTable",
    "find_header",
    "format_of",
    "key",
    "normalise_delimiter",
]

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


READERS: dict[str, Callable[..., RawTable]] = {
    "csv": read_csv,
    "xlsx": read_xlsx,
    "parquet": read_parquet,
    "xes": read_xes,
}
"""Format name -> reader. CSV and Excel readers take a :class:`HeaderRule`; the others need none."""
