"""The ``flowmap`` command line: a thin layer of click commands over the library.

Nothing imports it; it may import every layer.
"""

from flowmap.cli.commands import cli, main

__all__ = ["cli", "main"]
