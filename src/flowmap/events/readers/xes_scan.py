"""A line scanner for XES in its regular form: the fast path of :func:`~.xes.read_xes`.

Nearly every XES file is written one element per line: ``<trace>``, then
attribute elements ``<string key="…" value="…"/>`` (and ``date``, ``int``,
``float``, ``boolean``, ``id``), then ``<event>`` elements holding more of
them. For those, pyarrow's CSV reader cuts the (decompressed) file into lines
and its compute kernels classify and split every line in C++; numpy then
gives each attribute to its event and trace. No Python call per element.

It is as strict as the full parser. The bytes first go through expat with no
callbacks (C only, streamed), so a document that is not well-formed, or uses
an entity it does not define, is refused there; a document type declaration
(``<!DOCTYPE``, where entities would be defined) goes straight to the full
parser. Any line the scanner does not recognise inside a trace (two elements
on a line, a nested or list attribute, single quotes, comments, CDATA, an
attribute with its key after its value) sends the whole file to the full
parser, which gives today's table and today's messages. A property test
checks that both give the same table on generated and real logs.

``.xes.gz`` is decompressed as a stream, by expat's check and by pyarrow.
"""

from __future__ import annotations

import xml.parsers.expat
from html import unescape
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from flowmap.events.readers.header import opener

__all__ = ["CHUNK_BYTES", "scan_xes"]

CHUNK_BYTES = 1 << 24
"""How much decompressed XES each step reads (16 MiB)."""

_KINDS = ("<string key=", "<date key=", "<int key=", "<float key=", "<boolean key=", "<id key=")
"""How an attribute element's line begins (single-quoted or other spellings go to the full parser)."""


class Unusual(Exception):
    """The file has a form the scanner does not cover: read it with the full parser."""


def _header_ok(path: Path) -> bool:
    """Whether the part before the first trace (the XML declaration, ``<log>``, extensions, globals and log
    attributes, any form) is well-formed XML with no document type, UTF-8: expat checks it, C only."""
    with opener(path)(path, "rb") as fh:
        head = b""
        while b"<trace" not in head:
            block = fh.read(1 << 20)
            if not block or len(head) > 64 << 20:
                return False
            head += block
    head = head[: head.index(b"<trace")]
    if b"<!DOCTYPE" in head or b"<!ENTITY" in head:
        return False
    decl = head[: head.find(b"?>")].lower() if head.startswith(b"<?xml") else b""
    if b"encoding" in decl and b"utf-8" not in decl and b"utf8" not in decl:
        return False
    checker = xml.parsers.expat.ParserCreate()
    try:
        checker.Parse(head + b"</log>", True)
    except xml.parsers.expat.ExpatError:
        return False
    return True


