"""Draft a process file from event data: steps from events, transitions from observed moves.

The draft is a starting point for a workshop, not a model of record: it puts
every observed event name in a step, every observed move in a transition
(with its count as a comment), start steps where cases begin, end steps where
a share of cases finish (or with no way out), and the time zone the data's
offsets follow. It always passes ``flowmap validate``.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass

import networkx as nx
import numpy as np
import numpy.typing as npt
import pandas as pd

from flowmap.analysis.metrics import edge_table
from flowmap.analysis.replay import Replay, replay
from flowmap.errors import FlowmapError
from flowmap.events.read import EventLog
from flowmap.model.process import Process, Step, normalise_name

__all__ = ["Draft", "discover", "draft"]


def _slug(name: str) -> str:
    s = re.sub(r"[^a-z0-9]+", "_", normalise_name(name)).strip("_")[:60].strip("_")
    return s or "step"


def _cases(n: int) -> str:
    return f"{n:,} case{'s' if n != 1 else ''}"


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


@dataclass(frozen=True)
class Draft:
    """A drafted process file, and what a reviewer should know about how it was drawn."""

    text: str
    notes: tuple[str, ...]


def discover(
    log: EventLog,
    *,
    process_id: str = "discovered",
    title: str | None = None,
    end_share: float = 0.05,
    min_share: float = 0.0,
) -> str:
    """Return the text of a draft process file (format 1) for ``log``: :func:`draft`'s text."""
    return draft(log, process_id=process_id, title=title, end_share=end_share, min_share=min_share).text


def draft(
    log: EventLog,
    *,
    process_id: str = "discovered",
    title: str | None = None,
    end_share: float = 0.05,
    min_share: float = 0.0,
) -> Draft:
    """Draft a process file (format 1) for ``log`` (docs/process-format.md, "Drafting a process from data").

    Parameters
    ----------
    log
        Events from :func:`flowmap.read_events` (with ``guess_zone`` the draft
        names the zone the data's offsets follow).
    process_id
        The ``id`` of the draft (a slug is made from it).
    title
        Its title (default: "Discovered from SOURCE").
    end_share
        A step where at least this share of all cases has its last event is an
        end step (so is a step with no way out).
    min_share
        Moves made by fewer than this share of all cases are left out (each
        step keeps its commonest way in and out, so the draft stays valid); the
        deviations that causes are counted in the notes.

    Returns
    -------
    Draft
        The YAML text, which passes ``flowmap validate``, and notes.
    """
    for name, value in (("end_share", end_share), ("min_share", min_share)):
        if not 0.0 <= value <= 1.0:
            raise FlowmapError(f"{name.replace('_', '-')} must be a share between 0 and 1 (got {value})")
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
    n_cases = max(len(result.cases), 1)
    firsts = Counter(visits.loc[codes.seq == 0, "step"].astype(str))
    lasts = Counter(visits.loc[codes.last, "step"].astype(str))
    case_counts = _cases_per_move(result)
    by_share = {s.id for s in ranked if lasts.get(s.id, 0) >= end_share * n_cases}
    kept = _main_flow(ranked, edges, case_counts, set(firsts), by_share, n_cases * min_share)
    left_out = edges[~kept]
    edges = edges[kept].reset_index(drop=True)
    outgoing = Counter(edges["from"]) if len(edges) else Counter()
    ends = by_share | {s.id for s in ranked if not outgoing.get(s.id)}
    notes: list[str] = []

    pid = _slug(process_id).replace("_", "-") or "discovered"
    first, last = result.first_event, result.last_event
    zone, why = log.data_zone or (log.timezone, f"the time zone the data was read in ({log.timezone})")
    notes.append(f"timezone: {zone}, because {why}")
    lines = [
        f"# Drafted by `flowmap discover` from {log.ledger.source}",
        f"# {_cases(len(result.cases))}, {len(visits):,} visit{'s' if len(visits) != 1 else ''}, events from "
        f"{first.date() if first is not None else '?'} to {last.date() if last is not None else '?'}.",
        "# Review it: rename steps, add lanes and targets with their sources, remove rare moves.",
        "flowmap: 1",
        f"id: {pid}",
        f"title: {_q(title or f'Discovered from {log.ledger.source}')}",
        "clock: calendar_days",
        f"timezone: {zone}  # {why}",
        "steps:",
    ]
    for s in ranked:
        n_cases_here = int((visits["step"] == s.id).sum())
        lines.append(f"  - id: {s.id}  # {n_cases_here} visit{'s' if n_cases_here != 1 else ''}")
        lines.append(f"    label: {_q(s.label)}")
        lines.append(f"    events: [{', '.join(_q(e) for e in s.events)}]")
        if firsts.get(s.id):
            lines.append(f"    start: true  # {_cases(firsts[s.id])} begin here")
        ending = lasts.get(s.id, 0)
        if s.id in ends and not outgoing.get(s.id):
            lines.append(f"    end: true  # {_cases(ending)} end here")
        elif s.id in ends:
            lines.append(f"    end: true  # {ending} cases ({ending / n_cases:.0%}) end here, at least --end-share "
                         f"{end_share:.0%}; it has ways out too")  # fmt: skip
            notes.append(f"'{s.id}' is an end step: {ending} of {n_cases} cases ({ending / n_cases:.0%}) end there, "
                         f"at least the end share {end_share:.0%}, though it has ways out")  # fmt: skip
        elif ending:
            lines.append(f"    # {ending} cases end here ({ending / n_cases:.1%}), under --end-share "
                         f"{end_share:.0%}: not an end step, so they count as open")  # fmt: skip
    lines.append("transitions:")
    if len(edges) == 0:
        lines[-1] = "transitions: []"
    for frm, to, count, median in zip(edges["from"], edges["to"], edges["count"], edges["median_days"], strict=True):
        med = "" if np.isnan(median) else f", median {median:.3g} days before moving"
        moves = "move" if count == 1 else "moves"
        lines.append(f"  - {frm} -> {to}  # {count} {moves}{med}")
    if len(left_out):
        lines.append(f"# Left out (made by fewer than --min-share {min_share:.0%} of cases):")
        for frm, to, count in zip(left_out["from"], left_out["to"], left_out["count"], strict=True):
            lines.append(f"#   - {frm} -> {to}  # {count} move{'s' if count != 1 else ''}")
    text = "\n".join(lines) + "\n"
    if len(left_out):
        from flowmap.files.process import parse_process

        check = replay(parse_process(text), log)
        n_dev = len(check.deviations)
        n_case = int(check.deviations["case_id"].nunique()) if n_dev else 0
        notes.append(f"--min-share {min_share:.0%} left out {len(left_out)} of {len(left_out) + len(edges)} moves "
                     f"({int(left_out['count'].sum()):,} of {int(left_out['count'].sum() + edges['count'].sum()):,} "
                     f"observed); replaying the log against this draft finds {n_dev:,} deviation"
                     f"{'s' if n_dev != 1 else ''} in {n_case:,} case{'s' if n_case != 1 else ''}")  # fmt: skip
    return Draft(text=text, notes=tuple(notes))


