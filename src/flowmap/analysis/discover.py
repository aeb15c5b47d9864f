"""Draft a process file from event data: steps from events, transitions from observed moves.

The draft is a starting point for a workshop, not a model of record: it puts
every observed event name in a step, every observed move in a transition
(with its count as a comment), start steps where cases begin and end steps
where cases finish with no way out. It always passes ``flowmap validate``.
"""

from __future__ import annotations

import json
import re
from collections import Counter

import numpy as np
import pandas as pd

from flowmap.analysis.metrics import edge_table
from flowmap.analysis.replay import replay
from flowmap.events.read import EventLog
from flowmap.model.process import Process, Step, normalise_name

__all__ = ["discover"]


def _slug(name: str) -> str:
    s = re.sub(r"[^a-z0-9]+", "_", normalise_name(name)).strip("_")[:60].strip("_")
    return s or "step"


def _q(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def _free_process(log: EventLog) -> Process:
    """A process with a step per event name (spellings that normalise alike share one) and no moves."""
    counts = log.events["event"].astype(str).value_counts()
    by_key: dict[str, list[str]] = {}
    for name in counts.index:  # most frequent spelling first
        by_key.setdefault(normalise_name(name), []).append(name)
    ids: dict[str, str] = {}
    used: set[str] = set()
    for key in sorted(by_key):
        base = _slug(key)
        sid, i = base, 2
        while sid in used:
            sid, i = f"{base}_{i}", i + 1
        used.add(sid)
        ids[key] = sid
    steps = tuple(Step(id=ids[k], label=names[0], events=tuple(names), start=True) for k, names in by_key.items())
    return Process(id="free", title="free", steps=steps)


def discover(log: EventLog, *, process_id: str = "discovered", title: str | None = None) -> str:
    """Return the text of a draft process file (format 1) for ``log``.

    Parameters
    ----------
    log
        Events from :func:`flowmap.read_events`.
    process_id
        The ``id`` of the draft (a slug is made from it).
    title
        Its title (default: "Discovered from SOURCE").

    Returns
    -------
    str
        YAML text that passes ``flowmap validate``.
    """
    free = _free_process(log)
    first_pass = replay(free, log)  # every name a step, nothing declared: replay gives visits and moves
    codes = first_pass.visit_codes()
    # Order steps by where they tend to happen in a case (median visit number), then by name.
    order = pd.Series(codes.seq).groupby(first_pass.visits["step"].astype(str).to_numpy()).median()
    ranked = sorted(free.steps, key=lambda s: (float(order.get(s.id, np.inf)), s.id))
    # Replay breaks same-time ties by the steps' order in the file, so count the moves with the draft's own
    # order: replaying the log against its draft then finds exactly these moves, and no deviation.
    result = replay(Process(id="free", title="free", steps=tuple(ranked)), log)
    visits = result.visits
    codes = result.visit_codes()
    edges = edge_table(result)
    outgoing = Counter(edges["from"]) if len(edges) else Counter()
    firsts = Counter(visits.loc[codes.seq == 0, "step"].astype(str))
    lasts = Counter(visits.loc[codes.last, "step"].astype(str))

    pid = _slug(process_id).replace("_", "-") or "discovered"
    first, last = result.first_event, result.last_event
    lines = [
        f"# Drafted by `flowmap discover` from {log.ledger.source}",
        f"# {len(result.cases)} cases, {len(visits)} visits, events from "
        f"{first.date() if first is not None else '?'} to {last.date() if last is not None else '?'}.",
        "# Review it: rename steps, add lanes and targets with their sources, remove rare moves.",
        "flowmap: 1",
        f"id: {pid}",
        f"title: {_q(title or f'Discovered from {log.ledger.source}')}",
        "clock: calendar_days",
        "steps:",
    ]
    for s in ranked:
        n_cases_here = int((visits["step"] == s.id).sum())
        lines.append(f"  - id: {s.id}  # {n_cases_here} visit{'s' if n_cases_here != 1 else ''}")
        lines.append(f"    label: {_q(s.label)}")
        lines.append(f"    events: [{', '.join(_q(e) for e in s.events)}]")
        if firsts.get(s.id):
            lines.append(f"    start: true  # {firsts[s.id]} cases begin here")
        if not outgoing.get(s.id):
            lines.append(f"    end: true  # {lasts.get(s.id, 0)} cases end here")
        elif lasts.get(s.id):
            lines.append(f"    # {lasts[s.id]} cases end here, but it has ways out, so it is not an end step")
    lines.append("transitions:")
    if len(edges) == 0:
        lines[-1] = "transitions: []"
    for frm, to, count, median in zip(edges["from"], edges["to"], edges["count"], edges["median_days"], strict=True):
        med = "" if np.isnan(median) else f", median {median:.3g} days before moving"
        moves = "move" if count == 1 else "moves"
        lines.append(f"  - {frm} -> {to}  # {count} {moves}{med}")
    return "\n".join(lines) + "\n"
