"""A drawing as a list of shapes, written as SVG, PNG or PDF.

Maps are built as a :class:`Scene` (rectangles, paths, polygons and text in
points, y downwards) and then written: SVG by hand (escaped, deterministic),
PNG and PDF through matplotlib, which is already a dependency for charts and
bundles the DejaVu fonts, so text looks the same on every machine and every
character a label can hold is drawn.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from xml.sax.saxutils import escape, quoteattr

__all__ = ["FONT", "Path", "Polygon", "Rect", "Scene", "Text", "on_page", "smallest_text", "to_pdf", "to_png", "to_svg"]

FONT = "DejaVu Sans, Verdana, Arial, sans-serif"
Point = tuple[float, float]


@dataclass(frozen=True)
class Rect:
    x: float
    y: float
    w: float
    h: float
    fill: str = "none"
    stroke: str = "none"
    width: float = 1.0
    dash: str | None = None
    radius: float = 0.0
    opacity: float = 1.0
    css: str = ""


@dataclass(frozen=True)
class Path:
    """A polyline of cubic Bezier segments: a start point, then three points per segment."""

    points: tuple[Point, ...]
    stroke: str = "#333333"
    width: float = 1.0
    dash: str | None = None
    opacity: float = 1.0
    css: str = ""


@dataclass(frozen=True)
class Polygon:
    points: tuple[Point, ...]
    fill: str = "#333333"
    stroke: str = "none"
    opacity: float = 1.0


@dataclass(frozen=True)
class Text:
    x: float
    y: float  # baseline
    text: str
    size: float = 11.0
    bold: bool = False
    anchor: str = "middle"  # start, middle, end
    fill: str = "#111111"
    halo: bool = False  # a white outline behind the text, for labels over lines
    opacity: float = 1.0
    rotate: float = 0.0  # degrees anticlockwise about (x, y): 90 reads bottom to top


Shape = Rect | Path | Polygon | Text


@dataclass
class Scene:
    width: float
    height: float
    title: str
    items: list[Shape] = field(default_factory=list)

    def add(self, *shapes: Shape) -> None:
        self.items.extend(shapes)


def _n(v: float) -> str:
    text = f"{v:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _d(points: Sequence[Point]) -> str:
    first, rest = points[0], points[1:]
    out = [f"M{_n(first[0])},{_n(first[1])}"]
    for i in range(0, len(rest) - len(rest) % 3, 3):
        (a, b), (c, d), (e, f) = rest[i : i + 3]
        out.append(f"C{_n(a)},{_n(b)} {_n(c)},{_n(d)} {_n(e)},{_n(f)}")
    return " ".join(out)


def to_svg(scene: Scene) -> str:
    """The scene as a standalone SVG document (UTF-8 text; every string escaped)."""
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_n(scene.width)}pt" height="{_n(scene.height)}pt" '
        f'viewBox="0 0 {_n(scene.width)} {_n(scene.height)}" font-family={quoteattr(FONT)}>',
        f"<title>{escape(scene.title)}</title>",
        f'<rect x="0" y="0" width="{_n(scene.width)}" height="{_n(scene.height)}" fill="#ffffff"/>',
    ]
    for s in scene.items:
        if isinstance(s, Rect):
            attrs = f'x="{_n(s.x)}" y="{_n(s.y)}" width="{_n(s.w)}" height="{_n(s.h)}" fill="{s.fill}"'
            if s.stroke != "none":
                attrs += f' stroke="{s.stroke}" stroke-width="{_n(s.width)}"'
            if s.dash:
                attrs += f' stroke-dasharray="{s.dash}"'
            if s.radius:
                attrs += f' rx="{_n(s.radius)}"'
            if s.opacity != 1:
                attrs += f' opacity="{_n(s.opacity)}"'
            if s.css:
                attrs += f" class={quoteattr(s.css)}"
            out.append(f"<rect {attrs}/>")
        elif isinstance(s, Path):
            attrs = f'd="{_d(s.points)}" fill="none" stroke="{s.stroke}" stroke-width="{_n(s.width)}"'
            if s.dash:
                attrs += f' stroke-dasharray="{s.dash}"'
            if s.opacity != 1:
                attrs += f' opacity="{_n(s.opacity)}"'
            if s.css:
                attrs += f" class={quoteattr(s.css)}"
            out.append(f"<path {attrs}/>")
        elif isinstance(s, Polygon):
            pts = " ".join(f"{_n(x)},{_n(y)}" for x, y in s.points)
            extra = f' opacity="{_n(s.opacity)}"' if s.opacity != 1 else ""
            out.append(f'<polygon points="{pts}" fill="{s.fill}" stroke="{s.stroke}"{extra}/>')
        else:
            weight = ' font-weight="bold"' if s.bold else ""
            halo = ' stroke="#ffffff" stroke-width="3" paint-order="stroke"' if s.halo else ""
            extra = f' opacity="{_n(s.opacity)}"' if s.opacity != 1 else ""
            if s.rotate:
                extra += f' transform="rotate({_n(-s.rotate)} {_n(s.x)} {_n(s.y)})"'
            out.append(
                f'<text x="{_n(s.x)}" y="{_n(s.y)}" font-size="{_n(s.size)}" text-anchor="{s.anchor}" '
                f'fill="{s.fill}"{weight}{halo}{extra}>{escape(s.text)}</text>'
            )
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _figure(scene: Scene, dpi: float) -> object:
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.patheffects as pe
    from matplotlib.figure import Figure
    from matplotlib.patches import PathPatch, Rectangle
    from matplotlib.patches import Polygon as MPolygon
    from matplotlib.path import Path as MPath

    fig = Figure(figsize=(scene.width / 72, scene.height / 72), dpi=dpi)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, scene.width)
    ax.set_ylim(scene.height, 0)
    ax.set_axis_off()
    fig.patch.set_facecolor("#ffffff")

    # add_artist, not add_patch: the limits are fixed above, and add_patch's limit
    # update costs about a millisecond a shape (a second for a 300-step map).
    add = ax.add_artist

    def dash(d: str | None) -> object:
        if d is None:
            return "-"
        nums = [float(x) for x in d.replace(",", " ").split()]
        return (0, tuple(nums))

    for s in scene.items:
        if isinstance(s, Rect):
            add(
                Rectangle(
                    (s.x, s.y),
                    s.w,
                    s.h,
                    facecolor=s.fill if s.fill != "none" else "none",
                    edgecolor=s.stroke if s.stroke != "none" else "none",
                    linewidth=s.width if s.stroke != "none" else 0,
                    linestyle=dash(s.dash),
                    alpha=s.opacity,
                )
            )
        elif isinstance(s, Path):
            pts = list(s.points)
            n_seg = (len(pts) - 1) // 3
            pts = pts[: 1 + 3 * n_seg]
            codes = [MPath.MOVETO] + [MPath.CURVE4] * (3 * n_seg)
            add(PathPatch(MPath(pts, codes), facecolor="none", edgecolor=s.stroke, linewidth=s.width,
                                   linestyle=dash(s.dash), alpha=s.opacity))  # fmt: skip
        elif isinstance(s, Polygon):
            add(MPolygon(list(s.points), closed=True, facecolor=s.fill, edgecolor="none", alpha=s.opacity))
        else:
            ha = {"start": "left", "middle": "center", "end": "right"}[s.anchor]
            t = ax.text(s.x, s.y, s.text, fontsize=s.size, ha=ha, va="baseline", color=s.fill,
                        fontweight="bold" if s.bold else "normal", family="DejaVu Sans", alpha=s.opacity,
                        rotation=s.rotate, rotation_mode="anchor")  # fmt: skip
            if s.halo:
                t.set_path_effects([pe.withStroke(linewidth=3, foreground="#ffffff")])
    return fig


def to_png(scene: Scene, *, dpi: float = 150) -> bytes:
    """The scene as PNG bytes (150 dpi: sharp on a projector and in print)."""
    fig = _figure(scene, dpi)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": None})  # type: ignore[attr-defined]
    return buf.getvalue()


def to_pdf(scene: Scene) -> bytes:
    """The scene as a one-page vector PDF, fonts embedded, no creation date (same bytes each time)."""
    fig = _figure(scene, 72)
    buf = io.BytesIO()
    fig.savefig(buf, format="pdf", metadata={"CreationDate": None, "Producer": "flowmap", "Creator": "flowmap"})  # type: ignore[attr-defined]
    return buf.getvalue()


def on_page(scene: Scene, page: tuple[float, float], margin: float) -> tuple[Scene, float]:
    """``scene`` scaled to fit ``page`` (points) inside ``margin``, centred; and the scale used.

    Every coordinate, size, line width and dash is scaled, so the picture is
    the same one, smaller or larger, and the page is exactly ``page``.
    """
    pw, ph = page
    k = min((pw - 2 * margin) / scene.width, (ph - 2 * margin) / scene.height)
    dx, dy = (pw - scene.width * k) / 2, (ph - scene.height * k) / 2

    def pt(p: Point) -> Point:
        return (round(dx + p[0] * k, 3), round(dy + p[1] * k, 3))

    def dash(d: str | None) -> str | None:
        return None if d is None else ",".join(_n(float(v) * k) for v in d.replace(",", " ").split())

    out = Scene(width=pw, height=ph, title=scene.title)
    for s in scene.items:
        if isinstance(s, Rect):
            x, y = pt((s.x, s.y))
            out.add(replace(s, x=x, y=y, w=s.w * k, h=s.h * k, width=s.width * k, radius=s.radius * k,
                            dash=dash(s.dash)))  # fmt: skip
        elif isinstance(s, Path):
            out.add(replace(s, points=tuple(pt(p) for p in s.points), width=s.width * k, dash=dash(s.dash)))
        elif isinstance(s, Polygon):
            out.add(replace(s, points=tuple(pt(p) for p in s.points)))
        else:
            x, y = pt((s.x, s.y))
            out.add(replace(s, x=x, y=y, size=s.size * k))
    return out, k


def smallest_text(scene: Scene) -> float:
    """The smallest font size in the scene, in points (0 when it has no text)."""
    return min((s.size for s in scene.items if isinstance(s, Text)), default=0.0)
