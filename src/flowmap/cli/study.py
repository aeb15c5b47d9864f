"""Commands for the Study in PDSA: ``chart`` and ``report``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

import click

from flowmap.cli.common import UserError, in_path, out_path, user_errors
from flowmap.cli.main import cli
from flowmap.cli.options import (
    coarsen_option,
    event_options,
    problems_option,
    pseudonymise_option,
    suppress_option,
    window_options,
)
from flowmap.cli.terminal import check_suppress, print_table, replay_by, replay_events, write_problems
from flowmap.errors import FlowmapError


@cli.command()
@click.argument("inputs", nargs=-1, type=in_path(), metavar="[PROCESS EVENTS]")
@click.option("--target", "target_id", metavar="ID", help="Chart this span target: one point per case.")
@click.option("--series", "series_path", type=in_path(), help="Chart a date,value CSV instead.")
@click.option("--kind", type=click.Choice(["run", "xmr", "p"]), default="run", show_default=True,
              help="run chart, XmR chart, or p-chart (a met rate per period, with --per).")  # fmt: skip
@click.option("--per", type=click.Choice(["week", "month", "quarter"]), default=None,
              help="Chart the target per period (a clock counts in the period it stopped), not per case.")  # fmt: skip
@click.option("--measure", type=click.Choice(["met_rate", "median_days", "mean_days", "count", "overdue"]),
              default=None, help="With --per: what each point is (default: met_rate).")  # fmt: skip
@click.option("--pdsa", "pdsa_path", type=in_path(), help="PDSA log (flowmap-pdsa: 1) to mark.")
@click.option("--baseline", type=int, help="Use the first N points as the baseline (default: before the first PDSA).")
@click.option("--rebase", multiple=True, metavar="PDSA_ID", help="XmR: start new limits at this PDSA cycle.")
@click.option("--screen", is_flag=True, help="XmR: leave out moving ranges above 3.267 x their mean.")
@click.option("--better", type=click.Choice(["lower", "higher"]), default="lower", show_default=True,
              help="Which way is improvement, for colouring signals.")  # fmt: skip
@click.option("-o", "--output", type=out_path(), required=True,
              help="Chart file: .svg, .png or .pdf.")  # fmt: skip
@click.option("--signals", "signals_path", type=out_path(),
              help="Write the centre, limits and each rule's flagged points as JSON.")  # fmt: skip
@window_options
@pseudonymise_option
@event_options
@user_errors
def chart(
    inputs: tuple[Path, ...],
    target_id: str | None,
    series_path: Path | None,
    kind: Literal["run", "xmr", "p"],
    per: Literal["week", "month", "quarter"] | None,
    measure: Literal["met_rate", "median_days", "mean_days", "count", "overdue"] | None,
    pdsa_path: Path | None,
    baseline: int | None,
    rebase: tuple[str, ...],
    screen: bool,
    better: Literal["lower", "higher"],
    output: Path,
    signals_path: Path | None,
    pseudonymise: str | None,
    **opts: Any,
) -> None:
    """Run chart or XmR chart of a measure, with PDSA cycles marked and the rules applied.

    Give PROCESS EVENTS and --target ID (one point per case, dated when its
    clock stopped; with --per, one point per week, month or quarter), or
    --series FILE (any date,value CSV). Prints a reading in plain words.
    """
    from flowmap.files.pdsa import load_pdsa
    from flowmap.io import write_text
    from flowmap.spc.charts import (
        pseudonymise_series,
        read_series,
        run_chart,
        target_series,
        write_chart,
        xmr_chart,
    )

    if measure is not None and per is None:
        raise UserError("--measure applies with --per (a chart per week, month or quarter)")
    if kind == "p" and (per is None or (measure or "met_rate") != "met_rate"):
        raise UserError("--kind p charts a met rate per period: give --per (and --measure met_rate, the default)")
    if series_path is not None:
        if inputs or target_id:
            raise UserError("give either --series FILE, or PROCESS EVENTS --target ID, not both")
        if per is not None:
            raise UserError("--per applies to PROCESS EVENTS --target ID, not to --series")
        series = read_series(series_path, monthfirst=bool(opts.get("monthfirst")))
    else:
        if len(inputs) != 2 or not target_id:
            raise UserError("give PROCESS EVENTS --target ID, or --series FILE")
        replayed = replay_events(inputs[0], inputs[1], opts)
        if per is not None:
            from flowmap.spc.periods import period_series

            series = period_series(replayed, target_id, per=per, measure=measure or "met_rate")
        else:
            series = target_series(replayed, target_id)
    series = pseudonymise_series(series, pseudonymise)
    log = load_pdsa(pdsa_path) if pdsa_path else None
    if kind != "xmr" and (rebase or screen):
        raise UserError("--rebase and --screen apply to --kind xmr")
    if kind == "p":
        from flowmap.spc.periods import p_chart

        chart_result = p_chart(series, pdsa=log, baseline=baseline)
    elif kind == "run":
        chart_result = run_chart(series, pdsa=log, baseline=baseline, better=better)
    else:
        chart_result = xmr_chart(series, pdsa=log, baseline=baseline, rebase=rebase, screen=screen, better=better)
    write_chart(chart_result, output)
    click.echo(chart_result.reading())
    click.echo(f"wrote {output}", err=True)
    if signals_path is not None:
        write_text(signals_path, json.dumps(chart_result.signals(), indent=2, ensure_ascii=False) + "\n")
        click.echo(f"wrote {signals_path}", err=True)


@cli.command()
@click.argument("process_path", metavar="PROCESS", type=in_path())
@click.argument("events", required=False, type=in_path())
@click.option("-o", "--output", type=out_path(), required=True,
              help="The report: one .html file.")  # fmt: skip
@click.option("--pdsa", "pdsa_path", type=in_path(), help="PDSA log to mark on charts and list.")
@click.option("-c", "--change", "change_paths", multiple=True, type=in_path(),
              help="Change files to simulate against the baseline (repeatable).")  # fmt: skip
@click.option("--runs", type=int, default=300, show_default=True, help="Simulation runs, with --change.")
@click.option("--seed", type=int, default=1, show_default=True, help="Simulation seed, with --change.")
@suppress_option
@coarsen_option
@click.option("--animate", is_flag=True, help="Embed the animated map (flowmap animate): the cases moving, no script.")
@click.option("--due-within", "due_within", type=click.FloatRange(min=0), metavar="DAYS",
              help="The 'Due in the next DAYS' table (default: 10 on a working-day clock, else 14).")  # fmt: skip
@window_options
@pseudonymise_option
@click.option("--renderer", type=click.Choice(["auto", "system", "wasm"]), default="auto", show_default=True,
              help="Graphviz for the map layout.")  # fmt: skip
@problems_option
@event_options
@user_errors
def report(
    process_path: Path,
    events: Path | None,
    output: Path,
    pdsa_path: Path | None,
    change_paths: tuple[Path, ...],
    runs: int,
    seed: int,
    suppress_below: int | None,
    pseudonymise: str | None,
    renderer: Literal["auto", "system", "wasm"],
    problems_path: Path | None,
    due_within: float | None,
    coarsen: str | None,
    animate: bool,
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

    result = replay_events(process_path, events, opts)
    check_suppress(result, suppress_below)
    log = load_pdsa(pdsa_path) if pdsa_path else None
    changes = [load_change(c, result.process) for c in change_paths]
    write_report(output, result, pdsa=log, changes=changes, suppress_below=suppress_below, key=pseudonymise,
                 runs=runs, seed=seed, renderer=renderer, due_within=due_within, coarsen=coarsen,
                 animate=animate)  # fmt: skip
    click.echo(f"wrote {output}: open it in any browser; it needs no network and prints on A4")
    write_problems(result.ledger, problems_path, pseudonymise)


@cli.command()
@click.argument("process_path", metavar="PROCESS", type=in_path())
@click.argument("events", required=False, type=in_path())
@click.option("--split", metavar="DATE", help="Compare what began before DATE with what began on or after it.")
@click.option("--pdsa", "pdsa_path", type=in_path(), help="A PDSA log: split at --cycle's start (and end).")
@click.option("--cycle", "cycle_id", metavar="ID", help="With --pdsa: the cycle to study, e.g. PDSA-2.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed for the bootstrap intervals.")
@click.option("--by", "by", metavar="COLUMN", help="Compare within each value of a case attribute (a 'group' column).")
@click.option("-o", "--output", type=out_path(), help="Write the table (.csv, .json with the counts, .xlsx).")
@click.option("--map", "map_path", type=out_path(), metavar="FILE",
              help="Draw the process map with each step coloured and labelled by the direction of its change "
                   "(.svg, .png, .pdf).")  # fmt: skip
@window_options
@event_options
@user_errors
def compare(
    process_path: Path,
    events: Path | None,
    split: str | None,
    pdsa_path: Path | None,
    cycle_id: str | None,
    seed: int,
    by: str | None,
    output: Path | None,
    map_path: Path | None,
    **opts: Any,
) -> None:
    """Did the change work? Before against after a date or a PDSA cycle, with intervals and p-values.

    Before is what began before the split; after, what began on or after it
    (visits by entry, span targets by the start of their clock). With --pdsa
    and --cycle, the split is the cycle's start and "after" ends at its end
    date when it has one. Prints one plain sentence per span target and the
    table: met rates (Newcombe interval, Fisher's exact test), median days
    (bootstrap interval, Mann-Whitney U) and step breach rates.
    """
    from flowmap.spc.compare import compare as compare_sides
    from flowmap.spc.compare import write_comparison

    end = None
    if pdsa_path is not None or cycle_id is not None:
        if split is not None or pdsa_path is None or cycle_id is None:
            raise UserError("give either --split DATE, or --pdsa FILE --cycle ID")
        from flowmap.files.pdsa import load_pdsa

        cycle = load_pdsa(pdsa_path).cycle(cycle_id)
        split, end = cycle.start.isoformat(), (cycle.end.isoformat() if cycle.end else None)
    elif split is None:
        raise UserError("give --split DATE, or --pdsa FILE --cycle ID")
    if map_path is not None and by is not None:
        raise UserError("--map draws one comparison, and --by makes one per group: choose a group with "
                        "--where COLUMN=VALUE and draw its map")  # fmt: skip
    groups: list[tuple[str, Any]] = []
    if by is None:
        result = replay_events(process_path, events, opts)
    else:
        result, groups = replay_by(process_path, events, opts, by)
    comparison = compare_sides(result, split, end=end, seed=seed, cycle=cycle_id)
    after = f"{comparison.split}" + (f" to {comparison.end}" if comparison.end else f" to {comparison.as_of}")
    click.echo(f"{result.process.title}: before {comparison.split} against {after}"
               + (f" ({cycle_id})" if cycle_id else "") + f"; as of {comparison.as_of}")  # fmt: skip
    if by is None:
        for line in comparison.sentences():
            click.echo(line)
        print_table(comparison.table(), title="Before and after", max_rows=60)
        if output is not None:
            write_comparison(comparison, output)
            click.echo(f"wrote {output}", err=True)
        if map_path is not None:
            from flowmap.render.maps import compare_notes, write_map

            notes = compare_notes(comparison.step_verdicts(), comparison.sides())
            write_map(map_path, result.process, notes=notes, metric=None)
            click.echo(f"wrote {map_path}", err=True)
        return
    from flowmap.spc.compare import grouped_table

    comparisons = []
    for value, part in groups:
        try:
            comparisons.append((value, compare_sides(part, split, end=end, seed=seed, cycle=cycle_id)))
        except FlowmapError as e:
            click.echo(f"{by} {value}: no comparison: {e}")
            continue
        click.echo(f"\n{by} {value}:")
        for line in comparisons[-1][1].sentences():
            click.echo(f"  {line}")
    if not comparisons:
        raise FlowmapError(f"no group of '{by}' has cases on both sides of {comparison.split}")
    print_table(grouped_table(comparisons), title=f"Before and after, by {by}", max_rows=200)
    if output is not None:
        write_comparison(comparisons, output)
        click.echo(f"wrote {output}", err=True)


@cli.command("pdsa")
@click.argument("process_path", metavar="PROCESS", type=in_path())
@click.argument("events", required=False, type=in_path())
@click.option("--pdsa", "pdsa_path", type=in_path(), required=True, help="The PDSA log whose predictions to score.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed for the bootstrap intervals of medians.")
@click.option("-o", "--output", type=out_path(), help="Write the scores (.csv, .json, .xlsx).")
@window_options
@event_options
@user_errors
def pdsa_cmd(
    process_path: Path, events: Path | None, pdsa_path: Path, seed: int, output: Path | None, **opts: Any
) -> None:
    """Score each PDSA prediction against what happened in its cycle.

    A prediction (`predictions:` in the PDSA log) names a span target, a
    measure (met_rate or median_days), and a value, a range (between), or
    both. It is scored on the clocks that started within the cycle: as
    predicted, better or worse than predicted, or too early to tell (fewer
    than 5 completed clocks).
    """
    from flowmap.files.pdsa import load_pdsa
    from flowmap.io import write_table
    from flowmap.spc.predictions import score_predictions, scores_table

    log = load_pdsa(pdsa_path)
    result = replay_events(process_path, events, opts)
    scores = score_predictions(result, log, seed=seed)
    if not scores:
        click.echo(f"{pdsa_path} has no predictions to score; add 'predictions:' to a cycle (see docs/compare.md)")
        return
    for score in scores:
        click.echo(score.sentence())
    table = scores_table(scores)
    print_table(table, title="Predictions")
    if output is not None:
        write_table(table, output, sheet="predictions")
        click.echo(f"wrote {output}", err=True)
