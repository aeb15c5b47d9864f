"""Start and complete events made into intervals (docs/events.md, "Start and complete").

A log may say when work on an activity started as well as when it completed:
a lifecycle column (XES ``lifecycle:transition``: ``start``, ``complete``,
``schedule``, ...) or a start-time column beside the time column
(``start_timestamp``). Each activity instance is then one row, from its start
to its completion, so that replay can split the time a case spends at a step
into waiting (until the work started) and working (until it completed).

Starts and completes are paired by case, activity and order, as pm4py's
interval logs and Disco do: the first start of an activity in a case with its
first complete, the second with the second, and so on. All of it is
vectorised: sorts, group counters and merges, no loop per event.

The instance table keeps the canonical columns, with ``timestamp`` the
completion (the start for work still in progress), plus ``start_timestamp``
(NaT where the start is not known) and ``in_progress``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from flowmap.events.ledger import Ledger

__all__ = ["LIFECYCLE_MODES", "LIFECYCLE_NAMES", "STANDARD_TRANSITIONS", "START_NAMES", "pair_lifecycle"]

LIFECYCLE_NAMES = ("lifecycle:transition", "lifecycle", "lifecycle_transition", "transition")
"""Column names read as a lifecycle column (any case and spacing)."""

START_NAMES = ("start_timestamp", "start_time", "start time", "start timestamp", "starttime", "start", "start_date")
"""Column names read as the start time beside the time column."""

STANDARD_TRANSITIONS = ("schedule", "assign", "reassign", "withdraw", "start", "suspend", "resume", "pi_abort",
                        "ate_abort", "complete", "autoskip", "manualskip", "unknown")  # fmt: skip
"""The XES standard lifecycle model's transitions (letter case ignored)."""

LIFECYCLE_MODES = ("intervals", "complete")


def _instants(frame: pd.DataFrame, col: str = "timestamp", offset: str = "utc_offset") -> Any:
    ts = frame[col].to_numpy(dtype="M8[ns]").view(np.int64)
    if offset in frame:
        return ts - frame[offset].to_numpy(dtype=np.int64) * 1_000_000_000
    return ts


