"""What commands print and write: the console, progress, the header and ledger, tables out.

Reading and replaying go through :func:`flowmap.analysis.run.replay_file`;
this module only shows and writes what the library returns.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from flowmap.cli.common import UserError
from flowmap.cli.options import read_options
from flowmap.errors import FlowmapError
from flowmap.model.calendars import clock_name
from flowmap.model.process import by_basis

if TYPE_CHECKING:
    from rich.console import RenderableType

    from flowmap.model.process import Process

__all__ = [
    "Progress",
    "emit",
    "header_lines",
    "make_console",
    "meta",
    "print_table",
    "problem_records",
    "process_overview",
    "read",
    "replay_events",
    "rich_table",
    "write_problems",
    "write_result_table",
]


def make_console(stderr: bool = False) -> Any:
    from rich.console import Console

    return Console(stderr=stderr, highlight=False, soft_wrap=False, width=None if sys.stdout.isatty() else 160)


def read(events: Path | None, process: Any, opts: dict[str, Any]) -> Any:
    """Read an event file with the command's read options."""
    from flowmap.events.read import read_events

    log = read_events(events, process=process, **read_options(opts))
    if events is not None:
        say_duplicates(log.ledger, events)
    return log


def say_duplicates(ledger: Any, source: Path) -> None:
    """One line when an XES or Parquet log had more than 1% of its rows set aside as exact duplicates: in a
    process-mining log they may be meant, and --keep-duplicates keeps them."""
    name = source.name.lower()
    if not name.endswith((".xes", ".xes.gz", ".parquet", ".parq")) or not ledger.read:
        return
    n = sum(s.count for s in ledger.set_aside if s.reason == "duplicate")
    if n > 0.01 * ledger.read:
        click.echo(f"note: {n:,} of {ledger.read:,} {ledger.unit}s ({n / ledger.read:.0%}) exactly repeat an earlier "
                   "one and were set aside; --keep-duplicates keeps them", err=True)  # fmt: skip


def _check_key_file(opts: dict[str, Any]) -> str | None:
    key = click.get_current_context().params.get("pseudonymise")
    if opts.get("pseudonym_key") is not None and not key:
        raise FlowmapError("--pseudonym-key writes the real ids beside their pseudonyms: give --pseudonymise KEY too")
    return key


def write_key_file(case_ids: Any, opts: dict[str, Any]) -> None:
    """``--pseudonym-key FILE``: each real case id beside its pseudonym; the only output with real ids."""
    key = _check_key_file(opts)
    path = opts.get("pseudonym_key")
    if path is None or not key:
        return
    from flowmap.io import write_table
    from flowmap.privacy import key_table

    write_table(key_table(case_ids, key), path, sheet="pseudonyms")
    click.echo(f"wrote {path}: the key from real ids to pseudonyms; keep it safe", err=True)


def replay_events(process_path: Path, events: Path | None, opts: dict[str, Any]) -> Any:
    """:func:`flowmap.analysis.run.replay_file` with the command's options, and progress on a terminal."""
    from flowmap.analysis.run import replay_file

    _check_key_file(opts)
    with Progress() as progress:
        result = replay_file(process_path, events, as_of=opts.get("as_of"), since=opts.get("since"),
                             where=opts.get("where") or (), engine=opts.get("engine") or "in-process",
                             scheduler=opts.get("scheduler"), progress=progress.advance,
                             **read_options(opts))  # fmt: skip
    write_key_file(result.cases["case_id"].astype(str), opts)
    if events is not None:
        say_duplicates(result.ledger, Path(events))
    return result


def aggregate_events(process_path: Path, events: Path | None, opts: dict[str, Any], *, want: tuple[str, ...],
                     exact: bool = False, due_within: float | None = None) -> Any:  # fmt: skip
    """:func:`flowmap.analysis.run.aggregate_file` (the Dask engine's drift and audit) with the command's options."""
    from flowmap.analysis.run import aggregate_file

    _check_key_file(opts)
    with Progress() as progress:
        part = aggregate_file(process_path, events, want=want, exact=exact, due_within=due_within,
                              as_of=opts.get("as_of"), since=opts.get("since"), where=opts.get("where") or (),
                              scheduler=opts.get("scheduler"), progress=progress.advance,
                              **read_options(opts))  # fmt: skip
    if events is not None:
        say_duplicates(part.summary.ledger, Path(events))
    return part


def replay_by(
    process_path: Path, events: Path | None, opts: dict[str, Any], by: str
) -> tuple[Any, list[tuple[str, Any]]]:
    """``--by``: the whole replay and one per group, from one read of the file."""
    from flowmap.analysis.run import replay_groups

    if opts.get("engine") == "dask":
        raise FlowmapError("--by needs each case's attributes, which --engine dask does not read (it streams only "
                           "the case, step and date columns); drop --engine dask to group this log")  # fmt: skip
    _check_key_file(opts)
    with Progress() as progress:
        whole, groups = replay_groups(process_path, events, by, as_of=opts.get("as_of"), since=opts.get("since"),
                                      where=opts.get("where") or (), progress=progress.advance,
                                      **read_options(opts))  # fmt: skip
    write_key_file(whole.cases["case_id"].astype(str), opts)
    return whole, groups


