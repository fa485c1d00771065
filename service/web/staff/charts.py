"""Charts drawn by the service as inline SVG: no JavaScript, no CDN, readable without sight.

Each chart has a <title> and <desc> (referenced by aria-labelledby) and every
bar carries its value as text; pages also show the same numbers in a table.
All text goes through `escape`.
"""
from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from fractions import Fraction
from itertools import count

from markupsafe import Markup, escape

_ids = count(1)
BAR = 22
GAP = 8
LABEL_W = 120
WIDTH = 480


def _frame(title: str, desc: str, width: int, height: int, body: str) -> Markup:
    n = next(_ids)
    return Markup(
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" aria-labelledby="chart-t{n} chart-d{n}">'
        f'<title id="chart-t{n}">{escape(title)}</title><desc id="chart-d{n}">{escape(desc)}</desc>{body}</svg>'
    )


def hbar(title: str, items: Sequence[tuple[str, float]], *, unit: str = "") -> Markup:
    """Horizontal bars, one per (label, value)."""
    top = max((v for _, v in items), default=0) or 1
    rows = []
    for i, (label, value) in enumerate(items):
        y = i * (BAR + GAP)
        w = round((WIDTH - LABEL_W - 80) * value / top)
        rows.append(
            f'<text x="{LABEL_W - 6}" y="{y + 16}" text-anchor="end">{escape(label)}</text>'
            f'<rect x="{LABEL_W}" y="{y}" width="{w}" height="{BAR}" class="bar bar-{i % 6}"/>'
            f'<text x="{LABEL_W + w + 6}" y="{y + 16}">{escape(_fmt(value))}{escape(unit)}</text>'
        )
    desc = "; ".join(f"{label}: {_fmt(v)}{unit}" for label, v in items)
    return _frame(title, desc, WIDTH, max(1, len(items)) * (BAR + GAP), "".join(rows))


def columns(title: str, labels: Sequence[str], series: Sequence[tuple[str, Sequence[float | Decimal]]]) -> Markup:
    """Grouped vertical columns: one group per label, one column per series (with a legend)."""
    height, base, group_w = 220, 190, (WIDTH - 40) / max(1, len(labels))
    top = max((v for _, values in series for v in values), default=0) or 1
    col_w = max(2.0, (group_w - 6) / max(1, len(series)))
    parts = [f'<line x1="30" y1="{base}" x2="{WIDTH}" y2="{base}" class="axis"/>']
    for g, label in enumerate(labels):
        x0 = 34 + g * group_w
        for s, (_name, values) in enumerate(series):
            h = round((base - 20) * Fraction(values[g]) / Fraction(top))  # exact for floats and Decimals alike
            parts.append(f'<rect x="{x0 + s * col_w:.1f}" y="{base - h}" width="{col_w - 1:.1f}" height="{h}" '
                         f'class="bar bar-{s}"><title>{escape(label)}: {escape(_fmt(values[g]))}</title></rect>')
        if g % 2 == 0:
            parts.append(f'<text x="{x0:.1f}" y="{base + 16}" class="tick">{escape(label)}</text>')
    for s, (name, _values) in enumerate(series):
        parts.append(f'<rect x="{40 + s * 110}" y="2" width="10" height="10" class="bar bar-{s}"/>'
                     f'<text x="{54 + s * 110}" y="12">{escape(name)}</text>')
    desc = "; ".join(f"{name} " + ", ".join(f"{label} {_fmt(v)}" for label, v in zip(labels, values, strict=False))
                     for name, values in series)
    return _frame(title, desc, WIDTH, height, "".join(parts))


def _fmt(value: float | Decimal) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"


CELL_W, CELL_H, ROW_LABEL_W, HEAD_H = 64, 22, 70, 24


def heatmap(title: str, columns: Sequence[str], rows: Sequence[tuple[str, Sequence[Fraction | None]]]) -> Markup:
    """A grid of shares (0 to 1), darker for more, each cell also written as a percentage; a
    missing share (None) is an empty cell marked with a dash. Colours come from `fill`
    attributes (presentation, which the content security policy allows)."""
    width, height = ROW_LABEL_W + CELL_W * len(columns), HEAD_H + CELL_H * max(1, len(rows))
    parts = [f'<text x="{ROW_LABEL_W + c * CELL_W + CELL_W / 2:.0f}" y="16" text-anchor="middle">{escape(name)}</text>'
             for c, name in enumerate(columns)]
    for r, (label, shares) in enumerate(rows):
        y = HEAD_H + r * CELL_H
        parts.append(f'<text x="{ROW_LABEL_W - 6}" y="{y + 15}" text-anchor="end">{escape(label)}</text>')
        parts.extend(_heat_cell(ROW_LABEL_W + c * CELL_W, y, value) for c, value in enumerate(shares))
    desc = "; ".join(f"{label}: " + ", ".join(f"{name} {_percent(v)}" for name, v in zip(columns, shares, strict=False))
                     for label, shares in rows)
    return _frame(title, desc, width, height, "".join(parts))


def _heat_cell(x: int, y: int, value: Fraction | None) -> str:
    if value is None:
        return (f'<rect x="{x}" y="{y}" width="{CELL_W - 2}" height="{CELL_H - 2}" fill="#f3f3f3"/>'
                f'<text x="{x + CELL_W / 2:.0f}" y="{y + 15}" text-anchor="middle" fill="#767676">–</text>')
    level = min(max(value, Fraction(0)), Fraction(1))
    # Opacity up to 0.7 keeps dark text at 5:1 contrast or more on every cell (WCAG AA).
    opacity = Fraction(8, 100) + level * Fraction(62, 100)
    return (f'<rect x="{x}" y="{y}" width="{CELL_W - 2}" height="{CELL_H - 2}" fill="#0b5cad" '
            f'fill-opacity="{float(opacity):.2f}"/>'
            f'<text x="{x + CELL_W / 2:.0f}" y="{y + 15}" text-anchor="middle" fill="#1a1a1a">{_percent(value)}</text>')


def _percent(value: Fraction | None) -> str:
    return "–" if value is None else f"{round(value * 100)}%"
