"""How long flowmap's commands take to start, and what their imports cost, beside bare Python.

    .venv/bin/python bench/startup.py

Runs each command 20 times in fresh processes and prints the median and the
fastest wall time. The peer is `python -c pass`: the floor no CLI can beat.
Then runs each command once more under `python -X importtime` on the bundled
example data and prints what its imports cost in all, and the heaviest
libraries it loaded (a light command must load neither pandas nor pyarrow).
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


ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("pandas", "pyarrow", "numpy", "scipy", "matplotlib", "networkx", "simpy", "jinja2", "rich", "pydantic",
         "wasmtime", "sqlalchemy")  # fmt: skip


def imports_of(args: list[str]) -> tuple[float, dict[str, float]]:
    """Seconds spent importing, in all and per heavy top-level package, for one run of a command."""
    code = "import sys; from flowmap.cli import cli; sys.argv = ['flowmap', *sys.argv[1:]]; cli()"
    proc = subprocess.run([sys.executable, "-X", "importtime", "-c", code, *args], capture_output=True, text=True,
                          cwd=ROOT)  # fmt: skip
    total = 0.0
    per: dict[str, float] = {}
    for line in proc.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        self_us, cumulative, name = (part.strip() for part in line.removeprefix("import time:").split("|"))
        total += int(self_us) / 1e6
        if name in HEAVY:  # a top-level package: its cumulative cost
            per[name] = int(cumulative) / 1e6
    return total, per


def import_costs() -> None:
    legal, tracker = "processes/legal-advice.yaml", "examples/data/legal-advice-tracker.csv"
    commands = [
        ("--help", ["--help"]),
        ("validate", ["validate", "-q", legal]),
        ("show", ["show", legal]),
        ("schema", ["schema"]),
        ("check", ["check", tracker, "--process", legal]),
        ("replay", ["replay", legal, tracker]),
        ("drift", ["drift", legal, tracker]),
        ("audit", ["audit", legal, tracker]),
        ("map (svg)", ["map", legal, tracker, "-o", "/tmp/flowmap-bench-map.svg"]),
        ("simulate", ["simulate", legal, tracker, "--runs", "20"]),
    ]
    print(f"\n{'command':12} {'imports s':>10}  heaviest libraries loaded (cumulative s)")
    for name, args in commands:
        total, per = imports_of(args)
        heavy = ", ".join(f"{k} {v:.2f}" for k, v in sorted(per.items(), key=lambda kv: -kv[1])[:5]) or "none"
        print(f"{name:12} {total:10.2f}  {heavy}")


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
    import_costs()
