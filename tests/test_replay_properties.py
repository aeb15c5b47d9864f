"""Invariants of replay, over random processes and logs that follow them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flowmap.analysis.metrics import drift
from flowmap.analysis.replay import replay
from flowmap.files.process import parse_process

from .strategies import process_and_log

pytestmark = pytest.mark.slow  # many generated processes and logs each

SETTINGS = settings(max_examples=60)  # the deadline and health checks come from the profile in conftest.py


@SETTINGS
@given(process_and_log())
def test_log_along_declared_transitions_has_no_deviations(pl: tuple[str, pd.DataFrame]) -> None:
    text, log = pl
    r = replay(parse_process(text), log)
    assert r.deviations.empty
    assert (r.cases["deviations"] == 0).all()


@SETTINGS
@given(process_and_log())
def test_visit_days_of_a_complete_case_add_up_to_its_duration(pl: tuple[str, pd.DataFrame]) -> None:
    text, log = pl
    r = replay(parse_process(text), log)
    v = r.visits
    for case in r.cases.loc[r.cases["status"] == "complete", "case_id"]:
        mine = v[v["case_id"] == case]
        total = mine["days"].sum()  # the end visit has no duration (NaN, skipped)
        span = (mine["entered"].max() - mine["entered"].min()) / pd.Timedelta(days=1)
        assert total == span


@SETTINGS
@given(process_and_log(), st.integers(min_value=0, max_value=2**32 - 1))
def test_shuffling_input_rows_changes_nothing(pl: tuple[str, pd.DataFrame], shuffle_seed: int) -> None:
    text, log = pl
    p = parse_process(text)
    a = replay(p, log)
    shuffled = log.sample(frac=1.0, random_state=np.random.RandomState(shuffle_seed)).reset_index(drop=True)
    b = replay(p, shuffled)
    key = ["case_id", "step", "visit"]
    va = a.visits_table().astype({"case_id": str, "step": str}).sort_values(key).reset_index(drop=True)
    vb = b.visits_table().astype({"case_id": str, "step": str}).sort_values(key).reset_index(drop=True)
    pd.testing.assert_frame_equal(va, vb)
    as_text = {"case_id": str, "status": str, "current_step": str, "path": str}
    ca = a.cases_table().astype(as_text).sort_values("case_id").reset_index(drop=True)
    cb = b.cases_table().astype(as_text).sort_values("case_id").reset_index(drop=True)
    pd.testing.assert_frame_equal(ca, cb)


@SETTINGS
@given(process_and_log(), st.integers(min_value=0, max_value=5), st.integers(min_value=0, max_value=5))
def test_edge_counts_add_up_to_moves_and_every_bad_row_is_set_aside(
    pl: tuple[str, pd.DataFrame], unknown: int, no_case: int
) -> None:
    text, log = pl
    bad = pd.DataFrame(
        {
            "case_id": [f"X{i}" for i in range(unknown)] + [None] * no_case,  # distinct: not duplicates
            "event": ["not a step of this process"] * unknown + [log["event"].iloc[0]] * no_case,
            "timestamp": [log["timestamp"].iloc[0]] * (unknown + no_case),
        }
    )
    r = replay(parse_process(text), pd.concat([log, bad], ignore_index=True))
    edges = drift(r).edges
    assert edges["count"].sum() == len(r.visits) - len(r.cases)  # every move between visits is on an edge
    # The generated rows are all good; each injected row is set aside under its own reason, none lost.
    assert r.ledger.read == len(log) + unknown + no_case
    counts = {s.reason: s.count for s in r.ledger.set_aside}
    assert counts == {k: v for k, v in (("no_case_id", no_case), ("unknown_event", unknown)) if v}
    assert int(r.cases["visits"].sum()) == len(r.visits)


@SETTINGS
@given(process_and_log(clock="working_days"))
def test_working_days_never_exceed_calendar_days(pl: tuple[str, pd.DataFrame]) -> None:
    text, log = pl
    work = replay(parse_process(text), log).visits["days"].to_numpy()
    cal = replay(parse_process(text.replace("working_days", "calendar_days")), log).visits["days"].to_numpy()
    both = ~np.isnan(work)
    assert (work[both] <= cal[both]).all()
    assert (work[both] >= 0).all()