def _lines(path: Path) -> Any:
    """The file's lines, trimmed, as one Arrow string array (pyarrow cuts and decompresses in C++)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv

    gz = path.name.lower().endswith(".gz")
    stream = pa.input_stream(str(path), compression="gzip" if gz else None)
    table = pacsv.read_csv(
        stream,
        read_options=pacsv.ReadOptions(column_names=["line"], block_size=CHUNK_BYTES),
        parse_options=pacsv.ParseOptions(delimiter="\x1f", quote_char=False, escape_char=False),
        convert_options=pacsv.ConvertOptions(column_types={"line": pa.string()}, strings_can_be_null=False),
    )
    return pc.utf8_trim_whitespace(table.column("line").combine_chunks())


def scan_xes(path: Path) -> tuple[pd.DataFrame, int] | None:
    """The XES table as :func:`~.xes.read_xes_full` builds it (columns ``case:concept:name``,
    ``concept:name``, ``time:timestamp``, then event attributes, then ``case:`` trace attributes) and its
    number of events; ``None`` when the file needs the full parser."""
    try:
        if not _header_ok(path):
            return None
        return _scan(_lines(path))
    except (Unusual, xml.parsers.expat.ExpatError, UnicodeDecodeError, EOFError, OSError, ValueError):
        return None
    except Exception as e:  # pyarrow's own errors (a line with the separator byte, bad UTF-8): full parser
        if type(e).__module__.startswith("pyarrow"):
            return None
        raise


def _scan(lines: Any) -> tuple[pd.DataFrame, int]:
    import pyarrow as pa
    import pyarrow.compute as pc

    tags = ("<trace>", "<trace >", "</trace>", "</trace >", "<event>", "<event >", "</event>", "</event >")
    which = np.asarray(pc.fill_null(pc.index_in(lines, pa.array(tags)), -1).to_numpy(zero_copy_only=False)) // 2
    trace_open, trace_close, event_open, event_close = which == 0, which == 1, which == 2, which == 3
    candidate = pc.match_substring(lines, ' key="').to_numpy(zero_copy_only=False) & (which < 0)
    is_string = pc.starts_with(lines, "<string key=").to_numpy(zero_copy_only=False)
    is_attr = np.zeros(len(which), dtype=bool)
    keys = values = pa.array([], pa.string())
    if candidate.any():
        # Every line split at its quotes (a tag line is one part): one pass, no filtering of the lines first.
        parts = pc.split_pattern(lines, '"', max_splits=4)
        five = candidate & pc.equal(pc.list_value_length(parts), 5).to_numpy(zero_copy_only=False)
        five &= pc.is_in(pc.list_element(parts, 0), pa.array(_KINDS)).to_numpy(zero_copy_only=False)
        flat = pc.list_flatten(pc.filter(parts, pa.array(five)))
        at = np.arange(0, len(flat), 5)
        middle = pc.equal(pc.take(flat, pa.array(at + 2)), " value=").to_numpy(zero_copy_only=False)
        tail = pc.is_in(pc.take(flat, pa.array(at + 4)), pa.array(["/>", " />"])).to_numpy(zero_copy_only=False)
        regular = middle & tail  # <kind key="K" value="V"/>: anything else is not read here
        is_attr[np.flatnonzero(five)[regular]] = True
        keys = pc.take(flat, pa.array(at[regular] + 1))
        values = pc.take(flat, pa.array(at[regular] + 3))
    known = trace_open | trace_close | event_open | event_close | is_attr
    depth_t = np.cumsum(trace_open.astype(np.int64) - trace_close)
    depth_e = np.cumsum(event_open.astype(np.int64) - event_close)
    if len(depth_t) and (min(depth_e.min(), depth_t.min()) < 0 or max(depth_e.max(), depth_t.max()) > 1):
        raise Unusual
    # The body, from the first trace to the end, is read by this grammar alone (expat has checked the header):
    # every line a trace or event tag or a regular attribute, tags nested, the file closed by </log>.
    first_trace = int(np.argmax(trace_open)) if trace_open.any() else len(which)
    body = np.arange(len(which)) >= first_trace
    closing = np.flatnonzero(body & ~known)
    if len(closing) != 1 or closing[0] != len(which) - 1 or lines[int(closing[0])].as_py() != "</log>":
        raise Unusual
    if (depth_e[trace_open | trace_close] != 0).any() or depth_t[-1] != 0 or depth_e[-1] != 0:
        raise Unusual
    for free in (keys, values):  # text an XML parser would refuse: '<', a bad reference, a control character
        if pc.any(pc.match_substring_regex(free, r"[<\x00-\x08\x0b\x0c\x0e-\x1f]")).as_py():
            raise Unusual
        if pc.any(pc.match_substring(free, "&")).as_py():
            bare = pc.replace_substring_regex(free, r"&(?:amp|lt|gt|quot|apos|#[0-9]+|#x[0-9a-fA-F]+);", "")
            if pc.any(pc.match_substring(bare, "&")).as_py():
                raise Unusual
    trace_no = np.cumsum(trace_open) - 1
    event_no = np.cumsum(event_open) - 1
    n_events, n_traces = int(event_open.sum()), int(trace_open.sum())
    attr_rows = np.flatnonzero(is_attr)
    in_event = depth_e[attr_rows] == 1
    in_trace = (depth_e[attr_rows] == 0) & (depth_t[attr_rows] == 1)
    not_id = np.asarray(pc.not_equal(keys, "concept:name").to_numpy(zero_copy_only=False), dtype=bool)
    in_trace &= not_id | is_string[attr_rows]  # a case id is a string attribute, as the full parser reads it
    if pc.any(pc.match_substring(keys, "&")).as_py():
        raise Unusual  # a key with a character reference: rare enough for the full parser
    amp = pc.match_substring(values, "&")
    if pc.any(amp).as_py():  # character references in values: unescaped only where there is one
        fixed = pa.array([unescape(v) for v in pc.filter(values, amp).to_pylist()], pa.string())
        values = pc.replace_with_mask(values, amp, fixed)
    key_codes = pc.dictionary_encode(keys)
    codes = np.asarray(key_codes.indices.to_numpy(zero_copy_only=False), dtype=np.int64)
    names = key_codes.dictionary.to_pylist()
    ev_rows, tr_rows = np.flatnonzero(in_event), np.flatnonzero(in_trace)
    event_cols = _columns(event_no[attr_rows][ev_rows], codes[ev_rows], ev_rows, values, names, n_events)
    trace_cols = _columns(trace_no[attr_rows][tr_rows], codes[tr_rows], tr_rows, values, names, n_traces)
    event_trace = np.where(depth_t[event_open] == 1, trace_no[event_open], -1)
    trace_ids = trace_cols.pop("concept:name", pa.nulls(n_traces, pa.string()))

    def per_event(per_trace: Any) -> Any:
        return _text(pc.take(per_trace, pa.array(event_trace, mask=event_trace < 0)))

    nothing = pa.nulls(n_events, pa.string())
    frame = pd.DataFrame({"case:concept:name": per_event(trace_ids),
                          "concept:name": _text(event_cols.pop("concept:name", nothing)),
                          "time:timestamp": _text(event_cols.pop("time:timestamp", nothing))})  # fmt: skip
    for k, col in event_cols.items():
        frame[k] = _text(col)
    for k, col in trace_cols.items():
        if f"case:{k}" not in frame.columns:
            frame[f"case:{k}"] = per_event(col)
    return frame, n_events


def _text(col: Any) -> Any:
    """An Arrow string column as pandas' own string column (no Python object per value); one with no value
    at all as pandas makes it from Nones, as the full parser does."""
    if col.null_count == len(col):
        return np.full(len(col), None, dtype=object)
    return pd.array(col, dtype=pd.Series(["x"]).dtype)


def _columns(owner: Any, codes: Any, rows_of: Any, values: Any, names: list[str], n: int) -> dict[str, Any]:
    """Per key (in the order keys first appear), an Arrow string column of length ``n`` with each owner's
    value (the last, where a key repeats within one owner); ``rows_of`` points into ``values``."""
    import pyarrow as pa
    import pyarrow.compute as pc

    cols: dict[str, Any] = {}
    if not len(codes):
        return cols
    order = np.argsort(codes, kind="stable")
    sorted_codes = codes[order]
    bounds = np.flatnonzero(np.r_[True, sorted_codes[1:] != sorted_codes[:-1]])
    firsts = order[bounds]  # each key's first appearance
    ends = np.r_[bounds[1:], len(order)]
    for b in np.argsort(firsts, kind="stable"):
        rows = order[bounds[b] : ends[b]]
        at = np.full(n, -1, dtype=np.int64)
        at[owner[rows]] = rows_of[rows]
        cols[names[int(sorted_codes[bounds[b]])]] = pc.take(values, pa.array(at, mask=at < 0))
    return cols
