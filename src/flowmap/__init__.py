"""flowmap: declare a case-based process, replay dated case events against it,
find where cases wait, simulate a change, and show it.

The names below are the notebook API. They are imported on first use, so that
``import flowmap`` (and ``flowmap --help``) stays fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS: dict[str, str] = {
    "FlowmapError": "errors",
    "SpecError": "errors",
    "EventDataError": "errors",
    "ChangeError": "errors",
    "RenderError": "errors",
    "ChartError": "errors",
    "Process": "model",
    "Step": "model",
    "Transition": "model",
    "SpanTarget": "model",
    "load_process": "spec",
    "parse_process": "spec",
    "process_schema": "spec",
    "clock_days": "clock",
}

__all__ = [
    "ChangeError",
    "ChartError",
    "EventDataError",
    "FlowmapError",
    "Process",
    "RenderError",
    "SpanTarget",
    "SpecError",
    "Step",
    "Transition",
    "__version__",
    "clock_days",
    "load_process",
    "parse_process",
    "process_schema",
]

if TYPE_CHECKING:
    from .clock import clock_days
    from .errors import ChangeError, ChartError, EventDataError, FlowmapError, RenderError, SpecError
    from .model import Process, SpanTarget, Step, Transition
    from .spec import load_process, parse_process, process_schema


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'flowmap' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
