"""Hypothesis strategies shared by the property tests."""

from __future__ import annotations

from hypothesis import strategies as st

_keys = st.sampled_from(
    [
        "flowmap",
        "id",
        "title",
        "steps",
        "transitions",
        "targets",
        "from",
        "to",
        "lane",
        "events",
        "start",
        "end",
        "target",
        "within",
        "clock",
        "calendar",
        "timezone",
        "lanes",
        "label",
        "probability",
    ]
) | st.text(max_size=8)

_scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)

yaml_shaped = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(_keys, inner, max_size=6),
    max_leaves=30,
)
"""Arbitrary data shaped like YAML: mappings with plausible keys, lists, scalars."""


@st.composite
def process_and_log(draw: st.DrawFn, *, clock: str = "calendar_days", max_cases: int = 12) -> tuple[str, object]:
    """A random process (a chain plus extra forward and backward moves) and a log
    that walks only declared transitions, one event per day or more apart.

    Returns the process YAML text and a DataFrame of canonical events.
    """
    import numpy as np
    import pandas as pd

    n = draw(st.integers(2, 7))
    ids = [f"s{i}" for i in range(n)]
    edges = {(ids[i], ids[i + 1]) for i in range(n - 1)}
    extra = draw(st.lists(st.tuples(st.integers(0, n - 2), st.integers(0, n - 1)), max_size=6))
    for a, b in extra:
        if a != b:
            edges.add((ids[a], ids[b]))
    targets = draw(st.lists(st.one_of(st.none(), st.integers(0, 10)), min_size=n, max_size=n))
    lines = [f"flowmap: 1\nid: gen\nclock: {clock}\nsteps:"]
    for i, sid in enumerate(ids):
        flags = ", start: true" if i == 0 else ""
        flags += ", end: true" if i == n - 1 else ""
        tgt = f", target: {targets[i]}" if targets[i] is not None and i < n - 1 else ""
        lines.append(f"  - {{id: {sid}{flags}{tgt}}}")
    lines.append("transitions:")
    lines.extend(f"  - {a} -> {b}" for a, b in sorted(edges))
    lines.append(f"targets:\n  - {{id: whole, from: {ids[0]}, to: {ids[-1]}, within: 20}}")
    text = "\n".join(lines) + "\n"

    out: dict[str, list[object]] = {"case_id": [], "event": [], "timestamp": []}
    n_cases = draw(st.integers(1, max_cases))
    out_edges: dict[str, list[str]] = {}
    for a, b in sorted(edges):
        out_edges.setdefault(a, []).append(b)
    base = np.datetime64("2024-01-01")
    for c in range(n_cases):
        day = draw(st.integers(0, 400))
        step = ids[0]
        walk = [step]
        while step != ids[-1] and len(walk) < 15:
            step = draw(st.sampled_from(out_edges[step]))
            walk.append(step)
        finish = draw(st.booleans())
        if not finish:
            walk = walk[: draw(st.integers(1, len(walk)))]
        elif walk[-1] != ids[-1]:  # cap reached: finish along the chain
            i = ids.index(walk[-1])
            walk.extend(ids[i + 1 :])
        for s in walk:
            out["case_id"].append(f"c{c}")
            out["event"].append(s)
            out["timestamp"].append(base + np.timedelta64(day, "D"))
            day += draw(st.integers(1, 30))
    return text, pd.DataFrame(out)
