"""The ``flowmap`` command line: parse options, call one library function, print or write.

This is the only module that imports click. Errors a user can cause arrive as
:class:`~flowmap.errors.FlowmapError` and leave as ``Error: ...`` on stderr with
exit status 1; option misuse exits 2 (click's own). Heavy libraries are
imported inside the commands that need them, so ``flowmap --help`` stays fast.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from flowmap import __version__
from flowmap.errors import FlowmapError, SpecError

__all__ = ["cli"]

F = TypeVar("F", bound=Callable[..., Any])


class _UserError(click.ClickException):
    """A FlowmapError as click shows it: ``Error: ...`` on stderr, exit 1."""

    exit_code = 1


class _In(click.Path):
    """A file the command reads: it is never written to."""


class _Out(click.Path):
    """A file the command writes: never one of its inputs."""


def _in(**kwargs: Any) -> _In:
    return _In(path_type=Path, **kwargs)


def _out_path() -> _Out:
    return _Out(path_type=Path, dir_okay=False)


def _refuse_overwriting_inputs(kwargs: dict[str, Any]) -> None:
    """Refuse an output path that is one of the inputs (the same path, or the same file through a link)."""
    ctx = click.get_current_context(silent=True)
    if ctx is None or ctx.command is None:
        return
    inputs: list[Path] = []
    outputs: list[tuple[str, Path]] = []
    for param in ctx.command.params:
        value = kwargs.get(param.name or "")
        values = value if isinstance(value, (tuple, list)) else (value,)
        for v in values:
            if v is None:
                continue
            if isinstance(param.type, _In):
                inputs.append(Path(v))
            elif isinstance(param.type, _Out):
                outputs.append((param.opts[-1], Path(v)))
    for option, out in outputs:
        for inp in inputs:
            same = out.resolve() == inp.resolve()
            if not same and out.exists() and inp.exists():
                with contextlib.suppress(OSError):
                    same = os.path.samefile(out, inp)
            if same:
                raise _UserError(
                    f"{option} {out} is one of this command's inputs ({inp}); flowmap never writes over its "
                    "inputs: choose another file name for the output"
                )


def _user_errors(fn: F) -> F:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        _refuse_overwriting_inputs(kwargs)
        try:
            return fn(*args, **kwargs)
        except SpecError as e:
            raise _UserError(
                f"{len(e.problems)} problem{'s' if len(e.problems) != 1 else ''} found:\n"
                + "\n".join(str(p) for p in e.problems)
            ) from None
        except FlowmapError as e:
            raise _UserError(str(e)) from None

    return wrapper  # type: ignore[return-value]


def _console(stderr: bool = False) -> Any:
    from rich.console import Console

    return Console(stderr=stderr, highlight=False, soft_wrap=False, width=None if sys.stdout.isatty() else 160)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, "--version", "-V", prog_name="flowmap", message="%(prog)s %(version)s")
def cli() -> None:
    """flowmap: find where cases wait.

    Declare a process as a YAML state graph, replay dated case events against
    it, and see which step each case is at, where delay accumulates, and which
    cases left the declared path.

    Start with `flowmap validate processes/*.yaml` and `flowmap show FILE`.
    """


# --- process files -------------------------------------------------------------------


@cli.command()
@click.argument("files", nargs=-1, required=True, type=_in(dir_okay=True))
@click.option("-q", "--quiet", is_flag=True, help="Print only the problems, not the per-file summary.")
def validate(files: tuple[Path, ...], quiet: bool) -> None:
    """Check process files; print every problem with FILE:LINE:COLUMN.

    Exits 0 when every file is valid, 1 when any is not.
    """
    from flowmap.files.process import validate_files

    results = validate_files(list(files))
    bad = 0
    for path, problems in results.items():
        if problems:
            bad += 1
            for p in problems:
                click.echo(str(p), err=True)
            if not quiet:
                n = len(problems)
                click.echo(f"{path}: {n} problem{'s' if n != 1 else ''}", err=True)
        elif not quiet:
            click.echo(f"{path}: valid")
    if not quiet and len(results) > 1:
        click.echo(f"{len(results)} files checked: {len(results) - bad} valid, {bad} invalid")
    if bad:
        sys.exit(1)


@cli.command()
@click.argument("file", type=_in(dir_okay=False))
@_user_errors
def show(file: Path) -> None:
    """Describe a process: steps by lane, transitions, span targets and their sources."""
    from flowmap.files.process import load_process
    from flowmap.io import process_overview

    process = load_process(file)
    console = _console()
    for part in process_overview(process):
        console.print(part)
        console.print()


@cli.command()
@click.option("--change", "which", flag_value="change", help="The schema of change files instead.")
@click.option("--pdsa", "which", flag_value="pdsa", help="The schema of PDSA logs instead.")
@_user_errors
def schema(which: str | None) -> None:
    """Print the JSON Schema of process files (or change files, or PDSA logs), for editors.

    Save it (flowmap schema > flowmap-process.schema.json) and start a process
    file with `# yaml-language-server: $schema=flowmap-process.schema.json`
    to get checking and completion in VS Code.
    """
    from flowmap.files.process import process_schema, schema_json

    if which == "change":
        from flowmap.simulation.change import change_schema

        click.echo(schema_json(change_schema()), nl=False)
    elif which == "pdsa":
        from flowmap.files.pdsa import pdsa_schema

        click.echo(schema_json(pdsa_schema()), nl=False)
    else:
        click.echo(schema_json(process_schema()), nl=False)


# --- events ----------------------------------------------------------------------------


def _delimiter(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    from flowmap.events.readers import normalise_delimiter

    try:
        return normalise_delimiter(value)
    except FlowmapError as e:
        raise click.BadParameter(str(e).removeprefix("--delimiter "), ctx=ctx, param=param) from None


def event_options(fn: F) -> F:
    """Options for reading an event file, shared by every command that reads one."""
    opts = [
        click.option("--case-col", metavar="NAME", help="Column holding the case id (default: detected)."),
        click.option("--event-col", metavar="NAME", help="Column holding the event name (default: detected)."),
        click.option("--time-col", metavar="NAME", help="Column holding the date or timestamp (default: detected)."),
        click.option("--sheet", metavar="NAME", help="Excel sheet to read (default: the first)."),
        click.option(
            "--header-row",
            "header_row",
            type=click.IntRange(min=1),
            metavar="N",
            help="Row number of the header in the sheet or file (default: found in the top 30 rows, "
            "below any title rows).",
        ),
        click.option("--monthfirst", is_flag=True, help="Read 03/04/2025 as 4 March (US); default is day first."),
        click.option(
            "--not-yet",
            "not_yet",
            multiple=True,
            metavar="WORD",
            help="A word that means 'no date yet' in a date cell, beside N/A, tbc, awaiting, pending, ... "
            "(repeatable).",
        ),
        click.option("--encoding", default="utf-8", show_default=True, help="CSV text encoding, e.g. cp1252."),
        click.option(
            "--delimiter",
            metavar="CHAR",
            callback=_delimiter,
            help="CSV separator: one character, or \\t, tab, comma, semicolon, pipe (default: detected).",
        ),
    ]
    for opt in reversed(opts):
        fn = opt(fn)
    return fn


_READ_KEYS = ("case_col", "event_col", "time_col", "sheet", "header_row", "monthfirst", "encoding", "delimiter",
              "not_yet")  # fmt: skip


def _read_options(opts: dict[str, Any]) -> dict[str, Any]:
    """The read_events keyword arguments among a command's options."""
    out = {k: opts.get(k) for k in _READ_KEYS}
    out["monthfirst"] = bool(out["monthfirst"])
    out["encoding"] = out["encoding"] or "utf-8"
    out["not_yet"] = tuple(out["not_yet"] or ())
    return out


