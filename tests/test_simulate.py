"""The simulator checked against what it must reproduce: its own logs, M/M/1, and common sense."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from flowmap.analysis.metrics import drift
from flowmap.analysis.replay import replay
from flowmap.cli import cli
from flowmap.errors import ChangeError, FlowmapError
from flowmap.events.read import read_events
from flowmap.files.process import load_process, parse_process
from flowmap.simulation.change import load_change, parse_change
from flowmap.simulation.simulate import MAX_MOVES, Duration, apply_change, fit, model_from_process, simulate, synthesize

from .conftest import PROCESSES, ROOT

LEGAL = PROCESSES / "legal-advice.yaml"
PERM = PROCESSES / "permanence-order.yaml"
REFERRAL = PROCESSES / "changes" / "referral-form.yaml"


@pytest.fixture(scope="module")
def synthetic():  # type: ignore[no-untyped-def]
    """A long log synthesised from the legal-advice process file, and its replay."""
    p = load_process(LEGAL)
    log = synthesize(model_from_process(p), cases=3000, seed=11)
    return p, log, replay(p, log)


def test_baseline_reproduces_the_log_it_was_fitted_on(synthetic) -> None:  # type: ignore[no-untyped-def]
    _p, _log, result = synthetic
    observed = drift(result).targets.set_index("target")
    sim = simulate(fit(result), runs=200, seed=3, cases=300).scenarios[0].targets
    for tid in ("legal_turnaround", "referral_ready"):
        rate = sim[tid].met_rate
        assert rate is not None and rate.low is not None and rate.high is not None
        lo, hi = rate.low, rate.high
        obs = observed.loc[tid, "met_rate"]
        assert lo - 0.03 <= obs <= hi + 0.03, (tid, obs, lo, hi)  # censoring at the extract's end: a little slack
        mlo, mhi = sim[tid].median_days.low, sim[tid].median_days.high
        assert mlo is not None and mhi is not None
        assert mlo - 1 <= observed.loc[tid, "median_days"] <= mhi + 1, tid


def test_refitting_a_simulated_log_recovers_the_parameters(synthetic) -> None:  # type: ignore[no-untyped-def]
    p, _log, result = synthetic
    truth = model_from_process(p)
    refit = fit(result)
    for step in ("allocated",):
        for to, prob in truth.moves[step].items():
            assert refit.moves[step][to] == pytest.approx(prob, abs=0.04), (step, to)
    for step in ("referral_prep", "allocated", "info_requested"):
        # whole-day timestamps shift each median by up to a day
        assert refit.durations[step].typical() == pytest.approx(truth.durations[step].typical(), abs=1.5), step
    sources = {(x.what, x.step): x.source for x in refit.parameters}
    assert sources[("duration", "allocated")] == "data"


def test_same_seed_same_numbers_different_seed_different() -> None:
    m = model_from_process(load_process(LEGAL))
    a = simulate(m, runs=50, seed=9, cases=40).as_dict()
    b = simulate(m, runs=50, seed=9, cases=40).as_dict()
    c = simulate(m, runs=50, seed=10, cases=40).as_dict()
    assert json.dumps(a) == json.dumps(b)
    assert json.dumps(a) != json.dumps(c)


@pytest.mark.parametrize("seed", [2, 3, 4])
def test_removing_the_rework_loop_never_makes_things_worse(seed: int) -> None:
    p = load_process(LEGAL)
    m = model_from_process(p)
    text = "flowmap-change: 1\nname: no rework\nchanges:\n"
    text += "  - set_probability: {from: allocated, to: info_requested, probability: 0}\n"
    no_loop = parse_change(text, p)
    res = simulate(m, [no_loop], runs=200, seed=seed, cases=50)
    diff = res.scenarios[1].vs_baseline["legal_turnaround"]["met_rate"]
    assert diff.value is not None and diff.value > 0
    assert diff.low is not None and diff.low > -0.02  # never worse beyond noise
    assert apply_change(m, no_loop).moves["allocated"] == {"advice_issued": 1.0, "info_requested": 0.0}


def test_remove_step_joins_its_ways_in_and_out() -> None:
    p = load_process(LEGAL)
    m = model_from_process(p)
    removed = apply_change(m, parse_change("flowmap-change: 1\nname: r\nchanges:\n  - remove_step: info_requested\n",
                                           p))  # fmt: skip
    assert "info_requested" not in removed.steps
    # allocated -> info_requested (0.4) -> bundle_sent (1.0) becomes allocated -> bundle_sent (0.4)
    assert removed.moves["allocated"] == pytest.approx({"advice_issued": 0.6, "bundle_sent": 0.4})


def test_one_server_queue_matches_mm1() -> None:
    lam, mu = 0.5, 1.0  # per day: utilisation 0.5, mean wait in queue lam / (mu (mu - lam)) = 1 day
    p = parse_process(
        "flowmap: 1\nid: q\nlanes: [Desk]\nsteps:\n  - {id: served, lane: Desk, start: true}\n"
        "  - {id: done, end: true}\ntransitions: [served -> done]\n"
        "targets: [{id: through, from: served, to: done, within: 2}]\n"
    )
    m = model_from_process(p)
    from dataclasses import replace

    m = replace(m, durations={"served": Duration("exponential", mean=1 / mu)}, arrivals_per_day=lam,
                capacity={"Desk": 1}, whole_days=False)  # continuous time, as queueing theory has it  # fmt: skip
    res = simulate(m, runs=40, seed=4, cases=2000)
    # time in system W = 1 / (mu - lam) = 2 days; its distribution is exponential, so the median is 2 ln 2.
    median = res.scenarios[0].targets["through"].median_days.value
    assert median == pytest.approx(2 * np.log(2), rel=0.08)
    met = res.scenarios[0].targets["through"].met_rate.value  # type: ignore[union-attr]
    assert met == pytest.approx(1 - np.exp(-(mu - lam) * 2), abs=0.03)


def test_capacity_makes_queues_that_more_servers_shorten() -> None:
    p = load_process(LEGAL)
    m = model_from_process(p)
    one = parse_change("flowmap-change: 1\nname: one\nchanges:\n  - set_capacity: {lane: Legal, servers: 1}\n"
                       "  - set_arrivals: {per_week: 6}\n", p)  # fmt: skip
    four = parse_change("flowmap-change: 1\nname: four\nchanges:\n  - set_capacity: {lane: Legal, servers: 4}\n"
                        "  - set_arrivals: {per_week: 6}\n", p)  # fmt: skip
    res = simulate(m, [one, four], runs=20, seed=1, cases=60)
    med = {sc.name: sc.targets["legal_turnaround"].median_days.value for sc in res.scenarios}
    assert med["one"] > med["four"]


def test_set_target_and_set_duration_and_add_step() -> None:
    p = load_process(LEGAL)
    m = model_from_process(p)
    change = parse_change(
        "flowmap-change: 1\nname: mixed\nchanges:\n"
        "  - set_target: {target: legal_turnaround, within: 30}\n"
        "  - set_duration: {step: allocated, at_most: 3}\n"
        "  - add_step: {id: triage, label: Triage, lane: Legal, between: [bundle_sent, allocated], typical: 1}\n",
        p,
    )
    m2 = apply_change(m, change)
    assert next(t for t in m2.targets if t.id == "legal_turnaround").within == 30
    assert m2.durations["allocated"].sample(np.random.default_rng(0), 1000).max() <= 3
    assert m2.moves["bundle_sent"]["triage"] == pytest.approx(m.moves["bundle_sent"]["allocated"])
    assert m2.moves["triage"] == {"allocated": 1.0}
    res = simulate(m, [change], runs=50, seed=1, cases=40)
    rates = [sc.targets["legal_turnaround"].met_rate for sc in res.scenarios]
    assert rates[1].value > rates[0].value  # type: ignore[union-attr, operator]


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        (
            "flowmap-change: 1\nname: x\nchanges:\n  - remove_step: bundle_snt\n",
            "unknown step 'bundle_snt'; did you mean 'bundle_sent'?",
        ),
        (
            "flowmap-change: 1\nname: x\nchanges:\n  - set_probability: {from: allocated, to: info_requested, "
            "probability: 1.3}\n",
            "'probability' must be at most 1",
        ),
        (
            "flowmap-change: 1\nname: x\nchanges:\n  - set_duration: {step: allocated, median: -2}\n",
            "'median' must be more than 0",
        ),
        (
            "flowmap-change: 1\nname: x\nchanges:\n  - set_probability: {from: allocated, to: info_requested, "
            "probability: 0.7}\n  - set_probability: {from: allocated, to: advice_issued, probability: 0.6}\n",
            "add up to 1.3",
        ),
        (
            "flowmap-change: 1\nname: x\nchanges:\n  - set_probability: {from: need_identified, to: allocated, "
            "probability: 0.5}\n",
            "is not a move of the process",
        ),
        (
            "flowmap-change: 1\nname: x\nchanges:\n  - set_capacity: {lane: Legl, servers: 2}\n",
            "unknown lane 'Legl'; did you mean 'Legal'?",
        ),
        (
            "flowmap-change: 1\nname: x\nchanges:\n  - set_duration: {step: allocated}\n",
            "exactly one of 'median', 'scale' or 'at_most'",
        ),
        (
            "flowmap-change: 1\nname: x\nchanges:\n  - {remove_step: a, set_arrivals: {per_week: 1}}\n",
            "each change is one operation",
        ),
        ("flowmap-change: 2\nname: x\nchanges: []\n", "'flowmap-change' must be 1"),
        (
            "name: x\nchanges:\n  - remove_stp: info_requested\n",
            "unknown key 'remove_stp'; did you mean 'remove_step'?",
        ),
    ],
)
def test_bad_change_files_give_located_messages(text: str, fragment: str) -> None:
    with pytest.raises(ChangeError) as info:
        parse_change(text, load_process(LEGAL), file="c.yaml")
    msgs = [str(x) for x in info.value.problems]
    assert any(fragment in m for m in msgs), msgs
    assert all(m.startswith("c.yaml") for m in msgs)


def test_runs_limits() -> None:
    m = model_from_process(load_process(LEGAL))
    with pytest.raises(FlowmapError, match="at least 1"):
        simulate(m, runs=0)
    with pytest.raises(FlowmapError, match=r"about .* minutes"):
        simulate(m, runs=10_000_000)


def test_a_loop_that_could_run_forever_is_capped_and_counted() -> None:
    p = parse_process(
        "flowmap: 1\nid: loop\nsteps: [{id: a, start: true}, {id: b}, {id: c, end: true}]\n"
        "transitions: [a -> b, {from: b, to: a, probability: 1.0}, {from: b, to: c, probability: 0}]\n"
        "targets: [{id: t, from: a, to: c, within: 5}]\n"
    )
    res = simulate(model_from_process(p), runs=2, seed=1, cases=5)
    assert res.capped["baseline"] == 10
    assert res.scenarios[0].targets["t"].met_rate.value == 0.0  # type: ignore[union-attr]
    assert MAX_MOVES >= 100


def test_synth_log_has_the_canonical_shape_and_open_cases() -> None:
    p = load_process(PERM)
    log = synthesize(model_from_process(p), cases=200, seed=3, start="2024-01-01")
    assert list(log.columns) == ["case_id", "event", "timestamp"]
    r = replay(p, log)
    assert r.deviations.empty  # walked along declared moves only
    assert (r.cases["status"] != "complete").sum() > 0  # the extract ends while some cases are still going
    assert len(r.cases) == 200
    assert log["timestamp"].min() == np.datetime64("2024-01-01")


def test_cli_simulate_json_shape(tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "r.json"
    result = runner.invoke(cli, ["simulate", str(LEGAL), str(ROOT / "examples" / "data" / "legal-advice-tracker.csv"),
                                 "--change", str(REFERRAL), "--runs", "60", "--seed", "5", "-o", str(out),
                                 "--explain"])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "Model parameters" in result.stdout
    assert "Referral form, all reports at once: Advice within 8 working days" in result.stdout
    doc = json.loads(out.read_text())
    assert (doc["flowmap"], doc["seed"], doc["runs"], doc["cases"]) == ("simulate/1", 5, 60, 40)
    base, change = doc["scenarios"]
    assert base["name"] == "baseline" and change["name"] == "Referral form, all reports at once"
    t = change["targets"]["legal_turnaround"]
    assert {"met_rate", "met_rate_ci", "median_days", "median_days_ci", "p90_days", "p90_days_ci"} <= set(t)
    assert 0 <= t["met_rate"] <= 1 and t["met_rate_ci"][0] <= t["met_rate"] <= t["met_rate_ci"][1]
    assert {"median_days", "median_days_ci", "p90_days", "p90_days_ci"} <= set(base["end_to_end"])
    assert set(change["vs_baseline"]["legal_turnaround"]["met_rate"]) == {"diff", "ci"}
    assert any(p["what"] == "duration" and p["source"] == "data" and p["n"] > 0 for p in doc["parameters"])


def test_cli_synth_and_bad_runs(tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "s.parquet"
    r = runner.invoke(cli, ["synth", str(PERM), "--cases", "30", "--seed", "2", "-o", str(out)])
    assert r.exit_code == 0, r.output
    assert read_events(out).n_cases == 30
    bad = runner.invoke(cli, ["simulate", str(LEGAL), "--runs", "0"])
    assert bad.exit_code == 1 and "at least 1" in bad.stderr
    wrong = runner.invoke(cli, ["simulate", str(LEGAL), "--change", str(tmp_path / "none.yaml")])
    assert wrong.exit_code == 1 and "no such file" in wrong.stderr


def test_referral_change_file_is_valid() -> None:
    change = load_change(REFERRAL, load_process(LEGAL))
    assert [op.kind for op in change.operations] == ["set_probability", "set_duration"]
    load_change(PROCESSES / "changes" / "more-solicitors.yaml", load_process(LEGAL))
