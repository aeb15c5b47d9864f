"""Simulation: test a proposed change before the PDSA, over many seeded runs.

:func:`simulate` runs the baseline model and each change applied to it, each
``runs`` times from the same seed (so the runs are paired and differences from
the baseline are less noisy), and summarises them
(:class:`~flowmap.simulation.results.SimulationResult`). The parts live beside
it: the model and its fitting (:mod:`~flowmap.simulation.model`), change files
and their operations (:mod:`~flowmap.simulation.change`), the engines
(:mod:`~flowmap.simulation.engines`), the results
(:mod:`~flowmap.simulation.results`) and simulated logs
(:mod:`~flowmap.simulation.synth`). Their public names are re-exported here.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from flowmap.errors import FlowmapError
from flowmap.simulation.change import Change, apply_change
from flowmap.simulation.engines import MAX_MOVES, Trace, Walk, discrete_events, walk
from flowmap.simulation.model import Duration, Model, Parameter, fit, model_from_process
from flowmap.simulation.results import RunStats, Scenario, SimulationResult, run_stats, scenario
from flowmap.simulation.synth import synthesize

__all__ = [
    "MAX_MOVES",
    "MAX_RUNS",
    "Duration",
    "Model",
    "Parameter",
    "SimulationResult",
    "apply_change",
    "fit",
    "model_from_process",
    "simulate",
    "synthesize",
]

MAX_RUNS = 100_000


def simulate(
    model: Model,
    changes: Sequence[Change] = (),
    *,
    runs: int = 300,
    seed: int = 1,
    cases: int | None = None,
) -> SimulationResult:
    """Run the baseline and each change ``runs`` times with ``cases`` cases each.

    The same seed gives the same numbers. Each scenario starts from the same
    seed, so runs are paired and differences from the baseline are less noisy.

    Raises
    ------
    FlowmapError
        For ``runs`` below 1 or above :data:`MAX_RUNS`, or ``cases`` below 1.
    """
    if runs < 1:
        raise FlowmapError(f"--runs must be at least 1 (got {runs})")
    if runs > MAX_RUNS:
        secs = runs * (cases or model.cases) * 2e-6 * (50 if _any_capacity(model, changes) else 1)
        raise FlowmapError(
            f"--runs {runs} is more than flowmap allows ({MAX_RUNS}); it would take about {secs / 60:.0f} minutes. "
            "300 to 1,000 runs give intervals to within a percentage point"
        )
    n = cases if cases is not None else model.cases
    if n < 1:
        raise FlowmapError(f"--cases must be at least 1 (got {n})")
    scenarios: list[Scenario] = []
    base: RunStats | None = None
    capped: dict[str, int] = {}
    queues: dict[str, dict[str, dict[str, float]]] = {}
    notes: list[str] = []
    for name, m in [("baseline", model), *((c.name, apply_change(model, c)) for c in changes)]:
        rng = np.random.default_rng(seed)  # the same seed for every scenario: runs are paired
        w = _runs(m, runs, n, rng)
        stats = run_stats(m, w, runs, n)
        scenarios.append(scenario(name, m, stats, base))
        base = base if base is not None else stats
        capped[name] = w.capped
        if w.lanes:
            queues[name] = {lane: {"utilisation": round(u, 4), "mean_queue": round(q, 4)}
                            for lane, (u, q) in w.lanes.items()}  # fmt: skip
        if m.priority and not m.capacity:
            notes.append(f"note: '{name}' sets a priority, which changes nothing without set_capacity: with no "
                         "queue, nobody waits to go first")  # fmt: skip
    return SimulationResult(seed=seed, runs=runs, cases=n, scenarios=tuple(scenarios), parameters=model.parameters,
                            capped=capped, queues=queues, extra_notes=tuple(notes))  # fmt: skip


def _runs(m: Model, runs: int, n: int, rng: np.random.Generator) -> Walk:
    """``runs`` runs of ``n`` cases: one vectorised walk, or one discrete-event run each with capacity."""
    if not m.capacity:
        return walk(m, runs * n, rng, per_run=n)
    walks = [discrete_events(m, n, rng) for _ in range(runs)]
    trace = Trace(
        case=np.concatenate([x.trace.case + i * n for i, x in enumerate(walks)]),
        step=np.concatenate([x.trace.step for x in walks]),
        time=np.concatenate([x.trace.time for x in walks]),
    )
    lanes = {
        lane: (float(np.mean([x.lanes[lane][0] for x in walks])), float(np.mean([x.lanes[lane][1] for x in walks])))
        for lane in (walks[0].lanes if walks else {})
    }
    return Walk(arrive=np.concatenate([x.arrive for x in walks]), capped=sum(x.capped for x in walks), trace=trace,
                per_run=n, lanes=lanes)  # fmt: skip


def _any_capacity(model: Model, changes: Sequence[Change]) -> bool:
    return bool(model.capacity) or any(op.kind == "set_capacity" for c in changes for op in c.operations)
