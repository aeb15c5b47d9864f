"""Privacy: keyed pseudonyms for case ids, and suppression of small counts.

Pseudonyms are HMAC-SHA256 of the case id under a key the user keeps: the same
key gives the same pseudonym for the same case in every output and every run,
and nobody without the key can reverse or recompute them. Pseudonymised data
is still personal data while the key exists (ICO guidance); the key never
appears in an output.
"""

from __future__ import annotations

import difflib
import hashlib
import hmac
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from flowmap.errors import FlowmapError

__all__ = ["find_case", "pseudonym", "pseudonymise", "suppress"]

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
