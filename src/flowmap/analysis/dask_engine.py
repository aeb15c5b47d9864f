"""The Dask engine: the same replay on a Parquet dataset too big for one process, or one machine.

The dataset (a file or a folder of Parquet files) is read lazily, given a
global row number (so the ledger points at the same rows as the in-process
engine), shuffled so that every case lies whole in one partition, and each
partition is replayed by :func:`flowmap.replay.replay` itself: there is no
second implementation. The as-of date is agreed first, over all partitions.

Then one of two things. For drift and the audit, :func:`aggregate_dask`
reduces each partition on its worker to counts, sums, value stores and open
cases' rows (:mod:`flowmap.analysis.aggregates`), merged on the workers in a
tree: the driver's memory does not grow with the events. For per-visit and
per-case output, :func:`replay_dask` combines the partial replays
(:func:`flowmap.replay.combine`) into exactly the replay the in-process
engine gives.

A local cluster (worker processes on this machine) is started unless a
scheduler address is given. Workers keep their scratch files in a temporary
folder that is removed afterwards: nothing is written anywhere else.
"""

from __future__ import annotations

import shutil
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from flowmap.errors import EventDataError, FlowmapError, NoMatchError
from flowmap.model.process import Process, normalise_name

if TYPE_CHECKING:
    from collections.abc import Iterator

    from flowmap.analysis.aggregates import DriftSums, Summary
    from flowmap.analysis.replay import Replay

__all__ = ["FAN_IN", "Partial", "aggregate_dask", "replay_dask"]


def _need_dask() -> Any:
    try:
        import dask.dataframe as dd
        import distributed  # noqa: F401
    except ImportError:
        raise FlowmapError(
            "--engine dask needs the optional Dask packages: pip install 'flowmap[dask]' "
            "(or use the default in-process engine, which needs nothing more)"
        ) from None
    return dd


@contextmanager
def client(scheduler: str | None = None, *, workers: int = 2) -> Iterator[Any]:
    """A Dask client: to ``scheduler`` if given, else to a local cluster of worker processes."""
    from distributed import Client, LocalCluster

    if scheduler:
        try:
            c = Client(scheduler, timeout="10s")
        except OSError as e:
            raise FlowmapError(f"cannot reach the Dask scheduler at {scheduler}: {e}") from None
        try:
            yield c
        finally:
            c.close()
        return
    scratch = tempfile.mkdtemp(prefix="flowmap-dask-")
    try:
        with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                          local_directory=scratch, silence_logs=40) as cluster, Client(cluster) as c:  # fmt: skip
            yield c
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _numbered(part: pd.DataFrame, offset: int) -> pd.DataFrame:
    return part.assign(__row__=np.arange(offset + 1, offset + 1 + len(part), dtype=np.int64))


def _scan(part: pd.DataFrame, process: Process, event_col: str, time_col: str, tz: str,
          monthfirst: bool) -> tuple[Any, bool]:  # fmt: skip
    """In one partition: the latest time among events that match a step (NaT if none), and whether any time
    has a time of day (then every partition reads times with theirs, as the in-process engine would)."""
    from flowmap.events.dates import read_times

    times = read_times(part[time_col].reset_index(drop=True), timezone=tz, monthfirst=monthfirst)
    names = part[event_col].astype("string")
    # Normalise each distinct name once, then test membership for the whole column.
    matching = [x for x in names.dropna().unique() if normalise_name(x) in process.event_map]
    known = names.isin(matching).to_numpy(dtype=bool) & ~np.isnat(times.local)
    latest = pd.Timestamp(times.local[known].max()) if known.any() else pd.NaT
    return latest, bool(times.timed)


def _replay_part(part: pd.DataFrame, process: Process, opts: dict[str, Any], as_of: Any) -> Replay:
    from flowmap.analysis.replay import replay
    from flowmap.events.read import read_events

    if part.empty:
        return _empty(process, as_of)
    try:
        log = read_events(part.reset_index(drop=True), process=process, **opts)
        return replay(process, log, as_of=as_of)
    except EventDataError as e:
        if isinstance(e, NoMatchError) or "no rows" in str(e):
            return _empty(process, as_of, part=part, opts=opts)
        raise


def _empty(process: Process, as_of: Any, *, part: pd.DataFrame | None = None,
           opts: dict[str, Any] | None = None) -> Replay:  # fmt: skip
    """A partition with no usable case: no cases, but its rows still count in the ledger."""
    from flowmap.analysis.replay import Replay
    from flowmap.events.ledger import Ledger
    from flowmap.events.read import read_events

    ledger = Ledger(source="", unit="row", read=0)
    if part is not None and len(part):
        log = read_events(part.reset_index(drop=True), process=process, **(opts or {}))
        ev = log.events
        ledger = log.ledger.add("unknown_event", ev["row"].to_numpy(), column=log.columns.get("event"),
                                values=ev["event"].astype(object).to_numpy(),
                                case_ids=ev["case_id"].astype(object).to_numpy())  # fmt: skip
    empty = pd.DataFrame()
    return Replay(process=process, as_of=pd.Timestamp(as_of), visits=empty, cases=empty, deviations=empty,
                  spans=empty, ledger=ledger, first_event=None, last_event=None)  # fmt: skip


