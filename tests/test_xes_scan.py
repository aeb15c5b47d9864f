"""The XES line scanner gives the full parser's table, or hands the file over; never a different table."""

from __future__ import annotations

import gzip
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flowmap.errors import EventDataError
from flowmap.events.read import read_events
from flowmap.events.readers.xes import read_xes, read_xes_full
from flowmap.events.readers.xes_scan import scan_xes

from .conftest import LOGS

KINDS = ["string", "date", "int", "float", "boolean", "id"]
TEXT = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=12)
KEYS = st.sampled_from(["concept:name", "time:timestamp", "org:resource", "lifecycle:transition", "cost", "note"])


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


@st.composite
def xes_logs(draw: st.DrawFn) -> str:
    """XES in the regular form, with header noise, escapes, repeated keys, events outside traces, gaps."""
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', '<log xes.version="1.0">',
             '<extension name="Concept" prefix="concept" uri="http://www.xes-standard.org/concept.xesext"/>',
             '<global scope="event">', '<string key="concept:name" value="__INVALID__"/>', "</global>",
             '<int key="meta" value="3">', '<int key="nested" value="1"/>', "</int>"]  # fmt: skip
    for _ in range(draw(st.integers(0, 6))):
        lines.append("<trace>" if draw(st.booleans()) else "  <trace >")
        for _ in range(draw(st.integers(0, 3))):
            lines.append(f'\t<{draw(st.sampled_from(KINDS))} key="{draw(KEYS)}" value="{_esc(draw(TEXT))}"/>')
        for _ in range(draw(st.integers(0, 4))):
            lines.append("\t<event>")
            for _ in range(draw(st.integers(0, 4))):
                end = draw(st.sampled_from(["/>", " />"]))
                lines.append(f'\t\t<{draw(st.sampled_from(KINDS))} key="{draw(KEYS)}" value="{_esc(draw(TEXT))}"{end}')
            lines.append("\t</event>")
        lines.append("</trace>")
    if draw(st.booleans()):  # an event outside any trace: it has no case
        lines += ["<event>", '<string key="concept:name" value="loose"/>', "</event>"]
    lines.append("</log>")
    return "\n".join(lines) + "\n"


@settings(max_examples=80, deadline=None)
@given(text=xes_logs(), gz=st.booleans())
def test_generated_logs_give_the_full_parsers_table(
    text: str, gz: bool, tmp_path_factory: pytest.TempPathFactory
) -> None:
    path = tmp_path_factory.mktemp("x") / ("log.xes.gz" if gz else "log.xes")
    data = text.encode("utf-8")
    path.write_bytes(gzip.compress(data) if gz else data)
    full = read_xes_full(path).frame if "<event>" in text and "<trace" in text else None
    scanned = scan_xes(path)
    if full is None:
        return
    assert scanned is not None, "the regular form must be scanned"
    pd.testing.assert_frame_equal(scanned[0], full)


@pytest.mark.parametrize("name", ["running-example.xes", "receipt.xes.gz", "roadtraffic100traces.xes",
                                  "helpdesk.xes.gz", "hospital_log_high.xes.gz"])  # fmt: skip
def test_every_public_log_is_scanned_and_matches_the_full_parser(name: str) -> None:
    scanned = scan_xes(LOGS / name)
    assert scanned is not None
    pd.testing.assert_frame_equal(scanned[0], read_xes_full(LOGS / name).frame)


IRREGULAR = {
    "two elements on a line": '<trace><string key="concept:name" value="c"/>\n<event>\n'
                              '<string key="concept:name" value="a"/>\n</event>\n</trace>',
    "single quotes": "<trace>\n<string key='concept:name' value='c'/>\n<event>\n"
                     "<string key='concept:name' value='a'/>\n</event>\n</trace>",
    "a nested attribute": '<trace>\n<event>\n<string key="concept:name" value="a">\n'
                          '<string key="inner" value="x"/>\n</string>\n</event>\n</trace>',
    "value before key": '<trace>\n<event>\n<string value="a" key="concept:name"/>\n</event>\n</trace>',
    "a comment": '<trace>\n<!-- c -->\n<event>\n<string key="concept:name" value="a"/>\n</event>\n</trace>',
    "a list": '<trace>\n<event>\n<string key="concept:name" value="a"/>\n<list key="l">\n</list>\n</event>\n'
              "</trace>",
}  # fmt: skip


@pytest.mark.parametrize("form", sorted(IRREGULAR))
def test_irregular_forms_go_to_the_full_parser_and_read_the_same(form: str, tmp_path: Path) -> None:
    path = tmp_path / "l.xes"
    path.write_text(f'<?xml version="1.0"?>\n<log>\n{IRREGULAR[form]}\n</log>\n')
    assert scan_xes(path) is None
    pd.testing.assert_frame_equal(read_xes(path).frame, read_xes_full(path).frame)


@pytest.mark.parametrize(("content", "message"), [
    ('<log>\n<trace>\n<event>\n<string key="concept:name" value="a"/>\n</trace>\n</log>', "cannot read as XES"),
    ('<?xml version="1.0"?>\n<!DOCTYPE l [<!ENTITY e0 "lollollollollollol">'
     + "".join(f'<!ENTITY e{i} "{f"&e{i - 1};" * 10}">' for i in range(1, 10))
     + ']>\n<log>\n<trace>\n<event>\n<string key="concept:name" value="&e9;"/>\n</event>\n</trace>\n</log>',
     "entities that expand to too much text"),
    ('<log>\n<trace>\n<event>\n<string key="concept:name" value="&undefined;"/>\n</event>\n</trace>\n</log>',
     "entit"),
])  # fmt: skip
def test_strict_as_the_full_parser_about_bad_xml_entities_and_dtds(content: str, message: str, tmp_path: Path) -> None:
    path = tmp_path / "bad.xes"
    path.write_text(content)
    assert scan_xes(path) is None
    with pytest.raises(EventDataError, match=message):
        read_events(path)


def test_a_small_internal_entity_reads_as_the_full_parser_reads_it(tmp_path: Path) -> None:
    path = tmp_path / "dtd.xes"
    path.write_text('<?xml version="1.0"?>\n<!DOCTYPE l [<!ENTITY a "Triage">]>\n<log>\n<trace>\n<event>\n'
                    '<string key="concept:name" value="&a;"/>\n</event>\n</trace>\n</log>\n')  # fmt: skip
    assert scan_xes(path) is None  # a document type: the full parser's business
    assert read_xes(path).frame["concept:name"].tolist() == ["Triage"]


def test_a_cut_off_gzip_is_still_reported_as_cut_off(tmp_path: Path) -> None:
    data = (LOGS / "helpdesk.xes.gz").read_bytes()
    path = tmp_path / "cut.xes.gz"
    path.write_bytes(data[: len(data) // 2])
    assert scan_xes(path) is None
    with pytest.raises(EventDataError, match="cut off while copying"):
        read_events(path)
