"""`make demo`: run flowmap's main jobs on the bundled processes and example data.

Each step is printed as the command a user would type, then run, so the demo
doubles as a walk-through. Outputs go to the folder given as the first
argument (default: demo-output/).
"""

from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run(*args: str) -> None:
    shown = " ".join(shlex.quote(a) for a in ("flowmap", *args))
    print(f"\n$ {shown}", flush=True)
    subprocess.run([sys.executable, "-m", "flowmap", *args], check=True, cwd=ROOT)


def main() -> None:
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "demo-output").resolve()
    out.mkdir(parents=True, exist_ok=True)
    processes = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "processes").glob("*.yaml"))

    run("validate", *processes)
    for p in processes:
        run("show", p)
    schema = out / "process-1.schema.json"
    print(f"\n$ flowmap schema > {schema}")
    schema.write_text(
        subprocess.run(
            [sys.executable, "-m", "flowmap", "schema"], check=True, capture_output=True, text=True, cwd=ROOT
        ).stdout,
        encoding="utf-8",
    )

    # A tracker as teams keep it: title rows, N/A and awaiting, two impossible dates, a totals row.
    run("check", "examples/data/messy-tracker.xlsx", "--process", "processes/legal-advice.yaml",
        "--problems", str(out / "messy-tracker-problems.csv"))  # fmt: skip

    examples = [
        ("processes/legal-advice.yaml", "examples/data/legal-advice-tracker.csv", "legal-advice", "Child 2"),
        ("processes/permanence-order.yaml", "examples/data/permanence-events.csv", "permanence-order", "PO-041"),
    ]
    for process, events, name, case in examples:
        run("check", events, "--process", process)
        run("audit", process, events, "-o", str(out / f"{name}-audit.csv"))
        run(
            "drift", process, events,
            "-o", str(out / f"{name}-drift-steps.csv"),
            "--targets", str(out / f"{name}-drift-targets.csv"),
            "--edges", str(out / f"{name}-drift-edges.csv"),
        )  # fmt: skip
        run(
            "replay", process, events, "-o", str(out / f"{name}-cases.csv"), "--visits", str(out / f"{name}-visits.csv")
        )
        run("map", process, "-o", str(out / f"{name}-map.svg"))
        run("map", process, events, "-o", str(out / f"{name}-drift.svg"))
        run("map", process, events, "-o", str(out / f"{name}-drift.png"))
        run("map", process, events, "--case", case, "-o", str(out / f"{name}-case.svg"))

    run("chart", "processes/legal-advice.yaml", "examples/data/legal-advice-tracker.csv", "--target",
        "legal_turnaround", "--pdsa", "examples/pdsa-legal-advice.yaml", "-o", str(out / "legal-turnaround-run.svg"),
        "--signals", str(out / "legal-turnaround-signals.json"))  # fmt: skip
    run(
        "simulate",
        "processes/legal-advice.yaml",
        "examples/data/legal-advice-tracker.csv",
        "--change",
        "processes/changes/referral-form.yaml",
        "--runs",
        "300",
        "-o",
        str(out / "referral-form-simulation.json"),
    )
    # The workshop views: the queue building, work in progress over time, the common paths.
    po, po_events = "processes/permanence-order.yaml", "examples/data/permanence-events.csv"
    run("animate", po, po_events, "-o", str(out / "permanence-order-replay.svg"))
    run("wip", po, po_events, "--per", "month", "-o", str(out / "permanence-order-wip.svg"))
    run("variants", po, po_events, "--top", "5", "-o", str(out / "permanence-order-paths.csv"))
    run("report", "processes/legal-advice.yaml", "examples/data/legal-advice-tracker.csv", "--pdsa",
        "examples/pdsa-legal-advice.yaml", "--change", "processes/changes/referral-form.yaml", "--suppress-below", "5",
        "-o", str(out / "legal-advice-report.html"))  # fmt: skip
    run("report", "processes/permanence-order.yaml", "examples/data/permanence-events.csv", "--suppress-below", "5",
        "-o", str(out / "permanence-order-report.html"))  # fmt: skip

    print(f"\nDone. Outputs are in {out}:")
    for f in sorted(out.iterdir()):
        print(f"  {f.name}")
    print(f"\nOpen the reports first: {out / 'legal-advice-report.html'} and {out / 'permanence-order-report.html'}")
    print(
        f"For a workshop: {out / 'permanence-order-replay.svg'} (the cases moving, in a browser) and "
        f"{out / 'permanence-order-wip.svg'} (work in progress over time)"
    )


if __name__ == "__main__":
    main()
