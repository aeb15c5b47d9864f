"""Time to draw maps, beside pm4py drawing its DFG of the same log.

    .venv/bin/python bench/maps.py

The receipt log (27 activities) is read once, drafted with `discover`,
replayed; then each map format is drawn by each available Graphviz, in a
fresh process (so the WebAssembly compile, paid once per process, is counted).
pm4py's `save_vis_performance_dfg` needs the system `dot`.

Then long declared processes (a chain of 300 and 1,000 steps in three lanes):
the whole `flowmap map` command as a user runs it, beside pm4py drawing a DFG
of the same chain with `save_vis_dfg` (system `dot` only).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

SHARED = Path(__file__).resolve().parent.parent / "tests" / "data" / "logs" / "receipt.xes.gz"

STAGE = r"""
import json, sys, time, warnings
from pathlib import Path
from flowmap.analysis.discover import discover
from flowmap.events.read import read_events
from flowmap.analysis.metrics import map_metrics
from flowmap.render.maps import render_map
from flowmap.analysis.replay import replay
from flowmap.files.process import parse_process
path, fmt, renderer, out = sys.argv[1:5]
log = read_events(path)
p = parse_process(discover(log, process_id="receipt"))
m = map_metrics(replay(p, log))
t = time.perf_counter()
data = render_map(p, m, fmt=fmt, renderer=renderer)
Path(out).write_bytes(data)
print(json.dumps({"seconds": time.perf_counter() - t}))
"""

PM4PY = r"""
import json, sys, time, warnings
warnings.simplefilter("ignore")
import pm4py
path, out = sys.argv[1:3]
log = pm4py.read_xes(path)
t = time.perf_counter()
dfg, sa, ea = pm4py.discover_performance_dfg(log)
pm4py.save_vis_performance_dfg(dfg, sa, ea, out)
print(json.dumps({"seconds": time.perf_counter() - t}))
"""


def run(code: str, *args: str) -> float | None:
    proc = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True)
    if proc.returncode != 0:
        return None
    return float(json.loads(proc.stdout.strip().splitlines()[-1])["seconds"])


PM4PY_CHAIN = r"""
import json, sys, time, warnings
warnings.simplefilter("ignore")
import pm4py
n, out = int(sys.argv[1]), sys.argv[2]
dfg = {(f"s{i}", f"s{i + 1}"): 1 for i in range(n - 1)}
t = time.perf_counter()
pm4py.save_vis_dfg(dfg, {"s0": 1}, {f"s{n - 1}": 1}, out)
print(json.dumps({"seconds": time.perf_counter() - t}))
"""


def chain(folder: Path, n: int) -> Path:
    lines = ["flowmap: 1", f"id: chain{n}", f"title: A chain of {n} steps", "lanes: [A, B, C]", "steps:"]
    for i in range(n):
        end = ", end: true" if i == n - 1 else ""
        lines.append(f"  - {{id: s{i}, label: 'Step {i}', lane: {'ABC'[i % 3]}{end}}}")
    lines.append("transitions:")
    lines.extend(f"  - s{i} -> s{i + 1}" for i in range(n - 1))
    p = folder / f"chain{n}.yaml"
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return p


def command(*args: str) -> float:
    import time

    t = time.perf_counter()
    subprocess.run([sys.executable, "-m", "flowmap", *args], check=True, capture_output=True)
    return time.perf_counter() - t


def long_processes(out: Path) -> None:
    print("\nlong processes: whole `flowmap map` command, best of 3 (seconds)")
    print(f"{'what':46} {'seconds':>8}")
    for n in (300, 1000):
        p = chain(out, n)
        for fmt in ("svg", "pdf"):
            best = min(command("map", str(p), "-o", str(out / f"chain{n}.{fmt}")) for _ in range(3))
            print(f"{f'flowmap map, {n} steps ({fmt})':46} {best:8.2f}")
        if shutil.which("dot"):
            times = [run(PM4PY_CHAIN, str(n), str(out / f"chain{n}-pm4py.svg")) for _ in range(3)]
            ok = [t for t in times if t is not None]
            print(f"{f'pm4py save_vis_dfg, {n} activities (svg)':46} {min(ok):8.2f}" if ok else "pm4py: not installed")


def main() -> None:
    if not SHARED.exists():
        raise SystemExit(f"{SHARED} is not present")
    out = Path(__file__).resolve().parent / "out"
    out.mkdir(exist_ok=True)
    renderers = ["wasm"] + (["system"] if shutil.which("dot") else [])
    print(f"receipt log: map drawing time, best of 3 fresh processes (seconds); Graphviz: {', '.join(renderers)}")
    print(f"{'what':46} {'seconds':>8}")
    for renderer in renderers:
        for fmt in ("svg", "png", "pdf"):
            times = [run(STAGE, str(SHARED), fmt, renderer, str(out / f"receipt-{renderer}.{fmt}")) for _ in range(3)]
            ok = [t for t in times if t is not None]
            print(f"{'flowmap map (' + renderer + ', ' + fmt + ')':46} {min(ok):8.2f}" if ok else f"{fmt}: failed")
    if shutil.which("dot"):
        times = [run(PM4PY, str(SHARED), str(out / "receipt-pm4py.svg")) for _ in range(3)]
        ok = [t for t in times if t is not None]
        print(f"{'pm4py performance DFG + save_vis (svg)':46} {min(ok):8.2f}" if ok else "pm4py: not installed")
    long_processes(out)


if __name__ == "__main__":
    main()
