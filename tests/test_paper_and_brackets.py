"""Span-target brackets on the map, and maps printed on true A4 and A3 paper."""

from __future__ import annotations

import itertools
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from flowmap.analysis.metrics import map_metrics
from flowmap.analysis.replay import replay
from flowmap.cli.main import cli
from flowmap.errors import RenderError
from flowmap.events.read import read_events
from flowmap.files.process import load_process, parse_process
from flowmap.render.brackets import label_at_end, label_width, segments
from flowmap.render.layout import layout, levels
from flowmap.render.maps import PAGE_MARGIN, fit_to_page, map_scene, render_map
from flowmap.render.scene import Path as PathShape
from flowmap.render.scene import Rect, Text, smallest_text

from .conftest import PROCESSES, ROOT

SVG = "{http://www.w3.org/2000/svg}"
BUNDLED = sorted(PROCESSES.glob("*.yaml"))
DATA = {
    "legal-advice": ROOT / "examples" / "data" / "legal-advice-tracker.csv",
    "permanence-order": ROOT / "examples" / "data" / "permanence-events.csv",
}


def media_box(pdf: bytes) -> list[float]:
    found = re.findall(rb"/MediaBox \[ *([\d.]+) +([\d.]+) +([\d.]+) +([\d.]+) *\]", pdf)
    assert len(found) == 1, found
    return [float(v) for v in found[0]]


@pytest.mark.parametrize("path", BUNDLED, ids=lambda p: p.stem)
def test_every_bundled_process_prints_on_a4_with_text_of_6pt_or_more(path: Path, tmp_path: Path, runner) -> None:  # type: ignore[no-untyped-def]
    args = ["map", str(path)] + ([str(DATA[path.stem])] if path.stem in DATA else [])
    out = tmp_path / "map.pdf"
    result = runner.invoke(cli, [*args, "-o", str(out), "--page", "a4"])
    assert result.exit_code == 0, result.output
    box = media_box(out.read_bytes())
    assert box[:2] == [0, 0] and sorted(box[2:]) == [595, 842]
    # The default for a PDF is A4 too; --landscape forces the orientation, or says why it cannot.
    out.unlink()
    result = runner.invoke(cli, [*args, "-o", str(out), "--landscape"])
    if result.exit_code == 0:
        assert media_box(out.read_bytes())[2:] == [842, 595]
    else:
        assert "does not fit A4 with text of 6 pt" in result.output and not out.exists()
    result = runner.invoke(cli, [*args, "-o", str(out), "--page", "a3", "--portrait"])
    assert result.exit_code == 0, result.output
    assert media_box(out.read_bytes())[2:] == [842, 1191]


@pytest.mark.parametrize("path", BUNDLED, ids=lambda p: p.stem)
def test_the_whole_map_sits_inside_10mm_margins_and_no_text_is_below_6pt(path: Path) -> None:
    process = load_process(path)
    scene = map_scene(process, layout(process, renderer="wasm"))
    try:
        page = fit_to_page(scene, "a4")
    except RenderError:  # the swimlane layout is too big: render_map runs it in rows instead
        page = fit_to_page(map_scene(process, layout(process, direction="grid", renderer="wasm")), "a4")
    assert sorted((page.width, page.height)) == [595, 842]
    assert smallest_text(page) >= 6.0
    for s in page.items:
        if isinstance(s, Rect):
            assert s.x >= PAGE_MARGIN - 0.01 and s.x + s.w <= page.width - PAGE_MARGIN + 0.01
            assert s.y >= PAGE_MARGIN - 0.01 and s.y + s.h <= page.height - PAGE_MARGIN + 0.01


def test_png_on_a4_is_a4_at_150_dpi(tmp_path: Path, runner) -> None:  # type: ignore[no-untyped-def]
    from PIL import Image

    out = tmp_path / "map.png"
    result = runner.invoke(cli, ["map", str(PROCESSES / "complaints.yaml"), "-o", str(out), "--portrait"])
    assert result.exit_code == 0, result.output
    with Image.open(out) as im:
        assert im.size == (int(595 / 72 * 150), int(842 / 72 * 150))


def chain(n: int) -> str:
    steps = "\n".join(f"  - id: s{i}\n    label: Step number {i} of a long chain\n    lane: Lane {i % 3}"
                      + ("\n    start: true" if i == 0 else "") + ("\n    end: true" if i == n - 1 else "")
                      for i in range(n))  # fmt: skip
    moves = "\n".join(f"  - from: s{i}\n    to: s{i + 1}" for i in range(n - 1))
    return f"flowmap: 1\nid: chain\ntitle: A long chain\nsteps:\n{steps}\ntransitions:\n{moves}\n"


