"""The activity chart, drawn as SVG on the server.

Stacked bars count requests per hour by status class; a line on the right
axis shows the hour's 95th percentile of the relay's total duration.
"""

from __future__ import annotations

from datetime import UTC
from html import escape

from scimrelay.requestlog.query import CHART_CLASSES, Bucket

WIDTH = 760
HEIGHT = 240
LEFT = 44
RIGHT = 56
TOP = 28
BOTTOM = 30
COLOURS = {"2xx": "#22c55e", "4xx": "#f59e0b", "5xx": "#ef4444"}
LABELS = {"2xx": "Success", "4xx": "Client error", "5xx": "Server error"}
LINE = "#6366f1"
GRID = "#e5e7eb"
TEXT = "#6b7280"
# Keeps the count axis on whole numbers when traffic is light.
MIN_COUNT_AXIS = 4


def activity_svg(buckets: list[Bucket], title: str) -> str:
    """Return an SVG document charting the buckets, oldest on the left."""
    plot_w = WIDTH - LEFT - RIGHT
    plot_h = HEIGHT - TOP - BOTTOM
    busiest = max((sum(b.counts.values()) for b in buckets), default=0)
    count_max = _nice(max(busiest, MIN_COUNT_AXIS))
    p95s = [b.p95 for b in buckets]
    latency_max = _nice(max((p for p in p95s if p is not None), default=0.0))
    slot = plot_w / max(len(buckets), 1)
    parts = [_open(title)]
    parts += _grid(plot_w, plot_h, count_max, latency_max)
    for index, bucket in enumerate(buckets):
        parts += _bar(bucket, LEFT + index * slot, slot, plot_h, count_max)
    parts.append(_latency_line(p95s, slot, plot_h, latency_max))
    parts += _time_labels(buckets, slot)
    parts += _legend()
    parts.append("</svg>")
    return "".join(parts)


def _open(title: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="{WIDTH}" height="{HEIGHT}" role="img" '
        f'font-family="system-ui, -apple-system, Segoe UI, sans-serif" font-size="12">'
        f"<title>{escape(title)}</title>"
    )


def _nice(value: float) -> float:
    """Round an axis maximum up to 1, 2 or 5 times a power of ten."""
    if value <= 0:
        return 1.0
    magnitude = 10 ** len(str(int(value))) / 10
    for step in (1, 2, 5, 10):
        if value <= step * magnitude:
            return float(step * magnitude)
    return float(value)


def _grid(
    plot_w: float, plot_h: float, count_max: float, latency_max: float
) -> list[str]:
    parts = []
    for step in range(5):
        y = TOP + plot_h - plot_h * step / 4
        count = count_max * step / 4
        latency = latency_max * step / 4
        parts.append(
            f'<line x1="{LEFT}" y1="{y:.1f}" x2="{LEFT + plot_w}" y2="{y:.1f}" '
            f'stroke="{GRID}" stroke-width="1"/>'
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" fill="{TEXT}">'
            f"{_short(count)}</text>"
            f'<text x="{LEFT + plot_w + 6}" y="{y + 4:.1f}" fill="{LINE}">'
            f"{_short(latency)} ms</text>"
        )
    return parts


def _short(value: float) -> str:
    if value >= 1000:
        return f"{value / 1000:g}k"
    return f"{value:g}" if value == int(value) else f"{value:.1f}"


def _bar(
    bucket: Bucket, x: float, slot: float, plot_h: float, count_max: float
) -> list[str]:
    width = max(slot * 0.7, 1.0)
    left = x + (slot - width) / 2
    bottom = TOP + plot_h
    parts = []
    for status_class in CHART_CLASSES:
        count = bucket.counts[status_class]
        if not count:
            continue
        height = plot_h * count / count_max
        bottom -= height
        label = f"{bucket.start:%d %b %H:00} · {LABELS[status_class]}: {count}"
        parts.append(
            f'<rect x="{left:.1f}" y="{bottom:.1f}" width="{width:.1f}" '
            f'height="{height:.1f}" fill="{COLOURS[status_class]}" rx="1">'
            f"<title>{escape(label)}</title></rect>"
        )
    return parts


def _latency_line(
    p95s: list[float | None], slot: float, plot_h: float, latency_max: float
) -> str:
    bottom = TOP + plot_h
    points = [
        f"{LEFT + (index + 0.5) * slot:.1f},{bottom - plot_h * value / latency_max:.1f}"
        for index, value in enumerate(p95s)
        if value is not None
    ]
    if not points:
        return ""
    dots = "".join(_dot(*point.split(",")) for point in points)
    return (
        f'<polyline points="{" ".join(points)}" fill="none" stroke="{LINE}" '
        f'stroke-width="1.5" stroke-linejoin="round"/>{dots}'
    )


def _dot(x: str, y: str) -> str:
    return f'<circle cx="{x}" cy="{y}" r="2" fill="{LINE}"/>'


def _time_labels(buckets: list[Bucket], slot: float) -> list[str]:
    every = 4 if len(buckets) <= 48 else 24
    parts = []
    for index, bucket in enumerate(buckets):
        start = bucket.start.astimezone(UTC)
        if start.hour % every:
            continue
        text = f"{start:%H:00}" if every < 24 else f"{start:%d %b}"
        x = LEFT + index * slot
        parts.append(f'<text x="{x:.1f}" y="{HEIGHT - 10}" fill="{TEXT}">{text}</text>')
    return parts


def _legend() -> list[str]:
    parts = []
    x = LEFT
    for status_class in CHART_CLASSES:
        parts.append(
            f'<rect x="{x}" y="8" width="10" height="10" rx="2" '
            f'fill="{COLOURS[status_class]}"/>'
            f'<text x="{x + 14}" y="17" fill="{TEXT}">{LABELS[status_class]}</text>'
        )
        x += 100
    parts.append(
        f'<line x1="{x}" y1="13" x2="{x + 14}" y2="13" stroke="{LINE}" '
        'stroke-width="2"/>'
        f'<text x="{x + 18}" y="17" fill="{TEXT}">p95 latency</text>'
    )
    return parts
