"""The ``flowmap`` click group; the commands register themselves from their modules.

This package is the only place that imports click. Heavy libraries are
imported inside the commands that need them, so ``flowmap --help`` stays fast.
"""

from __future__ import annotations

import click

from flowmap import __version__

__all__ = ["cli", "main"]


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, "--version", "-V", prog_name="flowmap", message="%(prog)s %(version)s")
def cli() -> None:
    """flowmap: find where cases wait.

    Declare a process as a YAML state graph, replay dated case events against
    it, and see which step each case is at, where delay accumulates, and which
    cases left the declared path.

    Start with `flowmap validate processes/*.yaml` and `flowmap show FILE`.
    """


def main() -> None:  # pragma: no cover - console entry for tools that want a function
    cli(prog_name="flowmap")


# The commands: importing each module registers its commands on the group.
from flowmap.cli import events, files, study, whatif  # noqa: E402, F401
