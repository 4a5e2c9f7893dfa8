"""The admin index's dashboard: small SVG charts drawn on the server (no script, no CDN).

Each app's admin module registers its figures; a figure is built per request from a bounded
number of aggregate queries (GROUP BY, conditional counts), never by reading rows one by one,
so the index costs the same with ten rows or a hundred thousand. Every bar links to the list it
counts, filtered.
"""

from collections.abc import Callable
from dataclasses import dataclass, field

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe


@dataclass
class Segment:
    value: int
    colour: str
    label: str
    url: str = ""


@dataclass
class Bar:
    label: str
    segments: list[Segment]
    url: str = ""

    @property
    def total(self) -> int:
        return sum(s.value for s in self.segments)


@dataclass
class FigureData:
    bars: list[Bar]
    legend: list[tuple[str, str]] = field(default_factory=list)  # (colour, label)
    empty: str = "Nothing to show."
    link: str = ""  # the whole list
    link_label: str = ""
    summary: str = ""  # one line above the chart (already escaped HTML)


@dataclass(frozen=True)
class Figure:
    key: str
    title: str
    order: int
    build: Callable[[object], FigureData | None]  # None: this user may not see it


_figures: dict[str, Figure] = {}


def register_figure(figure: Figure) -> None:
    _figures[figure.key] = figure


WIDTH, LABEL_W, BAR_H, GAP = 420, 140, 18, 6


def bar_chart(data: FigureData, *, title: str) -> SafeString:
    """Horizontal stacked bars, one row per Bar, with its total at the end of the row."""
    if not data.bars or not any(bar.total for bar in data.bars):
        return format_html('<p class="dash-empty">{}</p>', data.empty)
    biggest = max(bar.total for bar in data.bars) or 1
    span = WIDTH - LABEL_W - 50
    rows = []
    for i, bar in enumerate(data.bars):
        y = i * (BAR_H + GAP)
        label = format_html(
            '<text x="{}" y="{}" text-anchor="end" class="dash-label">{}</text>',
            LABEL_W - 6,
            y + BAR_H - 5,
            bar.label,
        )
        if bar.url:
            label = format_html('<a href="{}">{}</a>', bar.url, label)
        x = LABEL_W
        parts = []
        for segment in bar.segments:
            if not segment.value:
                continue
            w = max(2, round(span * segment.value / biggest))
            rect = format_html(
                '<rect x="{}" y="{}" width="{}" height="{}" fill="{}"><title>{}: {}</title></rect>',
                x,
                y,
                w,
                BAR_H,
                segment.colour,
                segment.label,
                segment.value,
            )
            url = segment.url or bar.url
            parts.append(format_html('<a href="{}">{}</a>', url, rect) if url else rect)
            x += w
        total = format_html(
            '<text x="{}" y="{}" class="dash-count">{}</text>', x + 4, y + BAR_H - 5, bar.total
        )
        # literal markup or format_html's own escaped output:
        rows.append(format_html("<g>{}{}{}</g>", label, mark_safe("".join(parts)), total))  # nosec B308 B703
    height = len(data.bars) * (BAR_H + GAP)
    return format_html(
        '<svg class="dash-chart" viewBox="0 0 {} {}" width="100%" role="img" aria-label="{}">'
        "{}</svg>",
        WIDTH,
        height,
        title,
        # literal markup or format_html's own escaped output:
        mark_safe("".join(rows)),  # nosec B308 B703
    )


def legend(data: FigureData) -> SafeString:
    if not data.legend:
        # literal markup or format_html's own escaped output:
        return mark_safe("")  # nosec B308
    return format_html(
        '<p class="dash-legend">{}</p>',
        format_html_join(
            " ",
            '<span><svg width="10" height="10"><rect width="10" height="10" fill="{}"/></svg> {}'
            "</span>",
            data.legend,
        ),
    )


def dashboard(request) -> list[dict]:
    """The figures this user may see, in order, rendered."""
    shown = []
    for figure in sorted(_figures.values(), key=lambda f: (f.order, f.key)):
        data = figure.build(request)
        if data is None:
            continue
        shown.append(
            {
                "key": figure.key,
                "title": figure.title,
                "svg": bar_chart(data, title=figure.title),
                "legend": legend(data),
                "link": data.link,
                "link_label": data.link_label,
                "summary": data.summary,
            }
        )
    return shown
