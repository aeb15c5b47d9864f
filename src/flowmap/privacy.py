"""Privacy: keyed pseudonyms for case ids, and suppression of small counts.

Pseudonyms are HMAC-SHA256 of the case id under a key the user keeps: the same
key gives the same pseudonym for the same case in every output and every run,
and nobody without the key can reverse or recompute them. Pseudonymised data
is still personal data while the key exists (ICO guidance); the key never
appears in an output.
"""

from __future__ import annotations

import datetime as dt
import difflib
import hashlib
import hmac
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from flowmap.errors import FlowmapError

__all__ = ["COARSEN", "SECONDARY_NOTE", "Protected", "Relation", "coarse_label", "coarsen_dates", "coarsen_text",
           "find_case", "protect", "pseudonym", "pseudonymise", "suppress"]  # fmt: skip

PREFIX = "P-"
LENGTH = 10


def pseudonym(case_id: str, key: str) -> str:
    """The keyed pseudonym of one case id.

    Examples
    --------
    >>> pseudonym("Child 11", "our secret key")
    'P-3e74a3583e'
    >>> pseudonym("Child 11", "our secret key") == pseudonym("Child 11", "our secret key")
    True
    """
    digest = hmac.new(key.encode("utf-8"), str(case_id).encode("utf-8"), hashlib.sha256).hexdigest()
    return PREFIX + digest[:LENGTH]


def pseudonymise(table: pd.DataFrame, key: str | None, columns: Iterable[str] = ("case_id",)) -> pd.DataFrame:
    """A copy of ``table`` with the case-id columns replaced by keyed pseudonyms.

    Each distinct id is hashed once. With ``key`` None the table is returned as it is.
    """
    if not key:
        return table
    out = table.copy()
    for col in columns:
        if col not in out.columns:
            continue
        values = out[col]
        codes, uniques = pd.factorize(values.astype(object), use_na_sentinel=True)
        # An empty id (a totals row in a problem list) stays empty: there is no case to hide.
        mapped = np.array([pseudonym(u, key) if str(u) != "" else "" for u in uniques] + [None], dtype=object)
        out[col] = mapped[codes]
    return out


def suppress(count: int, below: int | None) -> str:
    """A count as text, or ``<N`` when it is below ``N`` (and above zero).

    Examples
    --------
    >>> suppress(3, 5), suppress(0, 5), suppress(12, 5), suppress(3, None)
    ('<5', '0', '12', '3')
    """
    if below and 0 < count < below:
        return f"<{below}"
    return str(count)


def _typed(text: str) -> str:
    return "".join(str(text).split()).casefold()


def find_case(ids: Sequence[str], typed: str, *, key: str | None = None) -> str:
    """The case id a person meant by ``typed``: exact, then ignoring case and spaces, then as a pseudonym.

    With ``key``, ``typed`` may be the case's pseudonym, and a message never
    shows a real id, only pseudonyms.

    Raises
    ------
    FlowmapError
        When no case (or more than one) matches; the message says how many
        cases there are and the nearest ids.

    Examples
    --------
    >>> find_case(["Child 2", "Child 12"], "child2")
    'Child 2'
    >>> find_case(["Child 2"], pseudonym("Child 2", "k"), key="k")
    'Child 2'
    """
    ids = [str(i) for i in ids]
    if typed in ids:
        return typed
    want = _typed(typed)
    norm = pd.Series(ids, dtype=object).map(_typed)
    hits = np.flatnonzero(norm.to_numpy() == want)
    shown = [pseudonym(i, key) for i in ids] if key else ids
    if len(hits) == 0 and key:
        hits = np.flatnonzero(np.array([_typed(p) for p in shown], dtype=object) == want)
    if len(hits) == 1:
        return ids[int(hits[0])]
    if len(hits) > 1:
        names = ", ".join(repr(shown[int(i)]) for i in hits[:5])
        raise FlowmapError(f"case {typed!r} matches {len(hits)} cases ({names}); type it exactly as in the data")
    near = difflib.get_close_matches(want, [_typed(x) for x in shown], n=3, cutoff=0.5)
    by_norm = {_typed(x): x for x in shown}
    examples = [by_norm[n] for n in near] or shown[:3]
    hint = "; nearest: " if near else "; cases include "
    n = len(ids)
    raise FlowmapError(
        f"case {typed!r} is not in the data ({n} case{'s' if n != 1 else ''}){hint}"
        + ", ".join(repr(x) for x in examples)
    )


def key_table(case_ids: Iterable[str], key: str) -> pd.DataFrame:
    """``--pseudonym-key``: each real case id beside its pseudonym, for the team to keep (sorted by id)."""
    ids = sorted({str(c) for c in case_ids})
    return pd.DataFrame({"case_id": ids, "pseudonym": [pseudonym(c, key) for c in ids]})


# --- complementary suppression ------------------------------------------------------------


@dataclass(frozen=True)
class Relation:
    """A sum a reader can rely on: ``total`` is the sum of ``parts`` (cell names)."""

    total: str
    parts: tuple[str, ...]


