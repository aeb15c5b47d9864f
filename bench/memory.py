"""Peak memory, stage by stage, and of `flowmap check` on the CSV, against the file's size.

    python bench/memory.py [--cases 1000000]

One fresh process reads the synthetic log (bench/synthetic.py) and replays
it, printing its peak resident memory (VmHWM, which only grows) after each
stage: imports, read, replay, drift, audit. Then `flowmap check` runs on the
CSV as a user would, in its own process, and its peak is set against the
file's size (the target: at most 3x).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from stages import peak_mb  # noqa: E402
from synthetic import write  # noqa: E402


def stages(source: str, process: str) -> None:
    rows = [("imports", peak_mb())]
    from flowmap.analysis.metrics import audit, drift
    from flowmap.analysis.replay import replay
    from flowmap.events.read import read_events
    from flowmap.files.process import load_process

    p = load_process(process)
    rows.append(("imports", peak_mb()))
    log = read_events(source, process=p)
    rows.append(("read", peak_mb()))
    r = replay(p, log)
    rows.append(("replay", peak_mb()))
    drift(r)
    rows.append(("drift", peak_mb()))
    audit(r)
    rows.append(("audit", peak_mb()))
    for name, mb in rows[1:]:
        print(f"{name}\t{mb:.0f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cases", type=int, default=1_000_000)
    ap.add_argument("--out", type=Path, default=HERE / "out")
    ap.add_argument("--stages", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.stages:
        stages(*args.stages)
        return
    paths = write(args.cases, args.out)
    for kind in ("parquet", "csv"):
        out = subprocess.run([sys.executable, __file__, "--stages", str(paths[kind]), str(paths["process"])],
                             capture_output=True, text=True, check=True)  # fmt: skip
        print(f"\n{kind} ({paths[kind].stat().st_size / 1e6:.0f} MB), peak resident MB after each stage:")
        print(out.stdout.strip())
    here, process, csv = str(HERE), str(paths["process"]), str(paths["csv"])
    code = "\n".join([
        f"import sys; sys.path.insert(0, {here!r}); from stages import peak_mb; from flowmap.cli import cli",
        f"try:\n    cli.main(['check', {csv!r}, '--process', {process!r}], standalone_mode=False)",
        "finally:\n    print('PEAK', peak_mb(), file=sys.stderr)",
    ])  # fmt: skip
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    peak = float([ln for ln in out.stderr.splitlines() if ln.startswith("PEAK")][-1].split()[1])
    size = paths["csv"].stat().st_size / 1e6
    print(f"\nflowmap check on the CSV: peak {peak:.0f} MB for a {size:.0f} MB file: {peak / size:.1f}x")


if __name__ == "__main__":
    main()