_problems = click.option(
    "--problems",
    "problems_path",
    type=_out_path(),
    help="Write every row or cell set aside, with its address (sheet, row, column, A1 cell), to .csv or .xlsx.",
)


def replay_options(fn: F) -> F:
    """As-of date and privacy options for commands that replay events."""
    opts = [
        click.option(
            "--as-of", "as_of", metavar="DATE", help="Measure open cases to this date (default: latest event)."
        ),
        click.option(
            "--pseudonymise",
            metavar="KEY",
            envvar="FLOWMAP_PSEUDONYM_KEY",
            help="Replace case ids in every output by keyed pseudonyms (HMAC-SHA256). "
            "Also read from FLOWMAP_PSEUDONYM_KEY.",
        ),
        click.option("--json", "as_json", is_flag=True, help="Print JSON to standard output instead of a table."),
        click.option(
            "--engine",
            type=click.Choice(["in-process", "dask"]),
            default="in-process",
            show_default=True,
            help="dask: replay a Parquet dataset (file or folder) on a Dask cluster.",
        ),
        click.option(
            "--scheduler",
            metavar="ADDRESS",
            help="With --engine dask: a running scheduler (tcp://host:8786); default: a local cluster.",
        ),
    ]
    for opt in reversed(opts):
        fn = opt(fn)
    return fn


