"""Make the bundled example data: synthetic, seeded, no real child.

    python examples/make_example_data.py

writes ``examples/data/legal-advice-tracker.csv`` (a wide tracker, one row per
child, the shape of a PACE-style spreadsheet),
``examples/data/permanence-events.csv`` (one row per event) and
``examples/data/messy-tracker.xlsx`` (the legal-advice tracker as teams really
keep it: a merged title row, a blank row, text dates beside typed ones, "N/A"
and "awaiting", two impossible dates, notes, a totals row, a second sheet). Delays are drawn
from the log-normal figures in the domain brief (section 3): legal advice
median 14 days from a complete bundle, aim 8; panel median 70 days after the
recommendation; ADM median 10 days (p90 21); lodging median 60 days after the
ADM; court 120 days unopposed to a year defended. Re-running gives the same
bytes.
"""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parent / "data"
AS_OF = dt.date(2025, 10, 31)
rng = np.random.default_rng(20251031)


def lognormal(median: float, p90: float) -> float:
    sigma = np.log(p90 / median) / 1.2816
    return float(median * np.exp(sigma * rng.standard_normal()))


def workday_after(day: dt.date, days: float) -> dt.date:
    n = max(0, round(days))
    d = day
    while n > 0:
        d += dt.timedelta(days=1)
        if d.weekday() < 5:
            n -= 1
    while d.weekday() >= 5:
        d += dt.timedelta(days=1)
    return d


def fmt(d: dt.date | None) -> str:
    return "" if d is None or d > AS_OF else d.strftime("%d/%m/%Y")


