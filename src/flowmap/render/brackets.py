"""Span targets on the map: a labelled bracket alongside the steps each target spans.

A bracket runs along the map's flow, from its start step to its stop step:
below the map when steps run left to right, beside it when they run top to
bottom, and below each row it crosses when the map runs in rows (the grid
reserves room for them under each row, so the space is part of the layout
from the process alone). Brackets that would overlap take separate tracks.

Where each bracket goes depends only on the process and its layout: a label
is given room for its longest possible reading ("met 100% · AMBER"), so
data never moves a bracket.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from flowmap.model.process import Process, SpanTarget, by_basis

__all__ = ["LABEL_SIZE", "TRACK", "Segment", "base_label", "label_at_end", "segments", "tracks_per_row"]

TRACK = 24.0  # points per bracket track: the line, and its label below it
LABEL_SIZE = 8.5  # points
_CHAR = 0.56 * LABEL_SIZE  # DejaVu Sans's mean character width at LABEL_SIZE
_READING_ROOM = 32  # characters kept for the reading: " · met 100% · AMBER", " · running: 10 working days left"
_GAP = 10.0  # points between brackets on one track


@dataclass(frozen=True)
class Segment:
    """One bracket's stretch in one row, in layout points along the flow axis."""

    target: SpanTarget
    row: int
    start: float
    end: float
    first: bool  # holds the target's start step: labelled in full
    last: bool  # holds its stop step
    track: int = 0


def base_label(t: SpanTarget) -> str:
    """A bracket's words before its reading: the target and its basis."""
    text = t.display_label if len(t.display_label) <= 70 else t.display_label[:69] + "…"
    return f"{text} ({t.basis_words})" if t.basis else text


def label_width(seg: Segment) -> float:
    """Room for a segment's label: its words and the longest reading, or the continuation words."""
    chars = len(base_label(seg.target)) + _READING_ROOM if seg.first else 42
    return chars * _CHAR


def label_at_end(seg: Segment, limit: float) -> bool:
    """Whether the label is written back from the segment's end (it would run off the map from its start)."""
    return seg.start + label_width(seg) > limit and seg.end - label_width(seg) >= 0


def _room(seg: Segment, limit: float) -> tuple[float, float]:
    """The stretch a segment takes on its track: its line, or its label where longer."""
    w = label_width(seg)
    if label_at_end(seg, limit):
        return (min(seg.start, seg.end - w) - _GAP, seg.end + _GAP)
    return (seg.start - _GAP, max(seg.end, seg.start + w) + _GAP)


def segments(
    process: Process,
    extent: Mapping[str, tuple[float, float]],
    row_of: Mapping[str, int] | None,
    level: Mapping[str, int],
) -> list[Segment]:
    """Every span target's segments, each on a track: statutory targets nearest the steps.

    ``extent`` is each step box's (start, end) along the flow axis; ``row_of``
    each step's row when the map runs in rows (else one row); ``level`` each
    step's place in the flow. In rows, a target covers the steps whose level
    lies between its start and stop steps' levels.
    """
    out: list[Segment] = []
    limit = max((e for _, e in extent.values()), default=0.0)
    for t in by_basis(process.targets):
        if row_of is None:
            a, b = extent[t.from_step], extent[t.to_step]
            out.append(Segment(t, 0, min(a[0], b[0]), max(a[1], b[1]), True, True))
            continue
        lo, hi = sorted((level[t.from_step], level[t.to_step]))
        rows: dict[int, list[tuple[float, float]]] = {}
        for sid, lv in level.items():
            if lo <= lv <= hi:
                rows.setdefault(row_of[sid], []).append(extent[sid])
        first, last = row_of[t.from_step], row_of[t.to_step]
        for r in sorted(rows):
            spans = rows[r]
            out.append(Segment(t, r, min(s for s, _ in spans), max(e for _, e in spans), r == first, r == last))
    return _pack(out, limit)


def _pack(segs: list[Segment], limit: float) -> list[Segment]:
    """Tracks: each segment, statutory first, on the lowest track of its row where it overlaps nothing."""
    taken: dict[tuple[int, int], list[tuple[float, float]]] = {}
    out: list[Segment] = []
    for s in segs:  # already statutory first, then guidance, local, assumption
        lo, hi = _room(s, limit)
        track = 0
        while any(a < hi and lo < b for a, b in taken.get((s.row, track), [])):
            track += 1
        taken.setdefault((s.row, track), []).append((lo, hi))
        out.append(Segment(s.target, s.row, s.start, s.end, s.first, s.last, track))
    return sorted(out, key=lambda s: (s.row, s.track, s.start))


def tracks_per_row(segs: list[Segment]) -> dict[int, int]:
    """How many tracks each row needs."""
    out: dict[int, int] = {}
    for s in segs:
        out[s.row] = max(out.get(s.row, 0), s.track + 1)
    return out
