"""The Dask engine's driver memory as the log grows: `flowmap drift --engine dask` on 1M and 3M cases.

    python bench/dask_driver.py [--cases 1000000 --cases 3000000] [--files 32] [--gather] [--sketch-only]

For each size, the synthetic log (bench/synthetic.py, seeded) is written once
as a folder of Parquet files, then one fresh process per run starts a
two-worker LocalCluster and computes drift with the aggregates engine
(sketches, then --exact), and with --gather the old way (every visit back to
the driver, then drift). Each run prints the driver process's own peak
resident memory (VmHWM: the workers are other processes) and its wall time.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from stages import peak_mb  # noqa: E402
from synthetic import PROCESS, make  # noqa: E402


def dataset(n_cases: int, files: int, out: Path) -> Path:
    folder = out / f"dask-{n_cases}"
    if (folder / "_done").exists():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    chunk = -(-n_cases // files)
    for i in range(files):  # one chunk of cases at a time: the generator's memory stays small
        n = min(chunk, n_cases - i * chunk)
        df = make(n, seed=1000 + i)
        df["case_id"] = df["case_id"].str.replace("case-", f"case-{i}-", regex=False)
        df.sample(frac=1.0, random_state=i).to_parquet(folder / f"part-{i:03d}.parquet", index=False)
    (folder / "_done").write_text("")
    return folder


def run(mode: str, folder: str, process: str) -> None:
    from flowmap.analysis.dask_engine import aggregate_dask, replay_dask
    from flowmap.analysis.metrics import drift, drift_tables
    from flowmap.files.process import load_process

    p = load_process(process)
    t = time.perf_counter()
    if mode == "gather":
        d = drift(replay_dask(p, folder, workers=2))
        sent = float("nan")
    else:
        part = aggregate_dask(p, folder, want=("drift",), exact=mode == "exact", workers=2)
        d = drift_tables(part.sums)
        sent = part.nbytes / 1e6
    seconds = time.perf_counter() - t
    print(json.dumps({"mode": mode, "seconds": round(seconds, 1), "driver_peak_mb": round(peak_mb()),
                      "received_mb": round(sent, 3), "visits": int(d.steps["visits"].sum())}))  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cases", type=int, action="append")
    ap.add_argument("--files", type=int, default=32)
    ap.add_argument("--gather", action="store_true", help="also the engine that gathers every visit")
    ap.add_argument("--sketch-only", action="store_true", help="only the sketches (for the largest sizes)")
    ap.add_argument("--out", type=Path, default=HERE / "out")
    ap.add_argument("--run", nargs=3, metavar=("MODE", "FOLDER", "PROCESS"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.run:
        run(*args.run)
        return
    args.out.mkdir(parents=True, exist_ok=True)
    process = args.out / "bench.yaml"
    process.write_text(PROCESS, encoding="utf-8")
    print("| cases | events | mode | driver peak MB | received by the driver MB | seconds |")
    print("|---:|---:|---|---:|---:|---:|")
    for n in args.cases or [1_000_000, 3_000_000]:
        folder = dataset(n, args.files, args.out)
        import pyarrow.parquet as pq

        events = sum(pq.ParquetFile(f).metadata.num_rows for f in sorted(folder.glob("*.parquet")))
        modes = ["sketch"] if args.sketch_only else ["sketch", "exact", *(["gather"] if args.gather else [])]
        for mode in modes:
            out = subprocess.run([sys.executable, __file__, "--run", mode, str(folder), str(process)],
                                 capture_output=True, text=True, check=False)  # fmt: skip
            line = [x for x in out.stdout.splitlines() if x.startswith("{")]
            if not line:
                print(f"| {n:,} | {events:,} | {mode} | failed: {out.stderr.strip().splitlines()[-1:]} | | |")
                continue
            r = json.loads(line[-1])
            received = "" if np.isnan(r["received_mb"]) else f"{r['received_mb']:.3f}"
            print(f"| {n:,} | {events:,} | {mode} | {r['driver_peak_mb']:,} | {received} | {r['seconds']} |",
                  flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
