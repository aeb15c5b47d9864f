"""XES event logs (.xes, .xes.gz), read with a streaming parser."""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from flowmap.errors import EventDataError
from flowmap.events.readers.header import RawTable, opener

__all__ = ["read_xes", "read_xes_full"]


def read_xes(path: Path) -> RawTable:
    """A streaming XES reader: one pass over end-of-element events, memory for the
    table it builds and one trace. Trace attributes are read when the trace closes,
    and become columns named ``case:KEY`` (pm4py's convention): case attributes."""

    from flowmap.events.readers.xes_scan import scan_xes

    scanned = scan_xes(path)
    if scanned is not None and scanned[1] > 0:  # the regular forms, scanned in C (xes_scan.py)
        return RawTable(frame=scanned[0], positions=np.arange(1, scanned[1] + 1, dtype=np.int64), unit="event")
    return read_xes_full(path)


def read_xes_full(path: Path) -> RawTable:
    """The full parser: expat through ElementTree, for every form of XES (and every message about bad XML)."""
    import xml.etree.ElementTree as ET

    cases: list[Any] = []
    names: list[Any] = []
    times: list[Any] = []
    extra: dict[str, list[Any]] = {}
    trace_cols: dict[str, list[Any]] = {}
    n = 0
    trace_start = 0
    local: dict[str, str] = {}
    try:
        with opener(path)(path, "rb") as fh:
            for _, el in ET.iterparse(fh, events=("end",)):
                tag = local.get(el.tag)
                if tag is None:
                    tag = local[el.tag] = el.tag.rsplit("}", 1)[-1]
                if tag == "event":
                    name = time = None
                    for child in el:
                        k = child.get("key")
                        if k == "concept:name":
                            name = child.get("value")
                        elif k == "time:timestamp":
                            time = child.get("value")
                        elif k is not None:
                            val = child.get("value")
                            if val is None:
                                continue
                            col = extra.get(k)
                            if col is None:
                                col = extra[k] = [None] * n
                            if len(col) < n:
                                col.extend([None] * (n - len(col)))
                            if len(col) > n:  # a key repeated within one event: the last value wins
                                col[n] = val
                            else:
                                col.append(val)
                    names.append(name)
                    times.append(time)
                    n += 1
                    el.clear()
                elif tag == "trace":
                    case_id = None
                    for child in el:
                        k = child.get("key")
                        if k == "concept:name" and local.get(child.tag) == "string":
                            case_id = child.get("value")
                        elif k is not None and child.get("value") is not None:
                            col = trace_cols.setdefault(f"case:{k}", [])
                            del col[trace_start:]  # a key repeated on one trace: the last value wins
                            col.extend([None] * (trace_start - len(col)))
                            col.extend([child.get("value")] * (n - trace_start))
                    cases.extend([case_id] * (n - trace_start))
                    trace_start = n
                    el.clear()
    except ET.ParseError as e:
        text = str(e)
        if "entit" in text.lower() or "doctype" in text.lower():
            raise EventDataError(
                f"{path}:{e.position[0]}: defines entities that expand to too much text, or refers to ones it does "
                "not define; remove the <!DOCTYPE …> section"
            ) from None
        if "no element found" in text and path.name.lower().endswith(".gz"):
            raise EventDataError(f"{path}: is incomplete, cut off while copying; copy it again") from None
        raise EventDataError(f"{path}:{e.position[0]}: cannot read as XES: {e}") from None
    except (EOFError, gzip.BadGzipFile, zlib_error()) as e:
        what = "is incomplete, cut off while copying; copy it again" if isinstance(e, EOFError) else f"is damaged ({e})"
        raise EventDataError(f"{path}: {what}") from None
    except OSError as e:
        raise EventDataError(f"{path}: cannot read as XES: {e}") from None
    if n == 0:
        raise EventDataError(f"{path}: no events found in this XES file")
    cases.extend([None] * (n - len(cases)))  # events outside a closed trace have no case
    frame = pd.DataFrame({"case:concept:name": cases, "concept:name": names, "time:timestamp": times})
    for k, v in [*extra.items(), *trace_cols.items()]:
        if k not in frame.columns:
            v.extend([None] * (n - len(v)))
            frame[k] = v
    return RawTable(frame=frame, positions=np.arange(1, n + 1, dtype=np.int64), unit="event")


def zlib_error() -> type[Exception]:
    import zlib

    return zlib.error
