"""Replay: events x process -> visits, cases, deviations and span-target clocks.

The semantics are docs/semantics.md ("Replay", "Span targets"), and this module is their one
implementation. Everything is computed over the whole table at once (factorise,
sort, shift, group-wise reductions); there is no Python loop per case or per
event, only per step or per span target.

- An event enters the step that lists its name (case, outer and repeated
  spaces ignored). Events are ordered by timestamp, then by the step's position
  in the file, then by input order.
- Consecutive events of one step form one **visit**; coming back after another
  step is a new visit.
- A visit lasts from its entry to the next visit's entry, in the process
  clock; a case's last visit runs to the as-of date unless it is an end step
  (then the case is complete and the visit has no duration).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from flowmap.analysis.intervals import interval_visits
from flowmap.analysis.kernels import visit_pass
from flowmap.errors import EventDataError, FlowmapError
from flowmap.events.ledger import Ledger
from flowmap.events.read import EventLog
from flowmap.model.clock import allowed_days, clock_days
from flowmap.model.process import Process, normalise_name

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    import numpy.typing as npt

    from flowmap.model.process import SpanTarget

__all__ = [
    "CASE_COLUMNS",
    "SPAN_STATUSES",
    "VISIT_COLUMNS",
    "Replay",
    "SpanArrays",
    "VisitCodes",
    "combine",
    "event_order",
    "judge_spans",
    "parse_as_of",
    "replay",
    "screen",
    "window",
]

CASE_COLUMNS = [
    "case_id", "status", "current_step", "entered", "days_in_step", "target", "days_over", "visits",
    "deviations", "path",
]  # fmt: skip
VISIT_COLUMNS = ["case_id", "step", "visit", "entered", "left", "days", "target", "days_over"]
DEVIATION_COLUMNS = ["case_id", "deviation", "from", "to", "at"]
SPAN_COLUMNS = ["case_id", "target", "started", "stopped", "days", "status"]
SPAN_STATUSES = ("met", "missed", "overdue", "running", "void")
_STATUS_DTYPE = pd.CategoricalDtype(list(SPAN_STATUSES))
_CASE_STATUS_DTYPE = pd.CategoricalDtype(["complete", "open", "stalled"])


@dataclass(frozen=True)
class VisitCodes:
    """Integer codes of each visit, row for row with :attr:`Replay.visits`.

    Attributes
    ----------
    case
        The case's position in :attr:`Replay.cases` (cases are in id order).
    step
        The step's position in the process file (``process.steps``).
    seq
        The visit's number within its case, from 0 (0 is the case's first visit).
    last
        Whether it is the case's last visit.
    prev_step
        The step of the visit before it in the same case (the move's 'from'), -1 for a first visit.
    prev_days
        The days spent in that step before the move (NaN for a first visit).
    """

    case: npt.NDArray[np.int64]
    step: npt.NDArray[np.int64]
    seq: npt.NDArray[np.int64]
    last: npt.NDArray[np.bool_]
    prev_step: npt.NDArray[np.int64]
    prev_days: npt.NDArray[np.float64]


@dataclass(frozen=True)
class Replay:
    """The result of replaying an event log against a process.

    Attributes
    ----------
    visits
        One row per visit, in case then time order: :data:`VISIT_COLUMNS` plus
        ``lane``, ``open`` (the case's current visit), ``last`` (the case's last
        visit) and ``seq`` (visit number within the case, from 0).
    cases
        One row per case: :data:`CASE_COLUMNS` but ``path`` (see :attr:`paths` and
        :meth:`cases_table`), plus ``lane`` and ``started``.
    deviations
        One row per deviation: ``unexpected_start`` or ``unexpected_transition``.
    spans
        One row per case and span target whose clock started: :data:`SPAN_COLUMNS`.
    """

    process: Process
    as_of: pd.Timestamp
    visits: pd.DataFrame
    cases: pd.DataFrame
    deviations: pd.DataFrame
    spans: pd.DataFrame
    ledger: Ledger
    first_event: pd.Timestamp | None
    last_event: pd.Timestamp | None
    since: pd.Timestamp | None = None  # the window: what began on or after this date
    before: pd.Timestamp | None = None  # ... and before this one

    def visits_table(self) -> pd.DataFrame:
        """Visits with exactly the documented columns (``replay --visits``); an interval log adds
        ``waiting_days`` and ``working_days`` after ``days``."""
        cols = list(VISIT_COLUMNS)
        if "working_days" in self.visits:
            cols[cols.index("days") + 1 : cols.index("days") + 1] = ["waiting_days", "working_days"]
        return self.visits[cols].reset_index(drop=True)

    @property
    def intervals(self) -> bool:
        """Whether the log gave start and complete times, so visits split into waiting and working."""
        return "working_days" in self.visits

    @property
    def window_cases(self) -> pd.DataFrame:
        """The rows of :attr:`cases` that began in the window (all of them without one); index = case code."""
        if "in_window" not in self.cases.columns:
            return self.cases
        return self.cases[self.cases["in_window"].to_numpy(dtype=bool)]

    def window_text(self) -> str | None:
        """The window in words, or None without one: "window: what began on or after 2025-03-01"."""
        if self.since is None and self.before is None:
            return None
        parts = []
        if self.since is not None:
            parts.append(f"on or after {self.since.date()}")
        if self.before is not None:
            parts.append(f"before {self.before.date()}")
        return "window: what began " + " and ".join(parts)

    def cases_table(self) -> pd.DataFrame:
        """Cases with exactly the documented columns (``replay``), ``path`` included; those in the window."""
        table = self.cases.assign(path=self.paths)
        if "in_window" in table.columns:
            table = table[table["in_window"].to_numpy(dtype=bool)]
        return table[CASE_COLUMNS].reset_index(drop=True)

    def find_case(self, typed: str, *, key: str | None = None) -> str:
        """The case id a person meant by ``typed`` (case and spaces ignored; or its pseudonym under ``key``).

        Raises :class:`~flowmap.errors.FlowmapError` naming the nearest ids when none matches.
        """
        from flowmap.privacy import find_case

        return find_case(self.cases["case_id"].astype(str).tolist(), typed, key=key)

    def status(self, case_id: str) -> str:
        """A case's status: ``complete``, ``open`` or ``stalled``."""
        hit = self.cases["case_id"].astype(str).to_numpy() == case_id
        if not hit.any():
            raise FlowmapError(f"case {case_id!r} is not in the data")
        return str(self.cases["status"].to_numpy()[hit][0])

    def visit_codes(self) -> VisitCodes:
        """Integer codes of each visit, for vectorised work on :attr:`visits` (row for row)."""
        v = self.visits
        if v.empty:
            empty = np.array([], dtype=np.int64)
            return VisitCodes(case=empty, step=empty, seq=empty, last=np.array([], dtype=bool), prev_step=empty,
                              prev_days=np.array([], dtype=float))  # fmt: skip
        return VisitCodes(
            case=v["case_code"].to_numpy(dtype=np.int64),
            step=v["step_pos"].to_numpy(dtype=np.int64),
            seq=v["seq"].to_numpy(dtype=np.int64),
            last=v["last"].to_numpy(dtype=bool),
            prev_step=v["prev_step_pos"].to_numpy(dtype=np.int64),
            prev_days=v["prev_days"].to_numpy(dtype=float),
        )

    def span_case_codes(self) -> npt.NDArray[np.int64]:
        """For each row of :attr:`spans`, its case's position in :attr:`cases`."""
        return self.spans["case_code"].to_numpy(dtype=np.int64) if len(self.spans) else np.array([], dtype=np.int64)

    def deviation_case_codes(self) -> npt.NDArray[np.int64]:
        """For each row of :attr:`deviations`, its case's position in :attr:`cases`."""
        d = self.deviations
        return d["case_code"].to_numpy(dtype=np.int64) if len(d) else np.array([], dtype=np.int64)

    @cached_property
    def paths(self) -> pd.Categorical:
        """Per case, its step ids joined by '>' (made on first use: drift and audit never need it)."""
        step_ids = np.array(self.process.step_ids, dtype=object)
        codes, texts = _paths(
            self.visits["case_code"].to_numpy(), self.visits["step_pos"].to_numpy(), step_ids, len(self.cases)
        )
        return pd.Categorical.from_codes(codes, categories=pd.Index(texts, dtype=object), validate=False)

    @property
    def counts(self) -> dict[str, int]:
        cases = self.window_cases
        status = cases["status"]
        return {
            "cases": len(cases),
            "complete": int((status == "complete").sum()),
            "open": int((status != "complete").sum()),
            "stalled": int((status == "stalled").sum()),
            "deviating": int((cases["deviations"] > 0).sum()),
        }


def parse_as_of(value: str | dt.date | pd.Timestamp | None) -> pd.Timestamp | None:
    """An as-of date from text (ISO or dd/mm/yyyy) or a date; None stays None."""
    return parse_date(value, "the as-of date")


def parse_date(value: str | dt.date | pd.Timestamp | None, what: str) -> pd.Timestamp | None:
    """A date given by a person (ISO or dd/mm/yyyy, or a date), at midnight; None stays None."""
    if value is None:
        return None
    if isinstance(value, (dt.date, pd.Timestamp)):
        return pd.Timestamp(value).normalize()
    from flowmap.events.dates import parse_dates

    parsed = parse_dates(pd.Series([value]))[0]
    if pd.isna(parsed):
        raise FlowmapError(f"cannot read {what} {value!r}; write it as YYYY-MM-DD, e.g. 2025-03-31")
    return pd.Timestamp(parsed).normalize()


def replay(
    process: Process,
    events: EventLog | pd.DataFrame,
    *,
    as_of: str | dt.date | pd.Timestamp | None = None,
    since: str | dt.date | pd.Timestamp | None = None,
    before: str | dt.date | pd.Timestamp | None = None,
) -> Replay:
    """Replay case events against a process (the rules are docs/semantics.md, "Replay").

    Five passes over whole arrays: events to steps (unknown events and events
    after the as-of date set aside), visits, deviations, cases, span targets.

    Parameters
    ----------
    process
        The declared process (see :func:`flowmap.load_process`).
    events
        An :class:`~flowmap.events.read.EventLog` from :func:`flowmap.read_events`,
        or a DataFrame with ``case_id``, ``event`` and ``timestamp`` columns.
    as_of
        The date open cases are measured to; events after it are set aside.
        Default: the latest event date in the data.
    since, before
        A window (docs/semantics.md, "Windows"): keep what began on or after
        ``since`` and before ``before``: visits by their entry date, span
        targets by the date their clock started, deviations by the date of
        the move, cases by their first event. Everything is replayed on all
        the events first, so a visit that began in the window is measured
        in full, whatever came before it.

    Returns
    -------
    Replay

    Raises
    ------
    EventDataError
        When there is no dated event, when no event matches any step of the
        process (:class:`~flowmap.errors.NoMatchError`), or when ``as_of`` is
        before every event.
    """
    log = events if isinstance(events, EventLog) else _frame_log(events, process)
    ev, ledger, as_of_ts = _step_events(process, log, as_of)
    va = _visit_arrays(process, ev, as_of_ts)
    frames = _Frames.of(process, ev.case_ids)
    visits = _visits_frame(process, va, frames)
    deviations, dev_count = _deviations(process, va, ev.case_ids)
    cases = _cases_frame(va, dev_count, frames)
    spans = _spans(process, visits, va.complete_case, frames.case, as_of_ts, va.as_of_offset)
    result = Replay(
        process=process,
        as_of=as_of_ts,
        visits=visits,
        cases=cases,
        deviations=deviations,
        spans=spans,
        ledger=ledger,
        first_event=pd.Timestamp(ev.ts.min()) if len(ev.ts) else None,
        last_event=pd.Timestamp(ev.ts.max()) if len(ev.ts) else None,
    )
    return result if since is None and before is None else window(result, since=since, before=before)


@dataclass(frozen=True)
class Screened:
    """Replay's first pass alone (``flowmap check --process``): the ledger with unknown events and events
    after the as-of date set aside, the as-of date, and the ids of the cases that keep an event."""

    ledger: Ledger
    as_of: pd.Timestamp
    case_ids: pd.Index
    last_event: pd.Timestamp | None


def screen(process: Process, events: EventLog, *, as_of: Any = None) -> Screened:
    """What :func:`replay` sets aside and keeps, without ordering events or building visits."""
    ev, ledger, as_of_ts = _step_events(process, events, as_of, ordered=False)
    last = pd.Timestamp(ev.ts.max()) if len(ev.ts) else None
    return Screened(ledger=ledger, as_of=as_of_ts, case_ids=ev.case_ids, last_event=last)


def window(result: Replay, *, since: Any = None, before: Any = None) -> Replay:
    """The replay restricted to what began in [since, before) (the Dask engine's results, or a compare's sides)."""
    start, end = parse_date(since, "--from"), parse_date(before, "the end of the window")
    visits, cases, deviations, spans = _window(result.visits, result.cases, result.deviations, result.spans,
                                               start, end)  # fmt: skip
    return replace(result, visits=visits, cases=cases, deviations=deviations, spans=spans, since=start, before=end)


def _window(
    visits: pd.DataFrame,
    cases: pd.DataFrame,
    deviations: pd.DataFrame,
    spans: pd.DataFrame,
    start: pd.Timestamp | None,
    end: pd.Timestamp | None,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Keep what began in [start, end). Cases keep every row (their codes stay valid) and say if they are in it."""

    def inside(dates: pd.Series) -> npt.NDArray[np.bool_]:
        d = dates.to_numpy(dtype="M8[ns]")
        keep = np.ones(len(d), dtype=bool)
        if start is not None:
            keep &= d >= np.datetime64(start, "ns")
        if end is not None:
            keep &= d < np.datetime64(end, "ns")
        return keep

    visits = visits[inside(visits["entered"])].reset_index(drop=True)
    deviations = deviations[inside(deviations["at"])].reset_index(drop=True) if len(deviations) else deviations
    spans = spans[inside(spans["started"])].reset_index(drop=True) if len(spans) else spans
    cases = cases.assign(in_window=inside(cases["started"]))
    return visits, cases, deviations, spans


@dataclass(frozen=True)
class _StepEvents:
    """The events that count, in event order: case code (cases in id order), time, step position."""

    case: npt.NDArray[np.intp]
    ts: npt.NDArray[np.datetime64]
    pos: npt.NDArray[np.int32]
    case_ids: pd.Index  # the ids of the cases kept, sorted (case code = position)
    offset: npt.NDArray[np.int64] | None  # UTC offsets (ns) when the times are instants across a clock change
    timezone: str
    start: npt.NDArray[np.datetime64] | None = None  # interval logs: each instance's start (NaT: not known)
    start_offset: npt.NDArray[np.int64] | None = None
    in_progress: npt.NDArray[np.bool_] | None = None  # started, not completed


def _step_events(process: Process, log: EventLog, as_of: Any, *,
                 ordered: bool = True) -> tuple[_StepEvents, Ledger, pd.Timestamp]:  # fmt: skip
    """Pass 1: each event to its step; unknown events and events after the as-of date set aside."""
    frame = log.events
    ledger = log.ledger
    if frame.empty:
        raise EventDataError(
            f"{ledger.source}: no dated events to replay ({ledger.read} read: {ledger.not_yet} not dated yet, "
            f"{ledger.problem_count} set aside); `flowmap check` shows why, cell by cell"
        )
    # Map event names to steps, once per distinct name.
    codes, uniques = _codes(frame["event"])
    lookup = np.array([_step_pos(process, u) for u in uniques] + [-1], dtype=np.int32)
    step_pos = lookup[codes]  # code -1 (missing) picks the trailing -1
    unknown = step_pos < 0
    rows_all = frame["row"].to_numpy()
    if unknown.any():
        ledger = ledger.add("unknown_event", rows_all[unknown], column=_event_columns(log, unknown),
                            values=frame["event"].astype(object).to_numpy()[unknown],
                            case_ids=frame["case_id"].astype(object).to_numpy()[unknown])  # fmt: skip
    known = ~unknown
    if not known.any():
        from flowmap.events.read import no_match_error

        if log.shape == "wide":
            raise no_match_error(ledger.source, process, columns=log.found)
        raise no_match_error(ledger.source, process, events=[str(u) for u in uniques])
    ts = frame["timestamp"].to_numpy(dtype="M8[ns]")
    parsed_as_of = parse_as_of(as_of)
    if parsed_as_of is None:
        as_of_ts = pd.Timestamp(ts[known].max()).normalize()
    else:
        as_of_ts = parsed_as_of
        late = known & (ts >= np.datetime64(as_of_ts + pd.Timedelta(days=1), "ns"))
        if not (known & ~late).any():
            lo, hi = pd.Timestamp(ts[known].min()).date(), pd.Timestamp(ts[known].max()).date()
            raise EventDataError(
                f"{ledger.source}: the as-of date {as_of_ts.date()} is before every event (they run from {lo} "
                f"to {hi}); give an as-of date on or after {lo}, or leave --as-of out to use the latest event"
            )
        if late.any():
            ledger = ledger.add("after_as_of", rows_all[late], column=_time_columns(log, late),
                                values=_iso(ts[late]),
                                case_ids=frame["case_id"].astype(object).to_numpy()[late])  # fmt: skip
            known &= ~late
    sel = np.flatnonzero(known)
    # Case codes in the order of the ids (so output order does not depend on row order),
    # renumbered to leave out cases whose every event was set aside.
    raw_case, raw_case_ids = _codes(frame["case_id"], sort=True)
    kept = raw_case[sel]
    used = np.bincount(kept[kept >= 0], minlength=len(raw_case_ids)) > 0
    case_codes = (np.cumsum(used) - 1)[kept]
    offset = frame["utc_offset"].to_numpy(dtype=np.int64)[sel] * 1_000_000_000 if "utc_offset" in frame else None
    if (
        offset is None
        and log.fixed_offset is not None
        and log.fixed_offset * 1_000_000_000 != offset_at(as_of_ts, log.timezone)
    ):  # every event at one offset, the as-of date at another: open visits lose or gain the hour
        offset = np.full(len(sel), log.fixed_offset * 1_000_000_000, dtype=np.int64)
    if not ordered:  # check's screen: what is kept, in input order; no visit will be built
        return _StepEvents(case=case_codes, ts=ts[sel], pos=step_pos[sel], case_ids=_kept_ids(raw_case_ids, used),
                           offset=None, timezone=log.timezone), ledger, as_of_ts  # fmt: skip
    # Events are ordered by instant: in the hour the clocks repeat, wall time alone would swap them.
    instants = ts[sel] if offset is None else (ts[sel].view(np.int64) - offset).view("M8[ns]")
    start = start_off = progress = None
    if "start_timestamp" in frame:  # activity instances: ordered by when the work started
        start = frame["start_timestamp"].to_numpy(dtype="M8[ns]")[sel]
        start_off = (frame["start_offset"].to_numpy(dtype=np.int64)[sel] * 1_000_000_000 if "start_offset" in frame
                     else None)  # fmt: skip
        progress = (
            frame["in_progress"].to_numpy(dtype=bool)[sel] if "in_progress" in frame else np.zeros(len(sel), bool)
        )
        began = start if start_off is None else (start.view(np.int64) - start_off).view("M8[ns]")
        instants = np.where(np.isnat(start), instants, began)
    order = event_order(case_codes, instants, step_pos[sel])
    events = _StepEvents(case=case_codes[order], ts=ts[sel][order], pos=step_pos[sel][order],
                         case_ids=_kept_ids(raw_case_ids, used),
                         offset=None if offset is None else offset[order], timezone=log.timezone,
                         start=None if start is None else start[order],
                         start_offset=None if start_off is None else start_off[order],
                         in_progress=None if progress is None else progress[order])  # fmt: skip
    return events, ledger, as_of_ts


@dataclass(frozen=True)
class _VisitArrays:
    """Pass 2's result: one entry per visit, in case then time order, and per case in case order."""

    case: npt.NDArray[np.intp]
    step: npt.NDArray[np.int32]
    entered: npt.NDArray[np.datetime64]
    left: npt.NDArray[np.datetime64]
    seq: npt.NDArray[np.intp]
    first_of_case: npt.NDArray[np.bool_]
    last_of_case: npt.NDArray[np.bool_]
    case_start: npt.NDArray[np.intp]  # per case: index of its first visit
    open_visit: npt.NDArray[np.bool_]
    complete_case: npt.NDArray[np.bool_]  # per case
    days: npt.NDArray[np.float64]
    target: npt.NDArray[np.float64]
    days_over: npt.NDArray[np.float64]
    offset: npt.NDArray[np.int64] | None  # per visit, the UTC offset of its entry (instants only)
    as_of_offset: int
    number: npt.NDArray[np.int64]  # per visit, 1-based among the case's visits to the same step
    waiting: npt.NDArray[np.float64] | None = None  # interval logs: entry to start of work
    working: npt.NDArray[np.float64] | None = None  # interval logs: start to completion of work


def offset_at(when: pd.Timestamp, timezone: str) -> int:
    """The UTC offset (ns) of a local wall time in ``timezone`` (the first time round in an autumn hour)."""
    zoned = pd.DatetimeIndex([when]).tz_localize(timezone, ambiguous=np.ones(1, dtype=bool),
                                                 nonexistent="shift_forward")  # fmt: skip
    return int(np.asarray(zoned.tz_localize(None), dtype="M8[ns]").view(np.int64)[0]
               - np.asarray(zoned.tz_convert("UTC").tz_localize(None), dtype="M8[ns]").view(np.int64)[0])  # fmt: skip


def _visit_arrays(process: Process, ev: _StepEvents, as_of_ts: pd.Timestamp) -> _VisitArrays:
    """Pass 2: visits, a new one at each change of case or step, measured in the process clock."""
    vp = visit_pass(ev.case, ev.pos, len(process.steps))
    new_visit = vp.start
    v_case = ev.case[new_visit]
    v_step = ev.pos[new_visit]
    v_entered = ev.ts[new_visit]
    nv = len(v_case)
    first_of_case, last_of_case, case_start, seq = vp.first, vp.last, vp.case_start, vp.seq
    per_case = np.diff(np.append(case_start, nv))
    v_left = np.empty(nv, dtype="M8[ns]")
    v_left[:-1] = v_entered[1:]
    v_left[last_of_case] = np.datetime64("NaT")
    is_end = np.array([s.end for s in process.steps], dtype=bool)
    targets = np.array([np.nan if s.target is None else s.target for s in process.steps], dtype=float)
    complete_case = is_end[v_step[last_of_case]]  # per case, in case-code order
    open_visit = last_of_case & ~np.repeat(complete_case, per_case)
    end_of_visit = np.where(open_visit, np.datetime64(as_of_ts, "ns"), v_left)
    v_off, offsets, as_of_off = None, None, 0
    if ev.offset is not None:
        as_of_off = offset_at(as_of_ts, ev.timezone)
        v_off = ev.offset[new_visit]
        end_off = np.empty(nv, dtype=np.int64)
        end_off[:-1] = v_off[1:]
        end_off[last_of_case] = as_of_off
        offsets = (v_off, end_off)
    days = clock_days(v_entered, end_of_visit, clock=process.clock, calendar=process.calendar, offsets=offsets)
    days = np.where(open_visit, np.maximum(days, 0.0), days)  # an entry later on the as-of date counts 0
    v_target = targets[v_step]
    for i, st in enumerate(process.steps):  # a target in months allows different days from each entry
        if st.target_months is not None:
            rows = v_step == i
            v_target[rows] = allowed_days(v_entered[rows], None, st.target_months, clock=process.clock,
                                          calendar=process.calendar)  # fmt: skip
    waiting = working = None
    if ev.start is not None:
        iv = interval_visits(ev, new_visit, last_of_case, is_end[v_step], as_of_ts, as_of_off, process)
        v_entered, v_left, days, v_off, waiting, working = (
            iv.entered,
            iv.left,
            iv.days,
            iv.offset,
            iv.waiting,
            iv.working,
        )
        complete_case, open_visit = iv.complete_case, iv.open_visit
    days_over = np.maximum(days - v_target, 0.0)  # NaN where there is no target or no duration
    return _VisitArrays(case=v_case, step=v_step, entered=v_entered, left=v_left, seq=seq, first_of_case=first_of_case,
                        last_of_case=last_of_case, case_start=case_start, open_visit=open_visit,
                        complete_case=complete_case, days=days, target=v_target, days_over=days_over, offset=v_off,
                        as_of_offset=as_of_off, number=vp.number, waiting=waiting, working=working)  # fmt: skip


@dataclass(frozen=True)
class _Frames:
    """The categorical types the output tables share, and each step's lane code."""

    case: pd.CategoricalDtype
    step: pd.CategoricalDtype
    lane: pd.CategoricalDtype
    lane_of_step: npt.NDArray[np.intp]

    @staticmethod
    def of(process: Process, case_ids: pd.Index) -> _Frames:
        lane_names = list(process.lane_order)
        return _Frames(
            case=pd.CategoricalDtype(case_ids),
            step=pd.CategoricalDtype(pd.Index(list(process.step_ids), dtype=object)),
            lane=pd.CategoricalDtype(pd.Index(lane_names, dtype=object)),
            lane_of_step=np.array([lane_names.index(s.lane) if s.lane is not None else -1 for s in process.steps]),
        )


def _visits_frame(process: Process, va: _VisitArrays, f: _Frames) -> pd.DataFrame:
    """The visits table: :data:`VISIT_COLUMNS`, ``lane``, ``open``, and the codes of :meth:`Replay.visit_codes`."""
    frame = pd.DataFrame(
        {
            "case_id": pd.Categorical.from_codes(va.case, dtype=f.case, validate=False),
            "step": pd.Categorical.from_codes(va.step, dtype=f.step, validate=False),
            "visit": va.number,
            "entered": va.entered,
            "left": va.left,
            "days": va.days,
            "target": va.target,
            "days_over": va.days_over,
            "lane": pd.Categorical.from_codes(f.lane_of_step[va.step], dtype=f.lane, validate=False),
            "open": va.open_visit,
            "last": va.last_of_case,
            "seq": va.seq,
            "case_code": va.case,
            "step_pos": va.step,
            # The visit before, in the same case: a move's 'from' and the days spent there, kept on the
            # visit the move entered, so that a window cutting the earlier visit off still counts the move.
            "prev_step_pos": np.where(va.first_of_case, -1, np.roll(va.step, 1)),
            "prev_days": np.where(va.first_of_case, np.nan, np.roll(va.days, 1)),
        },
        copy=False,  # the arrays are this function's own and never change after
    )
    if va.offset is not None:  # instants across a clock change: each entry's UTC offset, for span clocks
        frame["utc_offset"] = va.offset
    if va.waiting is not None and va.working is not None:  # an interval log: time at the step, split
        at = list(frame.columns).index("days") + 1
        frame.insert(int(at), "waiting_days", va.waiting)
        frame.insert(int(at) + 1, "working_days", va.working)
    return frame


def _deviations(process: Process, va: _VisitArrays, case_ids: pd.Index) -> tuple[pd.DataFrame, npt.NDArray[np.intp]]:
    """Pass 3: undeclared moves, and cases that start outside a start step; and each case's count."""
    n_steps = len(process.steps)
    step_ids = np.array(process.step_ids, dtype=object)
    declared = np.zeros((n_steps, n_steps), dtype=bool)
    for t in process.transitions:
        declared[process.step_index[t.from_step], process.step_index[t.to_step]] = True
    is_start = np.array([s.start for s in process.steps], dtype=bool)
    move_idx = np.flatnonzero(~va.first_of_case)  # visit i is entered by a move from visit i-1
    undeclared = move_idx[~declared[va.step[move_idx - 1], va.step[move_idx]]]
    bad_start = np.flatnonzero(va.first_of_case & ~is_start[va.step])
    dev_idx = np.concatenate([bad_start, undeclared])
    kinds = np.array(["unexpected_start"] * len(bad_start) + ["unexpected_transition"] * len(undeclared), dtype=object)
    from_step = np.empty(len(dev_idx), dtype=object)
    from_step[len(bad_start) :] = step_ids[va.step[undeclared - 1]]
    dev_order = np.lexsort((dev_idx,))
    deviations = pd.DataFrame(
        {
            "case_id": np.asarray(case_ids.take(va.case[dev_idx]), dtype=object),
            "deviation": kinds,
            "from": from_step,
            "to": step_ids[va.step[dev_idx]],
            "at": va.entered[dev_idx],
            "case_code": va.case[dev_idx],
        }
    ).iloc[dev_order]
    return deviations.reset_index(drop=True), np.bincount(va.case[dev_idx], minlength=len(case_ids))


def _cases_frame(va: _VisitArrays, dev_count: npt.NDArray[np.intp], f: _Frames) -> pd.DataFrame:
    """Pass 4: one row per case, from its last visit."""
    last_idx = np.flatnonzero(va.last_of_case)
    done = va.complete_case
    stalled = ~done & (va.days_over[last_idx] > 0)
    status = pd.Categorical.from_codes(np.where(done, 0, np.where(stalled, 2, 1)), dtype=_CASE_STATUS_DTYPE,
                                       validate=False)  # fmt: skip
    return pd.DataFrame(
        {
            "case_id": pd.Categorical.from_codes(np.arange(len(dev_count)), dtype=f.case, validate=False),
            "status": status,
            "current_step": pd.Categorical.from_codes(va.step[last_idx], dtype=f.step, validate=False),
            "entered": va.entered[last_idx],
            "days_in_step": np.where(done, np.nan, va.days[last_idx]),
            "target": np.where(done, np.nan, va.target[last_idx]),
            "days_over": np.where(done, np.nan, va.days_over[last_idx]),
            "visits": np.diff(np.append(va.case_start, len(va.case))),
            "deviations": dev_count,
            "lane": pd.Categorical.from_codes(f.lane_of_step[va.step[last_idx]], dtype=f.lane, validate=False),
            "started": va.entered[va.case_start],
        },
        copy=False,
    )


def event_order(
    case_codes: npt.NDArray[np.intp], ts: npt.NDArray[np.datetime64], pos: npt.NDArray[np.int32]
) -> npt.NDArray[np.intp]:
    """The order of events: by case, then timestamp, then step position, then input order.

    When case, time and step fit in 62 bits together (time counted in its
    coarsest exact unit, e.g. days for date-only data), one stable sort of a
    packed int64 key; otherwise a three-key lexsort. Both are stable, so input
    order breaks the remaining ties, and both give the same order.
    """
    if len(ts) == 0:
        return np.arange(0, dtype=np.intp)
    t = ts.view(np.int64)
    ticks = t - t.min()  # then in place: at ten million events every temporary is 80 MB
    unit = int(np.gcd.reduce(ticks)) or 1
    if unit > 1:
        ticks //= unit
    bits_t = int(ticks.max()).bit_length()
    bits_p = int(pos.max()).bit_length()
    bits_c = int(case_codes.max()).bit_length()
    if bits_t + bits_p + bits_c <= 62:
        key = case_codes.astype(np.int64)
        key <<= bits_t + bits_p
        ticks <<= bits_p
        key |= ticks
        del ticks
        key |= pos
        return np.argsort(key, kind="stable")
    return np.lexsort((pos, ts, case_codes))


def _kept_ids(ids: Any, used: npt.NDArray[np.bool_]) -> pd.Index:
    """The ids of the cases kept, as an index of text. The read log's own (sorted) categories are used as they
    are: a million ids turned into Python strings would cost a third of a second, and nothing reads them all."""
    index = ids if isinstance(ids, pd.Index) else pd.Index(ids)
    return index if used.all() else index[used]


def _codes(values: pd.Series, *, sort: bool = False) -> tuple[npt.NDArray[np.intp], Any]:
    """Integer codes and their values; a categorical column's own codes cost nothing.

    With ``sort``, codes follow the sorted values (a categorical's categories are sorted
    when it is made by ``read_events``; any other column is factorised sorted).
    """
    if isinstance(values.dtype, pd.CategoricalDtype) and (not sort or values.cat.categories.is_monotonic_increasing):
        return np.asarray(values.cat.codes, dtype=np.intp), values.cat.categories
    codes, uniques = pd.factorize(values, sort=sort)
    return np.asarray(codes, dtype=np.intp), uniques


def _step_pos(process: Process, name: Any) -> int:
    if name is None or (isinstance(name, float) and np.isnan(name)):
        return -1
    step = process.event_map.get(normalise_name(str(name)))
    return -1 if step is None else process.step_index[step]


def _iso(ts: npt.NDArray[np.datetime64]) -> npt.NDArray[np.object_]:
    """Timestamps as ISO text, a date alone when the time is midnight."""
    text = pd.Series(np.datetime_as_string(ts, unit="s"), dtype=object)
    return text.str.removesuffix("T00:00:00").to_numpy(dtype=object)


def _event_columns(log: EventLog, mask: npt.NDArray[np.bool_]) -> Any:
    """The column that named each masked event: the event column, or a tracker's step column."""
    if log.shape == "wide":
        return log.events["column"].astype(object).to_numpy()[mask]
    return log.columns.get("event")


def _time_columns(log: EventLog, mask: npt.NDArray[np.bool_]) -> Any:
    """The column that dated each masked event: the date column, or a tracker's step column."""
    if log.shape == "wide":
        return log.events["column"].astype(object).to_numpy()[mask]
    return log.columns.get("time")


def _frame_log(frame: pd.DataFrame, process: Process) -> EventLog:
    from flowmap.events.read import read_events

    return read_events(frame, process=process)


def _paths(
    v_case: npt.NDArray[np.int64], v_step: npt.NDArray[np.int32], step_ids: npt.NDArray[Any], n_cases: int
) -> tuple[npt.NDArray[np.intp], list[str]]:
    """Per case, a code into a list of paths (step ids joined by '>'): each distinct
    path (variant) is built once, not once per case."""
    if len(v_case) == 0:
        return np.array([], dtype=np.intp), []
    # A path is identified exactly by its sequence of step codes; group cases by it
    # with a padded matrix when paths are short (the usual case), else by text.
    lengths = np.bincount(v_case, minlength=n_cases)
    longest = int(lengths.max())
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    if longest <= 256 and n_cases * longest <= 100_000_000:
        mat = np.full((n_cases, longest), -1, dtype=np.int64)
        col = np.arange(len(v_case)) - np.repeat(starts, lengths)
        mat[v_case, col] = v_step
        # Two independent polynomial hashes per row, factorised; then checked row by row,
        # so a collision can only cost speed (the exact fallback), never a wrong path.
        h1 = np.zeros(n_cases, dtype=np.uint64)
        h2 = np.zeros(n_cases, dtype=np.uint64)
        with np.errstate(over="ignore"):
            for j in range(longest):
                c = (mat[:, j] + 2).astype(np.uint64)
                h1 = h1 * np.uint64(1_000_003) + c
                h2 = h2 * np.uint64(0x9E3779B97F4A7C15) + c * np.uint64(2_654_435_761)
        with np.errstate(over="ignore"):
            key = pd.factorize(h1 ^ (h2 * np.uint64(0xBF58476D1CE4E5B9)))[0]
        first = np.unique(key, return_index=True)[1]
        if (mat == mat[first[key]]).all():
            return np.asarray(key, dtype=np.intp), [">".join(step_ids[r[r >= 0]]) for r in mat[first]]
    s = pd.Series(step_ids[v_step]).groupby(v_case).agg(">".join).reindex(range(n_cases))
    codes, texts = pd.factorize(s)
    return np.asarray(codes, dtype=np.intp), [str(t) for t in texts]


@dataclass(frozen=True)
class SpanArrays:
    """One span target's clocks, one entry per case whose clock started (see :func:`judge_spans`)."""

    case: npt.NDArray[np.int64]
    started: npt.NDArray[np.datetime64]
    stopped: npt.NDArray[np.datetime64]
    days: npt.NDArray[np.float64]
    status: npt.NDArray[np.int8]  # codes into SPAN_STATUSES: met, missed, overdue, running, void


def judge_spans(
    targets: Sequence[SpanTarget],
    step_index: Mapping[str, int],
    calendar: str,
    v_case: npt.NDArray[np.int64],
    v_step: npt.NDArray[np.int64],
    v_seq: npt.NDArray[np.int64],
    entered: npt.NDArray[np.datetime64],
    complete_case: npt.NDArray[np.bool_],
    as_of64: np.datetime64 | npt.NDArray[np.datetime64],
    *,
    offsets: npt.NDArray[np.int64] | None = None,
    as_of_offset: int = 0,
) -> list[tuple[SpanTarget, SpanArrays]]:
    """Every span target's clock per case, from visits in case then time order (docs/semantics.md).

    The one implementation of the rule: replay uses it on the data, and the
    simulator on its simulated visits, so both judge a clock the same way. A
    clock starts at the first entry to ``from`` and stops at the first entry to
    ``to`` after it, measured in the target's clock; an unstopped clock is
    overdue when past its limit at ``as_of64``, running if not, and void when
    the case completed without stopping it. ``as_of64`` may be one date, or
    one per case (the simulator's runs each have their own). ``offsets``
    (per visit, ns) and ``as_of_offset`` make calendar days elapsed time when
    the entries are instants across a clock change.
    """
    out = []
    n_cases = len(complete_case)
    for t in targets:
        f = step_index.get(t.from_step, -1)
        to = step_index.get(t.to_step, -1)
        from_rows = np.flatnonzero(v_step == f)
        if len(from_rows) == 0:
            continue
        # First entry to `from` per case: visits are in case then time order.
        fc = v_case[from_rows]
        firsts = from_rows[np.r_[True, fc[1:] != fc[:-1]]]
        start_case = v_case[firsts]
        start_seq = v_seq[firsts]
        start_at = entered[firsts]
        # First entry to `to` after the start: the first `to` visit with a later sequence number.
        to_rows = np.flatnonzero(v_step == to)
        start_seq_by_case = np.full(n_cases, np.iinfo(np.int64).max)
        start_seq_by_case[start_case] = start_seq
        after = to_rows[v_seq[to_rows] > start_seq_by_case[v_case[to_rows]]]
        ac = v_case[after]
        stop_rows = after[np.r_[True, ac[1:] != ac[:-1]]] if len(after) else after
        stop_at_by_case = np.full(n_cases, np.datetime64("NaT"), dtype="M8[ns]")
        stop_at_by_case[v_case[stop_rows]] = entered[stop_rows]
        stop_at = stop_at_by_case[start_case]
        stopped = ~np.isnat(stop_at)
        as_of_at = np.asarray(as_of64)
        end = np.where(stopped, stop_at, as_of_at if as_of_at.ndim == 0 else as_of_at[start_case])
        pair = None
        if offsets is not None:
            stop_off = np.full(n_cases, as_of_offset, dtype=np.int64)
            stop_off[v_case[stop_rows]] = offsets[stop_rows]
            pair = (offsets[firsts], stop_off[start_case])
        days = clock_days(start_at, end, clock=t.clock, calendar=calendar, offsets=pair)
        days = np.maximum(days, 0.0)
        if t.within is not None:
            limit = allowed_days(start_at, t.within, t.within_months, clock=t.clock, calendar=calendar)
            met = days <= limit
            late = days > limit
        else:
            assert t.at_least is not None
            met = days >= t.at_least
            late = np.zeros(len(start_case), dtype=bool)
        done = complete_case[start_case]
        status = np.where(stopped, np.where(met, 0, 1), np.where(done, 4, np.where(late, 2, 3))).astype(np.int8)
        days[~stopped & done] = np.nan
        out.append((t, SpanArrays(start_case, start_at, stop_at, days, status)))
    return out


def _spans(
    process: Process,
    visits: pd.DataFrame,
    complete_case: npt.NDArray[np.bool_],
    case_dtype: pd.CategoricalDtype,
    as_of: pd.Timestamp,
    as_of_offset: int = 0,
) -> pd.DataFrame:
    parts = []
    n_cases = len(case_dtype.categories)
    done = np.zeros(n_cases, dtype=bool)
    done[: len(complete_case)] = complete_case[:n_cases]
    judged = judge_spans(process.targets, process.step_index, process.calendar, visits["case_code"].to_numpy(),
                         visits["step_pos"].to_numpy(), visits["seq"].to_numpy(), visits["entered"].to_numpy(),
                         done, np.datetime64(as_of, "ns"), as_of_offset=as_of_offset,
                         offsets=visits["utc_offset"].to_numpy() if "utc_offset" in visits else None)  # fmt: skip
    for t, sa in judged:
        parts.append(
            pd.DataFrame(
                {
                    "case_id": pd.Categorical.from_codes(sa.case, dtype=case_dtype, validate=False),
                    "target": t.id,
                    "started": sa.started,
                    "stopped": sa.stopped,
                    "days": sa.days,
                    "status": pd.Categorical.from_codes(sa.status, dtype=_STATUS_DTYPE, validate=False),
                    "case_code": sa.case,
                },
                copy=False,
            )
        )
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in [*SPAN_COLUMNS, "case_code"]})
    return pd.concat(parts, ignore_index=True)


