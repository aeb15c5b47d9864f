"""Commands on event data: ``check``, ``replay``, ``audit``, ``drift``, ``discover``, ``map``."""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any, Literal

import click

from flowmap.cli.common import UserError, in_path, out_path, user_errors
from flowmap.cli.main import cli
from flowmap.cli.options import (
    SHARE,
    as_of_option,
    coarsen_option,
    event_options,
    json_option,
    output_option,
    problems_option,
    pseudonymise_option,
    read_options,
    replay_options,
    suppress_option,
    window_options,
)
from flowmap.cli.terminal import (
    Progress,
    aggregate_events,
    check_suppress,
    emit,
    print_table,
    problem_records,
    read,
    replay_by,
    replay_events,
    say_duplicates,
    write_key_file,
    write_problems,
    write_result_table,
)


@cli.command()
@click.argument("events", required=False, type=in_path())
@click.option("-p", "--process", "process_path", type=in_path(), help="Check against this process.")
@as_of_option
@problems_option
@json_option
@pseudonymise_option
@event_options
@user_errors
def check(
    events: Path | None,
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
    log = read(events, process, opts)
    write_key_file(log.events["case_id"].astype(str).unique(), opts)
    report = check_events(log, process=process, as_of=as_of)
    if as_json:
        doc = {"flowmap": "check/1", **report.as_dict(), "problems": problem_records(report.ledger, pseudonymise)}
        click.echo(json.dumps(doc, indent=2, ensure_ascii=False, allow_nan=False))
    else:
        for line in report.lines():
            click.echo(line)
    write_problems(report.ledger, problems_path, pseudonymise)
    if not report.usable:
        sys.exit(1)


@cli.command("replay")
@click.argument("process_path", metavar="PROCESS", type=in_path())
@click.argument("events", required=False, type=in_path())
@output_option
@click.option("--visits", "visits_path", type=out_path(), help="Write every visit.")
@click.option("--case", "case_id", metavar="ID",
              help="One case's view: each visit with its dates and days, and each span target's clock "
                   "(met, missed, overdue by N, running with N left, due date). -o writes its clocks.")  # fmt: skip
@coarsen_option
@problems_option
@event_options
@replay_options
@user_errors
def replay_cmd(
    process_path: Path,
    events: Path | None,
    output: Path | None,
    visits_path: Path | None,
    case_id: str | None,
    coarsen: str | None,
    problems_path: Path | None,
    pseudonymise: str | None,
    as_json: bool,
    **opts: Any,
) -> None:
    """Replay case events against a process: each case's status, step and days there.

    Status is complete (reached an end step), open, or stalled (open and over
    the target of the step it is at).
    """
    result = replay_events(process_path, events, opts)
    if case_id is not None:
        _one_case(result, case_id, output, visits_path, pseudonymise, as_json, coarsen)
        write_problems(result.ledger, problems_path, pseudonymise)
        return
    from flowmap.privacy import coarsen_dates

    tables = {"cases": coarsen_dates(result.cases_table(), coarsen)}
    if visits_path or as_json:
        tables["visits"] = coarsen_dates(result.visits_table(), coarsen)
    safe = emit(result, tables, as_json=as_json, key=pseudonymise, kind="replay", shown="cases")
    write_result_table(safe["cases"], output, result, "cases")
    if visits_path:
        write_result_table(safe["visits"], visits_path, result, "visits")
    write_problems(result.ledger, problems_path, pseudonymise)


def _one_case(result: Any, case_id: str, output: Path | None, visits_path: Path | None, key: str | None,
              as_json: bool, coarsen: str | None = None) -> None:  # fmt: skip
    """``replay --case``: one case's visits and clocks."""
    from flowmap.analysis.metrics import case_journey
    from flowmap.privacy import coarsen_dates

    journey = case_journey(result, case_id, key=key)
    visits = coarsen_dates(journey.visits, coarsen)
    visits.insert(0, "case_id", journey.case_id)
    clocks = coarsen_dates(journey.clocks, coarsen)
    clocks.insert(0, "case_id", journey.case_id)
    # the journey already carries the pseudonym, so nothing is pseudonymised twice
    safe = emit(result, {"visits": visits, "clocks": clocks}, as_json=as_json, key=None, kind="case",
                shown="visits")  # fmt: skip
    if not as_json:
        click.echo(f"case {journey.case_id} is {journey.status}; its span targets, statutory first:")
        print_table(clocks.drop(columns=["label", "case_id"]), title=None)
    write_result_table(safe["clocks"], output, result, "clocks")
    if visits_path:
        write_result_table(safe["visits"], visits_path, result, "visits")


@cli.command()
@click.argument("process_path", metavar="PROCESS", type=in_path())
@click.argument("events", required=False, type=in_path())
@output_option
@click.option("--case", "case_id", metavar="ID",
              help="Only this case (typed as you like: case and spaces are ignored; or its pseudonym).")  # fmt: skip
@click.option("--due-within", "due_within", type=float, metavar="DAYS",
              help="Only cases with a target falling due within DAYS (in the target's clock), or overdue; "
                   "soonest first.")  # fmt: skip
@click.option(
    "--forecast",
    "with_forecast",
    is_flag=True,
    help="Add p_met: the simulated chance that the target falling due first is met (flowmap forecast).",
)
@coarsen_option
@problems_option
@event_options
@replay_options
@user_errors
def audit(
    process_path: Path,
    events: Path | None,
    output: Path | None,
    case_id: str | None,
    due_within: float | None,
    with_forecast: bool,
    coarsen: str | None,
    problems_path: Path | None,
    pseudonymise: str | None,
    as_json: bool,
    **opts: Any,
) -> None:
    """Which step each open case is stuck at, how long past the target, and what falls due next.

    Open cases only, most days over target first, with the span targets each
    is already overdue on, and the target that falls due first (its due date
    and days left; negative is overdue). With --due-within DAYS, only what
    falls due within DAYS or is overdue, soonest first.
    """
    from flowmap.analysis.metrics import audit as audit_table

    if _on_workers(opts) and case_id is None and not with_forecast:  # rows of open cases only reach this process
        part = aggregate_events(process_path, events, opts, want=("audit",), due_within=due_within)
        table, result, real = part.audit, part.summary, None
    else:
        result = replay_events(process_path, events, opts)
        real = None if case_id is None else result.find_case(case_id, key=pseudonymise)
        table = audit_table(result, case=real, due_within=due_within)
    if with_forecast and len(table):
        table = _with_forecast(result, table)
    if real is not None and table.empty and not as_json:
        shown = shown_id(real, pseudonymise)
        click.echo(f"case {shown} is {result.status(real)}: it is not open, so it has no row in the audit", err=True)
    from flowmap.privacy import coarsen_dates

    table = coarsen_dates(table, coarsen)
    safe = emit(result, {"audit": table}, as_json=as_json, key=pseudonymise, kind="audit", shown="audit")
    write_result_table(safe["audit"], output, result, "audit")
    write_problems(result.ledger, problems_path, pseudonymise)


def _on_workers(opts: dict[str, Any]) -> bool:
    """Whether drift or the audit can be reduced on the Dask workers: the Dask engine, and no option that needs
    every case here (a pseudonym key lists every case id)."""
    return opts.get("engine") == "dask" and not opts.get("pseudonym_key")


def _with_forecast(result: Any, table: Any) -> Any:
    """``audit --forecast``: the chance that each row's next-due span target is met (blank for a step target)."""
    from flowmap.simulation.forecast import forecast

    fc = forecast(result).table
    p = {(str(c), str(t)): v for c, t, v in zip(fc["case_id"], fc["target"], fc["p_met"], strict=True)}
    out = table.copy()
    out["p_met"] = [p.get((str(c), str(t))) for c, t in zip(table["case_id"], table["next_due_target"], strict=True)]
    return out


def shown_id(real: str, key: str | None) -> str:
    from flowmap.privacy import pseudonym

    return pseudonym(real, key) if key else real


@cli.command()
@click.argument("process_path", metavar="PROCESS", type=in_path())
@click.argument("events", required=False, type=in_path())
@output_option
@click.option("--targets", "targets_path", type=out_path(),
              help="Write the span-target summary.")  # fmt: skip
@click.option("--edges", "edges_path", type=out_path(),
              help="Write one row per observed move between steps.")  # fmt: skip
@click.option("--by", "by", metavar="COLUMN",
              help="One block of rows per value of a case attribute (team, worker, age band), in a 'group' column.",
              )  # fmt: skip
@click.option("--exact", is_flag=True,
              help="With --engine dask: exact medians and 90th percentiles (every duration is sent to this "
                   "process). Without it they come from mergeable sketches, within 0.5% (docs/scale.md).")  # fmt: skip
@suppress_option
@problems_option
@event_options
@replay_options
@user_errors
def drift(
    process_path: Path,
    events: Path | None,
    output: Path | None,
    targets_path: Path | None,
    edges_path: Path | None,
    by: str | None,
    exact: bool,
    suppress_below: int | None,
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
    from flowmap.analysis.metrics import grouped_drift

    if by is not None:
        if suppress_below is not None:
            raise UserError("--suppress-below cannot be used with --by: the groups' counts add up to the whole, "
                            "so hiding them safely needs the groups protected together; share the whole "
                            "(without --by), or each group with --where COLUMN=VALUE")  # fmt: skip
        result, groups = replay_by(process_path, events, opts, by)
        d = grouped_drift(groups)
    elif _on_workers(opts) and suppress_below is None:  # sums and sketches come back, never the visits
        from flowmap.analysis.metrics import drift_tables as from_sums

        part = aggregate_events(process_path, events, opts, want=("drift",), exact=exact)
        result, d = part.summary, from_sums(part.sums)
    else:
        result = replay_events(process_path, events, opts)
        d = drift_tables(result)
        check_suppress(result, suppress_below)
        if suppress_below is not None:
            from flowmap.analysis.disclosure import protect_drift, protected_counts

            d = protect_drift(d, protected_counts(result, suppress_below))
    tables = {"steps": d.steps, "targets": d.targets, "edges": d.edges}
    emit(result, tables, as_json=as_json, key=pseudonymise, kind="drift", shown="steps")
    if not as_json and len(d.targets):
        print_table(d.targets, title="Span targets", hide=("label",))
    write_result_table(d.steps, output, result, "steps")
    write_result_table(d.targets, targets_path, result, "targets")
    write_result_table(d.edges, edges_path, result, "edges")
    write_problems(result.ledger, problems_path, pseudonymise)


@cli.command()
@click.argument("events", required=False, type=in_path())
@click.option("-o", "--output", type=out_path(), required=True,
              help="Where to write the draft process file (.yaml).")  # fmt: skip
@click.option("--id", "process_id", metavar="SLUG", help="The draft's id (default: from the file name).")
@click.option(
    "--end-share",
    type=SHARE,
    default="5%",
    show_default=True,
    metavar="SHARE",
    help="A step where at least this share of cases has its last event is an end step (e.g. 5% or 0.05).",
)
@click.option("--min-share", type=SHARE, default="0%", show_default=True, metavar="SHARE",
              help="Leave out moves made by fewer than this share of cases, to start a workshop from the main flow "
                   "(each step keeps its commonest way in and out).")  # fmt: skip
@event_options
@user_errors
def discover(events: Path | None, output: Path, process_id: str | None, end_share: float, min_share: float,
             **opts: Any) -> None:  # fmt: skip
    """Draft a process file from event data, to review in a workshop.

    Steps come from event names, transitions from observed moves (with their
    counts as comments), start steps from first events, end steps where at
    least --end-share of cases end (or with no way out), and the time zone
    from the data's own UTC offsets. The draft passes `flowmap validate`; the
    notes say how it was drawn.
    """
    from flowmap.analysis.discover import draft
    from flowmap.events.read import read_events
    from flowmap.io import write_text

    log = read_events(events, guess_zone=True, **read_options(opts))
    if log.data_zone is not None and log.data_zone[0] != log.timezone:  # count dates where the data's clocks are
        log = replace(read_events(events, **{**read_options(opts), "timezone": log.data_zone[0]}),
                      data_zone=log.data_zone)  # fmt: skip
    if events is not None:
        say_duplicates(log.ledger, events)
    source = events.name if events is not None else (opts.get("table") or "a database query")
    stem = source.split(".")[0]
    result = draft(log, process_id=process_id or stem, title=f"Discovered from {source}", end_share=end_share,
                   min_share=min_share)  # fmt: skip
    write_text(output, result.text)
    for note in result.notes:
        click.echo(f"note: {note}")
    click.echo(f"wrote {output}: edit it, then check it with `flowmap validate {output}`")


@cli.command("export")
@click.argument("events", metavar="EVENTS|PROCESS", required=False, type=in_path())
@click.option("-o", "--output", type=out_path(), required=True,
              help="The events, normalised: log.xes (XES with the concept, time, lifecycle and org extensions), "
                   "log.csv or log.parquet; or the process as BPMN 2.0: process.bpmn.")  # fmt: skip
@click.option("--process", "process_path", type=in_path(),
              help="A process file: needed to read a tracker; with -o .bpmn and EVENTS, the data's probabilities "
                   "go in the BPMN.")  # fmt: skip
@coarsen_option
@pseudonymise_option
@event_options
@user_errors
def export_cmd(
    events: Path | None,
    output: Path,
    process_path: Path | None,
    coarsen: str | None,
    pseudonymise: str | None,
    **opts: Any,
) -> None:
    """Write an event file (any format flowmap reads, trackers too) as XES, CSV or Parquet; or a process as BPMN.

    `flowmap export PROCESS -o process.bpmn` writes BPMN 2.0 with its
    diagram, laid out as flowmap's swimlane map (docs/interop.md); with
    `--process PROCESS EVENTS`, the observed chances of each way out go in it.

    Events: one row per event, in case then time order: case_id, event, timestamp and
    the file's other columns. --pseudonymise replaces the case ids;
    --coarsen-dates keeps only the month or quarter of each date (in XES, the
    first day of it). Times read with a UTC offset are written with theirs
    (CSV text with the offset, Parquet in UTC), so they read back as the
    same instants.
    """
    from flowmap.files.process import load_process
    from flowmap.io import write_events, write_text
    from flowmap.privacy import pseudonymise as hide_ids

    ext = "".join(output.suffixes[-2:]).lower() if output.suffix.lower() == ".gz" else output.suffix.lower()
    if ext == ".bpmn":
        if events is None:
            raise UserError(f"-o {output.name} writes a process as BPMN: give the process file (.yaml)")
        _export_bpmn(events, output, process_path, opts)
        return
    if ext not in (".xes", ".csv", ".parquet"):
        raise UserError(f"cannot export events to {output.name}: use .xes, .csv or .parquet (or .bpmn for a process)")
    process = load_process(process_path) if process_path else None
    log = read(events, process, opts)
    frame = hide_ids(log.events.drop(columns=[c for c in ("row", "column") if c in log.events.columns]), pseudonymise)
    if coarsen:
        start = frame["timestamp"].dt.to_period("M" if coarsen == "month" else "Q").dt.start_time
        frame = frame.drop(columns=[c for c in ("utc_offset",) if c in frame]).assign(timestamp=start)
    tz = log.timezone
    if ext == ".xes":
        from flowmap.events.writers import xes_text

        write_text(output, xes_text(frame, timezone=tz, name=events.name if events is not None else log.ledger.source))
    else:
        from flowmap.events.writers import with_instants

        write_events(with_instants(frame, tz), output)
    click.echo(f"wrote {output}: {frame['case_id'].nunique():,} cases, {len(frame):,} events")


def _export_bpmn(source: Path, output: Path, process_path: Path | None, opts: dict[str, Any]) -> None:
    from flowmap.files.process import load_process
    from flowmap.io import write_text
    from flowmap.render.bpmn import bpmn_xml

    if process_path is None and source.suffix.lower() not in (".yaml", ".yml"):
        raise UserError(f"-o {output.name} writes a process as BPMN: give a process file (.yaml), not {source.name}; "
                        "to put the data's chances in it, give --process PROCESS and the events")  # fmt: skip
    process = load_process(process_path or source)
    chances = None
    if process_path is not None:
        from flowmap.analysis.replay import replay

        result = replay(process, read(source, process, opts))
        chances = _observed_chances(result)
    write_text(output, bpmn_xml(process, probabilities=chances))
    click.echo(f"wrote {output}: {len(process.steps)} tasks, {len(process.transitions)} sequence flows between them")


def _observed_chances(result: Any) -> dict[tuple[str, str], tuple[float, str]]:
    from flowmap.analysis.metrics import edge_table

    edges = edge_table(result)
    totals = edges.groupby("from")["count"].sum()
    return {(str(a), str(b)): (int(c) / int(totals[a]), f"data: {int(c)} of {int(totals[a])} moves")
            for a, b, c in zip(edges["from"], edges["to"], edges["count"], strict=True)}  # fmt: skip


@cli.command("variants")
@click.argument("process_path", metavar="PROCESS", type=in_path())
@click.argument("events", required=False, type=in_path())
@click.option("--top", type=click.IntRange(min=1), metavar="N", help="Only the N most common paths.")
@output_option
@problems_option
@event_options
@replay_options
@user_errors
def variants_cmd(
    process_path: Path,
    events: Path | None,
    top: int | None,
    output: Path | None,
    problems_path: Path | None,
    pseudonymise: str | None,
    as_json: bool,
    **opts: Any,
) -> None:
    """The common paths through the process: cases grouped by their path of steps, most common first.

    For each path: its cases and their share, how many are complete, the median
    days of the complete ones, each span target's met rate, and its moves the
    process does not declare. Loops are folded in the terminal table:
    (a → b) ×2. `map --variant K` draws the K-th path's cases.
    """
    from flowmap.analysis.variants import fold_path, variants

    result = replay_events(process_path, events, opts)
    table = variants(result, top=top)
    shown = table.assign(path=[fold_path(p) for p in table["path"]])
    emit(result, {"variants": table}, as_json=as_json, key=None, kind="variants", shown="variants") if as_json else (
        _print_variants(result, shown))  # fmt: skip
    write_result_table(table, output, result, "variants")
    write_problems(result.ledger, problems_path, pseudonymise)


def _print_variants(result: Any, shown: Any) -> None:
    from flowmap.cli.terminal import header_lines, make_console

    console = make_console()
    for line in header_lines(result):
        console.print(line, markup=False)

    def pct(x: float) -> str:
        return "" if x != x else f"{100 * x:.0f}%"

    rates = {c: [pct(x) for x in shown[c]] for c in shown.columns if c.startswith(("met_rate", "share"))}
    print_table(shown.assign(**rates), max_rows=60)


@cli.command("wip")
@click.argument("process_path", metavar="PROCESS", type=in_path())
@click.argument("events", required=False, type=in_path())
@click.option("--per", type=click.Choice(["day", "week", "month"]), default="week", show_default=True,
              help="Count at the end of each day, week (Sunday) or month.")  # fmt: skip
@click.option("--pdsa", "pdsa_path", type=in_path(), help="A PDSA log: each cycle's start marked on the chart.")
@click.option("-o", "--output", type=out_path(),
              help="The chart (.svg, .png, .pdf) or the counts (.csv, .json, .xlsx).")  # fmt: skip
@window_options
@event_options
@user_errors
def wip_cmd(
    process_path: Path,
    events: Path | None,
    per: Literal["day", "week", "month"],
    pdsa_path: Path | None,
    output: Path | None,
    **opts: Any,
) -> None:
    """Work in progress over time: open cases at each step at the end of each period, stacked in step order.

    The part of each step's band already over the step's target is darker and
    hatched. The counts are exactly what `replay --to` each period's last day
    says about open cases. The CSV has period, step, open, over_target.
    """
    from flowmap.analysis.wip import wip

    result = replay_events(process_path, events, opts)
    table = wip(result, per=per, since=result.since)
    if output is None or output.suffix.lower() in (".csv", ".json", ".xlsx"):
        last = table[table["period"] == table["period"].max()]
        print_table(last, title=f"Open at the end of {last['period'].iloc[0]}")
        write_result_table(table, output, result, "wip")
        return
    from flowmap.files.pdsa import load_pdsa
    from flowmap.io import write_bytes
    from flowmap.render.wip import wip_figure

    fmt = output.suffix.lower().lstrip(".")
    if fmt not in ("svg", "png", "pdf"):
        raise UserError(f"cannot write work in progress to {output.name}: use .svg, .png, .pdf, .csv, .json or .xlsx")
    log = load_pdsa(pdsa_path) if pdsa_path else None
    write_bytes(output, wip_figure(result.process, table, fmt=fmt, pdsa=log))
    click.echo(f"wrote {output} ({table['period'].nunique()} {per}s, as of {result.as_of.date()})")


@cli.command("animate")
@click.argument("process_path", metavar="PROCESS", type=in_path())
@click.argument("events", required=False, type=in_path())
@click.option("-o", "--output", type=out_path(), required=True,
              help="replay.svg or replay.html (animated); with --frames, frames.pdf or frames.png.")  # fmt: skip
@click.option("--duration", type=float, default=60.0, show_default=True, metavar="SECONDS",
              help="How long the whole timeline takes to play (it loops).")  # fmt: skip
@click.option("--per", type=click.Choice(["day", "week"]), default="day", show_default=True,
              help="The date counter and the waiting counts change each day or each week.")  # fmt: skip
@click.option("--frames", type=int, metavar="N", help="For print: N snapshots at evenly spaced dates instead.")
@click.option("--variant", type=click.IntRange(min=1), metavar="K",
              help="Only the cases of the K-th most common path (see `flowmap variants`).")  # fmt: skip
@click.option("--title", help="Title (default: the process title).")
@click.option("--renderer", type=click.Choice(["auto", "system", "wasm"]), default="auto", show_default=True,
              help="Graphviz for the layout: system dot, or the bundled WebAssembly build.")  # fmt: skip
@window_options
@pseudonymise_option
@event_options
@user_errors
def animate_cmd(
    process_path: Path,
    events: Path | None,
    output: Path,
    duration: float,
    per: str,
    frames: int | None,
    variant: int | None,
    title: str | None,
    renderer: Literal["auto", "system", "wasm"],
    pseudonymise: str | None,
    **opts: Any,
) -> None:
    """Watch the queue build: the map, with each case a token moving along the moves it made.

    Plays offline in any browser (SVG animation, no script). Each step shows how
    many cases wait there; a token turns amber, then red, as it overstays the
    step's target. --frames N writes N still snapshots for print instead.
    """
    from flowmap.io import write_bytes, write_text
    from flowmap.render.animate import animate_html, animate_svg, frame_scenes, frames_pdf
    from flowmap.render.layout import layout
    from flowmap.render.scene import to_png

    result = replay_events(process_path, events, opts)
    if variant is not None:
        result = _variant(result, variant, process_path, events, opts)
    lay = layout(result.process, renderer=renderer)
    ext = output.suffix.lower()
    if frames is not None:
        if ext not in (".pdf", ".png"):
            raise UserError(f"--frames writes .pdf (a page each) or .png (a file each), not {output.name}")
        scenes = frame_scenes(result, lay, frames)
        if ext == ".pdf":
            write_bytes(output, frames_pdf(scenes))
            click.echo(f"wrote {output}: {len(scenes)} frames")
            return
        width = len(str(len(scenes)))
        for i, scene in enumerate(scenes, 1):
            write_bytes(output.with_name(f"{output.stem}-{i:0{width}d}.png"), to_png(scene))
        click.echo(f"wrote {len(scenes)} frames: {output.with_name(f'{output.stem}-{1:0{width}d}.png')} and on")
        return
    if ext not in (".svg", ".html", ".htm"):
        raise UserError(f"cannot write an animation to {output.name}: use .svg or .html (or --frames with .pdf/.png)")
    svg = animate_svg(result, lay, duration=duration, per=per, key=pseudonymise, title=title)
    write_text(output, svg if ext == ".svg" else animate_html(svg, title or result.process.title))
    size = output.stat().st_size
    click.echo(f"wrote {output} ({size / 1e6:.1f} MB; {duration:g} s from {result.visits['entered'].min().date()} "
               f"to {result.as_of.date()}): open it in a browser")  # fmt: skip


@cli.command("map")
@click.argument("process_path", metavar="PROCESS", type=in_path())
@click.argument("events", required=False, type=in_path())
@click.option("-o", "--output", type=out_path(), required=True,
              help="Map file: .svg, .png, .pdf, .dot or .mmd (Mermaid).")  # fmt: skip
@click.option("--metric", type=click.Choice(["frequency", "time", "drift"]), default=None,
              help="What the figures show (default: drift when events are given).")  # fmt: skip
@click.option("--time", "time_part", type=click.Choice(["total", "waiting", "working"]), default="total",
              show_default=True,
              help="With --metric time and start and complete times: the medians of the whole visit, of the wait "
                   "before the work started, or of the work.")  # fmt: skip
@click.option("--case", "case_id", metavar="ID", help="Overlay one case's journey (needs EVENTS).")
@click.option("--variant", type=click.IntRange(min=1), metavar="K",
              help="Only the cases of the K-th most common path (see `flowmap variants`).")  # fmt: skip
@click.option("--lanes/--no-lanes", default=True, show_default=True, help="Group steps in swimlanes.")
@click.option("--direction", type=click.Choice(["auto", "LR", "TB", "grid"]), default="auto", show_default=True,
              help="LR, TB, grid (rows that snake back and forth) or auto: what fits A4 landscape best.")  # fmt: skip
@click.option("--title", help="Title (default: the process title).")
@click.option("--renderer", type=click.Choice(["auto", "system", "wasm"]), default="auto", show_default=True,
              help="Graphviz for the layout: system dot, or the bundled WebAssembly build.")  # fmt: skip
@click.option("--page", type=click.Choice(["a4", "a3", "fit"], case_sensitive=False), default=None,
              help="Paper for .pdf and .png: the whole map scaled onto A4 or A3 inside 10 mm margins, text never "
                   "below 6 pt (default a4), or fit: the map's own size (the default for .svg).")  # fmt: skip
@click.option("--landscape", "orientation", flag_value="landscape", help="Landscape paper.")
@click.option("--portrait", "orientation", flag_value="portrait",
              help="Portrait paper (default: whichever orientation fits the map best).")  # fmt: skip
@suppress_option
@coarsen_option
@window_options
@pseudonymise_option
@event_options
@user_errors
def map_cmd(
    process_path: Path,
    events: Path | None,
    output: Path,
    metric: Literal["frequency", "time", "drift"] | None,
    time_part: str,
    case_id: str | None,
    variant: int | None,
    lanes: bool,
    direction: Literal["auto", "LR", "TB", "grid"],
    title: str | None,
    renderer: Literal["auto", "system", "wasm"],
    page: str | None,
    orientation: Literal["landscape", "portrait"] | None,
    suppress_below: int | None,
    coarsen: str | None,
    pseudonymise: str | None,
    **opts: Any,
) -> None:
    """Draw a process map, annotated with the data when EVENTS are given.

    The layout comes from the process alone, so it does not move between
    meetings. Works with no Graphviz installed (a WebAssembly build is
    bundled). PDF and PNG maps are printed on A4 unless --page says
    otherwise.
    """
    from flowmap.analysis.metrics import case_journey, map_metrics
    from flowmap.files.process import load_process
    from flowmap.render.maps import write_map

    drawn = output.suffix.lower() in (".pdf", ".png", ".svg")
    if page and page.lower() != "fit" and not drawn:
        raise UserError(f"--page is for maps drawn as .pdf, .png or .svg, not {output.suffix or 'no extension'}")
    if orientation and not (page or output.suffix.lower() in (".pdf", ".png")):
        raise UserError(f"--{orientation} needs a page: add --page a4 or a3, or write .pdf or .png")
    paper = _paper(page, output)
    sheet = {"page": paper, "orientation": orientation or "auto"}
    if events is None and not opts.get("db"):
        if case_id or metric or opts.get("pseudonym_key") or suppress_below or variant:
            raise UserError("--case, --metric, --variant, --pseudonym-key and --suppress-below need an EVENTS file")
        with Progress() as progress:
            process = load_process(process_path)
            progress.advance(f"laying out and drawing {len(process.steps)} steps")
            write_map(output, process, None, None, metric=None, direction=direction, lanes=lanes, title=title,
                      renderer=renderer, **sheet)  # fmt: skip
        click.echo(f"wrote {output}")
        return
    result = replay_events(process_path, events, opts)
    if variant is not None:
        result = _variant(result, variant, process_path, events, opts)
    check_suppress(result, suppress_below)
    if time_part != "total" and metric != "time":
        raise UserError(f"--time {time_part} applies to --metric time; add --metric time")
    metrics = map_metrics(result, suppress_below=suppress_below, time=time_part)
    journey = None if case_id is None else case_journey(result, case_id, key=pseudonymise)
    with Progress() as progress:
        progress.advance(f"laying out and drawing {len(result.process.steps)} steps")
        write_map(output, result.process, metrics, journey, metric=metric or "drift", direction=direction,
                  lanes=lanes, title=title, renderer=renderer, coarsen=coarsen, **sheet)  # fmt: skip
    click.echo(f"wrote {output} (as of {result.as_of.date()})")


def _variant(result: Any, k: int, process_path: Path, events: Path | None, opts: dict[str, Any]) -> Any:
    """``--variant K``: the replay of the cases of the K-th most common path only."""
    from flowmap.analysis.variants import variants

    table = variants(result)
    if k > len(table):
        raise UserError(f"--variant {k}: there {'is' if len(table) == 1 else 'are'} only {len(table)} "
                        f"path{'s' if len(table) != 1 else ''} in the data; `flowmap variants` lists them")  # fmt: skip
    return replay_events(
        process_path, events, {**opts, "where": (*opts.get("where", ()), f"path={table['path'][k - 1]}")}
    )


def _paper(page: str | None, output: Path) -> Any:
    """The paper a map is drawn on: --page, else A4 for .pdf and .png, else the map's own size."""
    if page is None:
        return "a4" if output.suffix.lower() in (".pdf", ".png") else None
    return None if page.lower() == "fit" else page.lower()
