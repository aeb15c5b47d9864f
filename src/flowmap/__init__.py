"""flowmap: declare a case-based process, replay dated case events against it,
find where cases wait, simulate a change, and show it.

The names below are the notebook API. They are imported on first use, so that
``import flowmap`` (and ``flowmap --help``) stays fast.
"""

from __future__ import annotations

import importlib
import sys
import types
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
    "EventLog": "ingest",
    "read_events": "ingest",
    "Replay": "replay",
    "replay": "replay",
    "Drift": "metrics",
    "drift": "metrics",
    "audit": "metrics",
    "discover": "discover",
    "check_events": "checks",
    "pseudonymise": "privacy",
    "MapMetrics": "metrics",
    "map_metrics": "metrics",
    "case_journey": "metrics",
    "render_map": "render",
    "write_map": "render",
    "Change": "change",
    "load_change": "change",
    "Model": "simulate",
    "SimulationResult": "simulate",
    "fit": "simulate",
    "model_from_process": "simulate",
    "simulate": "simulate",
    "synthesize": "simulate",
    "run_chart": "charts",
    "xmr_chart": "charts",
    "target_series": "charts",
    "read_series": "charts",
    "load_pdsa": "pdsa",
    "write_report": "report",
    "report_html": "report",
}

__all__ = [
    "Change",
    "ChangeError",
    "ChartError",
    "Drift",
    "EventDataError",
    "EventLog",
    "FlowmapError",
    "MapMetrics",
    "Model",
    "Process",
    "RenderError",
    "Replay",
    "SimulationResult",
    "SpanTarget",
    "SpecError",
    "Step",
    "Transition",
    "__version__",
    "audit",
    "case_journey",
    "check_events",
    "clock_days",
    "discover",
    "drift",
    "fit",
    "load_change",
    "load_pdsa",
    "load_process",
    "map_metrics",
    "model_from_process",
    "parse_process",
    "process_schema",
    "pseudonymise",
    "read_events",
    "read_series",
    "render_map",
    "replay",
    "report_html",
    "run_chart",
    "simulate",
    "synthesize",
    "target_series",
    "write_map",
    "write_report",
    "xmr_chart",
]

if TYPE_CHECKING:
    from .change import Change, load_change
    from .charts import read_series, run_chart, target_series, xmr_chart
    from .checks import check_events
    from .clock import clock_days
    from .discover import discover
    from .errors import ChangeError, ChartError, EventDataError, FlowmapError, RenderError, SpecError
    from .ingest import EventLog, read_events
    from .metrics import Drift, MapMetrics, audit, case_journey, drift, map_metrics
    from .model import Process, SpanTarget, Step, Transition
    from .pdsa import load_pdsa
    from .privacy import pseudonymise
    from .render import render_map, write_map
    from .replay import Replay, replay
    from .report import report_html, write_report
    from .simulate import Model, SimulationResult, fit, model_from_process, simulate, synthesize
    from .spec import load_process, parse_process, process_schema


class _Package(types.ModuleType):
    """The package module. Importing a submodule binds it on its package; where a
    submodule shares its name with the function it exports (``replay``,
    ``discover``), that binding would hide the function, so it is declined. The
    submodule stays importable as ``flowmap.replay`` through ``sys.modules``."""

    def __setattr__(self, name: str, value: Any) -> None:
        if isinstance(value, types.ModuleType) and name in _EXPORTS and _EXPORTS[name] == name:
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'flowmap' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
