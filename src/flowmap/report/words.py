"""The report's plain-language sentences: the summary that leads it and the notes on method.

With ``--suppress-below``, counts are shown as
:func:`flowmap.analysis.disclosure.protected_counts` says: small ones as
``<N``, and enough others hidden that none can be worked out.
"""

from __future__ import annotations

from flowmap import __version__
from flowmap.analysis.metrics import RAG_RULE, Drift
from flowmap.analysis.replay import Replay
from flowmap.model.calendars import days_word
from flowmap.privacy import Protected

__all__ = ["method_notes", "summary_sentences"]


def summary_sentences(result: Replay, d: Drift, *, shown: Protected | None = None) -> list[str]:
    """What the report says first: cases, each span target (statutory first), the biggest drift point, deviations.

    With ``shown`` (complementary suppression), each count is printed as it says, and no rate whose
    numerator or denominator is hidden is printed.
    """
    counts = result.counts

    def n(cell: str, value: int) -> str:
        return shown.text(cell, words=True) if shown is not None and cell in shown.values else str(value)

    def hidden(cells: dict[str, int]) -> bool:
        return any(n(c, v) != str(v) for c, v in cells.items())

    unit = days_word(result.process.clock)
    out = [
        f"{n('cases', counts['cases'])} cases: {n('complete', counts['complete'])} complete, "
        f"{n('open', counts['open'])} open, of which {n('stalled', counts['stalled'])} are stalled (over the "
        "target of the step they are at).",
    ]
    basis = {tg.id: tg for tg in result.process.targets}
    for r in d.targets.to_dict("records"):  # statutory first (drift orders them)
        judged = int(r["met"]) + int(r["missed"]) + int(r["overdue"])
        target = basis[r["target"]]
        why = target.basis_words + (f", {target.source}" if target.source else "")
        p = f"t:{r['target']}:"
        if judged:
            rate = "" if hidden({p + "met": int(r["met"]), p + "judged": judged}) else f" ({100 * r['met_rate']:.0f}%)"
            out.append(f"{r['label']} ({why}): met for {n(p + 'met', int(r['met']))} of {n(p + 'judged', judged)}"
                       f"{rate}; {n(p + 'overdue', int(r['overdue']))} overdue now; "
                       f"{n(p + 'running', int(r['running']))} still running.")  # fmt: skip
    top = d.steps[d.steps["excess_days"] > 0].head(1)
    if len(top):
        row = top.iloc[0]
        sid = str(row["step"])
        out.append(
            f"The biggest drift point is '{row['label']}' ({row['lane'] or 'no lane'}): "
            f"{n(f'breaches:{sid}', int(row['breaches']))} of {n(f'visits:{sid}', int(row['visits']))} visits over "
            f"its target of {row['target']:g} {unit}, {row['excess_days']:.0f} {unit} over in all."
        )
    if counts["deviating"]:
        out.append(f"{n('deviating', counts['deviating'])} cases left the declared path at least once.")
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
        notes.append(
            f"Counts below {suppress_below} are shown as <{suppress_below}, and enough other counts are hidden "
            f"(* in tables, 'hidden' in sentences) that none of them can be worked out by adding or subtracting "
            "the figures shown; no rate is shown whose count is hidden. Counts a reader can make by counting the "
            "rows of the open-case tables (cases open at each step, open cases in all) are shown as they are."
        )
    if pseudonymised:
        notes.append("Case ids are keyed pseudonyms (HMAC-SHA256); the key is not in this report.")
    return notes