def pair_lifecycle(events: pd.DataFrame, col: str, ledger: Ledger, mode: str) -> tuple[pd.DataFrame, Ledger]:
    """One row per activity instance from rows with a lifecycle transition in ``col``.

    ``mode`` ``complete`` keeps only the completes (pm4py's default view);
    ``intervals`` pairs starts with completes. A row with no transition counts
    as a complete. A value outside :data:`STANDARD_TRANSITIONS` is set aside
    with its cell. Other standard transitions (``schedule``, ``suspend``, ...)
    do not move a case: each becomes an attribute of the instance it precedes
    (``schedule_timestamp``, ...).
    """
    raw = events[col]
    if isinstance(raw.dtype, pd.CategoricalDtype) or len(raw) > 10_000:  # a handful of values: read each once
        codes, uniques = pd.factorize(raw)
        words = pd.Series(uniques).astype("string").str.strip().str.casefold().to_numpy(dtype=object)
        said = np.where(codes >= 0, words[np.maximum(codes, 0)] if len(words) else "complete", "complete")
        said = said.astype(object)
    else:
        said = raw.astype("string").str.strip().str.casefold().fillna("complete").to_numpy(dtype=object)
    said[said == ""] = "complete"
    unknown = ~np.isin(said, STANDARD_TRANSITIONS)
    rows = events["row"].to_numpy()
    if unknown.any():
        ledger = ledger.add("unknown_lifecycle", rows[unknown], column=col,
                            values=raw.to_numpy(dtype=object)[unknown],
                            case_ids=events["case_id"].astype(object).to_numpy()[unknown])  # fmt: skip
    start, complete = said == "start", said == "complete"
    other = ~(unknown | start | complete)
    if mode == "complete":
        left_out = start | other
        if left_out.any():
            ledger = ledger.add("lifecycle_left_out", rows[left_out], column=col,
                                values=raw.to_numpy(dtype=object)[left_out],
                                case_ids=events["case_id"].astype(object).to_numpy()[left_out])  # fmt: skip
        return events[complete].drop(columns=col).reset_index(drop=True), ledger.note(
            f"--lifecycle complete: only the {int(complete.sum()):,} complete events are used, as pm4py does by "
            f"default; {int(left_out.sum()):,} other transitions left out")  # fmt: skip
    frame = events.drop(columns=col).assign(_t=_instants(events), _say=said)
    if not start.any():  # no work is started: every event is an instant, the other transitions attributes
        note = "lifecycle: no start transitions, so every event is an instant (its completion)"
        done = events[complete].drop(columns=col).reset_index(drop=True)
        return _attach_others(done, frame[other], ledger.note(note))
    key = ["case_id", "event"]
    starts = frame[start].sort_values([*key, "_t", "row"], kind="stable")
    completes = frame[complete].sort_values([*key, "_t", "row"], kind="stable")
    starts = starts.assign(_k=starts.groupby(key, observed=True, sort=False).cumcount())
    completes = completes.assign(_k=completes.groupby(key, observed=True, sort=False).cumcount())
    s_side = starts[[*key, "_k", "_t", "timestamp", *(["utc_offset"] if "utc_offset" in frame else [])]]
    s_side = s_side.rename(columns={"_t": "_st", "timestamp": "start_timestamp", "utc_offset": "start_offset"})
    paired = completes.merge(s_side, on=[*key, "_k"], how="outer", indicator=True, sort=False)
    both = (paired["_merge"] == "both").to_numpy()
    only_start = (paired["_merge"] == "right_only").to_numpy()
    # An activity the log never starts (BPIC's A_ and O_ events) is an instant: its work takes no time.
    instant = (paired["_merge"] == "left_only").to_numpy() & ~paired["event"].isin(starts["event"].unique()).to_numpy()
    paired.loc[instant, "start_timestamp"] = paired.loc[instant, "timestamp"].to_numpy()
    if "utc_offset" in frame:
        paired.loc[instant, "start_offset"] = paired.loc[instant, "utc_offset"].to_numpy()
    n_only_complete = int((paired["_merge"] == "left_only").sum()) - int(instant.sum())
    n_only_start = int(only_start.sum())
    if only_start.any():  # work started and not (yet) completed: its other columns from the start row
        filler = starts.set_index([*key, "_k"])
        at = filler.reindex(pd.MultiIndex.from_frame(paired.loc[only_start, [*key, "_k"]]))
        for c in frame.columns:
            if c not in (*key, "_k", "_t", "timestamp", "start_timestamp", "_say"):
                paired.loc[only_start, c] = at[c].to_numpy()
        paired.loc[only_start, "timestamp"] = paired.loc[only_start, "start_timestamp"].to_numpy()
        if "utc_offset" in frame:
            paired.loc[only_start, "utc_offset"] = paired.loc[only_start, "start_offset"].to_numpy()
    backwards = both & (paired["_st"].to_numpy() > paired["_t"].to_numpy())
    paired["in_progress"] = only_start
    out = paired.drop(columns=["_merge", "_k", "_st", "_t", "_say"], errors="ignore")
    out["row"] = out["row"].astype(np.int64)
    if "utc_offset" in frame:
        out["utc_offset"] = out["utc_offset"].astype(np.int32)
        out["start_offset"] = out["start_offset"].fillna(out["utc_offset"]).astype(np.int32)
    n_pairs = int(both.sum())
    ledger = ledger.note(f"lifecycle: {n_pairs:,} start/complete pair{'s' if n_pairs != 1 else ''} made into "
                         "intervals (paired by case, activity and order); time at a step is split into waiting "
                         "(until the work started) and working (until it completed)")  # fmt: skip
    if backwards.any():
        ledger = ledger.note(f"lifecycle: {int(backwards.sum()):,} pair{'s' if backwards.sum() != 1 else ''} start "
                             "after their complete: their working time counts 0")  # fmt: skip
    if instant.any():
        ledger = ledger.note(f"lifecycle: {int(instant.sum()):,} completes of activities the log never starts are "
                             "instants (no working time)")  # fmt: skip
    if n_only_complete:
        ledger = ledger.note(f"lifecycle: {n_only_complete:,} complete{'s' if n_only_complete != 1 else ''} with no "
                             "start: kept, with their working time unknown")  # fmt: skip
    if n_only_start:
        ledger = ledger.note(f"lifecycle: {n_only_start:,} start{'s' if n_only_start != 1 else ''} with no complete: "
                             "kept as work in progress (ended by the case's next step, if it went on)")  # fmt: skip
    out, ledger = _attach_others(out, frame[other], ledger)
    case_key = (out["case_id"].cat.codes.to_numpy() if isinstance(out["case_id"].dtype, pd.CategoricalDtype)
                else out["case_id"].astype(str).to_numpy())  # fmt: skip
    order = np.lexsort((out["row"].to_numpy(), case_key))
    out = out.iloc[order].reset_index(drop=True)
    for c in ("case_id", "event"):
        out[c] = out[c].astype(events[c].dtype)
    return out, ledger


def _attach_others(out: pd.DataFrame, others: pd.DataFrame, ledger: Ledger) -> tuple[pd.DataFrame, Ledger]:
    """Each other transition (schedule, suspend, ...) as the time column ``<transition>_timestamp`` of the first
    instance of the same case and activity that completes at or after it."""
    if others.empty:
        return out, ledger
    out = out.assign(_t=_instants(out), _pos=np.arange(len(out)))
    for said, rows in others.groupby("_say", sort=True):
        name = f"{said}_timestamp"
        right = rows[["case_id", "event", "_t", "timestamp"]].rename(columns={"timestamp": name})
        left = out[["case_id", "event", "_t", "_pos"]].sort_values("_t", kind="stable")
        right = right.sort_values("_t", kind="stable")
        for c in ("case_id", "event"):
            left[c] = left[c].astype(str)
            right[c] = right[c].astype(str)
        got = pd.merge_asof(left, right, on="_t", by=["case_id", "event"], direction="backward")
        col = np.full(len(out), np.datetime64("NaT"), dtype="M8[ns]")
        col[got["_pos"].to_numpy()] = got[name].to_numpy(dtype="M8[ns]")
        out[name] = col
        ledger = ledger.note(f"lifecycle: {said} transitions ({len(rows):,}) do not move a case: each is kept as the "
                             f"{name} of the next instance of its activity")  # fmt: skip
    return out.drop(columns=["_t", "_pos"]), ledger
