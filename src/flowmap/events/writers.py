"""Event logs out: XES 2.0-style XML with the standard extensions, for pm4py, ProM, Disco and the like.

``xes_text`` writes one trace per case (``concept:name`` = the case id, with
any ``case:`` attributes), one event per row in case then time order, each
with ``concept:name`` (the event), ``time:timestamp`` (ISO 8601 with the UTC
offset of the process time zone) and ``lifecycle:transition`` (the row's own,
else ``complete``); ``org:resource`` and every other column are written as
string attributes. Local times that a clock change makes ambiguous are read
as standard time (the second of the two), and times a clock change skips are
moved forward by the gap, as pandas' ``shift_forward`` does; docs/events.md.
Everything is escaped, and the same frame gives the same bytes.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd

__all__ = ["with_instants", "xes_text"]

_HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<log xes.version="1.0" xes.features="nested-attributes" openxes.version="1.0RC7">
<extension name="Concept" prefix="concept" uri="http://www.xes-standard.org/concept.xesext"/>
<extension name="Time" prefix="time" uri="http://www.xes-standard.org/time.xesext"/>
<extension name="Lifecycle" prefix="lifecycle" uri="http://www.xes-standard.org/lifecycle.xesext"/>
<extension name="Organizational" prefix="org" uri="http://www.xes-standard.org/org.xesext"/>
<global scope="trace"><string key="concept:name" value="__INVALID__"/></global>
<global scope="event"><string key="concept:name" value="__INVALID__"/><date key="time:timestamp" \
value="1970-01-01T00:00:00.000+00:00"/><string key="lifecycle:transition" value="complete"/></global>
<classifier name="Activity" keys="concept:name"/>
<string key="concept:name" value="{name}"/>
"""
_SKIP = {
    "case_id",
    "event",
    "timestamp",
    "utc_offset",
    "row",
    "column",
    "lifecycle:transition",
    "start_timestamp",
    "start_offset",
    "in_progress",
}


def _attr(values: pd.Series) -> pd.Series:
    """Text as an XML attribute value: escaped, in double quotes."""
    text = values.astype(str)
    for a, b in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ('"', "&quot;"), ("\n", "&#10;"), ("\r", "&#13;"),
                 ("\t", "&#9;")):  # fmt: skip
        text = text.str.replace(a, b, regex=False)
    return '"' + text + '"'


def _instants(frame: pd.DataFrame, col: str = "timestamp", offset: str = "utc_offset") -> npt.NDArray[np.datetime64]:
    """Each event's instant: its wall time less its UTC offset where the table carries offsets."""
    ts = frame[col].to_numpy(dtype="M8[ns]")
    if offset not in frame:
        return ts
    out: npt.NDArray[np.datetime64] = (ts.view(np.int64) - frame[offset].to_numpy(dtype=np.int64) * 10**9).view(
        "M8[ns]"
    )
    return out


def with_instants(frame: pd.DataFrame, timezone: str) -> pd.DataFrame:
    """Events in case then time order for CSV or Parquet: where the table carries UTC offsets, the timestamps
    become zoned (local time in ``timezone`` with its offset), so the file keeps the instants."""
    frame = frame.assign(_t=_instants(frame)).sort_values(["case_id", "_t"], kind="stable")
    if "utc_offset" in frame:
        frame["timestamp"] = (
            pd.Series(frame["_t"].to_numpy(), index=frame.index).dt.tz_localize("UTC").dt.tz_convert(timezone)
        )
        frame = frame.drop(columns="utc_offset")
        if "start_timestamp" in frame:
            began = pd.Series(_instants(frame, "start_timestamp", "start_offset"), index=frame.index)
            frame["start_timestamp"] = began.dt.tz_localize("UTC").dt.tz_convert(timezone)
            frame = frame.drop(columns=[c for c in ("start_offset",) if c in frame])
    return frame.drop(columns="_t").reset_index(drop=True)


def _lifecycle_rows(events: pd.DataFrame) -> pd.DataFrame:
    """An instance table as start and complete events; any other table as it is."""
    if "start_timestamp" not in events:
        return events
    started = events["start_timestamp"].notna().to_numpy()
    progress = events["in_progress"].to_numpy(dtype=bool) if "in_progress" in events else np.zeros(len(events), bool)
    starts = events[started].assign(
        timestamp=events.loc[started, "start_timestamp"], **{"lifecycle:transition": "start"}
    )
    if "start_offset" in events:
        starts["utc_offset"] = starts["start_offset"]
    completes = events[~progress].assign(**{"lifecycle:transition": "complete"})
    both = pd.concat([starts, completes], ignore_index=True)
    return both.drop(columns=[c for c in ("start_timestamp", "start_offset", "in_progress") if c in both])


