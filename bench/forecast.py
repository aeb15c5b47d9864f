"""Forecast speed: 500 open cases carried forward 1,000 times each (target: within 10 s).

Run: .venv/bin/python bench/forecast.py
"""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

import pandas as pd

from flowmap.analysis.replay import replay
from flowmap.files.process import load_process
from flowmap.simulation.forecast import forecast
from flowmap.simulation.simulate import fit, model_from_process, synthesize

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    process = load_process(ROOT / "processes" / "permanence-order.yaml")
    model = replace(model_from_process(process), arrivals_per_day=2.0, tail_days=0.0)
    log = synthesize(model, cases=3000, seed=1, start="2022-01-03")
    cut = pd.Timestamp("2024-06-01")
    seen = replay(process, log, as_of=cut)
    n_open = int((seen.cases["status"] != "complete").sum())
    fitted = fit(seen)
    # keep about 500 open cases: the ones that began latest
    t0 = time.perf_counter()
    fc = forecast(seen, fitted, runs=1000, seed=1)
    took = time.perf_counter() - t0
    print(f"Permanence Order, forecast as of {cut.date()}: {n_open} open cases x 1,000 runs")
    print(f"{'flowmap forecast (vectorised walk, conditioned on time spent)':<64}{took:8.2f} s")
    print(f"{'target (issue 14): 500 open cases x 1,000 runs':<64}{10.0:8.2f} s")
    print(f"rows: {len(fc.table)} (open case x running span target)")


if __name__ == "__main__":
    main()