def test_a_map_too_big_for_a3_says_so_and_svg_still_works(tmp_path: Path, runner) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "big.yaml"
    path.write_text(chain(220), encoding="utf-8")
    out = tmp_path / "big.pdf"
    result = runner.invoke(cli, ["map", str(path), "-o", str(out), "--page", "a3"])
    assert result.exit_code == 1
    assert "does not fit A3 with text of 6 pt" in result.output and ".svg" in result.output
    assert "Traceback" not in result.output and not out.exists()
    result = runner.invoke(cli, ["map", str(path), "-o", str(out), "--page", "a4"])
    assert "--page a3" in result.output
    assert runner.invoke(cli, ["map", str(path), "-o", str(tmp_path / "big.svg")]).exit_code == 0
    assert runner.invoke(cli, ["map", str(path), "-o", str(out), "--page", "fit"]).exit_code == 0


def test_page_options_that_make_no_sense_are_refused(tmp_path: Path, runner) -> None:  # type: ignore[no-untyped-def]
    p = str(PROCESSES / "complaints.yaml")
    result = runner.invoke(cli, ["map", p, "-o", str(tmp_path / "m.dot"), "--page", "a4"])
    assert result.exit_code != 0 and "--page is for maps drawn as" in result.output
    result = runner.invoke(cli, ["map", p, "-o", str(tmp_path / "m.svg"), "--landscape"])
    assert result.exit_code != 0 and "needs a page" in result.output


@pytest.mark.parametrize("direction", ["LR", "TB"])
@pytest.mark.parametrize("path", BUNDLED, ids=lambda p: p.stem)
def test_lanes_keep_their_declared_order_in_every_direction(path: Path, direction: str) -> None:
    process = load_process(path)
    lay = layout(process, direction=direction, renderer="wasm")
    order = [ln for ln in process.lane_order if ln in lay.lanes]
    along = {ln: (b.y if direction == "LR" else b.x) for ln, b in lay.lanes.items()}
    assert sorted(order, key=along.__getitem__) == order


# --- brackets ---------------------------------------------------------------------


def bracket_lines(svg: bytes) -> list[tuple[float, float, float, float]]:
    """The thick (3 pt) straight lines: bracket bodies, as (x0, y0, x1, y1)."""
    out = []
    for p in ET.fromstring(svg).iter(f"{SVG}path"):
        if p.get("stroke-width") == "3":
            nums = [float(v) for v in re.findall(r"-?[\d.]+", p.get("d", ""))]
            out.append((nums[0], nums[1], nums[-2], nums[-1]))
    return out


@pytest.mark.parametrize("direction", ["LR", "TB"])
def test_each_bracket_runs_from_its_start_step_to_its_stop_step(direction: str) -> None:
    process = load_process(PROCESSES / "legal-advice.yaml")
    lay = layout(process, direction=direction, renderer="wasm")
    scene = map_scene(process, lay)
    lines = [s for s in scene.items if isinstance(s, PathShape) and s.width == 3]
    assert len(lines) == len(process.targets)
    spans = set()
    for s in lines:
        (x0, y0), (x1, y1) = s.points[0], s.points[-1]
        spans.add((round(x0, 1), round(x1, 1)) if direction == "LR" else (round(y0 - 56, 1), round(y1 - 56, 1)))
        assert (y0 == y1) if direction == "LR" else (x0 == x1)  # along the flow
        # Beyond the steps: below them (LR) or to their right (TB), never over a box.
        assert (y0 - 56 > lay.height) if direction == "LR" else (x0 > lay.width)
    want = set()
    for t in process.targets:
        a, b = lay.nodes[t.from_step], lay.nodes[t.to_step]
        lo, hi = ((min(a.x, b.x), max(a.x + a.w, b.x + b.w)) if direction == "LR"
                  else (min(a.y, b.y), max(a.y + a.h, b.y + b.h)))  # fmt: skip
        want.add((round(lo, 1), round(hi, 1)))
    assert spans == want


