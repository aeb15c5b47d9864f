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
