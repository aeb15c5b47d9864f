"""`discover --end-share` and `--min-share`, and end steps that have ways out (replay and the simulator)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from flowmap.analysis.discover import draft
from flowmap.analysis.replay import replay
from flowmap.cli import cli
from flowmap.events.read import read_events
from flowmap.files.process import parse_process
from flowmap.simulation.engines import discrete_events, walk
from flowmap.simulation.model import STOP, fit

from .conftest import LOGS


def _log(n: int = 200, seed: int = 3) -> pd.DataFrame:
    """Cases A -> B; at B 30% finish, the rest go on to C, and 10% of all loop back from C to B first."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        day = pd.Timestamp("2024-01-01") + pd.Timedelta(days=int(rng.integers(0, 200)))
        path = ["A", "B"]
        if rng.random() > 0.3:
            path += ["C", "B", "C"] if rng.random() < 0.1 else ["C"]
        for k, e in enumerate(path):
            rows.append((f"c{i:03d}", e, day + pd.Timedelta(days=3 * k)))
    return pd.DataFrame(rows, columns=["case_id", "event", "timestamp"])


def test_a_step_where_enough_cases_end_is_an_end_step_with_its_ways_out() -> None:
    d = draft(read_events(_log()))
    process = parse_process(d.text)
    assert process.step("b").end and ("b", "c") in process.declared
    assert any("'b' is an end step" in n for n in d.notes)
    result = replay(process, read_events(_log()))
    assert result.deviations.empty
    assert (result.cases["status"] == "complete").all()  # every case ends at b or c
    strict = parse_process(draft(read_events(_log()), end_share=0.5).text)
    assert not strict.step("b").end  # 30% end there, under half
    assert "cases end here (3" in draft(read_events(_log()), end_share=0.5).text


def test_min_share_keeps_the_main_flow_valid_and_counts_the_deviations_it_causes() -> None:
    log = read_events(_log())
    full = parse_process(draft(log).text)
    assert ("c", "b") in full.declared
    d = draft(log, min_share=0.2)
    main = parse_process(d.text)  # it validates: every step reachable, every non-end step has a way out
    assert ("c", "b") not in main.declared and ("a", "b") in main.declared and ("b", "c") in main.declared
    assert "#   - c -> b" in d.text
    result = replay(main, log)
    n_dev, n_case = len(result.deviations), result.deviations["case_id"].nunique()
    assert n_dev > 0
    assert any(f"finds {n_dev:,} deviations in {n_case:,} cases" in n for n in d.notes)


def test_min_share_on_a_public_log_still_gives_a_valid_draft(tmp_path: Path) -> None:
    out = tmp_path / "d.yaml"
    r = CliRunner().invoke(cli, ["discover", str(LOGS / "receipt.xes.gz"), "-o", str(out), "--min-share", "10%"])
    assert r.exit_code == 0, r.output
    assert "left out" in r.output
    assert CliRunner().invoke(cli, ["validate", str(out)]).exit_code == 0
    whole = tmp_path / "w.yaml"
    CliRunner().invoke(cli, ["discover", str(LOGS / "receipt.xes.gz"), "-o", str(whole)])
    assert len(parse_process(out.read_text()).transitions) < len(parse_process(whole.read_text()).transitions)


@pytest.mark.parametrize("bad", ["150", "-1%", "lots"])
def test_a_share_that_is_not_one_is_refused(bad: str, tmp_path: Path) -> None:
    r = CliRunner().invoke(cli, ["discover", str(LOGS / "running-example.xes"), "-o", str(tmp_path / "d.yaml"),
                                 "--end-share", bad])  # fmt: skip
    assert r.exit_code == 2 and "Traceback" not in r.output and "share" in r.output.lower()


@pytest.mark.parametrize("engine", ["walk", "discrete_events"])
def test_the_simulator_finishes_cases_at_an_end_step_with_ways_out_as_often_as_the_data(engine: str) -> None:
    log = read_events(_log(400))
    process = parse_process(draft(log).text)
    result = replay(process, log)
    model = fit(result)
    ended_at_b = float((result.cases["current_step"] == "b").mean())
    visits_to_b = int((result.visits["step"] == "b").sum())
    assert model.moves["b"][STOP] == pytest.approx((result.cases["current_step"] == "b").sum() / visits_to_b)
    rng = np.random.default_rng(7)
    if engine == "walk":
        trace = walk(model, 4000, rng).trace
    else:
        trace = discrete_events(replace(model, capacity={}), 4000, rng).trace
    last = pd.DataFrame({"case": trace.case, "step": trace.step}).groupby("case")["step"].last()
    simulated = float((last == model.steps.index("b")).mean())
    assert simulated == pytest.approx(ended_at_b, abs=0.03)
    assert set(last.unique()) <= {model.steps.index("b"), model.steps.index("c")}  # every run finishes
