"""Simulation speed: 1,000 runs of a 200-case cohort of the Permanence Order process.

    .venv/bin/python bench/simulate.py

Beside it, the same work done the naive way: a Python loop over every case
of every run, drawing each duration and move one at a time. With capacity
(two servers in the Court lane), the discrete-event engine is timed on fewer
runs and scaled, and a profile says what dominates.
"""

from __future__ import annotations

import cProfile
import io
import pstats
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from flowmap.files.process import load_process
from flowmap.simulation.simulate import model_from_process, simulate

ROOT = Path(__file__).resolve().parent.parent


def naive(model, runs: int, cases: int, seed: int) -> float:  # type: ignore[no-untyped-def]
    """Per case, per step: the loop a first version would write."""
    rng = np.random.default_rng(seed)
    target = model.targets[0]
    met = 0
    for _ in range(runs):
        for _ in range(cases):
            step = next(iter(model.starts))
            t = 0.0
            start = None
            stopped = False
            for _ in range(1000):  # walk to the end, as the vectorised engine does
                if step == target.from_step and start is None:
                    start = t
                if step == target.to_step and start is not None and not stopped:
                    met += (t - start) <= (target.within or 0)
                    stopped = True
                if step in model.ends:
                    break
                t += float(model.durations[step].sample(rng, 1)[0])
                outs = model.moves[step]
                step = list(outs)[int(rng.choice(len(outs), p=np.array(list(outs.values())) / sum(outs.values())))]
    return met / (runs * cases)


def main() -> None:
    p = load_process(ROOT / "processes" / "permanence-order.yaml")
    model = model_from_process(p)
    runs, cases = 1000, 200
    t = time.perf_counter()
    simulate(model, runs=runs, seed=1, cases=cases)
    vec = time.perf_counter() - t
    naive_runs = 20
    t = time.perf_counter()
    naive(model, naive_runs, cases, 1)
    loop = (time.perf_counter() - t) * runs / naive_runs
    print(f"Permanence Order, {runs} runs x {cases} cases, no capacity (seconds)")
    print(f"{'flowmap simulate (vectorised)':44} {vec:8.2f}")
    print(f"{'naive per-case Python loop (20 runs, x50)':44} {loop:8.2f}")
    print(f"ratio: {loop / vec:.0f}x (target: 1,000 runs under 5 s)")

    cap = replace(model, capacity={"Court": 2})
    des_runs = 50
    prof = cProfile.Profile()
    t = time.perf_counter()
    prof.enable()
    simulate(cap, runs=des_runs, seed=1, cases=cases)
    prof.disable()
    des = time.perf_counter() - t
    print(f"\nwith capacity (2 servers in Court): {des_runs} runs in {des:.2f} s, "
          f"so about {des * runs / des_runs:.0f} s for {runs} runs")  # fmt: skip
    buf = io.StringIO()
    pstats.Stats(prof, stream=buf).sort_stats("tottime").print_stats(6)
    print("what dominates (tottime):")
    print("\n".join(line for line in buf.getvalue().splitlines() if "{" in line or ".py" in line)[:1500])


if __name__ == "__main__":
    main()
