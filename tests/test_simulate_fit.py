"""Fitting what the data says: Kaplan-Meier durations with open visits censored, and the baseline check."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from flowmap.analysis.replay import replay
from flowmap.cli.main import cli
from flowmap.events.read import read_events
from flowmap.files.process import load_process, parse_process
from flowmap.simulation.check import baseline_check, check_sentences
from flowmap.simulation.model import Duration, kaplan_meier
from flowmap.simulation.simulate import fit, model_from_process, simulate

from .conftest import PROCESSES, ROOT

DATA = {
    "legal-advice": ROOT / "examples" / "data" / "legal-advice-tracker.csv",
    "permanence-order": ROOT / "examples" / "data" / "permanence-events.csv",
}


def test_kaplan_meier_matches_the_published_6mp_example() -> None:
    # Freireich et al. (1963), the 6-MP arm: remission weeks, * censored. The product-limit estimates are the
    # ones printed in Kleinbaum and Klein, Survival Analysis (3rd ed., 2012), table 2.1.
    done = np.array([6, 6, 6, 7, 10, 13, 16, 22, 23], dtype=float)
    waiting = np.array([6, 9, 10, 11, 17, 19, 20, 25, 32, 32, 34, 35], dtype=float)
    times, cdf = kaplan_meier(done, waiting)
    assert times.tolist() == [6, 7, 10, 13, 16, 22, 23]
    assert np.round(1 - cdf, 4).tolist() == [0.8571, 0.8067, 0.7529, 0.6902, 0.6275, 0.5378, 0.4482]


def test_open_visits_make_a_step_slower_and_same_day_moves_survive() -> None:
    rng = np.random.default_rng(1)
    done = np.r_[np.zeros(20), np.full(20, 5.0)]
    without = Duration("km", *map(tuple, kaplan_meier(done, np.array([]))), median=5, sigma=0.5, mean=5)
    slow = kaplan_meier(done, np.full(20, 30.0))  # twenty cases still waiting after 30 days
    with_open = Duration("km", *map(tuple, slow), median=5, sigma=0.5, mean=30)
    a, b = without.sample(rng, 20_000), with_open.sample(rng, 20_000)
    assert (a == 0).mean() == pytest.approx(0.5, abs=0.02)  # 0-day visits stay 0-day visits
    # at 0 days, 20 of the 60 visits end (the open ones were at risk too): 1/3; at 5 days, 20 of the 40 left;
    # the last third of the mass lies beyond the longest wait seen, in the log-normal tail
    assert (b == 0).mean() == pytest.approx(1 / 3, abs=0.02)
    assert (b > 30).mean() == pytest.approx(1 / 3, abs=0.02)
    assert np.median(b) > np.median(a)


@pytest.mark.parametrize("name", sorted(DATA))
def test_the_baseline_check_passes_on_every_bundled_process(name: str, tmp_path: Path, runner) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "s.json"
    result = runner.invoke(cli, ["simulate", str(PROCESSES / f"{name}.yaml"), str(DATA[name]), "--runs", "300",
                                 "-o", str(out)])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "Baseline check: every observed met rate and median lies inside" in result.output
    check = json.loads(out.read_text(encoding="utf-8"))["baseline_check"]
    assert check and all(row["inside"] for row in check), check
    assert {row["measure"] for row in check} == {"met_rate", "median_days"}


def test_the_check_flags_a_model_that_does_not_reproduce_the_data() -> None:
    process = load_process(PROCESSES / "legal-advice.yaml")
    result = replay(process, read_events(DATA["legal-advice"], process=process))
    model = fit(result)
    quick = replace(model, durations={k: replace(d, scale=0.2) for k, d in model.durations.items()})
    rows = baseline_check(result, simulate(quick, runs=200, seed=1))
    assert any(r.inside is False for r in rows)
    said = check_sentences(rows, quick, result)
    assert any(s.startswith("The model does not reproduce") and "treat the comparison with care" in s for s in said)


def test_a_measure_with_no_spread_is_one_value_fixed_by_the_change(tmp_path: Path, runner) -> None:  # type: ignore[no-untyped-def]
    process = tmp_path / "p.yaml"
    process.write_text("flowmap: 1\nid: p\ntitle: P\nsteps:\n  - {id: a, start: true, typical: 3}\n"
                       "  - {id: b, end: true}\ntransitions: [a -> b]\n"
                       "targets:\n  - {id: t, from: a, to: b, within: 5}\n", encoding="utf-8")  # fmt: skip
    change = tmp_path / "c.yaml"
    change.write_text("flowmap-change: 1\nname: Capped\nchanges:\n  - set_duration: {step: a, at_most: 1}\n",
                      encoding="utf-8")  # fmt: skip
    result = runner.invoke(cli, ["simulate", str(process), "--change", str(change), "--runs", "50"])
    assert result.exit_code == 0, result.output
    assert "100% (fixed)" in result.output and "(100%–100%)" not in result.output
    assert "1.0 (fixed)" in result.output and "(1.0–1.0)" not in result.output


def test_a_model_of_defaults_is_called_guesswork() -> None:
    p = parse_process("flowmap: 1\nid: g\ntitle: G\nsteps:\n  - {id: a, start: true}\n  - {id: b, end: true}\n"
                      "transitions: [a -> b]\n")  # fmt: skip
    said = check_sentences([], model_from_process(p), None)
    assert any("the model is guesswork" in s for s in said)


def test_a_rework_loop_whose_chance_falls_by_visit_is_fitted_by_visit() -> None:
    # 'review' sends half the cases back on their first visit, and none on their second.
    process = parse_process(
        "flowmap: 1\nid: r\ntitle: R\nsteps:\n  - {id: draft, start: true}\n  - {id: review}\n"
        "  - {id: done, end: true}\ntransitions: [draft -> review, review -> draft, review -> done]\n"
    )
    rows = []
    day = np.datetime64("2025-01-06")
    for i in range(80):
        t = day + np.timedelta64(i, "D")
        path = ["draft", "review", "draft", "review", "done"] if i % 2 else ["draft", "review", "done"]
        rows += [(f"C{i}", step, t + np.timedelta64(2 * j, "D")) for j, step in enumerate(path)]
    import pandas as pd

    log = pd.DataFrame(rows, columns=["case_id", "event", "timestamp"])
    model = fit(replay(process, log))
    assert model.moves_by_visit["review"][1]["draft"] == pytest.approx(0.5)
    assert model.moves_by_visit["review"][2] == {"done": 1.0}
    assert any(p.what == "probability on visit 2" for p in model.parameters)  # --explain says so
    # Simulated, no case goes round twice; first-order moves (back 40 times in 120 reviews: 1/3) would send
    # one case in nine round at least twice.
    from flowmap.simulation.engines import walk

    w = walk(model, 4000, np.random.default_rng(1))
    reviews = np.bincount(w.trace.case[w.trace.step == model.steps.index("review")], minlength=4000)
    assert reviews.max() == 2 and (reviews == 2).mean() == pytest.approx(0.5, abs=0.03)
    flat = replace(model, moves_by_visit={})
    w = walk(flat, 4000, np.random.default_rng(1))
    reviews = np.bincount(w.trace.case[w.trace.step == flat.steps.index("review")], minlength=4000)
    assert (reviews >= 3).mean() == pytest.approx(1 / 9, abs=0.02)