def _read(events: Path, process: Any, opts: dict[str, Any]) -> Any:
    from flowmap.events.read import read_events

    return read_events(events, process=process, **_read_options(opts))


def _replay(process_path: Path, events: Path, opts: dict[str, Any]) -> Any:
    """Load, read and replay, with a progress display on a terminal."""
    from flowmap.analysis.replay import replay
    from flowmap.files.process import load_process

    if opts.get("engine") == "dask":
        from flowmap.analysis.dask_engine import replay_dask

        process = load_process(process_path)
        return replay_dask(process, events, as_of=opts.get("as_of"), scheduler=opts.get("scheduler"),
                           **_read_options(opts))  # fmt: skip
    if opts.get("scheduler"):
        raise FlowmapError("--scheduler needs --engine dask")
    with _Progress() as progress:
        process = load_process(process_path)
        progress.advance("reading events")
        log = _read(events, process, opts)
        progress.advance("replaying")
        return replay(process, log, as_of=opts.get("as_of"))


def _write_problems(ledger: Any, path: Path | None, key: str | None) -> None:
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


class _Progress:
    """A transient progress line on stderr, only when stderr is a terminal."""

    def __enter__(self) -> _Progress:
        self._p: Any = None
        if sys.stderr.isatty():
            from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

            self._p = Progress(
                SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), transient=True,
                console=_console(stderr=True),
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


def _header(result: Any) -> list[str]:
    p = result.process
    span = ""
    if result.first_event is not None:
        span = f" (events {result.first_event.date()} to {result.last_event.date()})"
    clock = "working days" if p.clock == "working_days" else "calendar days"
    lines = [f"{p.title}: as of {result.as_of.date()}{span}; days are {clock}"]
    lines.extend(result.ledger.lines())
    c = result.counts
    lines.append(
        f"{c['cases']} cases: {c['complete']} complete, {c['open']} open of which {c['stalled']} stalled; "
        f"{c['deviating']} left the declared path"
    )
    return lines


def _meta(result: Any) -> dict[str, Any]:
    return {
        "process": result.process.id,
        "as_of": result.as_of.date().isoformat(),
        "first_event": result.first_event.isoformat() if result.first_event is not None else None,
        "last_event": result.last_event.isoformat() if result.last_event is not None else None,
        "ledger": result.ledger.as_dict(),
        "counts": result.counts,
    }


def _problem_records(ledger: Any, key: str | None) -> list[dict[str, Any]]:
    from flowmap.io import table_records
    from flowmap.privacy import pseudonymise

    return table_records(pseudonymise(ledger.problems(), key))


def _emit(
    result: Any, tables: dict[str, Any], *, as_json: bool, key: str | None, kind: str, shown: str
) -> dict[str, Any]:
    """Print the header and one table (or JSON of all tables); return the pseudonymised tables."""
    from flowmap.io import rich_table, table_records
    from flowmap.privacy import pseudonymise

    safe = {name: pseudonymise(t, key) for name, t in tables.items()}
    if as_json:
        doc = {"flowmap": f"{kind}/1", **_meta(result), "problems": _problem_records(result.ledger, key)}
        doc.update({name: table_records(t) for name, t in safe.items()})
        click.echo(json.dumps(doc, indent=2, ensure_ascii=False, allow_nan=False))
        return safe
    console = _console()
    for line in _header(result):
        console.print(line, markup=False)
    console.print()
    terminal = safe[shown].drop(columns=[c for c in ("label",) if c in safe[shown].columns])
    console.print(rich_table(terminal, max_rows=40))
    return safe


def _write(table: Any, path: Path | None, result: Any, sheet: str) -> None:
    if path is None:
        return
    from flowmap.io import write_table

    write_table(table, path, sheet=sheet, meta={"flowmap": f"{sheet}/1", **_meta(result)})
    click.echo(f"wrote {path}", err=True)


_out = click.option("-o", "--output", type=_out_path(), help="Write the table (.csv, .json, .xlsx).")


