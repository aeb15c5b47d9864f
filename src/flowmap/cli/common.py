"""What every command shares: user errors as ``Error: ...`` and exit 1, and input and output paths.

Errors a user can cause arrive as :class:`~flowmap.errors.FlowmapError` and
leave as ``Error: ...`` on stderr with exit status 1; option misuse exits 2
(click's own). Paths the command reads are :class:`InPath`, paths it writes
:class:`OutPath`; :func:`user_errors` refuses an output that is one of the inputs.
"""

from __future__ import annotations

import contextlib
import functools
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from flowmap.errors import FlowmapError, SpecError

__all__ = ["F", "InPath", "OutPath", "UserError", "in_path", "out_path", "refuse_overwriting_inputs", "user_errors"]


F = TypeVar("F", bound=Callable[..., Any])


class UserError(click.ClickException):
    """A FlowmapError as click shows it: ``Error: ...`` on stderr, exit 1."""

    exit_code = 1


class InPath(click.Path):
    """A file the command reads: it is never written to."""


class OutPath(click.Path):
    """A file the command writes: never one of its inputs."""


def in_path(**kwargs: Any) -> InPath:
    return InPath(path_type=Path, **kwargs)


def out_path() -> OutPath:
    return OutPath(path_type=Path, dir_okay=False)


def refuse_overwriting_inputs(kwargs: dict[str, Any]) -> None:
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
            if isinstance(param.type, InPath):
                inputs.append(Path(v))
            elif isinstance(param.type, OutPath):
                outputs.append((param.opts[-1], Path(v)))
    for option, out in outputs:
        for inp in inputs:
            same = out.resolve() == inp.resolve()
            if not same and out.exists() and inp.exists():
                with contextlib.suppress(OSError):
                    same = os.path.samefile(out, inp)
            if same:
                raise UserError(
                    f"{option} {out} is one of this command's inputs ({inp}); flowmap never writes over its "
                    "inputs: choose another file name for the output"
                )


def user_errors(fn: F) -> F:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        refuse_overwriting_inputs(kwargs)
        try:
            return fn(*args, **kwargs)
        except SpecError as e:
            raise UserError(
                f"{len(e.problems)} problem{'s' if len(e.problems) != 1 else ''} found:\n"
                + "\n".join(str(p) for p in e.problems)
            ) from None
        except FlowmapError as e:
            raise UserError(str(e)) from None

    return wrapper  # type: ignore[return-value]
