"""The header row of a tracker: found below titles, banners and blank rows; and the raw table readers give."""

from __future__ import annotations

import gzip
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from flowmap.errors import EventDataError

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

__all__ = ["HEADER_SEARCH_ROWS", "HeaderRule", "RawTable", "cell_text", "find_header", "key", "opener"]


def opener(path: Path) -> Callable[..., Any]:
    """``gzip.open`` for a ``.gz`` file, else ``open``: every reader streams gzipped files the same way."""
    return gzip.open if path.name.lower().endswith(".gz") else open


HEADER_SEARCH_ROWS = 30
"""How many rows from the top are searched for the header."""


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


def cell_text(v: Any) -> str:
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
        if not any(cell_text(c) for c in rows[index][1]):
            raise EventDataError(f"{where}: --header-row {n} is a blank row; give the row that holds the column names")
    else:
        top = rows[:HEADER_SEARCH_ROWS]
        index = next((i for i, (_, cells) in enumerate(top) if rule.matches(cells)), -1)
        if index < 0:
            first = next(((pos, cells) for pos, cells in top if any(cell_text(c) for c in cells)), None)
            cells = [_short(cell_text(c), 30) for c in first[1] if cell_text(c)] if first else []
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
    texts = list(dict.fromkeys(_short(cell_text(c)) for _, cells in skipped for c in cells if cell_text(c)))
    first_pos, last_pos = skipped[0][0], skipped[-1][0]
    span = f"row {first_pos}" if first_pos == last_pos else f"rows {first_pos}–{last_pos}"
    said = ": " + ", ".join(repr(t) for t in texts[:3]) + (", ..." if len(texts) > 3 else "") if texts else " (blank)"
    return index, f"{span} above the header skipped{said}"