@cli.command()
@click.argument("events", type=_in())
@click.option("-p", "--process", "process_path", type=_in(), help="Check against this process.")
@click.option("--as-of", "as_of", metavar="DATE", help="Set aside events after this date (with --process).")
@_problems
@click.option("--json", "as_json", is_flag=True, help="Print JSON (the ledger and every problem) instead of text.")
@click.option("--pseudonymise", metavar="KEY", envvar="FLOWMAP_PSEUDONYM_KEY",
              help="Replace case ids in --problems and --json by keyed pseudonyms.")  # fmt: skip
@event_options
@_user_errors
def check(
    events: Path,
    process_path: Path | None,
    as_of: str | None,
    problems_path: Path | None,
    as_json: bool,
    pseudonymise: str | None,
    **opts: Any,
) -> None:
    """Read an event file and account for every row: the data-quality ledger.

    Prints the columns found, the date range, cases and events per case, and
    rows read = rows used + not dated yet + rows set aside, by reason, with up
    to five values and their places (E14, line 14) for each. --problems
    writes every one of them. Exits 0 when the data is usable.
    """
    from flowmap.analysis.check import check_events
    from flowmap.files.process import load_process

    process = load_process(process_path) if process_path else None
    log = _read(events, process, opts)
    report = check_events(log, process=process, as_of=as_of)
    if as_json:
        doc = {"flowmap": "check/1", **report.as_dict(), "problems": _problem_records(report.ledger, pseudonymise)}
        click.echo(json.dumps(doc, indent=2, ensure_ascii=False, allow_nan=False))
    else:
        for line in report.lines():
            click.echo(line)
    _write_problems(report.ledger, problems_path, pseudonymise)
    if not report.usable:
        sys.exit(1)


@cli.command("replay")
@click.argument("process_path", metavar="PROCESS", type=_in())
@click.argument("events", type=_in())
@_out
@click.option("--visits", "visits_path", type=_out_path(), help="Write every visit.")
@_problems
@event_options
@replay_options
@_user_errors
def replay_cmd(
    process_path: Path,
    events: Path,
    output: Path | None,
    visits_path: Path | None,
    problems_path: Path | None,
    pseudonymise: str | None,
    as_json: bool,
    **opts: Any,
) -> None:
    """Replay case events against a process: each case's status, step and days there.

    Status is complete (reached an end step), open, or stalled (open and over
    the target of the step it is at).
    """
    result = _replay(process_path, events, opts)
    tables = {"cases": result.cases_table()}
    if visits_path or as_json:
        tables["visits"] = result.visits_table()
    safe = _emit(result, tables, as_json=as_json, key=pseudonymise, kind="replay", shown="cases")
    _write(safe["cases"], output, result, "cases")
    if visits_path:
        _write(safe["visits"], visits_path, result, "visits")
    _write_problems(result.ledger, problems_path, pseudonymise)


@cli.command()
@click.argument("process_path", metavar="PROCESS", type=_in())
@click.argument("events", type=_in())
@_out
@click.option("--case", "case_id", metavar="ID",
              help="Only this case (typed as you like: case and spaces are ignored; or its pseudonym).")  # fmt: skip
@_problems
@event_options
@replay_options
@_user_errors
def audit(
    process_path: Path,
    events: Path,
    output: Path | None,
    case_id: str | None,
    problems_path: Path | None,
    pseudonymise: str | None,
    as_json: bool,
    **opts: Any,
) -> None:
    """Which step each open case is stuck at, and for how long past the target.

    Open cases only, most days over target first, with the span targets each
    is already overdue on.
    """
    from flowmap.analysis.metrics import audit as audit_table

    result = _replay(process_path, events, opts)
    table = audit_table(result)
    if case_id is not None:
        from flowmap.privacy import find_case

        real = find_case(result.cases["case_id"].astype(str).tolist(), case_id, key=pseudonymise)
        table = table[table["case_id"].astype(str) == real].reset_index(drop=True)
        if table.empty and not as_json:
            shown = _shown_id(real, pseudonymise)
            status = str(result.cases.loc[result.cases["case_id"].astype(str) == real, "status"].iloc[0])
            click.echo(f"case {shown} is {status}: it is not open, so it has no row in the audit", err=True)
    safe = _emit(result, {"audit": table}, as_json=as_json, key=pseudonymise, kind="audit", shown="audit")
    _write(safe["audit"], output, result, "audit")
    _write_problems(result.ledger, problems_path, pseudonymise)


def _shown_id(real: str, key: str | None) -> str:
    from flowmap.privacy import pseudonym

    return pseudonym(real, key) if key else real


