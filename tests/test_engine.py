"""The Dask engine gives exactly the in-process results, on a real two-worker LocalCluster."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from flowmap.analysis.metrics import audit, drift
from flowmap.analysis.replay import replay
from flowmap.cli import cli
from flowmap.events.read import read_events
from flowmap.files.process import load_process
from flowmap.simulation.simulate import model_from_process, synthesize

from .conftest import PROCESSES

pytest.importorskip("distributed", reason="the Dask engine is an optional extra; `make test` installs it")

pytestmark = pytest.mark.slow  # each test starts a real LocalCluster

LEGAL = PROCESSES / "legal-advice.yaml"


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pd.DataFrame]:
    """A folder of Parquet files: rework, same-day ties, open cases, deviations, and rows to set aside."""
    p = load_process(LEGAL)
    log = synthesize(model_from_process(p), cases=400, seed=21)  # rework loops, open cases at the end
    odd = pd.DataFrame(
        {
            "case_id": ["S-001", "S-001", "X-1", "X-1", None, "X-2", "S-002"],
            "event": ["advice issued", "bundle sent", "bundle sent", "advice considered", "allocated", "nonsense",
                      "bundle sent"],
            "timestamp": pd.to_datetime(["2025-01-06", "2025-01-06", "2025-02-03", "2025-02-03", "2025-02-04",
                                         "2025-02-05", "2025-01-06"]),
        }
    )  # fmt: skip
    # same-day ties out of step order, an unexpected start, an undeclared move, no case id, an unknown event,
    # and an exact duplicate of a synthetic row
    dup = log.iloc[[5]]
    data = pd.concat([log, odd, dup], ignore_index=True).sample(frac=1.0, random_state=3).reset_index(drop=True)
    folder = tmp_path_factory.mktemp("events") / "dataset"
    folder.mkdir()
    for i, chunk in enumerate(np.array_split(np.arange(len(data)), 4)):
        data.iloc[chunk].to_parquet(folder / f"part-{i}.parquet", index=False)
    return folder, data


def test_dask_engine_equals_in_process_engine(dataset: tuple[Path, pd.DataFrame]) -> None:
    from flowmap.analysis.dask_engine import replay_dask

    folder, data = dataset
    p = load_process(LEGAL)
    a = replay(p, read_events(data, process=p))
    b = replay_dask(p, folder, workers=2, partitions=3)  # a real LocalCluster with two worker processes
    assert len(a.deviations) > 0 and (a.cases["status"] != "complete").any()
    assert (a.visits["visit"] > 1).any()  # rework
    pd.testing.assert_frame_equal(a.cases_table(), b.cases_table())
    pd.testing.assert_frame_equal(a.visits_table(), b.visits_table())
    d1, d2 = drift(a), drift(b)
    pd.testing.assert_frame_equal(d1.steps, d2.steps)
    pd.testing.assert_frame_equal(d1.targets, d2.targets)
    pd.testing.assert_frame_equal(d1.edges, d2.edges)
    pd.testing.assert_frame_equal(audit(a), audit(b))
    pd.testing.assert_frame_equal(a.deviations, b.deviations)
    assert a.as_of == b.as_of
    assert a.ledger.read == b.ledger.read == len(data)
    assert [(s.reason, s.count, s.first) for s in a.ledger.set_aside] == [
        (s.reason, s.count, s.first) for s in b.ledger.set_aside
    ]
    pd.testing.assert_frame_equal(a.ledger.problems(), b.ledger.problems())  # every problem, with its address


def test_dask_engine_honours_read_options_or_refuses_them(tmp_path: Path) -> None:
    from flowmap.analysis.dask_engine import replay_dask
    from flowmap.errors import FlowmapError

    p = load_process(LEGAL)
    text = pd.DataFrame(
        {
            "case_id": ["A", "A", "B", "B", "C"],
            "event": ["bundle sent", "advice issued", "bundle sent", "advice issued", "bundle sent"],
            "date": ["01/06/2025", "01/13/2025", "02/03/2025", "stuck", "02/04/2025"],  # month first; a not-yet word
        }
    )
    path = tmp_path / "text.parquet"
    text.to_parquet(path, index=False)
    a = replay(p, read_events(text, process=p, monthfirst=True, not_yet=["stuck"]))
    b = replay_dask(p, path, workers=1, monthfirst=True, not_yet=("stuck",))
    pd.testing.assert_frame_equal(a.cases_table(), b.cases_table())
    assert a.first_event == b.first_event == pd.Timestamp("2025-01-06")
    assert a.ledger.not_yet == b.ledger.not_yet == 1
    for option, value in (("encoding", "cp1252"), ("delimiter", ";"), ("sheet", "S"), ("header_row", 3)):
        with pytest.raises(FlowmapError, match=f"--{option.replace('_', '-')} cannot be used with --engine dask"):
            replay_dask(p, path, **{option: value})


def test_dask_engine_from_the_command_line(dataset: tuple[Path, pd.DataFrame], tmp_path: Path) -> None:
    folder, _ = dataset
    res = CliRunner().invoke(cli, ["drift", str(LEGAL), str(folder), "--engine", "dask", "-o", str(tmp_path / "s.csv")])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "s.csv").read_text().startswith("step,label,lane,visits")
    bad = CliRunner().invoke(cli, ["audit", str(LEGAL), str(PROCESSES / "legal-advice.yaml"), "--engine", "dask"])
    assert bad.exit_code == 1 and "reads Parquet" in bad.stderr
    nosched = CliRunner().invoke(cli, ["audit", str(LEGAL), str(folder), "--scheduler", "tcp://127.0.0.1:1"])
    assert nosched.exit_code == 1 and "--scheduler needs --engine dask" in nosched.stderr


@pytest.fixture(scope="module")
def scheduler() -> Any:
    """One real LocalCluster (two worker processes) for the aggregate tests, reached by its address."""
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                      silence_logs=40) as cluster:  # fmt: skip
        yield cluster.scheduler_address


@pytest.fixture(scope="module")
def timed(dataset: tuple[Path, pd.DataFrame], tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pd.DataFrame]:
    """The same events at times of day, so that durations are fractions of days (the sketches' hard case)."""
    _, data = dataset
    rng = np.random.default_rng(5)
    data = data.assign(timestamp=data["timestamp"] + pd.to_timedelta(rng.integers(0, 86_400, len(data)), unit="s"))
    folder = tmp_path_factory.mktemp("timed") / "dataset"
    folder.mkdir()
    for i, chunk in enumerate(np.array_split(np.arange(len(data)), 3)):
        data.iloc[chunk].to_parquet(folder / f"part-{i}.parquet", index=False)
    return folder, data


COUNTS = {"steps": ["visits", "cases", "breaches", "excess_days", "breach_rate"],
          "targets": ["met", "missed", "overdue", "running", "void", "met_rate"], "edges": ["count"]}  # fmt: skip
MEDIANS = {"steps": ["median_days", "p90_days"], "targets": ["median_days", "p90_days"], "edges": ["median_days"]}


@pytest.mark.parametrize("which", ["dataset", "timed"])
def test_aggregates_on_workers_equal_the_in_process_tables(which: str, request: pytest.FixtureRequest,
                                                          scheduler: str) -> None:  # fmt: skip
    from flowmap.analysis.aggregates import ALPHA, TINY
    from flowmap.analysis.dask_engine import aggregate_dask
    from flowmap.analysis.metrics import drift_tables

    folder, data = request.getfixturevalue(which)
    p = load_process(LEGAL)
    a = replay(p, read_events(data, process=p))
    want = drift(a)
    exact = aggregate_dask(p, folder, want=("drift", "audit"), exact=True, scheduler=scheduler, partitions=5)
    got = drift_tables(exact.sums)
    for name in ("steps", "targets", "edges"):  # --exact: every table equal, medians too
        pd.testing.assert_frame_equal(getattr(want, name), getattr(got, name), check_exact=True)
    pd.testing.assert_frame_equal(audit(a), exact.audit)
    assert exact.summary.counts == a.counts and exact.summary.as_of == a.as_of
    assert {**exact.summary.ledger.as_dict(), "source": ""} == {**a.ledger.as_dict(), "source": ""}
    pd.testing.assert_frame_equal(a.ledger.problems(), exact.summary.ledger.problems())
    # sketches: counts and sums still exact; medians and p90s within the stated bound
    sketched = aggregate_dask(p, folder, want=("drift",), scheduler=scheduler, partitions=5)
    assert sketched.sums.nbytes < exact.sums.nbytes or which == "dataset"
    got = drift_tables(sketched.sums)
    fractional = False
    for name in ("steps", "targets", "edges"):
        w, g = getattr(want, name), getattr(got, name)
        pd.testing.assert_frame_equal(w[COUNTS[name]], g[COUNTS[name]], check_exact=True)
        for col in MEDIANS[name]:
            x, y = w[col].to_numpy(dtype=float), g[col].to_numpy(dtype=float)
            assert np.array_equal(np.isnan(x), np.isnan(y))
            ok = ~np.isnan(x)
            assert (np.abs(y[ok] - x[ok]) <= ALPHA * np.abs(x[ok]) * (1 + 1e-12) + TINY).all(), (name, col, x, y)
            fractional |= bool((x[ok] != np.floor(x[ok])).any())
            if which == "dataset":  # whole days: the sketch counts each whole number exactly
                assert np.array_equal(x[ok], y[ok])
    assert fractional or which == "dataset"


def test_drift_and_audit_on_workers_from_the_command_line(dataset: tuple[Path, pd.DataFrame], tmp_path: Path,
                                                          scheduler: str) -> None:  # fmt: skip
    folder, data = dataset
    runner = CliRunner()
    args = ["--engine", "dask", "--scheduler", scheduler]
    res = runner.invoke(cli, ["drift", str(LEGAL), str(folder), *args, "--exact", "-o", str(tmp_path / "d.csv")])
    assert res.exit_code == 0, res.output
    data.to_parquet(tmp_path / "in.parquet", index=False)  # the same rows as one file, in-process
    res = runner.invoke(cli, ["drift", str(LEGAL), "-o", str(tmp_path / "i.csv"), str(tmp_path / "in.parquet")])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "d.csv").read_text() == (tmp_path / "i.csv").read_text()
    # a window: each partition's replay is windowed on its worker, and the header says so
    res = runner.invoke(cli, ["drift", str(LEGAL), str(folder), *args, "--exact", "--from", "2025-06-01", "--json"])
    here = runner.invoke(cli, ["drift", str(LEGAL), str(tmp_path / "in.parquet"), "--from", "2025-06-01", "--json"])
    assert res.exit_code == 0 and here.exit_code == 0, res.output + here.output
    ours, theirs = json.loads(res.stdout), json.loads(here.stdout)
    assert ours["steps"] == theirs["steps"] and ours["counts"] == theirs["counts"]
    assert ours["window"] == theirs["window"] == {"from": "2025-06-01", "to": theirs["as_of"]}
    res = runner.invoke(cli, ["audit", str(LEGAL), str(folder), *args, "--due-within", "30", "--json"])
    assert res.exit_code == 0, res.output
    here = runner.invoke(cli, ["audit", str(LEGAL), str(tmp_path / "in.parquet"), "--due-within", "30", "--json"])
    assert json.loads(res.stdout)["audit"] == json.loads(here.stdout)["audit"]
