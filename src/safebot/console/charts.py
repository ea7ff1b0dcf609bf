"""Charts as inline SVG, drawn here: columns per day, one series or several stacked.

Why not matplotlib: a page must render in under a second on a busy two-core host, and
importing matplotlib alone takes about that; its SVG draws text as glyph paths (or needs
system fonts), while these charts keep real ``<text>`` that prints sharply, can be searched
and read by a screen reader, and carry a ``<title>`` and ``<desc>``. The shapes are a few
rectangles and lines, and every chart comes with the same numbers as a table
(:func:`~safebot.console.pages` renders it beside the chart), so nothing is only in a picture.

Colours are the Okabe-Ito palette (distinguishable with the common colour-vision
deficiencies); a legend names every series in text. No ``style`` attributes, so the
console's Content-Security-Policy needs no ``unsafe-inline``.

>>> svg = columns("Turns per day", ["2026-01-01", "2026-01-02"], {"turns": [3, 5]})
>>> svg.startswith("<svg") and "Turns per day" in svg
True
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from markupsafe import Markup, escape

__all__ = ["PALETTE", "columns"]

#: Okabe-Ito, without yellow (too light on white for thin columns), then greys
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#56B4E9", "#E69F00", "#000000", "#7F7F7F", "#B3B3B3")

_W, _H = 760, 260
_LEFT, _RIGHT, _TOP, _BOTTOM = 56, 12, 16, 40


def _nice_max(value: int) -> int:
    if value <= 5:
        return 5
    exp: int = 10 ** int(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        top = int(step * exp)
        if top >= value:
            return top
    return int(10 * exp)


def _fmt(n: int) -> str:
    return f"{n / 1000:.0f}k" if n >= 10_000 else f"{n:,}"


def columns(
    title: str,
    days: Sequence[str],
    series: Mapping[str, Sequence[int]],
    *,
    ident: str = "chart",
    max_series: int = 8,
    stacked: bool = True,
) -> Markup:
    """Columns, one per day; ``series`` maps a name to one value per day. Stacked when the
    series are parts of one whole (findings by type), side by side when they are not.

    More than ``max_series`` series are folded into 'other' (the table keeps them all).
    """
    names = sorted(series, key=lambda n: -sum(series[n]))
    if len(names) > max_series:
        keep, rest = names[: max_series - 1], names[max_series - 1 :]
        folded = {n: list(series[n]) for n in keep}
        folded["other"] = [sum(series[n][i] for n in rest) for i in range(len(days))]
        series, names = folded, [*keep, "other"]
    totals = [sum(series[n][i] for n in names) for i in range(len(days))]
    heights = totals if stacked else [max((series[n][i] for n in names), default=0) for i in range(len(days))]
    top = _nice_max(max(heights, default=0))
    plot_w, plot_h = _W - _LEFT - _RIGHT, _H - _TOP - _BOTTOM
    n = max(1, len(days))
    step = plot_w / n
    bar = max(1.0, step * 0.8)
    parts: list[str] = []
    total = sum(totals)
    desc = f"{total:,} in all over {len(days)} day{'s' if len(days) != 1 else ''}"
    if totals:
        peak = max(range(len(totals)), key=lambda i: totals[i])
        desc += f"; most on {days[peak]} ({totals[peak]:,})"
    parts.append(
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {_W} {_H}" class="chart" role="img" '
        f'aria-labelledby="{ident}-t {ident}-d"><title id="{ident}-t">{escape(title)}</title>'
        f'<desc id="{ident}-d">{escape(desc)}</desc>'
    )
    for k in range(5):  # gridlines and y labels
        value = top * k // 4
        y = _TOP + plot_h - plot_h * k / 4
        parts.append(f'<line x1="{_LEFT}" x2="{_W - _RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="#d0d0d0" stroke-width="1"/>')
        parts.append(f'<text x="{_LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11" fill="#333">{_fmt(value)}</text>')
    width = bar if stacked else bar / max(1, len(names))
    for i, day in enumerate(days):
        x = _LEFT + i * step + (step - bar) / 2
        base = 0
        for j, name in enumerate(names):
            v = series[name][i]
            if v <= 0:
                continue
            h = plot_h * v / top
            y = _TOP + plot_h - plot_h * ((base + v) if stacked else v) / top
            left = x if stacked else x + j * width
            parts.append(
                f'<rect x="{left:.1f}" y="{y:.1f}" width="{width:.1f}" height="{h:.1f}" fill="{PALETTE[j % len(PALETTE)]}">'
                f"<title>{escape(day)}: {escape(name)} {v:,}</title></rect>"
            )
            base += v
    label_every = max(1, math.ceil(n / 8))
    for i in range(0, len(days), label_every):
        x = _LEFT + i * step + step / 2
        parts.append(f'<text x="{x:.1f}" y="{_H - _BOTTOM + 16}" text-anchor="middle" font-size="11" fill="#333">{escape(days[i][5:])}</text>')
    parts.append(f'<line x1="{_LEFT}" x2="{_W - _RIGHT}" y1="{_TOP + plot_h}" y2="{_TOP + plot_h}" stroke="#333" stroke-width="1"/>')
    x = _LEFT
    for j, name in enumerate(names):  # legend
        if x > _W - 120:
            break
        parts.append(f'<rect x="{x}" y="{_H - 14}" width="10" height="10" fill="{PALETTE[j % len(PALETTE)]}"/>')
        parts.append(f'<text x="{x + 14}" y="{_H - 5}" font-size="11" fill="#222">{escape(name)}</text>')
        x += 24 + 7 * len(name)
    parts.append("</svg>")
    return Markup("".join(parts))
