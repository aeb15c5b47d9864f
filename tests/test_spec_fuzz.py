"""The loader either returns a model or raises SpecError, whatever it is fed."""

from __future__ import annotations

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from flowmap.errors import SpecError
from flowmap.files.process import parse_process
from flowmap.model.process import Process

from .strategies import yaml_shaped


def _load(text: str) -> None:
    try:
        result = parse_process(text, file="fuzz.yaml")
    except SpecError as e:
        assert e.problems
        assert all(str(p).startswith("fuzz.yaml") for p in e.problems)
    else:
        assert isinstance(result, Process)


@settings(max_examples=300)
@given(st.text())
def test_arbitrary_text(text: str) -> None:
    _load(text)


@settings(max_examples=300)
@given(yaml_shaped)
def test_arbitrary_yaml_shaped_data(data: object) -> None:
    _load(yaml.safe_dump(data, allow_unicode=True))


@settings(max_examples=200)
@given(st.data())
def test_mutated_running_example(data: st.DataObject) -> None:
    from .conftest import RUNNING_EXAMPLE

    lines = RUNNING_EXAMPLE.splitlines()
    i = data.draw(st.integers(0, len(lines) - 1))
    lines[i] = data.draw(st.text(max_size=40))
    _load("\n".join(lines))
