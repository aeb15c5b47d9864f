"""flowmap: declare a case-based process, replay dated case events against it,
find where cases wait, simulate a change, and show it.

The names below are the notebook API. They are imported on first use (a
module ``__getattr__``, PEP 562), so that ``import flowmap`` (and ``flowmap
--help``) stays fast. The layers they come from are subpackages:
docs/architecture.md draws them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS: dict[str, str] = {
    "FlowmapError": "flowmap.errors",
    "SpecError": "flowmap.errors",
    "EventDataError": "flowmap.errors",
    "ChangeError": "flowmap.errors",
    "RenderError": "flowmap.errors",
    "ChartError": "flowmap.errors",
    "Process": "flowmap.model.process",
    "Step": "flowmap.model.process",
    "Transition": "flowmap.model.process",
    "SpanTarget": "flowmap.model.process",
    "load_process": "flowmap.files.process",
    "parse_process": "flowmap.files.process",
    "process_schema": "flowmap.files.process",
    "clock_days": "flowmap.model.clock",
    "EventLog": "flowmap.events.read",
    "read_events": "flowmap.events.read",
    "Replay": "flowmap.analysis.replay",
    "replay": "flowmap.analysis.replay",
    "Drift": "flowmap.analysis.metrics",
    "drift": "flowmap.analysis.metrics",
    "audit": "flowmap.analysis.metrics",
    "discover": "flowmap.analysis.discover",
    "check_events": "flowmap.analysis.check",
    "pseudonymise": "flowmap.privacy",
    "MapMetrics": "flowmap.analysis.metrics",
    "map_metrics": "flowmap.analysis.metrics",
    "case_journey": "flowmap.analysis.metrics",
    "render_map": "flowmap.render.maps",
    "write_map": "flowmap.render.maps",
    "Change": "flowmap.simulation.change",
    "load_change": "flowmap.simulation.change",
    "Model": "flowmap.simulation.simulate",
    "SimulationResult": "flowmap.simulation.simulate",
    "fit": "flowmap.simulation.simulate",
    "model_from_process": "flowmap.simulation.simulate",
    "simulate": "flowmap.simulation.simulate",
    "synthesize": "flowmap.simulation.simulate",
    "run_chart": "flowmap.spc.charts",
    "xmr_chart": "flowmap.spc.charts",
    "target_series": "flowmap.spc.charts",
    "read_series": "flowmap.spc.charts",
    "load_pdsa": "flowmap.files.pdsa",
    "write_report": "flowmap.report.html",
    "report_html": "flowmap.report.html",
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
    from flowmap.analysis.check import check_events
    from flowmap.analysis.discover import discover
    from flowmap.analysis.metrics import Drift, MapMetrics, audit, case_journey, drift, map_metrics
    from flowmap.analysis.replay import Replay, replay
    from flowmap.errors import ChangeError, ChartError, EventDataError, FlowmapError, RenderError, SpecError
    from flowmap.events.read import EventLog, read_events
    from flowmap.files.pdsa import load_pdsa
    from flowmap.files.process import load_process, parse_process, process_schema
    from flowmap.model.clock import clock_days
    from flowmap.model.process import Process, SpanTarget, Step, Transition
    from flowmap.privacy import pseudonymise
    from flowmap.render.maps import render_map, write_map
    from flowmap.report.html import report_html, write_report
    from flowmap.simulation.change import Change, load_change
    from flowmap.simulation.simulate import Model, SimulationResult, fit, model_from_process, simulate, synthesize
    from flowmap.spc.charts import read_series, run_chart, target_series, xmr_chart


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'flowmap' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
