"""The simulator works in dates: arrivals on calendar days, visits ended with the process calendar, and every
target judged by replay's own rule, so replaying a simulated log gives exactly the simulator's figures."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from flowmap.analysis.metrics import target_table
from flowmap.analysis.replay import replay
from flowmap.events.read import read_events
from flowmap.files.process import load_process, parse_process
from flowmap.model.clock import holidays_between
from flowmap.simulation.simulate import fit, model_from_process, simulate, synthesize
from flowmap.simulation.synth import log_as_of

from .conftest import PROCESSES, ROOT

DATA = {
    "legal-advice": ROOT / "examples" / "data" / "legal-advice-tracker.csv",
    "permanence-order": ROOT / "examples" / "data" / "permanence-events.csv",
}


@pytest.mark.parametrize("name", sorted(DATA))
@pytest.mark.parametrize("seed", [1, 7])
def test_replaying_a_simulated_log_gives_the_simulators_figures_exactly(name: str, seed: int) -> None:
    process = load_process(PROCESSES / f"{name}.yaml")
    model = fit(replay(process, read_events(DATA[name], process=process)))
    n = 150
    log = synthesize(model, cases=n, seed=seed)
    as_of = log_as_of(model, cases=n, seed=seed)
    observed = target_table(replay(process, log, as_of=as_of)).set_index("target")
    sim = simulate(model, runs=1, seed=seed, cases=n).scenarios[0]
    for t in process.targets:
        ms = sim.targets[t.id]
        row = observed.loc[t.id]
        assert ms.met_rate is not None
        if np.isnan(row["met_rate"]):
            assert ms.met_rate.value is None
        else:
            assert ms.met_rate.value == pytest.approx(round(float(row["met_rate"]), 4), abs=1e-4), t.id
        if not np.isnan(row["median_days"]):
            assert ms.median_days.value == pytest.approx(float(row["median_days"]), abs=1e-4), t.id


def test_a_working_day_target_on_a_calendar_process_is_reproduced() -> None:
    # Child protection: a calendar-day process, and the inter-agency referral discussion due the next working
    # day. Referrals come Monday to Friday; 40 of 60 get their discussion the next working day (Friday's on
    # Monday), 20 three working days later. A constant 7/5 clock ratio got this wrong (41% against 67%).
    process = parse_process(
        "flowmap: 1\nid: cp\ntitle: Child protection\nclock: calendar_days\ncalendar: scotland\n"
        "steps:\n  - {id: referral, start: true}\n  - {id: ird}\n  - {id: done, end: true}\n"
        "transitions: [referral -> ird, ird -> done]\n"
        "targets:\n  - {id: ird_next_working_day, from: referral, to: ird, within: 1, clock: working_days}\n"
    )
    rng = np.random.default_rng(3)
    days = pd.bdate_range("2025-01-06", "2025-12-19", freq="C", holidays=["2025-04-18", "2025-04-21", "2025-05-05",
                                                                         "2025-05-26", "2025-08-04"])  # fmt: skip
    starts = np.sort(rng.choice(days.to_numpy(dtype="M8[D]"), 60, replace=False))
    late = np.zeros(60, dtype=bool)
    late[rng.choice(60, 20, replace=False)] = True
    ird = np.busday_offset(starts, np.where(late, 3, 1), roll="forward")
    done = np.busday_offset(ird, 5, roll="forward")
    ids = [f"C{i:02d}" for i in range(60)]
    log = pd.DataFrame({
        "case_id": ids * 3,
        "event": ["referral"] * 60 + ["ird"] * 60 + ["done"] * 60,
        "timestamp": pd.to_datetime(np.concatenate([starts, ird, done])),
    })  # fmt: skip
    result = replay(process, log)
    observed = target_table(result).set_index("target").loc["ird_next_working_day", "met_rate"]
    assert observed == pytest.approx(40 / 60)
    model = fit(result)
    assert model.weekday_share is not None and model.weekday_share[5] == model.weekday_share[6] == 0
    est = simulate(model, runs=400, seed=2).scenarios[0].targets["ird_next_working_day"].met_rate
    assert est is not None and est.low is not None and est.high is not None
    assert est.low <= observed <= est.high, (est, observed)


def test_simulated_working_days_skip_weekends_and_bank_holidays() -> None:
    process = parse_process(
        "flowmap: 1\nid: w\ntitle: W\nclock: working_days\ncalendar: scotland\n"
        "steps:\n  - {id: a, start: true, typical: 3}\n  - {id: b, end: true}\ntransitions: [a -> b]\n"
    )
    from flowmap.simulation.model import Duration

    m = replace(model_from_process(process), durations={"a": Duration("empirical", values=(3.0,))},
                origin=pd.Timestamp("2025-12-22").date())  # fmt: skip
    log = synthesize(m, cases=40, seed=1)
    per_case = log.pivot(index="case_id", columns="event", values="timestamp").dropna()
    a = per_case["a"].to_numpy(dtype="M8[D]")
    b = per_case["b"].to_numpy(dtype="M8[D]")
    hol = holidays_between("scotland", a.min(), b.max()).astype("M8[D]")
    assert "2025-12-25" in hol.astype(str) and "2026-01-02" in hol.astype(str)
    assert (np.busday_count(a, b, holidays=hol) == 3).all()  # three working days, every one of them
    assert np.is_busday(b, holidays=hol).all()  # so every visit ends on a working day