@cli.command()
@click.argument("process_path", metavar="PROCESS", type=_in())
@click.argument("events", type=_in())
@_out
@click.option("--targets", "targets_path", type=_out_path(),
              help="Write the span-target summary.")  # fmt: skip
@click.option("--edges", "edges_path", type=_out_path(),
              help="Write one row per observed move between steps.")  # fmt: skip
@_problems
@event_options
@replay_options
@_user_errors
def drift(
    process_path: Path,
    events: Path,
    output: Path | None,
    targets_path: Path | None,
    edges_path: Path | None,
    problems_path: Path | None,
    pseudonymise: str | None,
    as_json: bool,
    **opts: Any,
) -> None:
    """Where delay accumulates: steps ranked by days over target (drift points).

    Also the span targets (met, missed, overdue, running, void, met rate) and
    the observed moves between steps, each marked declared or not.
    """
    from flowmap.analysis.metrics import drift as drift_tables

    result = _replay(process_path, events, opts)
    d = drift_tables(result)
    tables = {"steps": d.steps, "targets": d.targets, "edges": d.edges}
    _emit(result, tables, as_json=as_json, key=pseudonymise, kind="drift", shown="steps")
    if not as_json and len(d.targets):
        from flowmap.io import rich_table

        _console().print(rich_table(d.targets.drop(columns=["label"]), title="Span targets"))
    _write(d.steps, output, result, "steps")
    _write(d.targets, targets_path, result, "targets")
    _write(d.edges, edges_path, result, "edges")
    _write_problems(result.ledger, problems_path, pseudonymise)


@cli.command()
@click.argument("events", type=_in())
@click.option("-o", "--output", type=_out_path(), required=True,
              help="Where to write the draft process file (.yaml).")  # fmt: skip
@click.option("--id", "process_id", metavar="SLUG", help="The draft's id (default: from the file name).")
@event_options
@_user_errors
def discover(events: Path, output: Path, process_id: str | None, **opts: Any) -> None:
    """Draft a process file from event data, to review in a workshop.

    Steps come from event names, transitions from observed moves (with their
    counts as comments), start steps from first events and end steps from last
    events with no way out. The draft passes `flowmap validate`.
    """
    from flowmap.analysis.discover import discover as discover_text
    from flowmap.io import write_text

    log = _read(events, None, opts)
    stem = events.name.split(".")[0]
    text = discover_text(log, process_id=process_id or stem, title=f"Discovered from {events.name}")
    write_text(output, text)
    click.echo(f"wrote {output}: edit it, then check it with `flowmap validate {output}`")


@cli.command("map")
@click.argument("process_path", metavar="PROCESS", type=_in())
@click.argument("events", required=False, type=_in())
@click.option("-o", "--output", type=_out_path(), required=True,
              help="Map file: .svg, .png, .pdf, .dot or .mmd (Mermaid).")  # fmt: skip
@click.option("--metric", type=click.Choice(["frequency", "time", "drift"]), default=None,
              help="What the figures show (default: drift when events are given).")  # fmt: skip
@click.option("--case", "case_id", metavar="ID", help="Overlay one case's journey (needs EVENTS).")
@click.option("--lanes/--no-lanes", default=True, show_default=True, help="Group steps in swimlanes.")
@click.option("--direction", type=click.Choice(["auto", "LR", "TB", "grid"]), default="auto", show_default=True,
              help="LR, TB, grid (rows that snake back and forth) or auto: what fits A4 landscape best.")  # fmt: skip
@click.option("--title", help="Title (default: the process title).")
@click.option("--renderer", type=click.Choice(["auto", "system", "wasm"]), default="auto", show_default=True,
              help="Graphviz for the layout: system dot, or the bundled WebAssembly build.")  # fmt: skip
@click.option("--as-of", "as_of", metavar="DATE", help="Measure open cases to this date (default: latest event).")
@click.option("--pseudonymise", metavar="KEY", envvar="FLOWMAP_PSEUDONYM_KEY",
              help="Show --case's id as its keyed pseudonym; --case may also be given as the pseudonym.")  # fmt: skip