@dataclass(frozen=True)
class Partial:
    """What some partitions of cases give the driver: a summary, drift's sums and audit rows (if asked)."""

    summary: Summary
    sums: DriftSums | None = None
    audit: pd.DataFrame | None = None

    @property
    def nbytes(self) -> int:
        return (self.sums.nbytes if self.sums is not None else 0) + (
            int(self.audit.memory_usage(deep=True).sum()) if self.audit is not None else 0)  # fmt: skip


def _partial(part: pd.DataFrame, process: Process, opts: dict[str, Any], as_of: Any, want: tuple[str, ...],
             exact: bool, due_within: float | None, since: Any) -> Partial:  # fmt: skip
    """One partition of cases replayed, reduced to its partial aggregates (its visits never leave the worker)."""
    from flowmap.analysis.aggregates import drift_sums, summary
    from flowmap.analysis.metrics import audit, empty_audit
    from flowmap.analysis.replay import window

    result = _replay_part(part, process, opts, as_of)
    if since is not None and len(result.cases):
        result = window(result, since=since)
    has_rows = len(result.cases) > 0
    return Partial(
        summary=summary(result),
        sums=drift_sums(result, sketch=not exact) if "drift" in want else None,
        audit=(audit(result, due_within=due_within) if has_rows else empty_audit()) if "audit" in want else None,
    )


def _merge(parts: list[Partial], source: str, due_within: float | None) -> Partial:
    from flowmap.analysis.aggregates import merge_summaries, merge_sums
    from flowmap.analysis.metrics import empty_audit, order_audit

    sums = [p.sums for p in parts if p.sums is not None]
    wanted = any(p.audit is not None for p in parts)
    rows = [p.audit for p in parts if p.audit is not None and len(p.audit)]  # empty tables would lose column types
    audit = order_audit(pd.concat(rows, ignore_index=True), due_within=due_within) if rows else empty_audit()
    return Partial(
        summary=merge_summaries([p.summary for p in parts], source=source),
        sums=merge_sums(sums) if sums else None,
        audit=audit if wanted else None,
    )


FAN_IN = 8
"""How many partials a worker merges at a time: the driver receives one, whatever the number of partitions."""


def aggregate_dask(
    process: Process,
    source: str | Path,
    *,
    want: tuple[str, ...] = ("drift",),
    exact: bool = False,
    due_within: float | None = None,
    as_of: Any = None,
    since: Any = None,
    scheduler: str | None = None,
    workers: int = 2,
    partitions: int | None = None,
    **read: Any,
) -> Partial:
    """Drift's sums and/or the audit's rows of a Parquet dataset, computed where the data is.

    Each partition (cases shuffled so that each lies whole in one) is replayed
    by the in-process engine and reduced on its worker to counts, sums and
    value stores (:mod:`flowmap.analysis.aggregates`; sketches unless
    ``exact``) and, for ``"audit"`` in ``want``, its open cases' rows. Workers
    merge these in a tree, :data:`FAN_IN` at a time, so the driver receives
    one result whose size depends on the process and the open cases, not on
    the number of events. Counts and sums equal the in-process engine's;
    medians too with ``exact``, and within the sketch's bound without.
    """
    from dask.delayed import delayed

    with _prepared(process, source, as_of=as_of, scheduler=scheduler, workers=workers, partitions=partitions,
                   **read) as (pieces, opts, when, name):  # fmt: skip
        level = [delayed(_partial)(p, process, opts, when, want, exact, due_within, since) for p in pieces]
        while len(level) > 1:
            level = [delayed(_merge)(level[i : i + FAN_IN], name, due_within) for i in range(0, len(level), FAN_IN)]
        out: Partial = level[0].compute()
    if len(pieces) == 1:  # a single partition was never merged: order and name it as a merge would
        out = _merge([out], name, due_within)
    return out