def combine(process: Process, parts: list[Replay], *, source: str) -> Replay:
    """One replay from replays of disjoint sets of whole cases (the Dask engine's partitions).

    Cases are put back in the order of their ids, visits in case then time
    order, and every code renumbered, so the result is the one
    :func:`replay` gives on all the events at once.

    Reason for its length: each of the four tables is recoded and its column
    types restored in a few lines; split apart, the shared renumbering would
    have to be passed to every part.
    """
    parts = [p for p in parts if len(p.cases)]
    if not parts:
        raise EventDataError(f"{source}: no event matches a step of '{process.id}'")
    as_of = parts[0].as_of
    ids = np.concatenate([p.cases["case_id"].astype(object).to_numpy() for p in parts])
    order = np.argsort(ids.astype(str), kind="stable")
    new_code = np.empty(len(ids), dtype=np.int64)
    new_code[order] = np.arange(len(ids))
    offsets = np.cumsum([0] + [len(p.cases) for p in parts[:-1]])
    kind = parts[0].cases["case_id"].cat.categories.dtype  # the ids' own type, as each part's replay keeps it
    case_dtype = pd.CategoricalDtype(pd.Index(ids[order], dtype=kind))

    def recode(frame: pd.DataFrame, part: int) -> pd.DataFrame:
        out = frame.copy()
        out["case_code"] = new_code[offsets[part] + frame["case_code"].to_numpy()]
        if "case_id" in out.columns:
            out["case_id"] = pd.Categorical.from_codes(out["case_code"].to_numpy(), dtype=case_dtype, validate=False)
        return out

    visits = pd.concat([recode(p.visits, i) for i, p in enumerate(parts)], ignore_index=True)
    visits = visits.sort_values(["case_code", "seq"], kind="stable").reset_index(drop=True)
    cases = pd.concat(
        [p.cases.assign(case_code=np.arange(len(p.cases))).pipe(recode, i) for i, p in enumerate(parts)],
        ignore_index=True,
    )
    cases = cases.sort_values("case_code", kind="stable").drop(columns="case_code").reset_index(drop=True)
    for col, dtype in (("status", _CASE_STATUS_DTYPE),):
        cases[col] = cases[col].astype(dtype)
    steps = pd.CategoricalDtype(pd.Index(list(process.step_ids), dtype=object))
    cases["current_step"] = cases["current_step"].astype(object).astype(steps)
    lanes = pd.CategoricalDtype(pd.Index(list(process.lane_order), dtype=object))
    cases["lane"] = cases["lane"].astype(object).astype(lanes)
    visits["step"] = visits["step"].astype(object).astype(steps)
    visits["lane"] = visits["lane"].astype(object).astype(lanes)
    devs = [recode(p.deviations.assign(_n=np.arange(len(p.deviations))), i) for i, p in enumerate(parts)]
    deviations = pd.concat(devs, ignore_index=True)
    deviations = deviations.sort_values(["case_code", "_n"], kind="stable").reset_index(drop=True)
    # built from plain arrays, as replay builds it, so the column types are the same
    deviations = pd.DataFrame(
        {
            "case_id": deviations["case_id"].to_numpy(dtype=object),
            "deviation": deviations["deviation"].to_numpy(dtype=object),
            "from": deviations["from"].to_numpy(dtype=object),
            "to": deviations["to"].to_numpy(dtype=object),
            "at": deviations["at"].to_numpy(dtype="M8[ns]"),
            "case_code": deviations["case_code"].to_numpy(dtype=np.int64),
        }
    )
    target_rank = {t.id: i for i, t in enumerate(process.targets)}
    spans = (
        pd.concat([recode(p.spans, i) for i, p in enumerate(parts) if len(p.spans)], ignore_index=True)
        if any(len(p.spans) for p in parts)
        else parts[0].spans
    )
    if len(spans):
        spans = (
            spans.assign(_t=spans["target"].map(target_rank))
            .sort_values(["_t", "case_code"], kind="stable")
            .drop(columns="_t")
            .reset_index(drop=True)
        )
        spans["status"] = spans["status"].astype(object).astype(_STATUS_DTYPE)
    firsts = [p.first_event for p in parts if p.first_event is not None]
    lasts = [p.last_event for p in parts if p.last_event is not None]
    return Replay(
        process=process,
        as_of=as_of,
        visits=visits,
        cases=cases,
        deviations=deviations,
        spans=spans,
        ledger=Ledger.merge([p.ledger for p in parts], source=source),
        first_event=min(firsts) if firsts else None,
        last_event=max(lasts) if lasts else None,
    )
