"""How long `flowmap --help` takes, beside bare Python starting up.

    .venv/bin/python bench/startup.py

Runs each command 20 times in fresh processes and prints the median and the
fastest wall time. The peer is `python -c pass`: the floor no CLI can beat.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

FLOWMAP = str(Path(sys.executable).with_name("flowmap"))


def timed(cmd: list[str], n: int = 20) -> tuple[float, float]:
    times = []
    for _ in range(n):
        t = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - t)
    return statistics.median(times), min(times)


if __name__ == "__main__":
    rows = [
        ("python -c pass (floor)", [sys.executable, "-c", "pass"]),
        ("flowmap --help", [FLOWMAP, "--help"]),
        ("flowmap --version", [FLOWMAP, "--version"]),
        ("flowmap validate (3 bundled processes)", [FLOWMAP, "validate", "-q", *sorted(
            str(p) for p in (Path(__file__).resolve().parent.parent / "processes").glob("*.yaml"))]),
    ]  # fmt: skip
    print(f"{'command':42} {'median s':>9} {'fastest s':>10}")
    for name, cmd in rows:
        med, best = timed(cmd)
        print(f"{name:42} {med:9.3f} {best:10.3f}")
