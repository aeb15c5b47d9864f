"""Animation at scale: a 200,000-case generated log, animated with grouping (target: within a minute, ~20 MB).

Run: .venv/bin/python bench/animate.py
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from flowmap.files.process import load_process
from flowmap.simulation.simulate import model_from_process, synthesize

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    process = ROOT / "processes" / "legal-advice.yaml"
    model = replace(model_from_process(load_process(process)), arrivals_per_day=150.0)
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "big.parquet"
        synthesize(model, cases=200_000, seed=1).to_parquet(log)
        out = Path(tmp) / "big.svg"
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "flowmap", "animate", str(process), str(log), "-o", str(out)],
                       check=True, capture_output=True)  # fmt: skip
        took = time.perf_counter() - t0
        size = out.stat().st_size / 1e6
    print("legal advice, 200,000 generated cases (about 1.2 million events)")
    print(f"{'flowmap animate, whole command (dots grouped per step)':<58}{took:8.1f} s {size:8.1f} MB")
    print(f"{'target (issue 15)':<58}{60.0:8.1f} s {20.0:8.1f} MB")


if __name__ == "__main__":
    main()
