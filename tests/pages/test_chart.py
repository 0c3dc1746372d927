"""The geometry of the funnel-over-time chart: inside its box, to scale, markers only while they fit."""

from __future__ import annotations

from datetime import date, timedelta

from plugin.pages.chart import HEIGHT, MAX_MARKERS, WIDTH, daily_chart
from plugin.services.followup.funnel import Day


def days(*values: tuple[int, int, int]) -> list[Day]:
    start = date(2026, 11, 1)
    return [Day(start + timedelta(days=i), *value) for i, value in enumerate(values)]


def test_no_days_no_chart() -> None:
    assert daily_chart([]) is None


def test_points_are_to_scale_and_inside_the_box() -> None:
    chart = daily_chart(days((4, 0, 0), (2, 1, 0), (0, 3, 2)))
    assert chart is not None
    opened, started, completed = chart.series
    assert [p.value for p in opened.points] == [4, 2, 0] and [p.day for p in completed.points][-1] == "2026-11-03"
    top, bottom = chart.y_ticks[-1][0], chart.y_ticks[0][0]
    assert chart.y_ticks[0][1] == 0 and chart.y_ticks[-1][1] >= 4
    assert opened.points[0].y == top and opened.points[2].y == bottom  # the highest value at the top tick
    assert abs(opened.points[1].y - (top + bottom) / 2) < 0.01  # 2 of 4: half way
    xs = [p.x for p in opened.points]
    assert xs == sorted(xs) and xs[0] == chart.left and xs[-1] == chart.right
    for series in chart.series:
        assert all(0 <= p.x <= WIDTH and 0 <= p.y <= HEIGHT for p in series.points)
        assert len(series.polyline.split()) == 3
    assert (opened.total, started.total, completed.total) == (6, 4, 2)
    assert [label for _, label in chart.x_labels] == ["2026-11-01", "2026-11-02", "2026-11-03"]


def test_one_day_is_centred_and_an_empty_day_sits_on_the_baseline() -> None:
    chart = daily_chart(days((0, 0, 0)))
    assert chart is not None
    point = chart.series[0].points[0]
    assert point.x == (chart.left + chart.right) / 2 and point.y == chart.y_ticks[0][0]
    assert [value for _, value in chart.y_ticks] == [0]


def test_long_series_draw_lines_without_markers_and_three_labels() -> None:
    chart = daily_chart(days(*[(i % 7, i % 3, i % 2) for i in range(MAX_MARKERS + 1)]))
    assert chart is not None and not chart.markers and len(chart.x_labels) == 3
    assert len(chart.y_ticks) <= 5 and chart.y_ticks[-1][1] >= 6  # the top tick is at the highest value or above
    for series in chart.series:
        assert all(chart.y_ticks[-1][0] <= p.y <= chart.bottom for p in series.points)


def test_ticks_reach_the_highest_value() -> None:
    for top in range(1, 40):
        chart = daily_chart(days((top, 0, 0)))
        assert chart is not None
        values = [value for _, value in chart.y_ticks]
        assert values[-1] >= top and len(values) <= 5 and values == sorted(values), (top, values)