def _stamp(frame: pd.DataFrame, timezone: str) -> pd.Series:
    """Local wall times as ISO 8601 with their UTC offset (milliseconds): the offsets read with the data when
    the table carries them (``utc_offset``), else those of ``timezone`` (the first time round in an autumn hour)."""
    ts = frame["timestamp"]
    if "utc_offset" in frame:
        seconds = frame["utc_offset"].to_numpy(dtype=np.int64)
    else:
        zoned = pd.DatetimeIndex(ts).tz_localize(timezone, ambiguous=np.ones(len(ts), dtype=bool),
                                                 nonexistent="shift_forward")  # fmt: skip
        seconds = (
            np.asarray(zoned.tz_localize(None), dtype="M8[ns]").view(np.int64)
            - np.asarray(zoned.tz_convert("UTC").tz_localize(None), dtype="M8[ns]").view(np.int64)
        ) // 10**9
        ts = pd.Series(np.asarray(zoned.tz_localize(None), dtype="M8[ns]"), index=ts.index)
    text = pd.Series(pd.DatetimeIndex(ts).strftime("%Y-%m-%dT%H:%M:%S.%f"), index=ts.index).str.slice(0, 23)
    minutes = np.abs(seconds) // 60
    sign = np.where(seconds < 0, "-", "+")
    hh = pd.Series(minutes // 60, index=ts.index).astype(str).str.zfill(2)
    mm = pd.Series(minutes % 60, index=ts.index).astype(str).str.zfill(2)
    return text + sign + hh + ":" + mm


def xes_text(events: pd.DataFrame, *, timezone: str = "Europe/London", name: str = "flowmap") -> str:
    """The events (``case_id``, ``event``, ``timestamp`` and any attribute columns) as XES text.

    Activity instances (``start_timestamp``) become a ``start`` and a ``complete`` event each (work in
    progress: a ``start`` only), as XES logs with the lifecycle extension have them."""
    events = _lifecycle_rows(events)
    frame = events.assign(_t=_instants(events)).sort_values(["case_id", "_t"], kind="stable")
    frame = frame.drop(columns="_t").reset_index(drop=True)
    if frame.empty:
        return _HEAD.format(name=_attr(pd.Series([name])).iloc[0][1:-1]) + "</log>\n"
    case = frame["case_id"].astype(str)
    first = (case != case.shift()).to_numpy()
    last = (case != case.shift(-1)).to_numpy()
    # One element per line, as ProM and OpenXES write XES: readable, and what flowmap's fast reader scans.
    trace_attrs = pd.Series("", index=frame.index)
    for col in [c for c in frame.columns if str(c).startswith("case:") and c != "case:concept:name"]:
        v = frame[col]
        trace_attrs = trace_attrs + np.where(v.notna(), '\n\t<string key=' + _attr(pd.Series([col] * len(v))) +
                                             " value=" + _attr(v) + "/>", "")  # fmt: skip
    opening = '<trace>\n\t<string key="concept:name" value=' + _attr(case) + "/>" + trace_attrs + "\n"
    life = (_attr(frame["lifecycle:transition"].fillna("complete")) if "lifecycle:transition" in frame
            else pd.Series('"complete"', index=frame.index))  # fmt: skip
    body = ("\t<event>\n\t\t<string key=\"concept:name\" value=" + _attr(frame["event"]) + "/>"
            "\n\t\t<date key=\"time:timestamp\" value=\"" + _stamp(frame, timezone) + "\"/>"
            "\n\t\t<string key=\"lifecycle:transition\" value=" + life + "/>")  # fmt: skip
    for col in [c for c in frame.columns if c not in _SKIP and not str(c).startswith("case:")]:
        v = frame[col]
        body = body + np.where(v.notna(), "\n\t\t<string key=" + _attr(pd.Series([str(col)] * len(v))) + " value="
                               + _attr(v) + "/>", "")  # fmt: skip
    rows = np.where(first, opening, "") + body + "\n\t</event>" + np.where(last, "\n</trace>", "")
    return _HEAD.format(name=_attr(pd.Series([name])).iloc[0][1:-1]) + "\n".join(rows.tolist()) + "\n</log>\n"
