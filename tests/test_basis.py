"""Targets know what they rest on: statutory first, everywhere targets are summarised."""

from __future__ import annotations

import pandas as pd
import pytest

from flowmap.analysis.metrics import drift
from flowmap.analysis.replay import replay
from flowmap.errors import SpecError
from flowmap.files.process import parse_process
from flowmap.render.maps import render_map
from flowmap.report.words import summary_sentences

PROCESS = """\
flowmap: 1
id: b
title: Basis
steps: [{id: a}, {id: b, target: 2, basis: local}, {id: c}]
transitions: [a -> b, b -> c]
targets:
  - {id: mine, label: Our aim, from: a, to: b, within: 5, basis: local}
  - {id: guess, label: A guess, from: b, to: c, within: 5, basis: assumption}
  - {id: nobasis, label: Unstated, from: a, to: b, within: 9}
  - {id: law, label: The law, from: a, to: c, within: 10, basis: statute, source: "Act s.1"}
  - {id: guide, label: The guidance, from: a, to: c, within: 8, basis: guidance}
"""
EVENTS = pd.DataFrame(
    [("1", "a", "2025-01-01"), ("1", "b", "2025-01-03"), ("1", "c", "2025-01-20"), ("2", "a", "2025-01-10")],
    columns=["case_id", "event", "timestamp"],
).assign(timestamp=lambda f: pd.to_datetime(f["timestamp"]))


def test_statutory_targets_come_first_then_guidance_local_assumption_unstated() -> None:
    process = parse_process(PROCESS)
    result = replay(process, EVENTS, as_of="2025-01-31")
    d = drift(result)
    assert list(d.targets["target"]) == ["law", "guide", "mine", "guess", "nobasis"]
    assert list(d.targets["basis"]) == ["statute", "guidance", "local", "assumption", ""]
    assert d.targets["source"].iloc[0] == "Act s.1"
    said = summary_sentences(result, d)
    # the summary leads with the targets, the law first, with its basis, source and overdue count
    assert said[1].startswith("The law (statutory, Act s.1): met for 0 of 2 (0%); 1 overdue now")
    assert [s.split(" (")[0] for s in said[1:6]] == ["The law", "The guidance", "Our aim", "A guess", "Unstated"]
    svg = render_map(process, fmt="svg", renderer="wasm").decode()
    legend = svg[svg.index("statutory: The law") :]
    assert legend.index("national guidance: The guidance") < legend.index("Unstated (a to b")


def test_a_misspelt_basis_is_refused_with_the_word_meant() -> None:
    with pytest.raises(SpecError, match=r"'basis' must be 'statute'.*did you mean 'statute'"):
        parse_process(PROCESS.replace("basis: statute", "basis: statue"))
