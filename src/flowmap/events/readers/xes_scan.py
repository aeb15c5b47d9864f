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


def _well_formed(path: Path) -> bool:
    """Whether expat reads the whole file without error and it declares no document type (C only)."""
    checker = xml.parsers.expat.ParserCreate()
    first = True
    with opener(path)(path, "rb") as fh:
        while True:
            block = fh.read(CHUNK_BYTES)
            if first and (b"<!DOCTYPE" in block or b"<!ENTITY" in block):
                return False
            first = False
            checker.Parse(block, not block)
            if not block:
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
        if not _well_formed(path):
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

    def tag(*spellings: str) -> Any:
        return pc.is_in(lines, pa.array(spellings)).to_numpy(zero_copy_only=False)

    trace_open, trace_close = tag("<trace>", "<trace >"), tag("</trace>", "</trace >")
    event_open, event_close = tag("<event>", "<event >"), tag("</event>", "</event >")
    candidate = np.zeros(len(lines), dtype=bool)
    for kind in _KINDS:
        candidate |= pc.starts_with(lines, kind).to_numpy(zero_copy_only=False)
    is_attr = candidate.copy()
    is_string = pc.starts_with(lines, "<string key=").to_numpy(zero_copy_only=False)
    keys = values = pa.array([], pa.string())
    if candidate.any():
        rows = np.flatnonzero(candidate)
        parts = pc.split_pattern(pc.filter(lines, pa.array(candidate)), '"', max_splits=4)
        five = pc.equal(pc.list_value_length(parts), 5).to_numpy(zero_copy_only=False)
        flat = pc.list_flatten(pc.filter(parts, pa.array(five)))
        at = np.arange(0, len(flat), 5)
        middle = pc.equal(pc.take(flat, pa.array(at + 2)), " value=").to_numpy(zero_copy_only=False)
        tail = pc.is_in(pc.take(flat, pa.array(at + 4)), pa.array(["/>", " />"])).to_numpy(zero_copy_only=False)
        regular = np.zeros(len(rows), dtype=bool)
        regular[np.flatnonzero(five)] = middle & tail  # <kind key="K" value="V"/>: anything else is not read here
        is_attr[rows[~regular]] = False
        keep = middle & tail
        keys = pc.take(flat, pa.array(at[keep] + 1))
        values = pc.take(flat, pa.array(at[keep] + 3))
    known = trace_open | trace_close | event_open | event_close | is_attr
    depth_t = np.cumsum(trace_open.astype(np.int64) - trace_close)
    depth_e = np.cumsum(event_open.astype(np.int64) - event_close)
    if len(depth_t) and (min(depth_e.min(), depth_t.min()) < 0 or max(depth_e.max(), depth_t.max()) > 1):
        raise Unusual
    if (~known & ((depth_t > 0) | trace_close)).any():  # a line inside a trace the scanner cannot read
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
    vals = np.asarray(values.to_numpy(zero_copy_only=False), dtype=object)
    amp = pc.match_substring(values, "&").to_numpy(zero_copy_only=False)
    for i in np.flatnonzero(amp):  # character references in values: unescaped only where there is one
        vals[i] = unescape(vals[i])
    key_codes = pc.dictionary_encode(keys)
    codes = np.asarray(key_codes.indices.to_numpy(zero_copy_only=False), dtype=np.int64)
    names = key_codes.dictionary.to_pylist()
    event_cols = _columns(event_no[attr_rows][in_event], codes[in_event], vals[in_event], names, n_events)
    trace_cols = _columns(trace_no[attr_rows][in_trace], codes[in_trace], vals[in_trace], names, n_traces)
    event_trace = np.where(depth_t[event_open] == 1, trace_no[event_open], -1)
    trace_ids = trace_cols.pop("concept:name", np.full(n_traces, None, dtype=object))
    none = np.full(n_events, None, dtype=object)

    def per_event(per_trace: Any) -> Any:
        padded = np.concatenate([per_trace, np.array([None], dtype=object)])
        return padded[np.where(event_trace >= 0, event_trace, len(per_trace))]

    frame = pd.DataFrame({"case:concept:name": per_event(trace_ids),
                          "concept:name": event_cols.pop("concept:name", none),
                          "time:timestamp": event_cols.pop("time:timestamp", none)})  # fmt: skip
    for k, col in event_cols.items():
        frame[k] = col
    for k, col in trace_cols.items():
        if f"case:{k}" not in frame.columns:
            frame[f"case:{k}"] = per_event(col)
    return frame, n_events


def _columns(owner: Any, codes: Any, values: Any, names: list[str], n: int) -> dict[str, Any]:
    """Per key (in the order keys first appear), an object column of length ``n`` with each owner's value
    (the last, where a key repeats within one owner)."""
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
        col = np.full(n, None, dtype=object)
        col[owner[rows]] = values[rows]
        cols[names[int(sorted_codes[bounds[b]])]] = col
    return cols