@event_options
@_user_errors
def map_cmd(
    process_path: Path,
    events: Path | None,
    output: Path,
    metric: str | None,
    case_id: str | None,
    lanes: bool,
    direction: str,
    title: str | None,
    renderer: str,
    pseudonymise: str | None,
    **opts: Any,
) -> None:
    """Draw a process map, annotated with the data when EVENTS are given.

    The layout comes from the process alone, so it does not move between
    meetings. Works with no Graphviz installed (a WebAssembly build is
    bundled).
    """
    from flowmap.analysis.metrics import map_metrics
    from flowmap.files.process import load_process
    from flowmap.render.maps import write_map

    if events is None:
        if case_id or metric:
            raise _UserError("--case and --metric need an EVENTS file")
        with _Progress() as progress:
            process = load_process(process_path)
            progress.advance(f"laying out and drawing {len(process.steps)} steps")
            write_map(output, process, None, None, metric=None, direction=direction, lanes=lanes, title=title,
                      renderer=renderer)  # fmt: skip
        click.echo(f"wrote {output}")
        return
    result = _replay(process_path, events, opts)
    metrics = map_metrics(result)
    journey = None
    if case_id is not None:
        journey = _journey(result, case_id, pseudonymise)
    with _Progress() as progress:
        progress.advance(f"laying out and drawing {len(result.process.steps)} steps")
        write_map(output, result.process, metrics, journey, metric=metric or "drift", direction=direction,
                  lanes=lanes, title=title, renderer=renderer)  # fmt: skip
    click.echo(f"wrote {output} (as of {result.as_of.date()})")


def _journey(result: Any, case_id: str, key: str | None) -> Any:
    from flowmap.analysis.metrics import case_journey

    return case_journey(result, case_id, key=key)


def _model(process_path: Path, events: Path | None, opts: dict[str, Any]) -> Any:
    from flowmap.files.process import load_process
    from flowmap.simulation.simulate import fit, model_from_process

    if events is None:
        return model_from_process(load_process(process_path))
    return fit(_replay(process_path, events, opts))


@cli.command("simulate")
@click.argument("process_path", metavar="PROCESS", type=_in())
@click.argument("events", required=False, type=_in())
@click.option("-c", "--change", "change_paths", multiple=True, type=_in(),
              help="A change file (flowmap-change: 1); repeat to compare several.")  # fmt: skip
@click.option("--runs", type=int, default=300, show_default=True, help="Replications of the cohort.")
@click.option("--seed", type=int, default=1, show_default=True, help="Random seed: the same seed, the same numbers.")
@click.option("--cases", type=int, help="Cases per run (default: the number in the data, or 100).")
@click.option("--explain", is_flag=True, help="Print every model parameter and where it came from.")
@click.option("-o", "--output", type=_out_path(), help="Write .json or .csv.")
@click.option("--as-of", "as_of", metavar="DATE", help="Fit on events up to this date.")
@event_options
@_user_errors
def simulate_cmd(
    process_path: Path,
    events: Path | None,
    change_paths: tuple[Path, ...],
    runs: int,
    seed: int,
    cases: int | None,
    explain: bool,
    output: Path | None,
    **opts: Any,
) -> None:
    """Test a proposed change before the PDSA: baseline and changes over many seeded runs.

    Fits a model from the events (or from the process file alone), applies
    each change file, and prints, per span target and end to end, the met
    rate, median and p90 days with 95% intervals over runs, and the
    difference from the baseline.
    """
    from flowmap.io import rich_table, write_table, write_text
    from flowmap.simulation.change import load_change
    from flowmap.simulation.simulate import simulate

    model = _model(process_path, events, opts)
    changes = [load_change(c, model.process) for c in change_paths]
    console = _console()
    if explain:
        params = _frame([p.as_dict() for p in model.parameters])
        console.print(rich_table(params, title="Model parameters: value and where it came from"))
    result = simulate(model, changes, runs=runs, seed=seed, cases=cases)
    console.print(f"{model.process.title}: {result.runs} runs of {result.cases} cases, seed {result.seed}; "
                  f"95% intervals over runs", markup=False)  # fmt: skip
    console.print(rich_table(result.summary(), max_rows=200))
    for line in result.sentences(model.process):
        console.print(line, markup=False)
    for name, n in result.capped.items():
        if n:
            console.print(f"note: {n} simulated cases in '{name}' went round a loop {1000} times and were stopped "
                          "(counted as missing targets they had started)", markup=False)  # fmt: skip
    if output is not None:
        if output.suffix.lower() == ".json":
            write_text(output, json.dumps(result.as_dict(), indent=2, ensure_ascii=False) + "\n")
        else:
            write_table(result.table(), output, sheet="simulation")
        click.echo(f"wrote {output}", err=True)


def _frame(rows: list[dict[str, Any]]) -> Any:
    import pandas as pd

    return pd.DataFrame(rows)


