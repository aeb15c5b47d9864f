"""The ``flowmap`` command line: a thin layer of click commands over the library.

:mod:`flowmap.cli.main` holds the group; the commands live by task in
:mod:`~flowmap.cli.files`, :mod:`~flowmap.cli.events`, :mod:`~flowmap.cli.whatif`
and :mod:`~flowmap.cli.study`; option bundles in :mod:`~flowmap.cli.options`;
printing and writing in :mod:`~flowmap.cli.terminal`. Nothing imports this
package; it may import every layer.
"""

from flowmap.cli.main import cli, main

__all__ = ["cli", "main"]
