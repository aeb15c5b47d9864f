"""``python -m flowmap`` runs the command line."""

from flowmap.cli import cli

if __name__ == "__main__":  # pragma: no cover
    cli(prog_name="flowmap")
