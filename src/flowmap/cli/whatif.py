"""What-if commands: ``simulate`` and ``synth``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from flowmap.cli.common import in_path, out_path, user_errors
from flowmap.cli.main import cli
from flowmap.cli.options import event_options, pseudonymise_option, suppress_option, window_options
from flowmap.cli.terminal import make_console, print_table, replay_events
from flowmap.errors import FlowmapError


def _model(process_path: Path, events: Path | None, opts: dict[str, Any]) -> Any:
    return _fitted(process_path, events, opts)[0]


def _fitted(process_path: Path, events: Path | None, opts: dict[str, Any]) -> tuple[Any, Any]:
    """The model, and the replay it was fitted on (None for a model from the process file alone)."""
    from flowmap.files.process import load_process
    from flowmap.simulation.simulate import fit, model_from_process

    if events is None and not opts.get("db"):
        return model_from_process(load_process(process_path)), None
    result = replay_events(process_path, events, opts)
    return fit(result), result


@cli.command("simulate")
@click.argument("process_path", metavar="PROCESS", type=in_path())
@click.argument("events", required=False, type=in_path())
@click.option("-c", "--change", "change_paths", multiple=True, type=in_path(),
              help="A change file (flowmap-change: 1); repeat to compare several.")  # fmt: skip
@click.option("--runs", type=int, default=300, show_default=True, help="Replications of the cohort.")
@click.option("--seed", type=int, default=1, show_default=True, help="Random seed: the same seed, the same numbers.")
@click.option("--cases", type=int, help="Cases per run (default: the number in the data, or 100).")
@click.option("--explain", is_flag=True, help="Print every model parameter and where it came from.")
@click.option("--as-prediction", "as_prediction", is_flag=True,
              help="Also print a 'predictions:' block for the PDSA log, from each change's intervals.")  # fmt: skip
@click.option("-o", "--output", type=out_path(), help="Write .json (everything), .csv or .xlsx (the table).")
@click.option("--holdout", metavar="DATE",
              help="Back-test: fit on what began before DATE, simulate what began on or after it (on the real "
                   "start dates), and compare with what happened.")  # fmt: skip
@window_options
@event_options
@user_errors
def simulate_cmd(
    process_path: Path,
    events: Path | None,
    change_paths: tuple[Path, ...],
    runs: int,
    seed: int,
    cases: int | None,
    explain: bool,
    as_prediction: bool,
    output: Path | None,
    holdout: str | None,
    **opts: Any,
) -> None:
    """Test a proposed change before the PDSA: baseline and changes over many seeded runs.

    Fits a model from the events (or from the process file alone), applies
    each change file, and prints, per span target and end to end, the met
    rate, median and p90 days with 95% intervals over runs, and the
    difference from the baseline.
    """
    from dataclasses import replace

    from flowmap.simulation.change import load_change
    from flowmap.simulation.check import baseline_check, check_sentences, check_table
    from flowmap.simulation.simulate import simulate

    if holdout is not None:
        _backtest(process_path, events, holdout, change_paths, runs, seed, output, opts)
        return
    model, observed = _fitted(process_path, events, opts)
    changes = [load_change(c, model.process) for c in change_paths]
    model = _with_attributes(model, changes, process_path, events, opts)
    console = make_console()
    if explain:
        print_table(model.parameters_table(), title="Model parameters: value and where it came from")
    result = simulate(model, changes, runs=runs, seed=seed, cases=cases)
    rows = baseline_check(observed, result) if observed is not None else []
    result = replace(result, baseline_check=tuple(r.as_dict() for r in rows))
    console.print(f"{model.process.title}: {result.runs} runs of {result.cases} cases, seed {result.seed}; "
                  f"95% intervals over runs", markup=False)  # fmt: skip
    if rows:
        import pandas as pd

        print_table(pd.DataFrame(check_table(rows)), title="Baseline check: does the model reproduce the data?")
    for line in check_sentences(rows, model, observed):
        console.print(line, markup=False)
    if cases is not None and observed is not None and cases != model.cases:
        console.print(f"(the check simulates {cases} cases a run against {model.cases} in the data: its intervals "
                      "are for that many)", markup=False)  # fmt: skip
    print_table(result.summary(), max_rows=200)
    if result.queues:
        print_table(result.queue_table(), title="Capacity: how busy each lane's servers are, and its mean queue")
    for line in [*result.sentences(model.process), *result.notes()]:
        console.print(line, markup=False)
    if as_prediction:
        from flowmap.spc.predictions import prediction_block

        if not changes:
            raise FlowmapError("--as-prediction needs a --change: it predicts what the change will do")
        click.echo("\n# Paste under the PDSA cycle that tests the change (flowmap pdsa scores it):")
        click.echo(prediction_block(result, model.process), nl=False)
    if output is not None:
        result.write(output)
        click.echo(f"wrote {output}", err=True)


@cli.command()
@click.argument("process_path", metavar="PROCESS", type=in_path())
@click.option("--from", "from_events", type=in_path(), help="Fit the model on these events first.")
@click.option("-c", "--change", "change_path", type=in_path(), help="Apply a change file.")
@click.option("--cases", type=int, required=True, help="How many cases.")
@click.option("--seed", type=int, default=1, show_default=True)
@click.option(
    "--start", default=None, help="Date the first case arrives (default: the data's first start, else 2025-01-06)."
)
@click.option("--columns", type=click.Choice(["flowmap", "pm4py"]), default="flowmap", show_default=True,
              help="Column names: case_id, event, timestamp; or pm4py's case:concept:name, concept:name, "
                   "time:timestamp.")  # fmt: skip
@click.option("-o", "--output", type=out_path(), required=True,
              help="Event log to write: .csv or .parquet.")  # fmt: skip
@event_options
@user_errors
def synth(
    process_path: Path,
    from_events: Path | None,
    change_path: Path | None,
    cases: int,
    seed: int,
    start: str | None,
    columns: str,
    output: Path,
    **opts: Any,
) -> None:
    """Write a simulated event log (case_id, event, timestamp) for demos, tests and benchmarks.

    Cases arrive at the model's rate from --start; the log ends at the last
    arrival, so cases still going then are open, as in a real extract.
    """
    from flowmap.io import write_events
    from flowmap.simulation.change import load_change
    from flowmap.simulation.simulate import apply_change, synthesize

    model = _model(process_path, from_events, opts)
    if change_path is not None:
        model = apply_change(model, load_change(change_path, model.process))
    frame = synthesize(model, cases=cases, seed=seed, start=start)
    if columns == "pm4py":
        frame = frame.rename(columns={"case_id": "case:concept:name", "event": "concept:name",
                                      "timestamp": "time:timestamp"})  # fmt: skip
    write_events(frame, output)
    click.echo(f"wrote {output}: {cases} cases, {len(frame)} events")


def _backtest(process_path: Path, events: Path | None, holdout: str, change_paths: tuple[Path, ...], runs: int,
              seed: int, output: Path | None, opts: dict[str, Any]) -> None:  # fmt: skip
    """``simulate --holdout``: the back-test, printed and (with -o FILE.json) written under ``backtest``."""
    import json

    from flowmap.cli.common import UserError
    from flowmap.cli.terminal import read
    from flowmap.files.process import load_process
    from flowmap.io import write_text
    from flowmap.simulation.backtest import backtest
    from flowmap.simulation.change import load_change

    if events is None and not opts.get("db"):
        raise UserError("--holdout needs an EVENTS file: it tests the model against what happened")
    process = load_process(process_path)
    log = read(events, process, opts)
    changes = [load_change(c, process) for c in change_paths]
    bt = backtest(process, log, holdout, changes=changes, runs=runs, seed=seed, as_of=opts.get("as_of"))
    console = make_console()
    print_table(bt.table(), title=f"Back-test at {bt.holdout}: what the model foresaw against what happened")
    for line in bt.sentences():
        console.print(line, markup=False)
    if output is not None:
        if output.suffix.lower() != ".json":
            raise UserError(f"a back-test is written as .json (got {output.name})")
        write_text(output, json.dumps({"flowmap": "simulate/1", "backtest": bt.as_dict()}, indent=2) + "\n")
        click.echo(f"wrote {output}", err=True)


@cli.command("forecast")
@click.argument("process_path", metavar="PROCESS", type=in_path())
@click.argument("events", required=False, type=in_path())
@click.option("-c", "--change", "change_paths", multiple=True, type=in_path(),
              help="Forecast as if this change were made now (repeatable: applied in turn).")  # fmt: skip
@click.option("--runs", type=int, default=300, show_default=True, help="Simulated futures per open case.")
@click.option("--seed", type=int, default=1, show_default=True, help="Random seed: the same seed, the same numbers.")
@click.option("--due-within", "due_within", type=click.FloatRange(min=0), metavar="DAYS",
              help="'Due in the next DAYS' in the summary (default: 10 on a working-day clock, else 14).")  # fmt: skip
@click.option("-o", "--output", type=out_path(), help="Write the forecast (.csv, .json, .xlsx).")
@suppress_option
@window_options
@pseudonymise_option
@event_options
@user_errors
def forecast_cmd(
    process_path: Path,
    events: Path | None,
    change_paths: tuple[Path, ...],
    runs: int,
    seed: int,
    due_within: float | None,
    output: Path | None,
    suppress_below: int | None,
    pseudonymise: str | None,
    **opts: Any,
) -> None:
    """Which open cases will probably miss their timescale: each carried forward by the fitted model.

    One row per open case and running span target: the chance of meeting it
    (p_met), and the median and 10th to 90th percentile of the date its clock
    stops. The summary says, per target, about how many will miss it and how
    many fall due soon; then the cases most at risk.
    """
    from flowmap.cli.terminal import check_suppress, write_result_table
    from flowmap.privacy import pseudonymise as hide_ids
    from flowmap.simulation.change import apply_change, load_change
    from flowmap.simulation.forecast import forecast
    from flowmap.simulation.simulate import fit

    result = replay_events(process_path, events, opts)
    check_suppress(result, suppress_below)
    model = fit(result)
    for c in change_paths:
        model = apply_change(model, load_change(c, model.process))
    fc = forecast(result, model, runs=runs, seed=seed, due_within=due_within)
    console = make_console()
    console.print(f"{result.process.title}: forecast as of {fc.as_of.date()}, {fc.runs} simulated futures per "
                  "open case, seed " f"{fc.seed}", markup=False)  # fmt: skip
    for line in fc.sentences(shown=suppress_below):
        console.print(line, markup=False)
    if len(fc.table):
        print_table(hide_ids(fc.at_risk(), pseudonymise), title="Most at risk (least likely to be met)")
    write_result_table(hide_ids(fc.table, pseudonymise), output, result, "forecast")


def _with_attributes(model: Any, changes: list[Any], process_path: Path, events: Path | None,
                     opts: dict[str, Any]) -> Any:  # fmt: skip
    """The share of cases with each attribute a ``set_priority`` names, read from the events."""
    from dataclasses import replace

    from flowmap.cli.common import UserError
    from flowmap.cli.terminal import read
    from flowmap.events.attributes import attribute_columns, case_values

    wanted = [op.body.where for c in changes for op in c.operations if op.kind == "set_priority"]
    if not wanted:
        return model
    if events is None and not opts.get("db"):
        raise UserError("set_priority needs an EVENTS file: the cases to go first are found by a case attribute")
    log = read(events, model.process, opts)
    shares = dict(model.attribute_shares)
    for w in wanted:
        columns = attribute_columns(log)
        if w.column not in columns and f"case:{w.column}" not in columns:
            cols = ", ".join(columns) or "none"
            where = events.name if events is not None else "the data"
            raise UserError(f"set_priority: there is no case attribute '{w.column}' in {where}; its case "
                            f"attributes are: {cols}")  # fmt: skip
        values = case_values(log, w.column)
        shares[(w.column, w.equals)] = float((values.astype(str).str.strip() == w.equals).mean())
    return replace(model, attribute_shares=shares)