def _cases_per_move(result: Replay) -> dict[tuple[str, str], int]:
    """How many cases make each observed move at least once."""
    codes = result.visit_codes()
    moves = np.flatnonzero(codes.prev_step >= 0)
    if not len(moves):
        return {}
    n = len(result.process.steps)
    case = result.visits["case_code"].to_numpy()[moves].astype(np.int64)
    key = codes.prev_step[moves].astype(np.int64) * n + codes.step[moves]
    pairs = np.unique(np.stack([key, case]), axis=1)[0]
    uniq, counts = np.unique(pairs, return_counts=True)
    ids = result.process.step_ids
    return {(ids[k // n], ids[k % n]): int(c) for k, c in zip(uniq.tolist(), counts.tolist(), strict=True)}


def _main_flow(
    steps: list[Step],
    edges: pd.DataFrame,
    cases: dict[tuple[str, str], int],
    starts: set[str],
    ends: set[str],
    least: float,
) -> npt.NDArray[np.bool_]:
    """Which moves a draft keeps: those made by at least ``least`` cases, plus, so that the draft stays valid,
    the commonest way out of each step that is not an end, and (until every step can be reached from a start)
    the commonest way in."""
    pairs = list(zip(edges["from"].tolist(), edges["to"].tolist(), strict=True))
    keep = np.array([cases.get(p, 0) >= least for p in pairs], dtype=bool)
    if keep.all():
        return keep
    rank = {p: i for i, p in enumerate(pairs)}  # edges come most frequent first
    for s in steps:  # a way out for every step that had one
        outs = [p for p in pairs if p[0] == s.id]
        if outs and s.id not in ends and not any(keep[rank[p]] for p in outs):
            keep[rank[outs[0]]] = True
    while True:
        graph = nx.DiGraph([p for p in pairs if keep[rank[p]]])
        graph.add_nodes_from(s.id for s in steps)
        reached = set(starts).union(*(nx.descendants(graph, s) for s in starts if s in graph))
        bridges = [p for p in pairs if not keep[rank[p]] and p[0] in reached and p[1] not in reached]
        if not bridges:
            return keep
        keep[rank[bridges[0]]] = True
