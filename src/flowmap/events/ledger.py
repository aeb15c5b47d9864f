"""The data-quality ledger: every input record is used, not dated yet, or set aside with a reason.

``read = used + not dated yet + set aside``, always. Each reason keeps every
record it set aside, with its address (the sheet row or CSV line, the column,
and for Excel the A1 cell), the value as typed and the case id, so that a
person can find each one in their own file and fix it there
(:meth:`Ledger.problems`). The terminal shows a short form: per reason, the
count and up to five distinct values with their places.

Cells that are empty or say a step has not happened yet (``N/A``,
``awaiting``, ...) are not problems: they are counted on a line of their own.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import numpy.typing as npt
    import pandas as pd

__all__ = ["PROBLEM_COLUMNS", "REASONS", "Ledger", "SetAside", "reason_text"]

REASONS: dict[str, str] = {
    "no_case_id": "no case id",
    "summary_row": "summary row (a total, not a case)",
    "no_event": "no event name",
    "unreadable_date": "unreadable date",
    "implausible_date": "date out of range (before 1910 or after 2100)",
    "duplicate": "exact duplicate of an earlier row",
    "unknown_event": "event matching no step",
    "after_as_of": "after the as-of date",
    "unknown_lifecycle": "lifecycle transition not in the XES standard (start, complete, schedule, suspend, ...)",
    "lifecycle_left_out": "lifecycle transition other than complete, left out by --lifecycle complete",
}
"""Reason keys and how they read in a ledger, in the order readers and replay find them."""

_PLURAL: dict[str, str] = {
    "summary_row": "summary rows (totals, not cases)",
    "unreadable_date": "unreadable dates",
    "implausible_date": "dates out of range (before 1910 or after 2100)",
    "duplicate": "exact duplicates of an earlier row",
    "unknown_event": "events matching no step",
    "unknown_lifecycle": "lifecycle transitions not in the XES standard (start, complete, schedule, suspend, ...)",
    "lifecycle_left_out": "lifecycle transitions other than complete, left out by --lifecycle complete",
}


def reason_text(reason: str, count: int, unit: str = "row") -> str:
    """How ``count`` records set aside for ``reason`` read: "2 unreadable dates", "1 summary row".

    Examples
    --------
    >>> reason_text("unreadable_date", 1), reason_text("unreadable_date", 2)
    ('unreadable date', 'unreadable dates')
    >>> reason_text("summary_row", 1), reason_text("summary_row", 2)
    ('summary row (a total, not a case)', 'summary rows (totals, not cases)')
    """
    if count != 1 and reason in _PLURAL:
        return _PLURAL[reason]
    return REASONS.get(reason, reason)


PROBLEM_COLUMNS = ["sheet", "row", "column", "cell", "case_id", "value", "reason"]
"""The columns of :meth:`Ledger.problems` (``--problems FILE``), exactly."""

FIRST_N = 5


def _objects(values: Any, n: int) -> npt.NDArray[np.object_]:
    """``values`` as an object array of length ``n`` (a scalar is repeated; None stays None)."""
    if values is None or isinstance(values, str):
        out = np.empty(n, dtype=object)
        out[:] = values
        return out
    arr = np.asarray(values, dtype=object)
    if arr.shape != (n,):
        raise ValueError(f"expected {n} values, got {arr.shape}")
    return arr


def _text(v: Any) -> str:
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return ""
    if hasattr(v, "isoformat") and not isinstance(v, str):
        text = str(v.isoformat())
        return text[:10] if text.endswith("T00:00:00") else text
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


@dataclass(frozen=True, eq=False)
class SetAside:
    """Every record set aside for one reason, in the order they were found.

    ``rows`` are source positions (sheet row, CSV line counting the header
    line, XES event number, DataFrame row from 1); ``columns`` the header of
    the cell at fault; ``values`` the cell as typed; ``case_ids`` the case.
    """

    reason: str
    rows: npt.NDArray[np.int64]
    columns: npt.NDArray[np.object_]
    values: npt.NDArray[np.object_]
    case_ids: npt.NDArray[np.object_]

    @property
    def count(self) -> int:
        return len(self.rows)

    @property
    def text(self) -> str:
        return REASONS.get(self.reason, self.reason)

    @property
    def first(self) -> tuple[int, ...]:
        """The first few source positions, in file order."""
        return tuple(int(x) for x in np.unique(self.rows)[:FIRST_N])

    @property
    def examples(self) -> tuple[str, ...]:
        """Up to five distinct values, in file order."""
        return tuple(v for v, _, _ in self.distinct())

    def distinct(self, n: int = FIRST_N) -> list[tuple[str, int, str]]:
        """Up to ``n`` distinct values with the first place each was found: (value, row, column)."""
        order = np.argsort(self.rows, kind="stable")
        seen: dict[Any, tuple[str, int, str]] = {}
        for i in order:
            v, r, c = _text(self.values[i]), int(self.rows[i]), _text(self.columns[i])
            k = v if v else (r, c)  # an empty value is told apart by its place
            if k not in seen:
                seen[k] = (v, r, c)
                if len(seen) >= n:
                    break
        return list(seen.values())

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SetAside):
            return NotImplemented
        return (
            self.reason == other.reason
            and np.array_equal(self.rows, other.rows)
            and [_text(x) for x in self.columns] == [_text(x) for x in other.columns]
            and [_text(x) for x in self.values] == [_text(x) for x in other.values]
            and [_text(x) for x in self.case_ids] == [_text(x) for x in other.case_ids]
        )

    __hash__ = None  # type: ignore[assignment]


@dataclass(frozen=True)
class Ledger:
    """How the records of one input were accounted for.

    Attributes
    ----------
    unit
        What a record is: ``line`` (CSV), ``row`` (Excel, Parquet, DataFrame),
        ``event`` (XES) or ``cell`` (a tracker's step cells, one row per case).
    read
        Records read: ``used + not_yet + sum of set aside``.
    not_yet
        Records with no date yet (empty, or a word such as ``N/A``): not problems.
    not_yet_words
        How often each not-yet word was found, blank cells as ``""``.
    sheet
        The Excel sheet read, if any.
    letters
        Column header -> Excel column letter, for A1 cell references.
    position
        What a position counts when that is not ``unit`` (a tracker's cells
        sit on CSV ``line``s or sheet ``row``s).
    """

    source: str
    unit: str
    read: int
    set_aside: tuple[SetAside, ...] = ()
    notes: tuple[str, ...] = field(default=())
    not_yet: int = 0
    not_yet_words: tuple[tuple[str, int], ...] = ()
    sheet: str | None = None
    letters: Mapping[str, str] = field(default_factory=dict)
    position: str = ""  # what positions count when it is not the unit: a tracker's cells sit on lines or rows

    @property
    def used(self) -> int:
        return self.read - self.not_yet - sum(s.count for s in self.set_aside)

    @property
    def problem_count(self) -> int:
        return sum(s.count for s in self.set_aside)

    def add(
        self,
        reason: str,
        positions: Any,
        *,
        column: Any = None,
        values: Any = None,
        case_ids: Any = None,
    ) -> Ledger:
        """A new ledger with the records at ``positions`` set aside for ``reason``.

        ``column`` is one header for all of them or one per record; ``values``
        (as typed) and ``case_ids`` are one per record.
        """
        rows = np.asarray(positions, dtype=np.int64).reshape(-1)
        if rows.size == 0:
            return self
        n = rows.size
        entry = SetAside(reason, rows, _objects(column, n), _objects(values, n), _objects(case_ids, n))
        return replace(self, set_aside=(*self.set_aside, entry))

    def with_not_yet(self, words: Mapping[str, int]) -> Ledger:
        """A new ledger that also counts these not-yet values (word -> how many)."""
        merged = dict(self.not_yet_words)
        for w, k in words.items():
            if k:
                merged[w] = merged.get(w, 0) + int(k)
        ordered = tuple(sorted(merged.items(), key=lambda wk: (-wk[1], wk[0])))
        return replace(self, not_yet=self.not_yet + sum(int(k) for k in words.values()), not_yet_words=ordered)

    def note(self, text: str) -> Ledger:
        return replace(self, notes=(*self.notes, text))

    @staticmethod
    def merge(parts: Sequence[Ledger], *, source: str) -> Ledger:
        """One ledger from ledgers of disjoint parts of one input (positions are the input's own)."""
        by_reason: dict[str, list[SetAside]] = {}
        for p in parts:
            for s in p.set_aside:
                by_reason.setdefault(s.reason, []).append(s)
        merged = []
        for reason in [*REASONS, *sorted(set(by_reason) - set(REASONS))]:
            group = by_reason.pop(reason, [])
            if group:
                rows = np.concatenate([s.rows for s in group])
                order = np.argsort(rows, kind="stable")

                def cat(attr: str, group: list[SetAside] = group, order: Any = order) -> Any:
                    return np.concatenate([getattr(s, attr) for s in group])[order]

                merged.append(SetAside(reason, rows[order], cat("columns"), cat("values"), cat("case_ids")))
        notes = tuple(dict.fromkeys(n for p in parts for n in p.notes))
        first = parts[0] if parts else Ledger(source=source, unit="row", read=0)
        out = Ledger(
            source=source,
            unit=first.unit,
            read=sum(p.read for p in parts),
            set_aside=tuple(merged),
            notes=notes,
            sheet=first.sheet,
            letters=first.letters,
            position=first.position,
        )
        words: dict[str, int] = {}
        for p in parts:
            for w, k in p.not_yet_words:
                words[w] = words.get(w, 0) + k
        return out.with_not_yet(words) if words else out

    # --- addresses -----------------------------------------------------------------------

    def place(self, row: int, column: str) -> str:
        """Where a record is, as the user sees their file: ``E14``, ``line 14`` or ``row 14``."""
        letter = self.letters.get(column) if column else None
        if letter is not None:
            return f"{letter}{row}"
        unit = self.position or self.unit
        return f"{unit if unit in ('line', 'event') else 'row'} {row}"

    def problems(self) -> pd.DataFrame:
        """Every record set aside, one row each, in file order: :data:`PROBLEM_COLUMNS`."""
        import pandas as pd

        if not self.set_aside:
            return pd.DataFrame({c: pd.Series(dtype="int64" if c == "row" else object) for c in PROBLEM_COLUMNS})
        rows = np.concatenate([s.rows for s in self.set_aside])
        columns = [_text(c) for s in self.set_aside for c in s.columns]
        letters = [self.letters.get(c, "") if c else "" for c in columns]
        frame = pd.DataFrame(
            {
                "sheet": self.sheet or "",
                "row": rows,
                "column": columns,
                "cell": [f"{a}{r}" if a else "" for a, r in zip(letters, rows.tolist(), strict=True)],
                "case_id": [_text(c) for s in self.set_aside for c in s.case_ids],
                "value": [_text(v) for s in self.set_aside for v in s.values],
                "reason": [s.text for s in self.set_aside for _ in range(s.count)],
            }
        )
        # File order: by row, then by the column's place in the sheet; reasons keep their order within a cell.
        col_rank = {c: i for i, c in enumerate(self.letters)}
        rank = np.array([col_rank.get(c, -1) for c in columns], dtype=np.int64)
        order = np.lexsort((rank, rows))
        return frame.iloc[order].reset_index(drop=True)

    # --- words -----------------------------------------------------------------------------

    def lines(self) -> list[str]:
        """The ledger in words, one line each (the terminal's short form)."""
        plural = "s" if self.read != 1 else ""
        rows = sum(s.count for s in self.set_aside if s.reason == "summary_row")
        if self.unit == "cell" and rows:
            cells = self.read - rows
            head = f"{cells} step cell{'s' if cells != 1 else ''} and {rows} summary row{'s' if rows != 1 else ''}"
        elif self.unit == "cell":
            head = f"{self.read} step cell{plural}"
        else:
            head = f"{self.read} {self.unit}{plural}"
        head += f" read = {self.used} used"
        if self.not_yet:
            head += f" + {self.not_yet} not dated yet"
        head += f" + {self.problem_count} set aside"
        out = [head]
        if self.not_yet:
            words = ", ".join(f"{k} {'empty' if w == '' else repr(w)}" for w, k in self.not_yet_words[:6])
            more = ", ..." if len(self.not_yet_words) > 6 else ""
            out.append(f"  {self.not_yet} not dated yet ({words}{more}): not problems, the step has not happened")
        for s in self.set_aside:
            shown = "; ".join(
                (f"{c!r} " if c else "") + self.place(r, c) + (f": {v!r}" if v else "") for v, r, c in s.distinct()
            )
            more = ", ..." if s.count > FIRST_N else ""
            out.append(f"  {s.count} {reason_text(s.reason, s.count, self.unit)}: {shown}{more}")
        out.extend(f"  note: {n}" for n in self.notes)
        return out

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "unit": self.unit,
            "sheet": self.sheet,
            "read": self.read,
            "used": self.used,
            "not_dated_yet": self.not_yet,
            "not_dated_yet_values": dict(self.not_yet_words),
            "set_aside": [
                {
                    "reason": s.reason,
                    "text": s.text,
                    "count": s.count,
                    "first": list(s.first),
                    "examples": [
                        {"value": v, "row": r, "column": c or None, "place": self.place(r, c)}
                        for v, r, c in s.distinct()
                    ],
                }
                for s in self.set_aside
            ],
            "notes": list(self.notes),
        }
