"""The animated map: SMIL only, tokens that move, counts that match replay, frames for print."""

from __future__ import annotations

import re
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pandas as pd
import pytest

from flowmap.analysis.replay import replay
from flowmap.analysis.wip import open_by_step
from flowmap.cli.main import cli
from flowmap.events.read import read_events
from flowmap.files.process import load_process

from .conftest import PROCESSES, ROOT

PO = PROCESSES / "permanence-order.yaml"
PO_EVENTS = ROOT / "examples" / "data" / "permanence-events.csv"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture(scope="module")
def animation(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from click.testing import CliRunner

    out = tmp_path_factory.mktemp("anim") / "replay.svg"
    result = CliRunner().invoke(cli, ["animate", str(PO), str(PO_EVENTS), "--duration", "30", "-o", str(out)])
    assert result.exit_code == 0, result.output
    return out


def test_the_animation_is_declarative_with_no_script_and_one_token_per_case(animation: Path) -> None:
    text = animation.read_text(encoding="utf-8")
    root = ET.fromstring(text)
    assert root.find(f".//{SVG}script") is None and "javascript" not in text.lower() and 'href="http' not in text
    tokens = root.findall(f".//{SVG}circle[@class='token']")
    assert len(tokens) == 48  # the bundled permanence log has 48 cases
    assert all(t.find(f"{SVG}animateTransform") is not None for t in tokens)
    assert root.find(f".//{SVG}animate[@attributeName='width']") is not None  # the progress bar
    assert len(root.findall(f".//{SVG}text[@class='date']")) > 1000  # a date a day, 2022-06-25 to 2025-10-29


def test_case_ids_are_pseudonymised_and_markup_escaped(tmp_path: Path, runner) -> None:  # type: ignore[no-untyped-def]
    log = pd.read_csv(PO_EVENTS)
    log.loc[log["child_ref"] == "PO-001", "child_ref"] = "<b>x</b>"
    events = tmp_path / "e.csv"
    log.to_csv(events, index=False)
    out = tmp_path / "a.svg"
    assert runner.invoke(cli, ["animate", str(PO), str(events), "-o", str(out)]).exit_code == 0
    text = out.read_text(encoding="utf-8")
    assert "<b>x</b>" not in text and "&lt;b&gt;x&lt;/b&gt;" in text
    assert runner.invoke(cli, ["animate", str(PO), str(events), "--pseudonymise", "k", "-o", str(out)]).exit_code == 0
    text = out.read_text(encoding="utf-8")
    assert "PO-0" not in text and "&lt;b&gt;" not in text and "<title>P-" in text


def test_bad_animate_options_are_refused(tmp_path: Path, runner) -> None:  # type: ignore[no-untyped-def]
    base = ["animate", str(PO), str(PO_EVENTS)]
    r = runner.invoke(cli, [*base, "--duration", "0", "-o", str(tmp_path / "a.svg")])
    assert r.exit_code == 1 and "--duration must be more than 0 seconds" in r.output
    r = runner.invoke(cli, [*base, "--variant", "99", "-o", str(tmp_path / "a.svg")])
    assert r.exit_code == 1 and "only" in r.output and "paths in the data" in r.output
    r = runner.invoke(cli, [*base, "--from", "2030-01-01", "-o", str(tmp_path / "a.svg")])
    assert r.exit_code == 1 and "Traceback" not in r.output
    r = runner.invoke(cli, [*base, "-o", str(tmp_path / "a.gif")])
    assert r.exit_code == 1 and "use .svg or .html" in r.output


def test_frames_for_print(tmp_path: Path, runner) -> None:  # type: ignore[no-untyped-def]
    pdf = tmp_path / "frames.pdf"
    r = runner.invoke(cli, ["animate", str(PO), str(PO_EVENTS), "--frames", "3", "-o", str(pdf)])
    assert r.exit_code == 0, r.output
    assert len(re.findall(rb"/Type /Page\b", pdf.read_bytes())) == 3
    r = runner.invoke(cli, ["animate", str(PO), str(PO_EVENTS), "--frames", "2", "-o", str(tmp_path / "f.png")])
    assert r.exit_code == 0 and (tmp_path / "f-1.png").exists() and (tmp_path / "f-2.png").exists()


def test_html_wraps_the_svg_in_one_file(tmp_path: Path, runner) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "a.html"
    assert runner.invoke(cli, ["animate", str(PO), str(PO_EVENTS), "-o", str(out)]).exit_code == 0
    text = out.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and "<svg" in text and "<script" not in text


@pytest.mark.skipif(CHROMIUM is None, reason="LOUD SKIP: Chromium is not installed, so the animation was not played "
                                             "(.ci/run installs Debian's chromium)")  # fmt: skip
@pytest.mark.slow
def test_the_animation_plays_in_chromium_with_counts_that_match_replay(animation: Path, tmp_path: Path) -> None:
    sync_api = pytest.importorskip("playwright.sync_api", reason="LOUD SKIP: playwright is not installed")
    process = load_process(PO)
    log = read_events(PO_EVENTS, process=process)
    errors: list[str] = []
    requests: list[str] = []
    seen = []
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1400, "height": 1300})
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("request", lambda r: requests.append(r.url))
        page.goto(animation.as_uri())
        for i, at in enumerate((9.0, 21.0)):  # seconds into a 30-second timeline
            page.evaluate(f"() => {{ const s = document.querySelector('svg'); s.pauseAnimations(); "
                          f"s.setCurrentTime({at}); }}")  # fmt: skip
            page.wait_for_timeout(200)
            state = page.evaluate("""() => {
                const shown = el => getComputedStyle(el).visibility === 'visible';
                const date = [...document.querySelectorAll('text.date')].filter(shown).map(t => t.textContent);
                const counts = {};
                for (const g of document.querySelectorAll('g.count')) {
                    const step = g.getAttribute('class').split('step-')[1];
                    const t = [...g.querySelectorAll('text')].filter(shown)[0];
                    if (t) counts[step] = Number(t.getAttribute('data-open'));
                }
                const tokens = [...document.querySelectorAll('circle.token')]
                    .filter(c => Number(getComputedStyle(c).opacity) > 0)
                    .map(c => { const r = c.getBoundingClientRect(); return [Math.round(r.x), Math.round(r.y)]; });
                return {date, counts, tokens};
            }""")
            page.screenshot(path=str(tmp_path / f"animation-{i}.png"))
            seen.append(state)
        browser.close()
    assert errors == []
    assert [u for u in requests if not u.startswith(("file:", "data:"))] == []
    for state in seen:
        assert len(state["date"]) == 1
        truth = {s: n for s, (n, _) in open_by_step(replay(process, log, as_of=state["date"][0])).items()}
        assert state["counts"] == truth, (state["date"], state["counts"], truth)
        assert state["tokens"]  # cases on the map
    assert sorted(map(tuple, seen[0]["tokens"])) != sorted(map(tuple, seen[1]["tokens"]))  # and they moved
    print(f"screenshots of the animation: {tmp_path / 'animation-0.png'}, {tmp_path / 'animation-1.png'}")
