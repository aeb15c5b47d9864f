"""Make the pictures in docs/ from the bundled processes and example data.

    .venv/bin/python docs/make_pictures.py          # or: make docs

Maps are SVG, laid out by the bundled WebAssembly Graphviz so that every
machine makes the same bytes; tests/test_docs.py fails when a picture is stale.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def pictures() -> dict[str, bytes]:
    from flowmap.analysis.metrics import case_journey, map_metrics
    from flowmap.analysis.replay import replay
    from flowmap.events.read import read_events
    from flowmap.files.pdsa import load_pdsa
    from flowmap.files.process import load_process
    from flowmap.render.maps import compare_notes, render_map
    from flowmap.spc.compare import compare

    out: dict[str, bytes] = {}
    legal = load_process(ROOT / "processes" / "legal-advice.yaml")
    result = replay(legal, read_events(ROOT / "examples" / "data" / "legal-advice-tracker.csv", process=legal))
    metrics = map_metrics(result)
    out["legal-advice-plain.svg"] = render_map(legal, renderer="wasm")
    for metric in ("frequency", "time", "drift"):
        out[f"legal-advice-{metric}.svg"] = render_map(legal, metrics, metric=metric, renderer="wasm")  # type: ignore[arg-type]
    out["legal-advice-case.svg"] = render_map(legal, metrics, case_journey(result, "Child 2"), renderer="wasm")
    cycle = load_pdsa(ROOT / "examples" / "pdsa-legal-advice.yaml").cycle("PDSA-2")
    before_after = compare(result, cycle.start, end=cycle.end, cycle=cycle.id)
    notes = compare_notes(before_after.step_verdicts(), before_after.sides())
    out["legal-advice-compare.svg"] = render_map(legal, notes=notes, metric=None, renderer="wasm")
    po = load_process(ROOT / "processes" / "permanence-order.yaml")
    po_result = replay(po, read_events(ROOT / "examples" / "data" / "permanence-events.csv", process=po))
    out["permanence-order-drift.svg"] = render_map(po, map_metrics(po_result), renderer="wasm")
    from flowmap.analysis.wip import wip
    from flowmap.render.wip import wip_figure

    pdsa = load_pdsa(ROOT / "examples" / "pdsa-legal-advice.yaml")
    out["legal-advice-wip.svg"] = wip_figure(legal, wip(result, per="week"), pdsa=pdsa)
    out["permanence-order-wip.svg"] = wip_figure(po, wip(po_result, per="month"))
    from flowmap.render.animate import frame_scenes
    from flowmap.render.layout import layout
    from flowmap.render.scene import to_svg

    still = frame_scenes(po_result, layout(po, renderer="wasm"), 3)[1]  # the middle of three frames for print
    out["permanence-order-frame.svg"] = to_svg(still).encode("utf-8")
    return out


def main(target: Path) -> None:
    target.mkdir(parents=True, exist_ok=True)
    for name, data in pictures().items():
        (target / name).write_bytes(data)
        print(f"wrote {target / name}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "img")
