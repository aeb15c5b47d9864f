"""docs/semantics.md is the contract: every table it lists has exactly the columns the commands write."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from flowmap.cli import cli

from .conftest import PROCESSES, ROOT

SEMANTICS = ROOT / "docs" / "semantics.md"
LEGAL = str(PROCESSES / "legal-advice.yaml")
TRACKER = str(ROOT / "examples" / "data" / "legal-advice-tracker.csv")
MESSY = str(ROOT / "examples" / "data" / "messy-tracker.xlsx")
CHANGE = str(PROCESSES / "changes" / "referral-form.yaml")


def documented() -> dict[str, list[str]]:
    """Heading (the command in backticks) -> the column names of the table under it, in order."""
    text = SEMANTICS.read_text(encoding="utf-8")
    out: dict[str, list[str]] = {}
    for block in re.split(r"\n(?=#{2,3} )", text):
        head = re.match(r"#{2,3} `([^`]+)`", block)
        if head is None:
            continue
        out[head.group(1)] = re.findall(r"^\| `([^`]+)` \|", block, flags=re.M)
    return out


# How to make each documented table: the command, and the file whose header is the table's columns.
TABLES = {
    "flowmap replay -o": (["replay", LEGAL, TRACKER, "-o", "{out}"], "out"),
    "flowmap replay --visits": (["replay", LEGAL, TRACKER, "--visits", "{out}"], "out"),
    "flowmap audit -o": (["audit", LEGAL, TRACKER, "-o", "{out}"], "out"),
    "flowmap drift -o": (["drift", LEGAL, TRACKER, "-o", "{out}"], "out"),
    "flowmap drift --targets": (["drift", LEGAL, TRACKER, "--targets", "{out}"], "out"),
    "flowmap drift --edges": (["drift", LEGAL, TRACKER, "--edges", "{out}"], "out"),
    "flowmap check --problems": (["check", MESSY, "--process", LEGAL, "--problems", "{out}"], "out"),
    "Simulation": (["simulate", LEGAL, TRACKER, "--change", CHANGE, "--runs", "20", "-o", "{out}"], "out"),
}


def test_every_documented_table_is_tested() -> None:
    listed = {k for k, cols in documented().items() if cols}
    assert set(TABLES) - {"Simulation"} == listed


@pytest.mark.parametrize("heading", sorted(TABLES))
def test_documented_columns_are_the_columns_written(heading: str, tmp_path: Path) -> None:
    args, _ = TABLES[heading]
    out = tmp_path / "table.csv"
    result = CliRunner().invoke(cli, [a.format(out=out) for a in args])
    assert result.exit_code == 0, result.output
    with out.open(encoding="utf-8") as fh:
        header = next(csv.reader(fh))
    if heading == "Simulation":
        text = SEMANTICS.read_text(encoding="utf-8").split("`-o FILE.csv` writes")[1]
        expected = re.findall(r"^\| `([^`]+)` \|", text.split("## Charts")[0], flags=re.M)
    else:
        expected = documented()[heading]
    assert header == expected


def test_the_documented_json_shapes_hold(tmp_path: Path) -> None:
    sim = tmp_path / "sim.json"
    res = CliRunner().invoke(cli, ["simulate", LEGAL, TRACKER, "--change", CHANGE, "--runs", "20", "-o", str(sim)])
    assert res.exit_code == 0, res.output
    doc = json.loads(sim.read_text())
    assert {"flowmap", "seed", "runs", "cases", "scenarios", "parameters", "capped"} <= set(doc)
    base, change = doc["scenarios"]
    assert set(base["targets"]["legal_turnaround"]) == {"met_rate", "met_rate_ci", "median_days", "median_days_ci",
                                                        "p90_days", "p90_days_ci"}  # fmt: skip
    assert set(change["vs_baseline"]["legal_turnaround"]["met_rate"]) == {"diff", "ci"}
    signals = tmp_path / "s.json"
    res = CliRunner().invoke(cli, ["chart", LEGAL, TRACKER, "--target", "legal_turnaround", "-o",
                                   str(tmp_path / "c.svg"), "--signals", str(signals)])  # fmt: skip
    assert res.exit_code == 0, res.output
    sig = json.loads(signals.read_text())
    assert {"flowmap", "kind", "measure", "n", "baseline_n", "centre", "points", "rules", "pdsa", "target",
            "warnings"} <= set(sig)  # fmt: skip
    assert set(sig["rules"]) == {"shift", "trend", "astronomical", "runs", "anhoej"}
