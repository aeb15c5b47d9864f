"""flowmap's edges and times against pm4py's DFG on the same public logs.

pm4py (a peer, AGPL, used only here and in benchmarks) counts every pair of
consecutive events, self-loops included, sorting ties by input order, and
measures from the later event of a repeat. flowmap merges repeats of one step
into one visit and breaks timestamp ties by step order. So the two must agree
exactly, edge by edge, on cases with neither repeats nor ties; on the rest the
differences are exactly those, which the last test checks.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import pandas as pd
import pytest

from flowmap.analysis.discover import discover
from flowmap.analysis.metrics import edge_table
from flowmap.analysis.replay import replay
from flowmap.events.read import read_events
from flowmap.files.process import parse_process

from .conftest import log_file

pm4py = pytest.importorskip("pm4py", reason="pm4py is the peer for interop tests; `make test` installs it")

pytestmark = pytest.mark.peer


def _instants(events: pd.DataFrame) -> pd.Series:
    """The events' UTC instants (the wall time less its offset, where the log carries offsets)."""
    ts = events["timestamp"]
    if "utc_offset" in events:
        ts = ts - pd.to_timedelta(events["utc_offset"].astype("int64"), unit="s")
    return ts.dt.tz_localize("UTC")


def _pm4py_dfg(events: pd.DataFrame) -> tuple[dict[tuple[str, str], int], dict[tuple[str, str], float], dict[str, int]]:
    df = pd.DataFrame(
        {
            "case:concept:name": events["case_id"].astype(str).to_numpy(),
            "concept:name": events["event"].astype(str).to_numpy(),
            "time:timestamp": _instants(events).to_numpy(),
        }
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        df = pm4py.format_dataframe(df, case_id="case:concept:name", activity_key="concept:name",
                                    timestamp_key="time:timestamp")  # fmt: skip
        dfg, start, _ = pm4py.discover_dfg(df)
        perf, _, _ = pm4py.discover_performance_dfg(df)
    medians = {k: float(v["median"]) / 86400 for k, v in perf.items()}
    return dict(dfg), medians, dict(start)


def _clean_cases(events: pd.DataFrame) -> pd.DataFrame:
    """Cases with no two consecutive events of one name and no two events at one time."""
    e = events.sort_values(["case_id", "timestamp", "row"], kind="stable")
    same_case = e["case_id"].to_numpy()[1:] == e["case_id"].to_numpy()[:-1]
    repeat = same_case & (e["event"].astype(str).to_numpy()[1:] == e["event"].astype(str).to_numpy()[:-1])
    tie = same_case & (e["timestamp"].to_numpy()[1:] == e["timestamp"].to_numpy()[:-1])
    bad = set(e["case_id"].to_numpy()[1:][repeat | tie])
    return events[~events["case_id"].isin(bad)]


def _flowmap_edges(events: pd.DataFrame, name: str) -> tuple[pd.DataFrame, object]:
    cols = ["case_id", "event", "timestamp", *(["utc_offset"] if "utc_offset" in events else [])]
    log = read_events(events.reset_index(drop=True)[cols])
    process = parse_process(discover(log, process_id=name))
    result = replay(process, log)
    edges = edge_table(result)
    labels = {s.id: s.label for s in process.steps}
    edges["from"] = edges["from"].map(labels)
    edges["to"] = edges["to"].map(labels)
    return edges, result


@pytest.mark.parametrize("name", ["receipt.xes", "running-example.xes", "roadtraffic100traces.xes",
                                  "interval_event_log.csv"])  # fmt: skip
def test_edges_and_medians_agree_exactly_on_cases_without_repeats_or_ties(name: str) -> None:
    events = read_events(log_file(name)).events
    clean = _clean_cases(events)
    assert clean["case_id"].nunique() > 0
    ours, result = _flowmap_edges(clean, Path(name).stem)
    dfg, medians, starts = _pm4py_dfg(clean)
    mine = {(a, b): int(c) for a, b, c in zip(ours["from"], ours["to"], ours["count"], strict=True)}
    assert mine == dfg
    for a, b, m in zip(ours["from"], ours["to"], ours["median_days"], strict=True):
        assert m == pytest.approx(medians[(a, b)], rel=1e-9, abs=1e-9), (a, b)
    first = result.visits[result.visits["seq"] == 0]["step"].astype(str).value_counts()
    labels = {s.id: s.label for s in result.process.steps}
    assert {labels[k]: int(v) for k, v in first.items()} == starts


def test_on_the_whole_log_the_only_differences_are_self_loops() -> None:
    events = read_events(log_file("receipt.xes")).events
    ours, _ = _flowmap_edges(events, "receipt")
    dfg, _, _ = _pm4py_dfg(events)
    mine = {(a, b): int(c) for a, b, c in zip(ours["from"], ours["to"], ours["count"], strict=True)}
    loops = {k: v for k, v in dfg.items() if k[0] == k[1]}
    assert loops, "receipt has repeated events, so pm4py shows self-loops"
    # flowmap merges each repeat into one visit: the same edges less the loops, and
    # exactly one move fewer per repeated event.
    assert set(mine) == set(dfg) - set(loops)
    assert sum(mine.values()) == sum(dfg.values()) - sum(loops.values())


AGREEMENT_LOGS = ["running-example.xes", "receipt.xes", "roadtraffic100traces.xes", "interval_event_log.csv",
                  "helpdesk.xes.gz"]  # fmt: skip


def agreement_row(name: str) -> str:
    """One row of docs/interop.md's agreement table, measured: cases, cases compared, edges and medians equal."""
    events = read_events(log_file(name)).events
    clean = _clean_cases(events)
    ours, _ = _flowmap_edges(clean, name.split(".")[0])
    dfg, medians, _ = _pm4py_dfg(clean)
    mine = {(a, b): int(c) for a, b, c in zip(ours["from"], ours["to"], ours["count"], strict=True)}
    same_counts = sum(1 for k, v in mine.items() if dfg.get(k) == v)
    same_medians = sum(1 for a, b, m in zip(ours["from"], ours["to"], ours["median_days"], strict=True)
                       if abs(m - medians[(a, b)]) <= 1e-9 + 1e-9 * abs(m))  # fmt: skip
    return (f"| {name} | {events['case_id'].nunique():,} | {clean['case_id'].nunique():,} | "
            f"{same_counts} of {len(dfg)} | {same_medians} of {len(medians)} |")  # fmt: skip


@pytest.mark.slow
def test_the_agreement_table_in_docs_interop_is_what_this_run_measures() -> None:
    doc = (Path(__file__).resolve().parent.parent / "docs" / "interop.md").read_text(encoding="utf-8")
    for name in AGREEMENT_LOGS:
        row = agreement_row(name)
        assert row in doc, f"docs/interop.md should have the measured row:\n{row}"
