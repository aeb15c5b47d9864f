"""Complementary suppression: a reader who adds and subtracts what is shown recovers no hidden count.

The attack here is written independently of flowmap's own check: it reads the
numbers from the outputs (CSV files, the report's sentences and tables), sets
up every sum a reader knows holds (written out below from the meaning of the
figures, not taken from flowmap), and asks a linear programme for the smallest
and largest value each hidden count can take. A count whose smallest and
largest agree has been recovered, and the test fails.
"""

from __future__ import annotations

import html as htmllib
import re
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

from flowmap.cli.main import cli
from flowmap.files.process import load_process
from flowmap.privacy import Relation, protect

from .conftest import PROCESSES, ROOT

BELOW = 5
CASES = {
    "legal-advice": ROOT / "examples" / "data" / "legal-advice-tracker.csv",
    "permanence-order": ROOT / "examples" / "data" / "permanence-events.csv",
}


class Unknowns:
    """What a reader knows: exact numbers, and for each hidden count the range it must lie in."""

    def __init__(self) -> None:
        self.exact: dict[str, float] = {}
        self.hidden: dict[str, tuple[float, float | None]] = {}
        self.sums: list[tuple[str, list[str]]] = []

    def read(self, name: str, text: object) -> None:
        t = str(text).strip()
        if t in ("", "nan"):
            return
        if t.startswith("<"):
            rng: tuple[float, float | None] = (1, int(t[1:]) - 1)
        elif t in ("*", "hidden"):
            rng = (BELOW, None)  # a hidden count that is not small: 0 is shown as 0, 1 to N-1 as <N
        else:
            value = float(t)
            assert self.exact.get(name, value) == value, f"{name} shown as {self.exact[name]} and {value}"
            self.exact[name] = value
            return
        assert name not in self.exact, f"{name} is shown as {self.exact[name]} in one place and {t} in another"
        self.hidden[name] = rng

    def recovered(self) -> list[str]:
        """The hidden counts whose value follows from what is shown."""
        free = {c for _, parts in self.sums for c in parts if c.startswith("?")}
        names = sorted(set(self.hidden) | free)
        col = {n: i for i, n in enumerate(names)}
        rows, rhs = [], []
        for total, parts in self.sums:
            row, b = np.zeros(len(names)), 0.0
            for c, sign in [(total, 1.0)] + [(p, -1.0) for p in parts]:
                if c in col:
                    row[col[c]] += sign
                elif c in self.exact:
                    b -= sign * self.exact[c]
                else:
                    break  # a sum with a count the reader never sees: it tells nothing
            else:
                rows.append(row)
                rhs.append(b)
        bounds = [self.hidden.get(n, (0, None)) for n in names]
        out = []
        for n in self.hidden:
            goal = np.zeros(len(names))
            goal[col[n]] = 1
            lo = linprog(goal, A_eq=np.array(rows) if rows else None, b_eq=rhs or None, bounds=bounds, method="highs")
            hi = linprog(-goal, A_eq=np.array(rows) if rows else None, b_eq=rhs or None, bounds=bounds, method="highs")
            assert lo.status in (0, 3) and hi.status in (0, 3), (n, lo.message, hi.message)
            if lo.status == 0 and hi.status == 0 and -hi.fun - lo.fun < 0.5:
                out.append(f"{n} = {lo.fun:g}")
        return out


