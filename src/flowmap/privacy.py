"""Privacy: keyed pseudonyms for case ids, and suppression of small counts.

Pseudonyms are HMAC-SHA256 of the case id under a key the user keeps: the same
key gives the same pseudonym for the same case in every output and every run,
and nobody without the key can reverse or recompute them. Pseudonymised data
is still personal data while the key exists (ICO guidance); the key never
appears in an output.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable

import numpy as np
import pandas as pd

__all__ = ["pseudonym", "pseudonymise", "suppress"]

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
        mapped = np.array([pseudonym(u, key) for u in uniques] + [None], dtype=object)
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
