"""The public API: __all__ is honest and the package imports light."""

from __future__ import annotations

import subprocess
import sys

import flowmap


def test_all_names_resolve() -> None:
    for name in flowmap.__all__:
        assert getattr(flowmap, name) is not None, name


def test_unknown_attribute_raises() -> None:
    import pytest

    with pytest.raises(AttributeError):
        _ = flowmap.no_such_thing  # type: ignore[attr-defined]


def test_cli_import_does_not_load_heavy_libraries() -> None:
    code = (
        "import sys, flowmap.cli; "
        "heavy = [m for m in ('pandas', 'numpy', 'pydantic', 'matplotlib', 'networkx', 'yaml') if m in sys.modules]; "
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == ""


def test_all_matches_the_lazy_exports() -> None:
    assert set(flowmap.__all__) == set(flowmap._EXPORTS) | {"__version__"}


def test_notebook_workflow_with_a_dataframe(example_process) -> None:  # type: ignore[no-untyped-def]
    import pandas as pd

    df = pd.DataFrame(
        {
            "child": ["A", "A", "B"],
            "activity": ["PPM action", "bundle_sent", "legal advice needed"],
            "date": ["06/01/2025", "08/01/2025", "07/01/2025"],
        }
    )
    log = flowmap.read_events(df, process=example_process)
    result = flowmap.replay(example_process, log, as_of="2025-01-31")
    assert isinstance(result, flowmap.Replay)
    assert list(result.cases_table()["status"].astype(str)) == ["open", "stalled"]  # B: 18 working days, target 10
    d = flowmap.drift(result)
    assert isinstance(d, flowmap.Drift)
    assert d.targets.loc[0, "overdue"] == 1
    assert list(flowmap.audit(result)["case_id"]) == ["B", "A"]  # most days over first
    assert "flowmap: 1" in flowmap.discover(log)


def test_importing_a_submodule_does_not_hide_its_function() -> None:
    import importlib

    importlib.import_module("flowmap.analysis.replay")
    importlib.import_module("flowmap.analysis.discover")
    importlib.import_module("flowmap.simulation.simulate")
    importlib.import_module("flowmap.report.html")
    assert callable(flowmap.simulate)
    assert callable(flowmap.replay)
    assert callable(flowmap.discover)
    assert flowmap.simulate.__module__ == "flowmap.simulation.simulate"
    from flowmap.analysis.replay import Replay

    assert Replay is flowmap.Replay
