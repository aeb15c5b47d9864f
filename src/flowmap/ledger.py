"""The data-quality ledger: every input record is used or set aside with a reason.

``rows read = rows used + rows set aside``, always. Each reason keeps its
count and the first few source positions (CSV line, sheet row, or XES event
number) so that a person can find them in their own file.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

__all__ = ["REASONS", "Ledger", "SetAside"]

REASONS: dict[str, str] = {
    "no_case_id": "no case id",
    "no_event": "no event name",
    "unreadable_date": "unreadable or missing date",
    "implausible_date": "date before 1910 or after 2100",
    "duplicate": "exact duplicate of an earlier row",
    "unknown_event": "event matching no step",
    "after_as_of": "after the as-of date",
}
"""Reason keys and how they read in a ledger."""

FIRST_N = 5


@dataclass(frozen=True)
class SetAside:
    reason: str
    count: int
    first: tuple[int, ...]
    examples: tuple[str, ...] = ()

    @property
    def text(self) -> str:
        return REASONS.get(self.reason, self.reason)


@dataclass(frozen=True)
class Ledger:
    """How the records of one input were accounted for."""

    source: str
    unit: str  # "line" (CSV), "row" (XLSX, Parquet, DataFrame) or "event" (XES)
    read: int
    set_aside: tuple[SetAside, ...] = ()
    notes: tuple[str, ...] = field(default=())

    @property
    def used(self) -> int:
        return self.read - sum(s.count for s in self.set_aside)

    def add(self, reason: str, positions: Any, examples: Sequence[str] = ()) -> Ledger:
        """A new ledger with ``positions`` (source line/row numbers) set aside for ``reason``."""
        pos = np.asarray(positions)
        if pos.size == 0:
            return self
        first = tuple(int(x) for x in np.sort(pos)[:FIRST_N])
        ex = tuple(dict.fromkeys(str(e) for e in examples))[:FIRST_N]
        return replace(self, set_aside=(*self.set_aside, SetAside(reason, int(pos.size), first, ex)))

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
        for reason in REASONS:  # the order readers and replay add them in
            group = by_reason.pop(reason, [])
            if group:
                first = tuple(sorted(x for s in group for x in s.first)[:FIRST_N])
                examples = tuple(dict.fromkeys(e for s in group for e in s.examples))[:FIRST_N]
                merged.append(SetAside(reason, sum(s.count for s in group), first, examples))
        notes = tuple(dict.fromkeys(n for p in parts for n in p.notes))
        unit = parts[0].unit if parts else "row"
        return Ledger(source=source, unit=unit, read=sum(p.read for p in parts), set_aside=tuple(merged), notes=notes)

    def lines(self) -> list[str]:
        """The ledger in words, one line each."""
        plural = "s" if self.read != 1 else ""
        out = [f"{self.read} {self.unit}{plural} read = {self.used} used + {self.read - self.used} set aside"]
        for s in self.set_aside:
            where = ", ".join(str(x) for x in s.first)
            more = ", ..." if s.count > len(s.first) else ""
            line = f"  {s.count} {s.text} ({self.unit}s {where}{more})"
            if s.examples:
                line += ": " + ", ".join(repr(e) for e in s.examples)
            out.append(line)
        out.extend(f"  note: {n}" for n in self.notes)
        return out

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "unit": self.unit,
            "read": self.read,
            "used": self.used,
            "set_aside": [
                {
                    "reason": s.reason,
                    "text": s.text,
                    "count": s.count,
                    "first": list(s.first),
                    "examples": list(s.examples),
                }
                for s in self.set_aside
            ],
            "notes": list(self.notes),
        }