def test_in_rows_a_bracket_covers_every_level_from_start_to_stop_and_labels_once() -> None:
    process = load_process(PROCESSES / "permanence-order.yaml")
    lay = layout(process, direction="grid", renderer="wasm")
    assert lay.row_of is not None
    lv = levels(process)
    extent = {sid: (b.x, b.x + b.w) for sid, b in lay.nodes.items()}
    segs = segments(process, extent, lay.row_of, lv)
    for t in process.targets:
        mine = [s for s in segs if s.target.id == t.id]
        assert sum(s.first for s in mine) == 1 and sum(s.last for s in mine) == 1
        lo, hi = sorted((lv[t.from_step], lv[t.to_step]))
        rows = {lay.row_of[sid] for sid, level in lv.items() if lo <= level <= hi}
        assert {s.row for s in mine} == rows
        for s in mine:  # each row's stretch covers exactly that row's spanned steps
            inside = [extent[sid] for sid, level in lv.items() if lo <= level <= hi and lay.row_of[sid] == s.row]
            assert (s.start, s.end) == (min(a for a, _ in inside), max(b for _, b in inside))
    # No two brackets on one track overlap, labels included (each label on the side it is drawn).
    limit = max(e for _, e in extent.values())
    by_track: dict[tuple[int, int], list[tuple[float, float]]] = {}
    for s in segs:
        w = label_width(s)
        lo_, hi_ = (s.end - w, s.end) if label_at_end(s, limit) else (s.start, s.start + w)
        by_track.setdefault((s.row, s.track), []).append((min(lo_, s.start), max(hi_, s.end)))
    for spans in by_track.values():
        spans.sort()
        for (_, a1), (b0, _) in itertools.pairwise(spans):
            assert a1 <= b0
    # Statutory brackets sit nearest the steps: in each row, a statute segment is never below a lower basis
    # segment that it overlaps.
    rank = {"statute": 0, "guidance": 1, "local": 2, "assumption": 3, None: 4}
    for a in segs:
        for b in segs:
            if a.row == b.row and a.start < b.end and b.start < a.end and rank[a.target.basis] < rank[b.target.basis]:
                assert a.track < b.track, (a.target.id, b.target.id)


def test_brackets_do_not_move_steps_and_read_their_met_rate_in_words() -> None:
    process = load_process(PROCESSES / "permanence-order.yaml")
    result = replay(process, read_events(DATA["permanence-order"], process=process))
    bare = render_map(process, renderer="wasm")
    full = render_map(process, map_metrics(result), renderer="wasm")

    def steps(svg: bytes) -> dict[str, tuple[str | None, str | None]]:
        return {r.get("class", ""): (r.get("x"), r.get("y")) for r in ET.fromstring(svg).iter(f"{SVG}rect")
                if r.get("class", "").startswith("step ")}  # fmt: skip

    assert steps(bare) == steps(full)
    assert bracket_lines(bare) == bracket_lines(full)  # data never moves a bracket
    said = [t.text or "" for t in ET.fromstring(full).iter(f"{SVG}text")]
    rates = {str(r["target"]): r["met_rate"] for r in result_targets(result)}
    for t in process.targets:
        label = next(s for s in said if s.startswith(t.display_label) and "· met" in s)
        rate = rates[t.id]
        words = "GREEN" if rate >= 0.9 else "AMBER" if rate >= 0.5 else "RED"
        assert label.endswith(f"met {rate:.0%} · {words}"), label


def result_targets(result) -> list[dict]:  # type: ignore[no-untyped-def,type-arg]
    return map_metrics(result).targets.to_dict("records")


def test_a_case_map_reads_each_clock_on_its_bracket() -> None:
    from flowmap.analysis.metrics import case_journey

    process = load_process(PROCESSES / "legal-advice.yaml")
    result = replay(process, read_events(DATA["legal-advice"], process=process))
    journey = case_journey(result, "Child 2")
    scene = map_scene(process, layout(process, renderer="wasm"), map_metrics(result), journey)
    said = [s.text for s in scene.items if isinstance(s, Text)]
    for r in journey.clocks.to_dict("records"):
        assert any(s.endswith(" · " + r["reading"].split(" (")[0]) for s in said), r["reading"]


def test_too_few_judged_cases_show_no_rate_on_a_bracket() -> None:
    process = load_process(PROCESSES / "legal-advice.yaml")
    result = replay(process, read_events(DATA["legal-advice"], process=process))
    scene = map_scene(process, layout(process, renderer="wasm"), map_metrics(result), suppress=50)
    said = [s.text for s in scene.items if isinstance(s, Text)]
    assert not any(re.search(r"met \d+%", s) for s in said)
    assert sum("· met rate not shown: too few cases" in s for s in said) == len(process.targets)


def test_a_process_without_span_targets_has_no_brackets() -> None:
    process = parse_process(chain(4))
    assert not [s for s in map_scene(process, layout(process, renderer="wasm")).items
                if isinstance(s, PathShape) and s.width == 3]  # fmt: skip