@dataclass(frozen=True)
class Protected:
    """Counts ready to show: each one, ``<N`` (below the threshold) or hidden (to protect one that is).

    ``primary`` holds the counts below the threshold; ``secondary`` the counts hidden so that no
    primary one can be worked out from the rest by addition or subtraction.
    """

    values: Mapping[str, int]
    below: int | None
    primary: frozenset[str] = frozenset()
    secondary: frozenset[str] = frozenset()
    public: frozenset[str] = frozenset()  # small, but a reader knows them exactly anyway: shown
    zero_in_small: bool = False  # "<N" stands for 0 to N-1 here (small counts pinned each other otherwise)

    @property
    def small_note(self) -> str:
        """What ``<N`` stands for in these counts, in words."""
        return f"<{self.below} is 0 to {(self.below or 1) - 1}" if self.zero_in_small else ""

    def hidden(self, *cells: str) -> bool:
        """Whether any of ``cells`` is not shown (a rate built on one must not be shown either)."""
        return any(c in self.primary or c in self.secondary for c in cells)

    def text(self, cell: str, *, words: bool = False) -> str:
        """The count as shown: the number, ``<N``, or ``*`` (``hidden`` in a sentence)."""
        if cell in self.primary:
            return f"<{self.below}"
        if cell in self.secondary:
            return "hidden" if words else "*"
        return str(int(self.values[cell]))


SECONDARY_NOTE = "* hidden so that a count below {n} cannot be worked out from the others"


def protect(values: Mapping[str, int], relations: Sequence[Relation], below: int | None,
            unpublished: Iterable[str] = (), exact: Iterable[str] = ()) -> Protected:  # fmt: skip
    """Primary and complementary (secondary) suppression of the counts in ``values``.

    A count from 1 to ``below - 1`` is primary-suppressed (shown ``<N``). Then,
    while any hidden count can be worked out exactly from what is shown and the
    ``relations`` (sums a reader knows hold: a total and its parts), one more
    count in a relation it belongs to is hidden: a part before a total, the
    smallest first, a nonzero count before a zero. Whether a count can be worked
    out is decided as a reader would: the smallest and largest values it can
    take, given every relation, that primary counts lie between 1 and N-1 and
    that other hidden counts are 0 or at least N (two linear programmes per
    hidden count, scipy's HiGHS). ``unpublished`` names quantities that take
    part in a relation but are never shown (cases that started at a step, say);
    ``exact`` names counts a reader knows anyway (by counting the rows of a
    case list), which are never hidden. Zeros are shown (a zero tells nothing
    about a small count), except as a last resort: when small counts pin each
    other with nothing left to hide (1 and 1 making a total of 2, all below N),
    the zeros beside them are shown as ``<N`` too, so that no ``<N`` can be
    taken to be at least 1.

    Examples
    --------
    >>> p = protect({"cases": 40, "complete": 37, "open": 3}, [Relation("cases", ("complete", "open"))], 5)
    >>> [p.text(c) for c in ("cases", "complete", "open")]
    ['40', '*', '<5']
    """
    if not below:
        return Protected(values=dict(values), below=None)
    free, known = set(unpublished), set(exact)
    rels = [r for r in relations if all(c in values for c in (r.total, *r.parts))]
    totals = {r.total for r in rels}
    primary = {c for c, v in values.items() if c not in free and c not in known and 0 < int(v) < below}
    # A small count that follows from what a reader knows exactly (a case list's rows) is public:
    # hiding it would protect nothing, so it is shown.
    others = set(values) - known - free
    public = {c for c in sorted(primary) if _pinned(c, values, rels, {c}, others - {c}, free, below, loose=True)}
    primary -= public
    secondary: set[str] = set()
    zero_in_small = False
    while True:
        leak = next((c for c in sorted(primary | secondary)
                     if _pinned(c, values, rels, primary, secondary, free, below, zero=zero_in_small)),
                    None)  # fmt: skip
        if leak is None:
            break
        near = {c for r in rels if leak in (r.total, *r.parts) for c in (r.total, *r.parts)}
        used, _ = _component(leak, rels, primary | secondary | free)
        candidates = [
            (c not in near, c in totals, int(values[c]) == 0, int(values[c]), c)
            for c in sorted({c for r in used for c in (r.total, *r.parts)})
            if c not in primary and c not in secondary and c not in free and c not in known
        ]
        if candidates:
            secondary.add(min(candidates)[4])
            continue
        # Every other count is hidden, yet the small ones pin each other (two counts of 1 to N-1 that add up
        # to a total of 2, say). Zeros beside them are shown as <N too (true: they are fewer than N), so a
        # reader can no longer take a <N count to be at least 1.
        zeros = [c for r in used for c in (r.total, *r.parts) if int(values[c]) == 0 and c not in free | known
                 and c not in primary]  # fmt: skip
        if zeros:
            primary |= set(zeros)
            continue
        if zero_in_small:
            break
        # No zero to show as <N (a 2 by 2 table of ones, say: each row's <N over two <N cells pins both).
        # Then <N is said to stand for 0 to N-1 in these counts, which no small count can be pinned through.
        zero_in_small = True
    return Protected(values=dict(values), below=below, primary=frozenset(primary), secondary=frozenset(secondary),
                     public=frozenset(public), zero_in_small=zero_in_small)  # fmt: skip


