"""Common paths: the variants table, hand-worked, and keeping one path's cases."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from flowmap.analysis.replay import replay
from flowmap.analysis.run import replay_file
from flowmap.analysis.variants import fold_path, variants
from flowmap.cli.main import cli
from flowmap.errors import FlowmapError
from flowmap.files.process import parse_process

PROCESS = """flowmap: 1
id: v
title: Variants
steps:
  - {id: a, start: true, target: 2}
  - {id: b}
  - {id: c}
  - {id: d, end: true}
transitions: [a -> b, b -> c, c -> b, c -> d, b -> d]
targets:
  - {id: fast, from: a, to: d, within: 10}
"""
# Hand-worked: three cases go a>b>d (done in 4, 6 and 12 days), two go a>b>c>b>d (done in 8 and 20),
# one is still at c (a>b>c), and one makes an undeclared move a>d (done in 3).
ROWS = [
    ("k1", ["a", "b", "d"], [0, 1, 4]), ("k2", ["a", "b", "d"], [0, 2, 6]), ("k3", ["a", "b", "d"], [0, 5, 12]),
    ("k4", ["a", "b", "c", "b", "d"], [0, 1, 2, 4, 8]), ("k5", ["a", "b", "c", "b", "d"], [0, 3, 9, 15, 20]),
    ("k6", ["a", "b", "c"], [0, 1, 2]), ("k7", ["a", "d"], [0, 3]),
]  # fmt: skip


def log() -> pd.DataFrame:
    rows = [(c, s, pd.Timestamp("2025-03-03") + pd.Timedelta(days=d)) for c, steps, days in ROWS
            for s, d in zip(steps, days, strict=True)]  # fmt: skip
    return pd.DataFrame(rows, columns=["case_id", "event", "timestamp"])


def test_the_variants_table_matches_the_hand_worked_cases() -> None:
    result = replay(parse_process(PROCESS), log(), as_of="2025-03-30")
    t = variants(result)
    assert t.columns.tolist() == ["path", "cases", "share", "complete", "median_days", "met_rate:fast", "deviations"]
    assert t["path"].tolist() == ["a>b>d", "a>b>c>b>d", "a>b>c", "a>d"]
    assert t["cases"].tolist() == [3, 2, 1, 1]
    assert t["share"].tolist() == pytest.approx([3 / 7, 2 / 7, 1 / 7, 1 / 7])
    assert t["complete"].tolist() == [3, 2, 0, 1]
    assert t["median_days"].tolist()[:2] == [6.0, 14.0] and np.isnan(t["median_days"][2]) and t["median_days"][3] == 3
    # fast (a to d within 10): a>b>d met 2 of 3; the loop met 1 of 2; k6 is running 27 days: overdue, a miss
    assert t["met_rate:fast"].tolist() == pytest.approx([2 / 3, 1 / 2, 0.0, 1.0])
    assert t["deviations"].tolist() == [0, 0, 0, 1]
    assert variants(result, top=2)["path"].tolist() == ["a>b>d", "a>b>c>b>d"]


def test_where_path_keeps_the_cases_of_one_path(tmp_path: Path) -> None:
    proc, path = files(tmp_path)
    one = replay_file(proc, path, where=["path = a > b > c > b > d"], as_of="2025-03-30")
    assert sorted(one.cases["case_id"].astype(str)) == ["k4", "k5"]
    rest = replay_file(proc, path, where=["path!=a>b>d"], as_of="2025-03-30")
    assert sorted(rest.cases["case_id"].astype(str)) == ["k4", "k5", "k6", "k7"]
    with pytest.raises(FlowmapError, match="no case has the path"):
        replay_file(proc, path, where=["path=a>c"])


def files(tmp_path: Path) -> tuple[Path, Path]:
    """The hand-worked process and log, written out."""
    path = tmp_path / "e.csv"
    log().to_csv(path, index=False)
    proc = tmp_path / "p.yaml"
    proc.write_text(PROCESS, encoding="utf-8")
    return proc, path


def test_map_variant_draws_one_path_and_refuses_one_beyond_the_paths(tmp_path: Path, runner) -> None:  # type: ignore[no-untyped-def]
    proc, path = files(tmp_path)
    out = tmp_path / "m.svg"
    result = runner.invoke(cli, ["map", str(proc), str(path), "--variant", "2", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "2 cases" in out.read_text(encoding="utf-8")
    result = runner.invoke(cli, ["map", str(proc), str(path), "--variant", "9", "-o", str(out)])
    assert result.exit_code == 1 and "only 4 paths in the data" in result.output


def test_the_variants_command_folds_loops_and_writes_the_table(tmp_path: Path, runner) -> None:  # type: ignore[no-untyped-def]
    proc, path = files(tmp_path)
    out = tmp_path / "v.csv"
    result = runner.invoke(cli, ["variants", str(proc), str(path), "--to", "2025-03-30", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "a → b → d" in result.output and "43%" in result.output
    assert pd.read_csv(out)["path"].tolist()[0] == "a>b>d"


def test_fold_path_folds_repeated_blocks() -> None:
    assert fold_path("a>b>b>b>c") == "a → b ×3 → c"
    assert fold_path("x>a>b>a>b>y") == "x → (a → b) ×2 → y"
