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


def test_readme_names_the_two_commands() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "make demo" in readme
    assert "make test" in readme


def test_every_command_is_in_the_reference() -> None:
    from flowmap.cli import cli

    text = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    for name in cli.commands:
        assert f"## flowmap {name}\n" in text