def write_problems(ledger: Any, path: Path | None, key: str | None) -> None:
    """``--problems FILE``: every record set aside, with its address."""
    if path is None:
        return
    from flowmap.io import write_table
    from flowmap.privacy import pseudonymise

    if path.suffix.lower() not in (".csv", ".xlsx"):
        raise FlowmapError(f"cannot write problems to {path}: use .csv or .xlsx")
    table = pseudonymise(ledger.problems(), key)
    write_table(table, path, sheet="problems")
    click.echo(f"wrote {path}: {len(table)} problem{'s' if len(table) != 1 else ''}", err=True)


class Progress:
    """A transient progress line on stderr, only when stderr is a terminal."""

    def __enter__(self) -> Progress:
        self._p: Any = None
        if sys.stderr.isatty():
            from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

            self._p = Progress(
                SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), transient=True,
                console=make_console(stderr=True),
            )  # fmt: skip
            self._p.start()
            self._task = self._p.add_task("loading the process", total=None)
        return self

    def advance(self, what: str) -> None:
        if self._p is not None:
            self._p.update(self._task, description=what)

    def __exit__(self, *exc: object) -> None:
        if self._p is not None:
            self._p.stop()


def header_lines(result: Any) -> list[str]:
    p = result.process
    span = ""
    if result.first_event is not None:
        span = f" (events {result.first_event.date()} to {result.last_event.date()})"
    window = f"; {result.window_text()}" if result.window_text() else ""
    lines = [f"{p.title}: as of {result.as_of.date()}{span}{window}; days are {clock_name(p.clock)}"]
    lines.extend(result.ledger.lines())
    c = result.counts
    lines.append(
        f"{c['cases']} cases: {c['complete']} complete, {c['open']} open of which {c['stalled']} stalled; "
        f"{c['deviating']} left the declared path"
    )
    return lines


def meta(result: Any) -> dict[str, Any]:
    return {
        "process": result.process.id,
        "as_of": result.as_of.date().isoformat(),
        "window": {
            "from": None if result.since is None else result.since.date().isoformat(),
            "to": result.as_of.date().isoformat(),
        },
        "first_event": result.first_event.isoformat() if result.first_event is not None else None,
        "last_event": result.last_event.isoformat() if result.last_event is not None else None,
        "ledger": result.ledger.as_dict(),
        "counts": result.counts,
    }


def problem_records(ledger: Any, key: str | None) -> list[dict[str, Any]]:
    from flowmap.io import table_records
    from flowmap.privacy import pseudonymise

    return table_records(pseudonymise(ledger.problems(), key))


def emit(
    result: Any, tables: dict[str, Any], *, as_json: bool, key: str | None, kind: str, shown: str
) -> dict[str, Any]:
    """Print the header and one table (or JSON of all tables); return the pseudonymised tables."""
    from flowmap.io import table_records
    from flowmap.privacy import pseudonymise

    safe = {name: pseudonymise(t, key) for name, t in tables.items()}
    if as_json:
        doc = {"flowmap": f"{kind}/1", **meta(result), "problems": problem_records(result.ledger, key)}
        doc.update({name: table_records(t) for name, t in safe.items()})
        click.echo(json.dumps(doc, indent=2, ensure_ascii=False, allow_nan=False))
        return safe
    console = make_console()
    for line in header_lines(result):
        console.print(line, markup=False)
    console.print()
    console.print(rich_table(safe[shown], max_rows=40, hide=("label",)))
    return safe


def write_result_table(table: Any, path: Path | None, result: Any, sheet: str) -> None:
    if path is None:
        return
    from flowmap.io import write_table

    write_table(table, path, sheet=sheet, meta={"flowmap": f"{sheet}/1", **meta(result)})
    click.echo(f"wrote {path}", err=True)


def print_table(
    table: Any, *, title: str | None = None, max_rows: int | None = None, hide: tuple[str, ...] = ()
) -> None:
    """Print a result table on the terminal."""
    make_console().print(rich_table(table, title=title, max_rows=max_rows, hide=hide))


# --- tables on a terminal ---------------------------------------------------------------