def replay_dask(
    process: Process,
    source: str | Path,
    *,
    as_of: Any = None,
    scheduler: str | None = None,
    workers: int = 2,
    partitions: int | None = None,
    **read: Any,
) -> Replay:
    """Replay a Parquet dataset on Dask; the result equals :func:`flowmap.replay` on the same rows.

    Every visit comes back to this process: use it when the output is per visit
    or per case (``replay``, maps, the report). For drift and the audit,
    :func:`aggregate_dask` keeps the visits on the workers.

    Parameters
    ----------
    source
        A Parquet file or a folder of Parquet files with one row per event.
    scheduler
        Address of a running Dask scheduler (``tcp://host:8786``); by default a
        local cluster of ``workers`` processes is started and stopped.
    partitions
        How many partitions to shuffle cases into (default: as many as read).
    read
        ``case_col``, ``event_col``, ``time_col``, ``monthfirst``, ``not_yet``,
        ``timezone``, ``lifecycle_col``, ``start_col`` and ``lifecycle``, as for
        :func:`flowmap.read_events`, applied in every partition (a case's events
        all land in one, so starts pair with their completes). Read options that
        do not apply to Parquet (``sheet``, ``header_row``, ``encoding``,
        ``delimiter``) are refused with a message if set, never dropped.
    """
    from dask.base import compute
    from dask.delayed import delayed

    from flowmap.analysis.replay import combine

    with _prepared(process, source, as_of=as_of, scheduler=scheduler, workers=workers, partitions=partitions,
                   **read) as (pieces, opts, when, name):  # fmt: skip
        parts = compute(*[delayed(_replay_part)(p, process, opts, when) for p in pieces])
    return combine(process, list(parts), source=name)


@contextmanager
def _prepared(
    process: Process,
    source: str | Path,
    *,
    as_of: Any,
    scheduler: str | None,
    workers: int,
    partitions: int | None,
    case_col: str | None = None,
    event_col: str | None = None,
    time_col: str | None = None,
    monthfirst: bool = False,
    not_yet: tuple[str, ...] = (),
    timezone: str | None = None,
    lifecycle_col: str | None = None,
    start_col: str | None = None,
    lifecycle: str = "intervals",
    **refused: Any,
) -> Iterator[tuple[list[Any], dict[str, Any], pd.Timestamp, str]]:
    """The dataset read lazily, rows numbered, the as-of date agreed and cases shuffled, on a live client:
    yields the partitions (delayed), the read options for each, the as-of date and the source's name."""
    dd = _need_dask()
    from dask.base import compute
    from dask.delayed import delayed

    from flowmap.analysis.replay import parse_as_of
    from flowmap.events.read import CASE_NAMES, EVENT_NAMES, TIME_NAMES, _pick, no_match_error

    given = {k: v for k, v in refused.items() if v not in (None, False, "utf-8", "", (), {}, "intervals")}
    if given:
        names = ", ".join("--" + k.replace("_", "-") for k in sorted(given))
        raise FlowmapError(
            f"{names} cannot be used with --engine dask, which reads Parquet (typed columns, no sheets, header rows "
            "or separators); leave them out, or convert the file to Parquet first"
        )

    path = Path(source)
    if not path.exists():
        raise EventDataError(f"{path}: no such file or folder")
    if path.is_file() and not path.name.lower().endswith((".parquet", ".pq")):
        raise EventDataError(f"{path}: --engine dask reads Parquet (a file or a folder of files); convert it first")
    ddf = dd.read_parquet(str(path))
    empty = ddf._meta
    name = str(path)
    case = _pick(empty, case_col, CASE_NAMES, "case", "--case-col", name)
    event = _pick(empty, event_col, EVENT_NAMES, "event", "--event-col", name)
    time = _pick(empty, time_col, TIME_NAMES, "date", "--time-col", name)
    opts = {
        "case_col": case,
        "event_col": event,
        "time_col": time,
        "monthfirst": monthfirst,
        "not_yet": not_yet,
        "timezone": timezone,
        "lifecycle_col": lifecycle_col,
        "start_col": start_col,
        "lifecycle": lifecycle,
    }
    with client(scheduler, workers=workers):
        sizes = ddf.map_partitions(len).compute()
        offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(int)
        numbered = [delayed(_numbered)(p, int(o)) for p, o in zip(ddf.to_delayed(), offsets, strict=True)]
        meta = empty.assign(__row__=np.array([], dtype=np.int64))
        ddf = dd.from_delayed(numbered, meta=meta)
        scans = compute(*[delayed(_scan)(p, process, event, time, timezone or process.timezone, monthfirst)
                          for p in ddf.to_delayed()])  # fmt: skip
        opts["timed"] = any(timed for _, timed in scans)
        when = parse_as_of(as_of)
        if when is None:
            maxes = pd.to_datetime(pd.Series([m for m, _ in scans])).dropna()
            if maxes.empty:
                events = ddf[event].drop_duplicates().head(9, npartitions=-1).astype(str).tolist()
                raise no_match_error(name, process, events=events)
            when = pd.Timestamp(maxes.max()).normalize()
        shuffled = ddf.shuffle(on=case, npartitions=partitions or max(ddf.npartitions, 1))
        yield list(shuffled.to_delayed()), opts, when, name
