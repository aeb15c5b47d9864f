"""Docs that cannot drift: the CLI reference is regenerated from --help and compared."""

from __future__ import annotations

import subprocess
import sys

from .conftest import ROOT


def test_cli_reference_is_current() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "cogapp", "--check", str(ROOT / "docs" / "cli.md")],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert result.returncode == 0, f"docs/cli.md is stale; run `make docs`\n{result.stdout}{result.stderr}"


def test_pictures_are_current(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_pictures", ROOT / "docs" / "make_pictures.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for name, data in module.pictures().items():
        committed = ROOT / "docs" / "img" / name
        assert committed.exists(), f"docs/img/{name} is missing; run `make docs`"
        assert committed.read_bytes() == data, f"docs/img/{name} is stale; run `make docs`"


def test_readme_names_the_two_commands() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "make demo" in readme
    assert "make test" in readme


def test_every_command_is_in_the_reference() -> None:
    from flowmap.cli import cli

    text = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    for name in cli.commands:
        assert f"## flowmap {name}\n" in text