def _component(cell: str, rels: Sequence[Relation], unknown: set[str]) -> tuple[list[Relation], set[str]]:
    """The relations connected to ``cell`` through unknown counts, and those unknown counts."""
    todo, seen, used = [cell], {cell}, []
    while todo:
        c = todo.pop()
        for r in rels:
            cells = (r.total, *r.parts)
            if c in cells and r not in used:
                used.append(r)
                for d in cells:
                    if d in unknown and d not in seen:
                        seen.add(d)
                        todo.append(d)
    return used, seen


def _pinned(cell: str, values: Mapping[str, int], rels: Sequence[Relation], primary: set[str], secondary: set[str],
            free: set[str], below: int, *, loose: bool = False, zero: bool = False) -> bool:  # fmt: skip
    """Whether a reader can work out ``cell`` exactly from the shown counts and the relations.

    ``loose``: take hidden counts as anything from 0 up (not "0, or N and over"); ``zero``: ``<N`` is
    said to stand for 0 to N-1.
    """
    from scipy.optimize import linprog

    used, seen_cells = _component(cell, rels, primary | secondary | free)
    if not used:
        return False
    names = sorted(seen_cells)
    col = {n: i for i, n in enumerate(names)}
    a_eq = np.zeros((len(used), len(names)))
    b_eq = np.zeros(len(used))
    for i, r in enumerate(used):
        for c, sign in [(r.total, 1.0)] + [(p, -1.0) for p in r.parts]:
            if c in col:
                a_eq[i, col[c]] += sign
            else:
                b_eq[i] -= sign * float(values[c])
    low = 0 if zero or any(int(values[c]) == 0 for c in primary) else 1  # a zero shown as <N: any <N may be 0
    bounds = [(low, below - 1) if n in primary else (0, None) if loose or n in free or int(values[n]) == 0
              else (below, None) for n in names]  # fmt: skip
    goal = np.zeros(len(names))
    goal[col[cell]] = 1.0
    lo = linprog(goal, A_eq=a_eq, b_eq=b_eq, bounds=bounds, method="highs")
    hi = linprog(-goal, A_eq=a_eq, b_eq=b_eq, bounds=bounds, method="highs")
    if lo.status != 0 or hi.status != 0:  # unbounded above: cannot be pinned
        return False
    return bool(-hi.fun - lo.fun < 0.5)


# --- coarse dates -------------------------------------------------------------------------

COARSEN = ("month", "quarter")
_ISO_DATE = r"\b(\d{4})-(\d{2})-(\d{2})(?:[T ][0-9:.]+)?\b"


def coarse_label(year: int, month: int, how: str) -> str:
    """A date's month (``2025-03``) or quarter (``2025-Q1``).

    Examples
    --------
    >>> coarse_label(2025, 3, "month"), coarse_label(2025, 11, "quarter")
    ('2025-03', '2025-Q4')
    """
    return f"{year}-{month:02d}" if how == "month" else f"{year}-Q{(month - 1) // 3 + 1}"


def coarsen_text(text: str, how: str | None) -> str:
    """Every ISO date in ``text`` as its month or quarter (``how`` None: unchanged).

    Examples
    --------
    >>> coarsen_text("overdue by 3 days (due 2025-01-07)", "month")
    'overdue by 3 days (due 2025-01)'
    """
    if not how:
        return text
    import re

    return re.sub(_ISO_DATE, lambda m: coarse_label(int(m.group(1)), int(m.group(2)), how), text)


def _coarse_value(v: object, how: str) -> object:
    if isinstance(v, str):
        return coarsen_text(v, how)
    if isinstance(v, (pd.Timestamp, dt.date)) and not pd.isna(v):
        return coarse_label(v.year, v.month, how)
    return v


def coarsen_dates(table: pd.DataFrame, how: str | None) -> pd.DataFrame:
    """A copy of a case-level table with every date shown as its month or quarter only.

    Date columns become text (``2025-03``, ``2025-Q1``); dates written inside text
    columns (a clock's reading, "due 2025-01-07") are coarsened the same way.
    """
    if not how:
        return table
    if how not in COARSEN:
        raise FlowmapError(f"--coarsen-dates must be month or quarter (got {how!r})")
    out = table.copy()
    for col in out.columns:
        s = out[col]
        if pd.api.types.is_datetime64_any_dtype(s):
            d = pd.to_datetime(s)
            labels = [None if pd.isna(x) else coarse_label(x.year, x.month, how) for x in d]
            out[col] = pd.Series(labels, index=s.index, dtype=object)
        elif s.dtype == object or pd.api.types.is_string_dtype(s):
            out[col] = s.map(lambda v: _coarse_value(v, how)).astype(object)
    return out
