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