def rich_table(
    df: Any, *, title: str | None = None, max_rows: int | None = None, hide: tuple[str, ...] = ()
) -> RenderableType:
    """A rich table of a result table: numbers right-aligned, missing values blank, ``hide`` columns left out."""
    from rich.table import Table

    from flowmap.io import jsonable

    columns = [str(c) for c in df.columns if str(c) not in hide]
    shown = df[columns] if max_rows is None else df[columns].head(max_rows)
    rows = [[jsonable(v) for v in row] for row in shown.itertuples(index=False, name=None)]
    numeric = {c for i, c in enumerate(columns) if rows and all(isinstance(r[i], (int, float)) or r[i] is None
                                                                 for r in rows)}  # fmt: skip
    numeric |= {c for c in columns if df[c].dtype.kind in "iuf"}
    rates = [c.endswith("rate") for c in columns]
    cells = [[_terminal_cell(v, rate) for v, rate in zip(r, rates, strict=True)] for r in rows]
    table = Table(title=title, title_justify="left", header_style="bold", show_lines=False)
    for i, c in enumerate(columns):
        if c in numeric:
            table.add_column(c, justify="right", min_width=min(len(c), 8))
        else:
            longest = max((len(r[i]) for r in cells), default=0)
            table.add_column(c, justify="left", overflow="fold", min_width=min(longest, 16))
    for r in cells:
        table.add_row(*r)
    if max_rows is not None and len(df) > max_rows:
        table.caption = f"{len(df) - max_rows} more rows not shown; write them all with -o FILE"
    return table


def _terminal_cell(j: Any, rate: bool) -> str:
    """Readable at a glance: days to one decimal, rates as percentages, dates without midnight."""
    if isinstance(j, bool):
        return "yes" if j else "no"
    if isinstance(j, float):
        if rate:
            return f"{j:.0%}"
        return str(int(j)) if j == int(j) and abs(j) < 1e15 else f"{j:,.1f}"
    return "" if j is None else str(j)


def _days(v: float | None) -> str:
    if v is None:
        return ""
    return f"{v:g}"


def process_overview(process: Process) -> list[RenderableType]:
    """What ``flowmap show`` prints: steps by lane, transitions, targets with sources."""
    from rich.table import Table
    from rich.text import Text

    clock = clock_name(process.clock)
    head = Text()
    head.append(f"{process.title}", style="bold")
    head.append(f"  ({process.id})\n")
    head.append(f"clock: {clock}; calendar: {process.calendar}; time zone: {process.timezone}\n")
    head.append(
        f"{len(process.steps)} steps in {len(process.lane_order) or 1} lanes, "
        f"{len(process.transitions)} transitions, {len(process.targets)} span targets"
    )
    if process.path is not None:
        head.append(f"\nfile: {process.path}")
    out: list[RenderableType] = [head]

    steps = Table(title="Steps", title_justify="left", header_style="bold")
    for col in ("lane", "step", "label", "role", "target", "typical", "source"):
        steps.add_column(
            col,
            justify="right" if col in ("target", "typical") else "left",
            overflow="fold",
            no_wrap=col == "step",
        )
    lanes = process.lane_order or ("",)
    for lane in lanes:
        members = [s for s in process.steps if (s.lane or "") == lane or (not lane and s.lane is None)]
        for i, s in enumerate(members):
            role = ", ".join(r for r, on in (("start", s.start), ("end", s.end)) if on)
            steps.add_row(
                lane if i == 0 else "", s.id, s.label, role, _days(s.target), _days(s.typical), s.source or ""
            )
    unlaned = [s for s in process.steps if s.lane is None] if process.lane_order else []
    for i, s in enumerate(unlaned):
        role = ", ".join(r for r, on in (("start", s.start), ("end", s.end)) if on)
        steps.add_row(
            "(no lane)" if i == 0 else "", s.id, s.label, role, _days(s.target), _days(s.typical), s.source or ""
        )
    out.append(steps)

    trans = Table(title="Transitions", title_justify="left", header_style="bold")
    for col in ("from", "to", "label", "probability", "kind"):
        trans.add_column(col, justify="right" if col == "probability" else "left")
    for tr in process.transitions:
        kind = "rework" if process.is_rework(tr.from_step, tr.to_step) else ""
        prob = "" if tr.probability is None else f"{tr.probability:g}"
        trans.add_row(tr.from_step, tr.to_step, tr.label or "", prob, kind)
    out.append(trans)

    if process.targets:
        tg = Table(title="Span targets", title_justify="left", header_style="bold")
        for col in ("target", "label", "from", "to", "days", "clock", "basis", "source"):
            tg.add_column(col, overflow="fold", no_wrap=col == "target")
        for t in by_basis(process.targets):  # statutory first
            tg.add_row(t.id, t.label or "", t.from_step, t.to_step, t.bound_text, clock_name(t.clock),
                       t.basis_words if t.basis else "", t.source or "")  # fmt: skip
        out.append(tg)
    return out


def check_suppress(result: Any, below: int | None) -> None:
    """Refuse a --suppress-below that would hide every count."""
    n_cases = int(result.counts["cases"])
    if below is not None and below > n_cases:
        raise UserError(f"--suppress-below {below} is more than the {n_cases} cases in the data: every "
                        "count would be hidden; use 5 (or 10 for small populations), or share nothing")  # fmt: skip