@cli.command()
@click.argument("process_path", metavar="PROCESS", type=_in())
@click.option("--from", "from_events", type=_in(), help="Fit the model on these events first.")
@click.option("-c", "--change", "change_path", type=_in(), help="Apply a change file.")
@click.option("--cases", type=int, required=True, help="How many cases.")
@click.option("--seed", type=int, default=1, show_default=True)
@click.option("--start", default="2025-01-06", show_default=True, help="Date the first case arrives.")
@click.option("-o", "--output", type=_out_path(), required=True,
              help="Event log to write: .csv or .parquet.")  # fmt: skip
@event_options
@_user_errors
def synth(
    process_path: Path,
    from_events: Path | None,
    change_path: Path | None,
    cases: int,
    seed: int,
    start: str,
    output: Path,
    **opts: Any,
) -> None:
    """Write a simulated event log (case_id, event, timestamp) for demos, tests and benchmarks.

    Cases arrive at the model's rate from --start; the log ends at the last
    arrival, so cases still going then are open, as in a real extract.
    """
    from flowmap.io import atomic_path, write_table
    from flowmap.simulation.change import load_change
    from flowmap.simulation.simulate import apply_change, synthesize

    model = _model(process_path, from_events, opts)
    if change_path is not None:
        model = apply_change(model, load_change(change_path, model.process))
    frame = synthesize(model, cases=cases, seed=seed, start=start)
    ext = output.suffix.lower()
    if ext == ".parquet":
        with atomic_path(output) as tmp:
            frame.to_parquet(tmp, index=False)
    elif ext == ".csv":
        write_table(frame, output)
    else:
        raise FlowmapError(f"cannot write events to {output}: use .csv or .parquet")
    click.echo(f"wrote {output}: {frame['case_id'].nunique()} cases, {len(frame)} events")


@cli.command()
@click.argument("inputs", nargs=-1, type=_in(), metavar="[PROCESS EVENTS]")
@click.option("--target", "target_id", metavar="ID", help="Chart this span target: one point per case.")
@click.option("--series", "series_path", type=_in(), help="Chart a date,value CSV instead.")
@click.option("--kind", type=click.Choice(["run", "xmr"]), default="run", show_default=True)
@click.option("--pdsa", "pdsa_path", type=_in(), help="PDSA log (flowmap-pdsa: 1) to mark.")
@click.option("--baseline", type=int, help="Use the first N points as the baseline (default: before the first PDSA).")
@click.option("--rebase", multiple=True, metavar="PDSA_ID", help="XmR: start new limits at this PDSA cycle.")
@click.option("--screen", is_flag=True, help="XmR: leave out moving ranges above 3.267 x their mean.")
@click.option("--better", type=click.Choice(["lower", "higher"]), default="lower", show_default=True,
              help="Which way is improvement, for colouring signals.")  # fmt: skip
@click.option("-o", "--output", type=_out_path(), required=True,
              help="Chart file: .svg, .png or .pdf.")  # fmt: skip
@click.option("--signals", "signals_path", type=_out_path(),
              help="Write the centre, limits and each rule's flagged points as JSON.")  # fmt: skip