class Tables(HTMLParser):
    """Every <table> in an HTML page, as lists of rows of cell text, with the id of the section it is in."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[tuple[str, list[list[str]]]] = []
        self.section = ""
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "section":
            self.section = dict(attrs).get("id") or ""
        elif tag == "table":
            self.tables.append((self.section, []))
        elif tag == "tr" and self.tables:
            self.tables[-1][1].append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None and self.tables:
            self.tables[-1][1][-1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def sums_of_the_process(k: Unknowns, process_path: Path, targets: list[str], edges: list[tuple[str, str]]) -> None:
    """Every sum a reader of these outputs knows holds, from the meaning of the figures."""
    p = load_process(process_path)
    k.sums.append(("cases", ["complete", "open"]))
    for s in p.step_ids:
        ins = [f"edge:{a}>{b}" for a, b in edges if b == s]
        outs = [f"edge:{a}>{b}" for a, b in edges if a == s]
        # Visits into a step came by a move or started there; visits out of it left by a move or are
        # still there (open) or ended there (complete).
        k.sums.append((f"visits:{s}", [*ins, f"?start:{s}"]))
        k.sums.append((f"visits:{s}", [*outs, f"open_at:{s}", f"?complete_at:{s}"]))
    k.sums.append(("cases", [f"?start:{s}" for s in p.step_ids]))
    k.sums.append(("complete", [f"?complete_at:{s}" for s in p.step_ids]))
    k.sums.append(("open", [f"open_at:{s}" for s in p.step_ids]))
    for t in targets:
        start = p.target(t).from_step
        k.sums.append((f"t:{t}:judged", [f"t:{t}:met", f"t:{t}:missed", f"t:{t}:overdue"]))
        k.sums.append((f"cases:{start}", [f"t:{t}:{x}" for x in ("met", "missed", "overdue", "running", "void")]))


@pytest.mark.parametrize("name", sorted(CASES))
def test_no_hidden_count_can_be_recovered_from_a_shared_report_and_csvs(name: str, tmp_path: Path, runner) -> None:  # type: ignore[no-untyped-def]
    process, events = PROCESSES / f"{name}.yaml", CASES[name]
    out = tmp_path / "r.html"
    args = [str(process), str(events), "--suppress-below", str(BELOW)]
    result = runner.invoke(cli, ["report", *args, "-o", str(out)])
    assert result.exit_code == 0, result.output
    result = runner.invoke(cli, ["drift", *args, "-o", str(tmp_path / "s.csv"), "--targets", str(tmp_path / "t.csv"),
                                 "--edges", str(tmp_path / "e.csv")])  # fmt: skip
    assert result.exit_code == 0, result.output
    k = Unknowns()
    # drift's CSVs
    steps = pd.read_csv(tmp_path / "s.csv", dtype=str, keep_default_na=False)
    for r in steps.to_dict("records"):
        for c in ("visits", "cases", "breaches"):
            k.read(f"{c}:{r['step']}", r[c])
        if r["breach_rate"] not in ("", "nan"):  # a rate shown gives breaches from visits, or back
            assert f"visits:{r['step']}" in k.exact and f"breaches:{r['step']}" in k.exact, r
    targets = pd.read_csv(tmp_path / "t.csv", dtype=str, keep_default_na=False)
    for r in targets.to_dict("records"):
        for c in ("met", "missed", "overdue", "running", "void"):
            k.read(f"t:{r['target']}:{c}", r[c])
    edges = pd.read_csv(tmp_path / "e.csv", dtype=str, keep_default_na=False)
    pairs = [(r["from"], r["to"]) for r in edges.to_dict("records")]
    for r in edges.to_dict("records"):
        k.read(f"edge:{r['from']}>{r['to']}", r["count"])
    # the report's words
    page = out.read_text(encoding="utf-8")
    text = htmllib.unescape(re.sub(r"<[^>]+>", " ", re.sub(r"<svg.*?</svg>", " ", page, flags=re.S)))
    m = re.search(r"(\S+) cases: (\S+) complete, (\S+) open, of which (\S+) are stalled", text)
    assert m is not None
    for cell, value in zip(("cases", "complete", "open", "stalled"), m.groups(), strict=True):
        k.read(cell, value)
    labels = {r["label"]: r["target"] for r in targets.to_dict("records")}
    for label, t in labels.items():
        m = re.search(re.escape(label) + r" \([^)]*\): met for (\S+) of (\S+?)(?: \((\d+)%\))?;", text)
        if m:
            k.read(f"t:{t}:met", m.group(1))
            k.read(f"t:{t}:judged", m.group(2))
            if m.group(3):  # a rate shown: neither its numerator nor its denominator may be hidden
                assert f"t:{t}:met" in k.exact and f"t:{t}:judged" in k.exact, label
    # the report's tables, and the open cases a reader can count in its open-case table
    parser = Tables()
    parser.feed(page)
    open_rows = [rows for section, rows in parser.tables if section == "stalled"]
    assert open_rows, "the report lists the open cases"
    head, *body = open_rows[0]
    at = head.index("current_step")
    p = load_process(process)
    for s in p.step_ids:
        k.exact[f"open_at:{s}"] = sum(row[at] == s for row in body)
    # every count in the report's figures: the map's step boxes and edge labels are checked against
    # what the CSVs say in test_the_map_shows_the_same_counts_as_the_csvs.
    sums_of_the_process(k, process, list(labels.values()), pairs)
    assert k.hidden, "the bundled data has small counts to hide"
    assert k.recovered() == []


def test_the_map_shows_the_same_counts_as_the_csvs(tmp_path: Path, runner) -> None:  # type: ignore[no-untyped-def]
    process, events = PROCESSES / "permanence-order.yaml", CASES["permanence-order"]
    args = [str(process), str(events), "--suppress-below", str(BELOW)]
    assert runner.invoke(cli, ["map", *args, "-o", str(tmp_path / "m.dot")]).exit_code == 0
    runner.invoke(cli, ["drift", *args, "-o", str(tmp_path / "s.csv"), "--edges", str(tmp_path / "e.csv")])
    dot = (tmp_path / "m.dot").read_text(encoding="utf-8")
    edges = pd.read_csv(tmp_path / "e.csv", dtype=str, keep_default_na=False)
    for r in edges.to_dict("records"):
        label = r["count"] if r["declared"] == "True" else f"not declared: {r['count']}"
        assert re.search(rf'"{r["from"]}" -> "{r["to"]}" \[[^\]]*xlabel="{re.escape(label)}"', dot), r
    steps = pd.read_csv(tmp_path / "s.csv", dtype=str, keep_default_na=False)
    for r in steps.to_dict("records"):
        if r["breaches"] not in ("0", ""):
            assert f"{r['breaches']} of {r['visits']} over" in dot, r


def test_a_plain_report_is_unchanged_by_the_machinery(tmp_path: Path, runner) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "r.html"
    runner.invoke(cli, ["report", str(PROCESSES / "legal-advice.yaml"), str(CASES["legal-advice"]), "-o", str(out)])
    page = out.read_text(encoding="utf-8")
    assert "&lt;5" not in page and "hidden so that" not in page
    assert "p-chart of Advice within 8 working days of a complete referral, month by month" in page


def test_the_worked_example_in_the_docs() -> None:
    # docs/report.md: 40 cases, 37 complete and 3 open; the 3 is hidden, and so is the 37.
    p = protect({"cases": 40, "complete": 37, "open": 3}, [Relation("cases", ("complete", "open"))], 5)
    assert [p.text(c) for c in ("cases", "complete", "open")] == ["40", "*", "<5"]
    assert p.text("complete", words=True) == "hidden"


def test_a_count_a_reader_knows_anyway_is_shown() -> None:
    # open = the rows of a case list: hiding it would protect nothing
    p = protect({"open": 2, "open_at:a": 2}, [Relation("open", ("open_at:a",))], 5, exact={"open_at:a"})
    assert p.text("open") == "2" and "open" in p.public


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.lists(st.integers(0, 30), min_size=2, max_size=4), min_size=2, max_size=4), st.sampled_from([3, 5, 10])
)
def test_a_table_with_row_and_column_totals_never_gives_a_hidden_cell_away(grid: list[list[int]], below: int) -> None:
    width = min(len(r) for r in grid)
    cells = {f"c{i}{j}": v for i, row in enumerate(grid) for j, v in enumerate(row[:width])}
    rows = {f"r{i}": sum(row[:width]) for i, row in enumerate(grid)}
    cols = {f"k{j}": sum(row[j] for row in grid) for j in range(width)}
    total = {"all": sum(rows.values())}
    relations = [Relation(f"r{i}", tuple(f"c{i}{j}" for j in range(width))) for i in range(len(grid))]
    relations += [Relation(f"k{j}", tuple(f"c{i}{j}" for i in range(len(grid)))) for j in range(width)]
    relations += [Relation("all", tuple(rows)), Relation("all", tuple(cols))]
    values = cells | rows | cols | total
    shown = protect(values, relations, below)
    k = Unknowns()
    # "<N" means 1 to N-1, unless some zero is shown as "<N" too (a last resort): then 0 to N-1
    low = 0 if shown.zero_in_small or any(shown.text(n).startswith("<") and v == 0 for n, v in values.items()) else 1
    for name in values:
        text = shown.text(name)
        if text.startswith("<"):
            k.hidden[name] = (low, below - 1)
        elif text == "*":
            k.hidden[name] = (0 if values[name] == 0 else below, None)
        else:
            k.exact[name] = float(text)
    k.sums = [(r.total, list(r.parts)) for r in relations]
    assert k.recovered() == []
    # and every small nonzero count is hidden, and a zero only as a last resort
    assert all(name in k.hidden for name, v in values.items() if 0 < v < below)
    assert all(shown.text(n) in ("0", "*") for n, v in values.items() if v == 0) or low == 0


# --- coarse dates -------------------------------------------------------------------------

ISO = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")


def test_audit_with_coarse_dates_shows_months_only(tmp_path: Path, runner) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "audit.csv"
    args = ["audit", str(PROCESSES / "legal-advice.yaml"), str(CASES["legal-advice"]), "-o", str(out)]
    assert runner.invoke(cli, [*args, "--coarsen-dates", "month"]).exit_code == 0
    table = pd.read_csv(out, dtype=str, keep_default_na=False)
    for col in ("entered", "due_date"):
        assert all(re.fullmatch(r"\d{4}-\d{2}|", v) for v in table[col]), table[col].tolist()
    assert not any(ISO.search(v) for v in table.to_numpy().ravel())
    assert runner.invoke(cli, [*args, "--coarsen-dates", "quarter"]).exit_code == 0
    table = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert set(table["entered"]) <= {"2025-Q3", "2025-Q4"} and "2025-Q4" in set(table["entered"])


def test_a_case_view_with_coarse_dates_has_no_day_in_it(tmp_path: Path, runner) -> None:  # type: ignore[no-untyped-def]
    out, visits = tmp_path / "clocks.csv", tmp_path / "visits.csv"
    args = ["replay", str(PROCESSES / "legal-advice.yaml"), str(CASES["legal-advice"]), "--case", "Child 40",
            "-o", str(out), "--visits", str(visits), "--coarsen-dates", "quarter"]  # fmt: skip
    result = runner.invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert not ISO.search(result.output.split("as of", 1)[-1].split("\n", 1)[-1])
    clocks = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert any("(due 2025-Q4)" in r or "2025-Q4" in r for r in clocks["reading"]), clocks["reading"].tolist()
    for path in (out, visits):
        assert not ISO.search(path.read_text(encoding="utf-8").split("\n", 1)[1])


def test_a_case_map_with_coarse_dates_shows_months(tmp_path: Path, runner) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "case.svg"
    args = ["map", str(PROCESSES / "legal-advice.yaml"), str(CASES["legal-advice"]), "--case", "Child 2",
            "-o", str(out), "--coarsen-dates", "month"]  # fmt: skip
    assert runner.invoke(cli, args).exit_code == 0
    svg = out.read_text(encoding="utf-8")
    assert "reached 2025-01" in svg
    as_of = re.search(r"as of (\S+)", svg)
    assert as_of is not None and ISO.findall(svg) == []  # the as-of date too is a month here


def test_a_report_with_coarse_dates_shows_case_dates_as_months(tmp_path: Path, runner) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "r.html"
    args = ["report", str(PROCESSES / "legal-advice.yaml"), str(CASES["legal-advice"]), "-o", str(out),
            "--coarsen-dates", "month", "--pdsa", str(ROOT / "examples" / "pdsa-legal-advice.yaml")]  # fmt: skip
    assert runner.invoke(cli, args).exit_code == 0
    page = out.read_text(encoding="utf-8")
    for section in ("due", "stalled"):
        part = page.split(f'<section id="{section}">', 1)[1].split("</section>", 1)[0]
        assert not ISO.search(part), section
        assert re.search(r"<td>20\d\d-\d\d</td>", part), section
    head = page.split('<section id="summary">', 1)[0]
    assert "events 2024-11 to 2025-10" in head
