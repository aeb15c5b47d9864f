"""One entry point for everything that replays an event file: the process, the file, the engine.

Every command that reads events calls :func:`replay_file`; the read options
(:class:`~flowmap.events.read.ReadOptions`) are the same everywhere, and the
Dask engine gets them too (or refuses those that do not apply to Parquet).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal

from flowmap.analysis.replay import Replay, replay, window
from flowmap.errors import FlowmapError
from flowmap.files.process import load_process
from flowmap.model.process import Process

__all__ = ["Engine", "aggregate_file", "replay_file", "replay_groups"]

Engine = Literal["in-process", "dask"]


def replay_file(
    process: Process | str | Path,
    source: str | Path | None,
    *,
    as_of: Any = None,
    since: Any = None,
    where: Sequence[str] = (),
    engine: Engine = "in-process",
    scheduler: str | None = None,
    progress: Callable[[str], None] | None = None,
    **read_options: Any,
) -> Replay:
    """Load the process (if given as a path), read ``source`` and replay it.

    Parameters
    ----------
    process
        A :class:`~flowmap.model.process.Process`, or the path of a process file.
    source
        An event file (any format :func:`~flowmap.events.read.read_events`
        reads), or with ``engine="dask"`` a Parquet file or folder.
    as_of
        Open cases are measured to this date (default: the latest event).
    since
        Keep what began on or after this date (docs/semantics.md, "Windows").
    where
        Conditions on case attributes, ``COLUMN=VALUE`` or ``COLUMN!=VALUE``, all of which a case must meet.
    engine
        ``in-process`` (the default) or ``dask``.
    scheduler
        With ``engine="dask"``: a running scheduler's address; default a local cluster.
    progress
        Called with a few words as each stage starts (for a progress display).
    read_options
        As for :func:`~flowmap.events.read.read_events` (``case_col``, ``sheet``, ``header_row``, ...).
    """
    say = progress or (lambda _: None)
    proc = process if isinstance(process, Process) else load_process(process)
    if engine == "dask":
        from flowmap.analysis.dask_engine import replay_dask

        if where:
            raise FlowmapError(
                "--where needs each case's attributes, which --engine dask does not read (it streams only the "
                "case, step and date columns); drop --engine dask for this log, or filter the Parquet dataset "
                "before replaying it"
            )
        say("replaying on Dask")
        if source is None:
            raise FlowmapError("--engine dask reads a Parquet file or folder, not a database; drop --engine dask")
        result = replay_dask(proc, source, as_of=as_of, scheduler=scheduler, **read_options)
        return result if since is None else window(result, since=since)
    if scheduler:
        raise FlowmapError("--scheduler needs --engine dask")
    from flowmap.events.read import read_events

    say("reading events")
    log = read_events(source, process=proc, **read_options)
    from flowmap.events.attributes import filter_cases, parse_where

    conditions = [parse_where(w) for w in where]
    paths = [c for c in conditions if c.column.strip().casefold() == "path"]
    if conditions:
        log = filter_cases(log, [c for c in conditions if c not in paths])
    say("replaying")
    result = replay(proc, log, as_of=as_of, since=since)
    if not paths:
        return result
    return _on_paths(proc, log, result, paths, as_of=as_of, since=since)


def aggregate_file(
    process: Process | str | Path,
    source: str | Path | None,
    *,
    want: tuple[str, ...],
    exact: bool = False,
    due_within: float | None = None,
    as_of: Any = None,
    since: Any = None,
    where: Sequence[str] = (),
    scheduler: str | None = None,
    progress: Callable[[str], None] | None = None,
    **read_options: Any,
) -> Any:
    """Drift's sums and/or the audit's rows on the Dask engine, the visits kept on the workers
    (:func:`flowmap.analysis.dask_engine.aggregate_dask`); the options are :func:`replay_file`'s."""
    from flowmap.analysis.dask_engine import aggregate_dask

    proc = process if isinstance(process, Process) else load_process(process)
    if where:
        raise FlowmapError(
            "--where needs each case's attributes, which --engine dask does not read (it streams only the "
            "case, step and date columns); drop --engine dask for this log, or filter the Parquet dataset "
            "before replaying it"
        )
    if source is None:
        raise FlowmapError("--engine dask reads a Parquet file or folder, not a database; drop --engine dask")
    (progress or (lambda _: None))("replaying on Dask")
    return aggregate_dask(proc, source, want=want, exact=exact, due_within=due_within, as_of=as_of, since=since,
                          scheduler=scheduler, **read_options)  # fmt: skip


def _on_paths(proc: Process, log: Any, result: Replay, paths: Sequence[Any], *, as_of: Any, since: Any) -> Replay:
    """``--where path=...``: the replay of only the cases whose path of steps matches (found by a first replay)."""
    from flowmap.analysis.variants import path_cases

    keep: set[str] | None = None
    for c in paths:
        chosen = path_cases(result, c.value, c.equal)
        keep = chosen if keep is None else keep & chosen
    assert keep is not None
    total = len(result.cases)
    if not keep:
        raise FlowmapError(f"no case has the path {' and '.join(map(str, paths))} (of {total} cases); "
                           "`flowmap variants` lists the paths as they are written")  # fmt: skip
    from flowmap.events.attributes import keep_cases

    note = f"--where {' and '.join(map(str, paths))}: {len(keep)} of {total} cases kept"
    narrowed = keep_cases(log, keep, note)
    return replay(proc, narrowed, as_of=result.as_of if as_of is None else as_of, since=since)


def replay_groups(
    process: Process | str | Path,
    source: str | Path | None,
    by: str,
    *,
    as_of: Any = None,
    since: Any = None,
    where: Sequence[str] = (),
    progress: Callable[[str], None] | None = None,
    **read_options: Any,
) -> tuple[Replay, list[tuple[str, Replay]]]:
    """``--by``: the replay of all the cases, and one per value of the case attribute ``by``,
    from one read of the file, all measured to the same as-of date.

    Raises
    ------
    FlowmapError
        When the column does not exist, or varies within cases.
    """
    from flowmap.events.attributes import filter_cases, group_cases, parse_where
    from flowmap.events.read import read_events

    say = progress or (lambda _: None)
    proc = process if isinstance(process, Process) else load_process(process)
    say("reading events")
    log = filter_cases(read_events(source, process=proc, **read_options), [parse_where(w) for w in where])
    say("replaying")
    whole = replay(proc, log, as_of=as_of, since=since)
    groups = [(value, replay(proc, part, as_of=whole.as_of, since=since)) for value, part in group_cases(log, by)]
    return whole, groups
