"""The Dask engine: the same replay on a Parquet dataset too big for one process, or one machine.

The dataset (a file or a folder of Parquet files) is read lazily, given a
global row number (so the ledger points at the same rows as the in-process
engine), shuffled so that every case lies whole in one partition, and each
partition is replayed by :func:`flowmap.replay.replay` itself: there is no
second implementation. The as-of date is agreed first, over all partitions.
The partial replays are then combined (:func:`flowmap.replay.combine`) into
exactly the replay the in-process engine gives, and drift and audit run on it
unchanged.

A local cluster (worker processes on this machine) is started unless a
scheduler address is given. Workers keep their scratch files in a temporary
folder that is removed afterwards: nothing is written anywhere else.
"""

from __future__ import annotations

import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from flowmap.errors import EventDataError, FlowmapError, NoMatchError
from flowmap.model.process import Process, normalise_name

if TYPE_CHECKING:
    from collections.abc import Iterator

    from flowmap.analysis.replay import Replay

__all__ = ["replay_dask"]


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


def _known_max(part: pd.DataFrame, process: Process, event_col: str, time_col: str, tz: str, monthfirst: bool) -> Any:
    """The latest timestamp among events that match a step, in one partition (NaT if none)."""
    from flowmap.events.dates import parse_dates

    names = part[event_col].astype("string")
    # Normalise each distinct name once, then test membership for the whole column.
    matching = [x for x in names.dropna().unique() if normalise_name(x) in process.event_map]
    known = names.isin(matching).to_numpy(dtype=bool)
    if not known.any():
        return pd.NaT
    ts = parse_dates(part.loc[known, time_col], timezone=tz, monthfirst=monthfirst)
    return ts.max()


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


def replay_dask(
    process: Process,
    source: str | Path,
    *,
    as_of: Any = None,
    scheduler: str | None = None,
    workers: int = 2,
    case_col: str | None = None,
    event_col: str | None = None,
    time_col: str | None = None,
    monthfirst: bool = False,
    not_yet: tuple[str, ...] = (),
    timezone: str | None = None,
    lifecycle_col: str | None = None,
    start_col: str | None = None,
    lifecycle: str = "intervals",
    partitions: int | None = None,
    **refused: Any,
) -> Replay:
    """Replay a Parquet dataset on Dask; the result equals :func:`flowmap.replay` on the same rows.

    Parameters
    ----------
    source
        A Parquet file or a folder of Parquet files with one row per event.
    scheduler
        Address of a running Dask scheduler (``tcp://host:8786``); by default a
        local cluster of ``workers`` processes is started and stopped.
    monthfirst, not_yet, timezone, lifecycle_col, start_col, lifecycle
        As for :func:`flowmap.read_events`, applied in every partition (a
        case's events all land in one, so starts pair with their completes).
    partitions
        How many partitions to shuffle cases into (default: as many as read).
    refused
        Read options that do not apply to Parquet (``sheet``, ``header_row``,
        ``encoding``, ``delimiter``): any set to a value is refused with a
        message rather than dropped.
    """
    dd = _need_dask()
    from dask.base import compute
    from dask.delayed import delayed

    from flowmap.analysis.replay import combine, parse_as_of
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
    }
    with client(scheduler, workers=workers):
        sizes = ddf.map_partitions(len).compute()
        offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(int)
        numbered = [delayed(_numbered)(p, int(o)) for p, o in zip(ddf.to_delayed(), offsets, strict=True)]
        meta = empty.assign(__row__=np.array([], dtype=np.int64))
        ddf = dd.from_delayed(numbered, meta=meta)
        when = parse_as_of(as_of)
        if when is None:
            maxes = ddf.map_partitions(_known_max, process, event, time, timezone or process.timezone, monthfirst,
                                       meta=("m", "datetime64[ns]")).compute()  # fmt: skip
            maxes = pd.to_datetime(pd.Series(list(maxes))).dropna()
            if maxes.empty:
                events = ddf[event].drop_duplicates().head(9, npartitions=-1).astype(str).tolist()
                raise no_match_error(name, process, events=events)
            when = pd.Timestamp(maxes.max()).normalize()
        shuffled = ddf.shuffle(on=case, npartitions=partitions or max(ddf.npartitions, 1))
        parts = compute(*[delayed(_replay_part)(p, process, opts, when) for p in shuffled.to_delayed()])
    return combine(process, list(parts), source=name)
