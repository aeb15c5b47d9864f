"""Case attributes: the columns that hold one value per case, for ``--where`` and ``--by``.

A tracker's other columns (team, worker, age band), ``case:*`` columns in long
form and XES trace attributes are read as attributes of every event. A column
is a case attribute when each case has one value in it: the case's value is
its first non-empty one. ``--where COLUMN=VALUE`` (or ``!=``; repeatable,
all must hold) keeps the cases whose value matches, compared as people type
(case and outer spaces ignored); ``--by COLUMN`` splits the cases into one
group per value. A case whose events disagree keeps its first value and gets
a ledger note; a column that varies within more than half of the cases with
two or more values in it is a per-event column, and using it is refused with
a message naming a case. Attributes are never written to an output
unless grouped by.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
import pandas as pd

from flowmap.errors import EventDataError, did_you_mean
from flowmap.events.readers import key

if TYPE_CHECKING:
    from flowmap.events.read import EventLog

__all__ = [
    "Condition",
    "attribute_columns",
    "case_values",
    "conflicts",
    "filter_cases",
    "group_cases",
    "keep_cases",
    "parse_where",
]

_CANONICAL = ("case_id", "event", "timestamp", "utc_offset", "row", "column")
NONE = "(none)"
"""The group of cases with no value in the column grouped by."""


@dataclass(frozen=True)
class Condition:
    """``COLUMN=VALUE`` or ``COLUMN!=VALUE``."""

    column: str
    value: str
    equal: bool = True

    def __str__(self) -> str:
        return f"{self.column}{'=' if self.equal else '!='}{self.value}"


def parse_where(text: str) -> Condition:
    """A condition as typed: ``team=South``, ``age band != 0-5``.

    Examples
    --------
    >>> parse_where("team = South"), parse_where("age band!=0-5")
    (Condition(column='team', value='South', equal=True), Condition(column='age band', value='0-5', equal=False))
    """
    m = re.match(r"^\s*([^=!]+?)\s*(!=|=)\s*(.*?)\s*$", text)
    if m is None or not m.group(1):
        raise EventDataError(f"--where {text!r}: write COLUMN=VALUE or COLUMN!=VALUE, e.g. --where team=South")
    return Condition(m.group(1), m.group(3), m.group(2) == "=")


def attribute_columns(log: EventLog) -> list[str]:
    return [str(c) for c in log.events.columns if c not in _CANONICAL]


def _column(log: EventLog, name: str) -> str:
    cols = attribute_columns(log)
    by_key = {key(c): c for c in cols}
    found = name if name in cols else by_key.get(key(name)) or by_key.get(key(f"case:{name}"))
    if found is None:
        shown = ", ".join(repr(c) for c in cols[:20]) or "none"
        raise EventDataError(f"{log.ledger.source}: no column '{name}' to filter or group cases by"
                             f"{did_you_mean(name, cols)}; the other columns are: {shown}")  # fmt: skip
    return found


def _norm(values: pd.Series) -> pd.Series:
    text = values.astype("string").str.strip()
    return text.mask(text == "")


def case_values(log: EventLog, column: str) -> pd.Series:
    """Each case's value in ``column`` (its first non-empty one), indexed by case id, as text.

    Raises
    ------
    EventDataError
        When the column does not exist, or is a per-event column rather than a
        per-case one (see :func:`conflicts`).
    """
    return _values(log, column)[0]


def conflicts(log: EventLog, column: str) -> list[str]:
    """The cases whose events disagree on ``column`` (their first non-empty value is used)."""
    return _values(log, column)[1]


def _values(log: EventLog, column: str) -> tuple[pd.Series, list[str]]:
    col = _column(log, column)
    ev = log.events
    frame = pd.DataFrame({"case": ev["case_id"].astype(str).to_numpy(), "value": _norm(ev[col]).to_numpy()})
    present = frame.dropna(subset=["value"])
    distinct = present.drop_duplicates()
    varies = distinct["case"].duplicated(keep=False)
    cases = list(pd.unique(distinct.loc[varies, "case"]))
    several = int((present["case"].value_counts() > 1).sum())
    if cases and 2 * len(cases) > several:
        example = distinct[distinct["case"] == cases[0]]["value"].tolist()[:3]
        raise EventDataError(
            f"{log.ledger.source}: '{col}' is not one value per case: it varies within {len(cases)} of the "
            f"{several} cases with more than one value in it (case {cases[0]!r} has "
            f"{', '.join(repr(v) for v in example)}); choose a column that describes the whole case, such as "
            "a team or an age band"
        )
    first = present.drop_duplicates("case").set_index("case")["value"]
    all_cases = pd.Index(pd.unique(frame["case"]), name="case")
    return first.reindex(all_cases), cases


def _conflict_note(column: str, cases: list[str]) -> str | None:
    if not cases:
        return None
    shown = ", ".join(repr(c) for c in cases[:10]) + (f" and {len(cases) - 10} more" if len(cases) > 10 else "")
    return (f"'{column}' differs within {len(cases)} case{'s' if len(cases) != 1 else ''} ({shown}): "
            "each case's first value is used; correct the file if that is wrong")  # fmt: skip


def filter_cases(log: EventLog, conditions: Sequence[Condition]) -> EventLog:
    """The log with only the cases that meet every condition; a ledger note says how many were kept."""
    if not conditions:
        return log
    ev = log.events
    keep_cases: set[str] | None = None
    ledger = log.ledger
    for cond in conditions:
        values, conflicting = _values(log, cond.column)
        conflict = _conflict_note(cond.column, conflicting)
        ledger = ledger if conflict is None else ledger.note(conflict)
        match = values.fillna("").str.casefold() == cond.value.strip().casefold()
        chosen = set(values.index[match.to_numpy() if cond.equal else ~match.to_numpy()])
        keep_cases = chosen if keep_cases is None else keep_cases & chosen
    assert keep_cases is not None
    total = int(ev["case_id"].nunique())
    if not keep_cases:
        raise EventDataError(f"{log.ledger.source}: no case meets --where {' and '.join(map(str, conditions))} "
                             f"(of {total} cases); check the value as written in the file")  # fmt: skip
    mask = ev["case_id"].astype(str).isin(keep_cases).to_numpy()
    note = f"--where {' and '.join(map(str, conditions))}: {len(keep_cases)} of {total} cases kept"
    return log.with_events(_rows(ev, mask), ledger.note(note))


def keep_cases(log: EventLog, ids: set[str], note: str) -> EventLog:
    """The log with only the events of the cases in ``ids``, and a ledger note saying why."""
    mask = log.events["case_id"].astype(str).isin(ids).to_numpy()
    return log.with_events(_rows(log.events, mask), log.ledger.note(note))


def _rows(events: pd.DataFrame, mask: npt.NDArray[np.bool_]) -> pd.DataFrame:
    """The chosen rows, with the categories of cases and events they no longer use dropped."""
    part = events[mask].reset_index(drop=True)
    for c in ("case_id", "event"):
        if isinstance(part[c].dtype, pd.CategoricalDtype):
            part[c] = part[c].cat.remove_unused_categories()
    return part


def group_cases(log: EventLog, column: str) -> list[tuple[str, EventLog]]:
    """One log per value of ``column`` (cases with none form the group ``(none)``), in value order."""
    found, conflicting = _values(log, column)
    values = found.fillna(NONE)
    conflict = _conflict_note(column, conflicting)
    ledger = log.ledger if conflict is None else log.ledger.note(conflict)
    ev = log.events
    case_text = ev["case_id"].astype(str).to_numpy()
    out = []
    for value in sorted(values.unique(), key=lambda v: (v == NONE, v.casefold())):
        members = set(values.index[values.to_numpy() == value])
        mask = np.isin(case_text, list(members))
        out.append((str(value), log.with_events(_rows(ev, mask), ledger.note(f"--by {column}: {value}"))))
    return out
