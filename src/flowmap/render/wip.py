"""The work-in-progress chart: open cases at each step over time, stacked in step order (a cumulative flow
diagram), each step's over-target part hatched and darker, PDSA cycles marked."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import pandas as pd

from flowmap.files.pdsa import PdsaLog
from flowmap.model.process import Process

__all__ = ["wip_figure"]

# Okabe-Ito hues, one per lane; a lane's steps take lighter and darker shades of it.
LANE_HUES = ("#56B4E9", "#E69F00", "#009E73", "#CC79A7", "#0072B2", "#D55E00", "#F0E442", "#999999")


def _shade(hex_colour: str, k: float) -> tuple[float, float, float]:
    """The colour mixed with white (k > 0) or black (k < 0)."""
    rgb = np.array([int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)])
    out = rgb + (1 - rgb) * k if k >= 0 else rgb * (1 + k)
    return (float(out[0]), float(out[1]), float(out[2]))


def wip_figure(process: Process, table: pd.DataFrame, *, fmt: str = "svg", pdsa: PdsaLog | None = None,
               title: str | None = None) -> bytes:  # fmt: skip
    """The chart of :func:`flowmap.analysis.wip.wip`'s table as SVG, PNG or PDF (the same bytes each time)."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    periods = pd.to_datetime(pd.Series(sorted(table["period"].unique())))
    steps = [s for s in process.steps if not s.end]
    lanes = [*process.lane_order, None]
    fig = Figure(figsize=(12, 5.4), dpi=100)
    ax = fig.add_axes((0.06, 0.16, 0.56, 0.72))
    x = periods.to_numpy()
    base = np.zeros(len(x))
    by_step = {sid: g.set_index("period").reindex(periods.dt.date) for sid, g in table.groupby("step")}
    seen_in_lane: dict[Any, int] = {}
    for s in steps:
        g = by_step.get(s.id)
        opened = np.nan_to_num(g["open"].to_numpy(dtype=float)) if g is not None else np.zeros(len(x))
        over = np.nan_to_num(g["over_target"].to_numpy(dtype=float)) if g is not None else np.zeros(len(x))
        hue = LANE_HUES[lanes.index(s.lane) % len(LANE_HUES)]
        k = seen_in_lane.get(s.lane, 0)
        seen_in_lane[s.lane] = k + 1
        # a lane's steps run from light to dark shades of its hue, each band edged in white
        light = _shade(hue, (0.7, 0.4, 0.1, -0.15, -0.3)[k % 5])
        dark = _shade(hue, (-0.35, -0.45, -0.55, -0.6, -0.65)[k % 5])
        within = opened - over
        ax.fill_between(x, base, base + within, step="post", facecolor=light, edgecolor="white", lw=0.4,
                        label=f"{s.label} ({s.lane})" if s.lane else s.label)  # fmt: skip
        ax.fill_between(x, base + within, base + opened, step="post", facecolor=dark, hatch="////",
                        edgecolor="white", lw=0.4)  # fmt: skip
        base = base + opened
    top = float(base.max()) if len(base) else 1.0
    if pdsa is not None:
        for c in pdsa.cycles:
            when = np.datetime64(c.start, "ns")
            if len(x) and x[0] <= when <= x[-1]:
                at: Any = when  # matplotlib takes dates on a date axis
                ax.axvline(at, color="#0072B2", lw=1.0, alpha=0.8)
                ax.text(at, top * 1.03 + 0.2, c.id, color="#0072B2", fontsize=9, ha="left", va="bottom")
    ax.set_ylim(0, top * 1.15 + 1)
    if len(x) > 1:
        ax.set_xlim(x[0], x[-1])
    ax.set_ylabel("open cases at the end of the period")
    ax.set_title(title or f"{process.title}: work in progress by step", fontsize=12, loc="left")
    ax.spines[["top", "right"]].set_visible(False)
    from matplotlib.patches import Patch

    handles, labels = ax.get_legend_handles_labels()
    handles, labels = handles[::-1], labels[::-1]  # top band first, as the chart reads
    handles.append(Patch(facecolor="#555555", hatch="////", edgecolor="white"))
    labels.append("darker, hatched: over the step's target")
    ax.legend(handles, labels, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    fig.autofmt_xdate(rotation=30)
    buf = io.BytesIO()
    meta: dict[str, Any] = {"svg": {"Date": None}, "pdf": {"CreationDate": None}, "png": {"Software": None}}[fmt]
    with matplotlib.rc_context({"svg.hashsalt": "flowmap", "font.family": "DejaVu Sans", "hatch.linewidth": 0.6}):
        fig.savefig(buf, format=fmt, metadata=meta)
    return buf.getvalue()
