"""The command line through CliRunner: exit codes, key lines, errors on stderr."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from flowmap import __version__
from flowmap.cli import cli

from .conftest import PROCESSES, ROOT


def test_version(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"flowmap {__version__}"


def test_validate_bundled_processes(runner: CliRunner) -> None:
    files = [str(p) for p in sorted(PROCESSES.glob("*.yaml"))]
    result = runner.invoke(cli, ["validate", *files])
    assert result.exit_code == 0, result.output
    assert f"{len(files)} files checked: {len(files)} valid, 0 invalid" in result.output


def test_validate_reports_problems_and_exits_1(runner: CliRunner, example_file: Path) -> None:
    bad = ROOT / "tests" / "data" / "ten-mistakes.yaml"
    result = runner.invoke(cli, ["validate", str(example_file), str(bad)])
    assert result.exit_code == 1
    assert f"{bad}:8:5: unknown key 'lable'; did you mean 'label'?" in result.stderr
    assert f"{bad}: 11 problems" in result.stderr
    assert f"{example_file}: valid" in result.stdout
    assert "2 files checked: 1 valid, 1 invalid" in result.stdout


def test_validate_quiet_prints_only_problems(runner: CliRunner, example_file: Path) -> None:
    result = runner.invoke(cli, ["validate", "--quiet", str(example_file)])
    assert result.exit_code == 0
    assert result.output == ""


def test_show_lists_steps_transitions_and_targets(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["show", str(PROCESSES / "legal-advice.yaml")])
    assert result.exit_code == 0, result.output
    out = result.output
    for text in (
        "Requesting and receiving legal advice",
        "working days",
        "need_identified",
        "Legal",
        "rework",
        "legal_turnaround",
        "South Ayrshire",
    ):
        assert text in out


def test_show_bad_file_is_an_error_not_a_traceback(runner: CliRunner, tmp_path: Path) -> None:
    p = tmp_path / "x.yaml"
    p.write_text("flowmap: 1\nid: x\nsteps: [{id: a, lable: b}]\n")
    result = runner.invoke(cli, ["show", str(p)])
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: 1 problem found:")
    assert f"{p}:3:17: unknown key 'lable'" in result.stderr
    assert "Traceback" not in result.output


def test_schema_is_json(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["schema"])
    assert result.exit_code == 0
    schema = json.loads(result.output)
    assert schema["title"] == "flowmap process file (format 1)"


def test_misuse_exits_2(runner: CliRunner) -> None:
    assert runner.invoke(cli, ["validate"]).exit_code == 2
    assert runner.invoke(cli, ["no-such-command"]).exit_code == 2
