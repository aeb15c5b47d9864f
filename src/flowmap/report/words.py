"""The report's plain-language sentences: the summary that leads it and the notes on method.

Small counts are shown as ``<N`` (:func:`flowmap.privacy.suppress`) wherever
``suppress_below`` is given.
"""

from __future__ import annotations

from flowmap import __version__
from flowmap.analysis.metrics import RAG_RULE, Drift
from flowmap.analysis.replay import Replay
from flowmap.model.calendars import days_word
from flowmap.privacy import suppress

__all__ = ["method_notes", "summary_sentences"]


def summary_sentences(result: Replay, d: Drift, *, suppress_below: int | None = None) -> list[str]:
    """What the report says first: cases, each span target (statutory first), the biggest drift point, deviations."""
    t = suppress_below
    counts = result.counts
    unit = days_word(result.process.clock)
    out = [
        f"{suppress(counts['cases'], t)} cases: {suppress(counts['complete'], t)} complete, "
        f"{suppress(counts['open'], t)} open, of which {suppress(counts['stalled'], t)} are stalled (over the "
        "target of the step they are at).",
    ]
    basis = {tg.id: tg for tg in result.process.targets}
    for r in d.targets.to_dict("records"):  # statutory first (drift orders them)
        judged = int(r["met"]) + int(r["missed"]) + int(r["overdue"])
        target = basis[r["target"]]
        why = target.basis_words + (f", {target.source}" if target.source else "")
        if judged:
            met, of, running = suppress(int(r["met"]), t), suppress(judged, t), suppress(int(r["running"]), t)
            overdue = suppress(int(r["overdue"]), t)
            rate = "" if "<" in met + of else f" ({100 * r['met_rate']:.0f}%)"
            out.append(f"{r['label']} ({why}): met for {met} of {of}{rate}; {overdue} overdue now; "
                       f"{running} still running.")  # fmt: skip
    top = d.steps[d.steps["excess_days"] > 0].head(1)
    if len(top):
        row = top.iloc[0]
        out.append(
            f"The biggest drift point is '{row['label']}' ({row['lane'] or 'no lane'}): "
            f"{suppress(int(row['breaches']), t)} of {suppress(int(row['visits']), t)} visits over its target of "
            f"{row['target']:g} {unit}, {row['excess_days']:.0f} {unit} over in all."
        )
    if counts["deviating"]:
        out.append(f"{suppress(counts['deviating'], t)} cases left the declared path at least once.")
    return out


def method_notes(result: Replay, *, suppress_below: int | None = None, pseudonymised: bool = False) -> list[str]:
    """How the figures were made, for the report's last section."""
    process = result.process
    notes = [
        f"Clock: {days_word(process.clock)} (calendar: {process.calendar}); as of {result.as_of.date()}; a visit "
        "lasts from its entry to the next step's entry; the last visit of an open case runs to the as-of date.",
        f"Red, amber, green on the map: {RAG_RULE}.",
        "Span targets: the clock starts at the first entry to 'from' and stops at the first entry to 'to' after it; "
        "met rate = met / (met + missed + overdue).",
        "Run charts: baseline median from the points before the first PDSA cycle (else all points); IHI rules "
        "(shift: 6 or more on one side; trend: 5 or more rising or falling, ties skipped; too few or too many runs; "
        "astronomical points) and Anhøj rules (longest run, crossings).",
        f"flowmap {__version__}; process file {process.path.name if process.path else process.id}.",
    ]
    if suppress_below:
        notes.append(f"Counts below {suppress_below} are shown as <{suppress_below}.")
    if pseudonymised:
        notes.append("Case ids are keyed pseudonyms (HMAC-SHA256); the key is not in this report.")
    return notes