def legal_tracker() -> None:
    cols = ["Child", "Advice needed", "Referral form started", "Sent to Legal", "Solicitor allocated",
            "More information requested", "Information sent", "Advice issued", "Meeting held", "Notes"]  # fmt: skip
    rows = []
    start = dt.date(2024, 11, 4)
    for i in range(1, 41):
        need = workday_after(start, i * 6 + rng.integers(0, 4))
        form = workday_after(need, lognormal(5, 12))
        sent = workday_after(form, lognormal(4, 10))
        alloc = workday_after(sent, lognormal(2, 6))
        rework = rng.random() < (0.45 if need < dt.date(2025, 3, 1) else 0.15)  # the referral form from March
        asked = workday_after(alloc, lognormal(3, 6)) if rework else None
        resent = workday_after(asked, lognormal(6, 15)) if asked else None
        issued = workday_after(resent or alloc, lognormal(9 if rework else 6, 20))
        meeting = issued + dt.timedelta(days=int(lognormal(10, 25)))
        note = "awaiting parenting assessment" if rework else ""
        rows.append([f"Child {i}", fmt(need), fmt(form), fmt(sent), fmt(alloc), fmt(asked), fmt(resent),
                     fmt(issued), fmt(meeting), note])  # fmt: skip
    with open(OUT / "legal-advice-tracker.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(cols)
        w.writerows(rows)


def permanence_log() -> None:
    rows = []
    start = dt.date(2022, 6, 1)
    for i in range(1, 49):
        child = f"PO-{i:03d}"
        t = start + dt.timedelta(days=int(i * 19 + rng.integers(0, 10)))
        events = [("looked after", t)]
        t += dt.timedelta(days=int(lognormal(38, 55)))
        events.append(("first LAC review", t))
        if rng.random() < 0.7:
            t += dt.timedelta(days=int(lognormal(88, 110)))
            events.append(("second LAC review", t))
        t += dt.timedelta(days=int(lognormal(60, 200)))
        events.append(("permanence recommended", t))
        if rng.random() < 0.8:
            t += dt.timedelta(days=int(lognormal(14, 40)))
            events.append(("legal advice received", t))
        t += dt.timedelta(days=int(lognormal(40, 90)))
        events.append(("CAPR submitted", t))
        t += dt.timedelta(days=int(lognormal(30, 80)))
        events.append(("panel", t))
        if rng.random() < 0.1:  # panel defers for more reports
            t += dt.timedelta(days=int(lognormal(30, 60)))
            events.append(("CAPR submitted", t))
            t += dt.timedelta(days=int(lognormal(28, 40)))
            events.append(("panel", t))
        t += dt.timedelta(days=int(lognormal(10, 21)))
        events.append(("ADM decision", t))
        if rng.random() < 0.6:
            t += dt.timedelta(days=int(lognormal(7, 20)))
            events.append(("notice to reporter", t))
        if rng.random() < 0.85:  # the rest were not recorded in the tracker
            t += dt.timedelta(days=int(lognormal(21, 50)))
            events.append(("pre-application review", t))
        t += dt.timedelta(days=int(lognormal(30, 70)))
        events.append(("petition lodged", t))
        if rng.random() < 0.08:  # recorded out of order in the tracker: an undeclared move
            events.append(("second LAC review", t + dt.timedelta(days=5)))
        t += dt.timedelta(days=int(lognormal(30, 60)))
        events.append(("preliminary hearing", t))
        if rng.random() < 0.3:
            t += dt.timedelta(days=int(lognormal(120, 250)))
            events.append(("proof", t))
        t += dt.timedelta(days=int(lognormal(40, 120)))
        events.append(("order granted", t))
        for name, day in events:
            if day <= AS_OF:
                rows.append([child, name, day.isoformat(), "tracker", ""])
    with open(OUT / "permanence-events.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["child_ref", "event_type", "event_date", "source", "note"])
        w.writerows(rows)


def messy_tracker() -> None:
    """A workbook kept by hand. Its problems are placed, not random, so tests and docs can name them."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    from flowmap.io import workbook_bytes

    local = np.random.default_rng(20251127)  # its own stream: the other files do not change
    cols = ["Child ID", "Worker", "Advice needed", "Referral form started", "Sent to Legal", "Solicitor allocated",
            "More information requested", "Information sent", "Advice issued", "Notes"]  # fmt: skip
    wb = Workbook()
    ws = wb.active
    ws.title = "Tracker"
    ws["A1"] = "Legal Advice Tracker 2024-26 - South Locality - OFFICIAL-SENSITIVE"
    ws["A1"].font = Font(bold=True, size=14)
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(cols))
    ws.append([])  # row 2: blank
    ws.append(cols)  # row 3: the header
    start = dt.date(2025, 2, 17)
    as_of = dt.date(2025, 10, 31)
    counts = [0] * len(cols)
    for i in range(1, 61):  # rows 4-63

        def lag(median: float, p90: float) -> float:
            sigma = np.log(p90 / median) / 1.2816
            return float(median * np.exp(sigma * local.standard_normal()))

        need = workday_after(start, i * 3 + int(local.integers(0, 4)))
        form = workday_after(need, lag(5, 12))
        sent = workday_after(form, lag(4, 10))
        alloc = workday_after(sent, lag(2, 6))
        rework = local.random() < 0.3
        asked = workday_after(alloc, lag(3, 6)) if rework else None
        resent = workday_after(asked, lag(6, 15)) if asked else None
        issued = workday_after(resent or alloc, lag(8, 20))
        dates: list[object] = [need, form, sent, alloc, asked, resent, issued]
        cells: list[object] = []
        for j, d in enumerate(dates):
            if d is None and j in (4, 5):
                cells.append("N/A" if i % 4 == 0 else None)  # a rework step that did not happen
            elif d is None or d > as_of:
                # Steps not reached yet, written the ways people write them.
                cells.append(["awaiting", "tbc", None, "pending"][(i + j) % 4])
            elif (i + j) % 7 == 0:
                cells.append(d.strftime("%d/%m/%Y"))  # typed as text, not as a date
            else:
                cells.append(dt.datetime(d.year, d.month, d.day))
        for j, c in enumerate(cells):
            if isinstance(c, (dt.datetime, str)) and c not in ("N/A", "awaiting", "tbc", "pending"):
                counts[2 + j] += 1
        note = "awaiting parenting assessment" if rework else ""
        ws.append([f"CP-{i:03d}", ["AB", "CD", "EF"][i % 3], *cells, note])
    # Two impossible dates, typed by hand: E14 (Sent to Legal) and I40 (Advice issued).
    ws["E14"] = "14/13/2025"
    ws["I40"] = "31/02/2025"
    ws.append(["Total", None, *counts[2:9], None])  # row 64: a totals row
    notes = wb.create_sheet("Lookups")
    notes.append(["Worker", "Team"])
    for w, t in (("AB", "North"), ("CD", "South"), ("EF", "South")):
        notes.append([w, t])
    wb.properties.creator = "flowmap example data"
    (OUT / "messy-tracker.xlsx").write_bytes(workbook_bytes(wb))  # the same bytes every time


if __name__ == "__main__":
    OUT.mkdir(parents=True, exist_ok=True)
    legal_tracker()
    permanence_log()
    messy_tracker()
    print(f"wrote {OUT / 'legal-advice-tracker.csv'}, {OUT / 'permanence-events.csv'} and {OUT / 'messy-tracker.xlsx'}")
