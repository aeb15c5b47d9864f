"""Errors a user can cause, and how they are located.

Every mistake in a user's input (a process file, an event log, a change file,
a PDSA log, an option) is raised as a :class:`FlowmapError` subclass whose
message says what was expected, what was found, where, and what to do. The CLI
turns these into ``Error: ...`` on stderr and exit status 1; anything else is a
bug and keeps its traceback.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

__all__ = [
    "ChangeError",
    "ChartError",
    "EventDataError",
    "FlowmapError",
    "NoMatchError",
    "Problem",
    "RenderError",
    "SpecError",
    "did_you_mean",
]


@dataclass(frozen=True, order=True)
class Problem:
    """One located problem in an input file.

    ``line`` and ``column`` are 1-based; either may be ``None`` when the
    problem belongs to the whole file.
    """

    file: str
    line: int | None
    column: int | None
    message: str

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        return f"{where}: {self.message}"


class FlowmapError(Exception):
    """Root of every error a user can cause and fix."""


class SpecError(FlowmapError):
    """A process, change or PDSA file is not valid; carries every problem found."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems: tuple[Problem, ...] = tuple(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class ChangeError(SpecError):
    """A change file is not valid, or does not fit the process it changes."""


class EventDataError(FlowmapError):
    """An event file cannot be read or has no usable events."""


class NoMatchError(EventDataError):
    """Nothing in the data matches a step of the process: most likely the wrong process file."""


class RenderError(FlowmapError):
    """A map or chart cannot be written in the format asked for."""


class ChartError(FlowmapError):
    """A measure cannot be charted (too few points, unknown target, bad series)."""


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """Return ``"; did you mean 'x'?"`` for the closest choice, or ``""``.

    Examples
    --------
    >>> did_you_mean("advise_issued", ["advice_issued", "bundle_sent"])
    "; did you mean 'advice_issued'?"
    >>> did_you_mean("zzz", ["advice_issued"])
    ''
    """
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else ""
