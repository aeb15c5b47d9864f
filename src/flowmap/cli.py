"""The ``flowmap`` command line: parse options, call one library function, print or write.

This is the only module that imports click. Errors a user can cause arrive as
:class:`~flowmap.errors.FlowmapError` and leave as ``Error: ...`` on stderr with
exit status 1; option misuse exits 2 (click's own). Heavy libraries are
imported inside the commands that need them, so ``flowmap --help`` stays fast.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from . import __version__
from .errors import FlowmapError, SpecError

__all__ = ["cli"]

F = TypeVar("F", bound=Callable[..., Any])


class _UserError(click.ClickException):
    """A FlowmapError as click shows it: ``Error: ...`` on stderr, exit 1."""

    exit_code = 1


def _user_errors(fn: F) -> F:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
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

    return Console(stderr=stderr, highlight=False, soft_wrap=False, width=None if sys.stdout.isatty() else 120)


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
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path, dir_okay=True))
@click.option("-q", "--quiet", is_flag=True, help="Print only the problems, not the per-file summary.")
def validate(files: tuple[Path, ...], quiet: bool) -> None:
    """Check process files; print every problem with FILE:LINE:COLUMN.

    Exits 0 when every file is valid, 1 when any is not.
    """
    from .spec import validate_files

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
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@_user_errors
def show(file: Path) -> None:
    """Describe a process: steps by lane, transitions, span targets and their sources."""
    from .output import process_overview
    from .spec import load_process

    process = load_process(file)
    console = _console()
    for part in process_overview(process):
        console.print(part)
        console.print()


@cli.command()
@_user_errors
def schema() -> None:
    """Print the JSON Schema of process files, for editors.

    Save it (flowmap schema > flowmap-process.schema.json) and start a process
    file with `# yaml-language-server: $schema=flowmap-process.schema.json`
    to get checking and completion in VS Code.
    """
    from .spec import process_schema, schema_json

    click.echo(schema_json(process_schema()), nl=False)


def main() -> None:  # pragma: no cover - console entry for tools that want a function
    cli(prog_name="flowmap")
