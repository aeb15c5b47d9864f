"""Commands on process files: ``validate``, ``show``, ``schema``, ``import`` (BPMN)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from flowmap.cli.common import in_path, out_path, user_errors
from flowmap.cli.main import cli
from flowmap.cli.terminal import make_console


@cli.command()
@click.argument("files", nargs=-1, required=True, type=in_path(dir_okay=True))
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
@click.argument("file", type=in_path(dir_okay=False))
@user_errors
def show(file: Path) -> None:
    """Describe a process: steps by lane, transitions, span targets and their sources."""
    from flowmap.cli.terminal import process_overview
    from flowmap.files.process import load_process

    process = load_process(file)
    console = make_console()
    for part in process_overview(process):
        console.print(part)
        console.print()


@cli.command()
@click.option("--change", "which", flag_value="change", help="The schema of change files instead.")
@click.option("--pdsa", "which", flag_value="pdsa", help="The schema of PDSA logs instead.")
@user_errors
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


@cli.command("import")
@click.argument("bpmn", type=in_path(dir_okay=False))
@click.option("-o", "--output", type=out_path(), required=True, help="Where to write the draft process file (.yaml).")
@click.option("--id", "process_id", metavar="SLUG", help="The draft's id (default: from the file name).")
@user_errors
def import_cmd(bpmn: Path, output: Path, process_id: str | None) -> None:
    """Read a BPMN 2.0 diagram (Camunda Modeler, bpmn.io, Signavio, ...) as a draft process file.

    Tasks become steps, lanes swimlanes, sequence flows transitions; gateways
    and intermediate events are flattened into moves between tasks; start and
    end events mark start and end steps. What flowmap cannot represent is left
    out with a note (docs/interop.md).
    """
    from flowmap.files.bpmn import import_bpmn
    from flowmap.files.process import parse_process
    from flowmap.io import write_text

    draft = import_bpmn(bpmn, process_id=process_id)
    parse_process(draft.text, file=str(output))  # the draft must pass validate
    write_text(output, draft.text)
    for note in draft.notes:
        click.echo(f"note: {note}")
    click.echo(f"wrote {output}: {draft.steps} steps, {draft.transitions} transitions; add each step's events, "
               f"then check it with `flowmap validate {output}`")  # fmt: skip
