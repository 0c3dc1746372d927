"""The geometry of the Share page's funnel-over-time chart, drawn by the template as inline SVG.

Only numbers and classes: the template writes them as SVG presentation attributes, and the colours come
from the static stylesheet, so the chart needs no inline style or script (the admin pages' CSP allows none).
"""

from __future__ import annotations

from dataclasses import dataclass

from plugin.services.followup.funnel import Day

WIDTH, HEIGHT = 480, 220
LEFT, RIGHT, TOP, BOTTOM = 36, 8, 10, 28  # room for the axis labels
SERIES = (("opened", "Opened"), ("started", "Started"), ("completed", "Completed"))
MAX_MARKERS = 62  # past two months of days, points are a line only


@dataclass(frozen=True, slots=True)
class Point:
    """One day of one series, where it is drawn."""

    x: float
    y: float
    day: str
    value: int


@dataclass(frozen=True, slots=True)
class Series:
    """One line of the chart: opened, started or completed."""

    name: str
    label: str
    points: list[Point]

    @property
    def polyline(self) -> str:
        """The ``points`` attribute of the series' ``<polyline>``."""
        return " ".join(f"{point.x:.1f},{point.y:.1f}" for point in self.points)

    @property
    def total(self) -> int:
        """The series' sum over the days."""
        return sum(point.value for point in self.points)


@dataclass(frozen=True, slots=True)
class Chart:
    """The whole chart: its box, lines, axis ticks and the days it spans."""

    width: int
    height: int
    series: list[Series]
    y_ticks: list[tuple[float, int]]  # (y, value)
    x_labels: list[tuple[float, str]]  # (x, day)
    markers: bool
    days: list[Day]
    left: int = LEFT
    right: float = WIDTH - RIGHT
    bottom: float = HEIGHT - BOTTOM


def _ticks(top: int) -> list[int]:
    """Whole-number ticks from 0 to the top value or just above it, at most five."""
    step = max(1, -(-top // 4))
    return list(range(0, top + step, step)) if top else [0]


def daily_chart(days: list[Day]) -> Chart | None:
    """The chart of a daily funnel; None when there is nothing to draw (no links yet)."""
    if not days:
        return None
    ticks = _ticks(max(max(day.opened, day.started, day.completed) for day in days))
    top = max(ticks[-1], 1)
    span = WIDTH - LEFT - RIGHT
    plot_height = HEIGHT - TOP - BOTTOM

    def x(index: int) -> float:
        return LEFT + (span / 2 if len(days) == 1 else span * index / (len(days) - 1))

    def y(value: int) -> float:
        return TOP + plot_height * (1 - value / top)

    series = [Series(name, label, [Point(x(i), y(getattr(day, name)), day.day.isoformat(), getattr(day, name))
                                   for i, day in enumerate(days)]) for name, label in SERIES]
    picked = sorted({0, len(days) // 2, len(days) - 1}) if len(days) > 2 else list(range(len(days)))
    return Chart(WIDTH, HEIGHT, series, [(y(value), value) for value in ticks],
                 [(x(i), days[i].day.isoformat()) for i in picked], len(days) <= MAX_MARKERS, days)
