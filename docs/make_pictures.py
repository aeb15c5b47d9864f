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
    out["lifecycle.svg"] = lifecycle_svg().encode("utf-8")
    return out


def lifecycle_svg() -> str:
    """The interval rule of docs/events.md: a visit from the previous completion, waiting, then working."""
    ink, grey, blue, amber = "#111111", "#6b6b6b", "#1f5fa8", "#c77700"

    def text(x: float, y: float, s: str, anchor: str = "middle", colour: str = ink, size: int = 12) -> str:
        return (f'<text x="{x}" y="{y}" font-family="DejaVu Sans, Arial, sans-serif" font-size="{size}" '
                f'text-anchor="{anchor}" fill="{colour}">{s}</text>')

    def bar(x0: float, x1: float, y: float, colour: str, label: str) -> str:
        return (f'<rect x="{x0}" y="{y}" width="{x1 - x0}" height="22" rx="3" fill="{colour}" fill-opacity="0.18" '
                f'stroke="{colour}"/>' + text((x0 + x1) / 2, y + 15, label, colour=colour))

    def span(x0: float, x1: float, y: float, colour: str, label: str) -> str:
        return (f'<path d="M{x0},{y - 6} v6 H{x1} v-6" fill="none" stroke="{colour}" stroke-width="1.5"/>'
                + text((x0 + x1) / 2, y + 16, label, colour=colour))

    def tick(x: float, label: str) -> str:
        return (f'<line x1="{x}" y1="120" x2="{x}" y2="128" stroke="{grey}"/>'
                + text(x, 142, label, colour=grey, size=11))

    parts = [
        '<svg xmlns="http://www.w3.org/2000/svg" width="760" height="250" viewBox="0 0 760 250">',
        '<rect width="760" height="250" fill="#ffffff"/>',
        text(20, 24, "One case, two activities, each with a start and a complete event", "start", size=13),
        bar(60, 200, 44, grey, "A: start → complete"),
        bar(380, 560, 78, blue, "B: start → complete"),
        '<line x1="40" y1="120" x2="720" y2="120" stroke="#6b6b6b"/>',
        tick(60, "A starts"), tick(200, "A completes"), tick(380, "B starts"), tick(560, "B completes"),
        span(200, 380, 178, amber, "waiting_days"),
        span(380, 560, 178, blue, "working_days"),
        span(200, 560, 214, ink, "the visit to B: days = waiting + working"),
        text(200, 168, "B entered", colour=ink, size=11), text(560, 168, "C entered", colour=ink, size=11),
        "</svg>",
    ]
    return "\n".join(parts) + "\n"


def main(target: Path) -> None:
    target.mkdir(parents=True, exist_ok=True)
    for name, data in pictures().items():
        (target / name).write_bytes(data)
        print(f"wrote {target / name}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "img")