@click.option("--as-of", "as_of", metavar="DATE", help="Measure open cases to this date (default: latest event).")
@click.option(
    "--pseudonymise", metavar="KEY", envvar="FLOWMAP_PSEUDONYM_KEY", help="Pseudonymise case ids in --signals."
)
@event_options
@_user_errors
def chart(
    inputs: tuple[Path, ...],
    target_id: str | None,
    series_path: Path | None,
    kind: str,
    pdsa_path: Path | None,
    baseline: int | None,
    rebase: tuple[str, ...],
    screen: bool,
    better: str,
    output: Path,
    signals_path: Path | None,
    pseudonymise: str | None,
    **opts: Any,
) -> None:
    """Run chart or XmR chart of a measure, with PDSA cycles marked and the rules applied.

    Give PROCESS EVENTS and --target ID (one point per case, dated when its
    clock stopped), or --series FILE (any date,value CSV). Prints a reading in
    plain words.
    """
    from dataclasses import replace

    from flowmap.files.pdsa import load_pdsa
    from flowmap.io import write_bytes, write_text
    from flowmap.spc.charts import chart_figure, read_series, run_chart, target_series, xmr_chart

    if series_path is not None:
        if inputs or target_id:
            raise _UserError("give either --series FILE, or PROCESS EVENTS --target ID, not both")
        series = read_series(series_path)
    else:
        if len(inputs) != 2 or not target_id:
            raise _UserError("give PROCESS EVENTS --target ID, or --series FILE")
        series = target_series(_replay(inputs[0], inputs[1], opts), target_id)
    if pseudonymise:
        from flowmap.privacy import pseudonym

        series = replace(series, labels=tuple(None if x is None else pseudonym(x, pseudonymise) for x in series.labels),
                         open_labels=tuple(pseudonym(x, pseudonymise) for x in series.open_labels))  # fmt: skip
    log = load_pdsa(pdsa_path) if pdsa_path else None
    if kind == "run":
        if rebase or screen:
            raise _UserError("--rebase and --screen apply to --kind xmr")
        result = run_chart(series, pdsa=log, baseline=baseline)
    else:
        result = xmr_chart(series, pdsa=log, baseline=baseline, rebase=rebase, screen=screen,
                           better=better)  # type: ignore[arg-type]  # fmt: skip
    result = replace(result, better=better)
    ext = output.suffix.lower().lstrip(".")
    if ext not in ("svg", "png", "pdf"):
        raise FlowmapError(f"cannot write a chart to {output}: use .svg, .png or .pdf")
    write_bytes(output, chart_figure(result, fmt=ext))
    click.echo(result.reading())
    click.echo(f"wrote {output}", err=True)
    if signals_path is not None:
        write_text(signals_path, json.dumps(result.signals(), indent=2, ensure_ascii=False) + "\n")
        click.echo(f"wrote {signals_path}", err=True)


@cli.command()
@click.argument("process_path", metavar="PROCESS", type=_in())
@click.argument("events", type=_in())
@click.option("-o", "--output", type=_out_path(), required=True,
              help="The report: one .html file.")  # fmt: skip
@click.option("--pdsa", "pdsa_path", type=_in(), help="PDSA log to mark on charts and list.")
@click.option("-c", "--change", "change_paths", multiple=True, type=_in(),
              help="Change files to simulate against the baseline (repeatable).")  # fmt: skip
@click.option("--runs", type=int, default=300, show_default=True, help="Simulation runs, with --change.")
@click.option("--seed", type=int, default=1, show_default=True, help="Simulation seed, with --change.")
@click.option("--suppress-below", "suppress_below", type=click.IntRange(min=2), metavar="N",
              help="Show counts below N as <N in every aggregate (e.g. 5, or 10 for small populations).")  # fmt: skip
@click.option("--as-of", "as_of", metavar="DATE", help="Measure open cases to this date (default: latest event).")
@click.option("--pseudonymise", metavar="KEY", envvar="FLOWMAP_PSEUDONYM_KEY",
              help="Replace case ids by keyed pseudonyms (HMAC-SHA256); or set FLOWMAP_PSEUDONYM_KEY.")  # fmt: skip
@click.option("--renderer", type=click.Choice(["auto", "system", "wasm"]), default="auto", show_default=True,
              help="Graphviz for the map layout.")  # fmt: skip
@_problems
@event_options
@_user_errors
def report(
    process_path: Path,
    events: Path,
    output: Path,
    pdsa_path: Path | None,
    change_paths: tuple[Path, ...],
    runs: int,
    seed: int,
    suppress_below: int | None,
    pseudonymise: str | None,
    renderer: str,
    problems_path: Path | None,
    **opts: Any,
) -> None:
    """Write one self-contained HTML report a manager can open offline and print on A4.

    Summary in plain words, the annotated map, drift points, open cases, each
    span target with its run chart and PDSA marks, the simulated changes, the
    data ledger and notes on method.
    """
    from flowmap.files.pdsa import load_pdsa
    from flowmap.report.html import write_report
    from flowmap.simulation.change import load_change

    if output.suffix.lower() not in (".html", ".htm"):
        raise FlowmapError(f"cannot write a report to {output}: use .html")
    result = _replay(process_path, events, opts)
    log = load_pdsa(pdsa_path) if pdsa_path else None
    changes = [load_change(c, result.process) for c in change_paths]
    write_report(output, result, pdsa=log, changes=changes, suppress_below=suppress_below, key=pseudonymise,
                 runs=runs, seed=seed, renderer=renderer)  # fmt: skip
    click.echo(f"wrote {output}: open it in any browser; it needs no network and prints on A4")
    _write_problems(result.ledger, problems_path, pseudonymise)


def main() -> None:  # pragma: no cover - console entry for tools that want a function
    cli(prog_name="flowmap")
