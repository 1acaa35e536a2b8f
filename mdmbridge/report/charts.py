"""The report's charts, drawn here as inline SVG text.

Server-side SVG keeps the page one self-contained file that opens with no network and no
script: nothing to fetch, nothing to execute. Every piece of text that reaches the markup
goes through :func:`esc` (tenant names and versions come from vendors and are untrusted).
Every data shape carries the ``mark`` class and a ``<title>`` (the browser's own tooltip),
so a test can tell a chart that drew from one that is only axes.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

WIDTH = 480
ROW = 22
LABEL_W = 170
BAR_W = 240

# Colour per change kind and per tenant status; also used by the legends.
KIND_COLOURS = {
    "added": "#2e7d32",
    "changed": "#1565c0",
    "removed": "#c62828",
    "restored": "#ef6c00",
}
STATUS_COLOURS = {"ok": "#2e7d32", "failed": "#c62828", "skipped": "#9e9e9e"}
BAR_COLOUR = "#3f51b5"


def esc(value: object) -> str:
    """Text for HTML and SVG, quotes included (it also lands in attributes)."""
    return html.escape(str(value), quote=True)


def shorten(text: str, limit: int = 26) -> str:
    """A label that fits its column; the full text stays in the mark's tooltip."""
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def _svg(width: int, height: int, label: str, body: list[str]) -> str:
    return (
        f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" role="img" '
        f'aria-label="{esc(label)}" viewBox="0 0 {width} {height}" width="{width}" '
        f'height="{height}">' + "".join(body) + "</svg>"
    )


def bars(label: str, items: Sequence[tuple[str, int]], *, colour: str = BAR_COLOUR) -> str:
    """Horizontal bars, one row per item, scaled to the largest; a zero draws no bar but
    keeps its row and its 0, so a missing category is visible as such."""
    top = max((value for _, value in items), default=0)
    height = max(len(items), 1) * ROW + 8
    body: list[str] = []
    for row, (name, value) in enumerate(items):
        y = 4 + row * ROW
        body.append(
            f'<text x="{LABEL_W - 6}" y="{y + 15}" text-anchor="end">{esc(shorten(name))}</text>'
        )
        width = 0.0 if top == 0 else max(BAR_W * value / top, 1.5 if value else 0.0)
        if width:
            body.append(
                f'<rect class="mark" x="{LABEL_W}" y="{y + 3}" width="{width:.1f}" '
                f'height="{ROW - 6}" fill="{colour}"><title>{esc(name)}: {value:,}</title></rect>'
            )
        body.append(f'<text x="{LABEL_W + width + 6:.1f}" y="{y + 15}">{value:,}</text>')
    if not items:
        body.append(f'<text x="{LABEL_W}" y="18">none</text>')
    body.append(_axis(LABEL_W, 2, LABEL_W, height - 2))
    return _svg(WIDTH, height, label, body)


def share(label: str, parts: Sequence[tuple[str, int, str]]) -> str:
    """One bar split into parts (name, count, colour), with a legend: "unassigned among
    all devices" reads better as a share than as two unrelated bars."""
    total = sum(count for _, count, _ in parts)
    body: list[str] = []
    x = 0.0
    for name, count, colour in parts:
        if total and count:
            width = (WIDTH - 2) * count / total
            body.append(
                f'<rect class="mark" x="{x + 1:.1f}" y="4" width="{width:.1f}" height="24" '
                f'fill="{colour}"><title>{esc(name)}: {count:,} of {total:,}</title></rect>'
            )
            x += width
    body.append(_legend([(f"{name}: {count:,}", colour) for name, count, colour in parts], y=46))
    if not total:
        body.append('<text x="4" y="20">no devices</text>')
    return _svg(WIDTH, 56, label, body)


def columns(
    label: str,
    runs: Sequence[tuple[str, str, dict[str, int]]],
    *,
    colours: dict[str, str] = KIND_COLOURS,
) -> str:
    """Stacked columns over time, one per run (oldest on the left), one segment per kind;
    a run with no change keeps its slot on the axis, so quiet runs show as gaps. Each run is
    (axis label, tooltip label, counts by kind)."""
    height, plot_top, plot_bottom, left = 200, 8, 160, 44
    plot_w = WIDTH - left - 8
    top = max((sum(counts.values()) for _, _, counts in runs), default=0)
    slot = plot_w / max(len(runs), 1)
    bar = max(min(slot * 0.7, 40.0), 1.0)
    body = [
        f'<text x="{left - 6}" y="{plot_top + 10}" text-anchor="end">{top:,}</text>',
        f'<text x="{left - 6}" y="{plot_bottom}" text-anchor="end">0</text>',
    ]
    step = max(1, len(runs) // 8)  # at most ~8 run labels under the axis
    for n, (axis_label, run_label, counts) in enumerate(runs):
        x = left + n * slot + (slot - bar) / 2
        y = float(plot_bottom)
        for kind, colour in colours.items():
            count = counts.get(kind, 0)
            if not count or not top:
                continue
            h = max((plot_bottom - plot_top) * count / top, 1.0)
            y -= h
            body.append(
                f'<rect class="mark" x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{h:.1f}" '
                f'fill="{colour}"><title>{esc(run_label)}: {count:,} {esc(kind)}</title></rect>'
            )
        if n % step == 0:
            body.append(
                f'<text x="{x + bar / 2:.1f}" y="{plot_bottom + 14}" text-anchor="middle">'
                f"{esc(shorten(axis_label, 12))}</text>"
            )
    body.append(_axis(left, plot_bottom, WIDTH - 8, plot_bottom))
    body.append(_axis(left, plot_top, left, plot_bottom))
    body.append(_legend([(kind, colour) for kind, colour in colours.items()], y=height - 8))
    return _svg(WIDTH, height, label, body)


def strip(
    label: str, runs: Sequence[tuple[str, str]], *, colours: dict[str, str] = STATUS_COLOURS
) -> str:
    """One square per run (oldest first), coloured by the tenant's status in it."""
    size, gap = 14, 3
    per_row = (WIDTH - 8) // (size + gap)
    rows = max(1, -(-len(runs) // per_row))
    body: list[str] = []
    for n, (run_label, status) in enumerate(runs):
        x = 4 + (n % per_row) * (size + gap)
        y = 4 + (n // per_row) * (size + gap)
        body.append(
            f'<rect class="mark" x="{x}" y="{y}" width="{size}" height="{size}" rx="2" '
            f'fill="{colours.get(status, "#616161")}"><title>{esc(run_label)}: {esc(status)}'
            "</title></rect>"
        )
    legend_y = 4 + rows * (size + gap) + 14
    body.append(_legend(list(colours.items()), y=legend_y))
    return _svg(WIDTH, legend_y + 6, label, body)


def _axis(x1: float, y1: float, x2: float, y2: float) -> str:
    return f'<path class="axis" d="M{x1:.1f} {y1:.1f}L{x2:.1f} {y2:.1f}" stroke="#757575"/>'


def _legend(entries: Sequence[tuple[str, str]], *, y: int) -> str:
    parts, x = [], 4
    for name, colour in entries:
        parts.append(
            f'<rect x="{x}" y="{y - 9}" width="10" height="10" fill="{colour}"/>'
            f'<text x="{x + 14}" y="{y}">{esc(shorten(name, 30))}</text>'
        )
        x += 24 + 7 * len(shorten(name, 30))
    return f'<g class="legend">{"".join(parts)}</g>'
