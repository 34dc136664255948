"""Inline SVG charts: well-formed, marks where the numbers say, labels escaped."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from dashboard.svg import Bar, Line, Points, bar_chart, line_chart, nice_ticks, scatter

HOSTILE = '<script>alert("x")</script>'


def _parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg)  # raises on malformed or unescaped markup
    assert root.tag == "svg"
    return root


def test_bar_chart_bar_lengths_and_ci_whiskers() -> None:
    svg = bar_chart([Bar("a", 50.0, 40.0, 60.0), Bar("b", 100.0), Bar(HOSTILE, 25.0, 20.0, 30.0)],
                    title="t", max_value=100.0)
    root = _parse(svg)
    rects = root.findall(".//g[@class='bar']/rect")
    widths = [float(r.attrib["width"]) for r in rects]
    assert widths[1] == pytest.approx(2 * widths[0]) and widths[0] == pytest.approx(4 * widths[2] / 2)
    whiskers = root.findall(".//line[@class='ci']")
    assert len(whiskers) == 2  # "b" has no interval
    first = whiskers[0]
    x0 = float(rects[0].attrib["x"])
    # the whisker spans 40..60 on the same scale as the bar (0..100 over the bar's full width = 2x)
    assert float(first.attrib["x1"]) - x0 == pytest.approx(0.8 * widths[0])
    assert float(first.attrib["x2"]) - x0 == pytest.approx(1.2 * widths[0])
    assert "<script>" not in svg and any(HOSTILE in (t.text or "") for t in root.iter("title"))


def test_bar_values_beyond_the_scale_are_clipped() -> None:
    root = _parse(bar_chart([Bar("a", 150.0, 90.0, 170.0)], title="t", max_value=100.0))
    rect = root.find(".//g[@class='bar']/rect")
    assert rect is not None and float(rect.attrib["width"]) == pytest.approx(720 - 240 - 30)


def test_line_chart_breaks_lines_at_missing_values() -> None:
    svg = line_chart([Line("m", [10.0, None, 30.0, 40.0]), Line("n", [5.0, 6.0, 7.0, 8.0])],
                     ["2k", "8k", "32k", "64k"], title="t", ylabel="ms")
    root = _parse(svg)
    series = root.findall(".//g[@class='series']")
    assert [s.attrib["data-series"] for s in series] == ["m", "n"]
    m_lines = series[0].findall("polyline")
    assert len(m_lines) == 1 and len(m_lines[0].attrib["points"].split()) == 2  # the lone 10.0 has no segment
    assert len(series[0].findall("circle")) == 3 and len(series[1].findall("circle")) == 4
    ys = [float(c.attrib["cy"]) for c in series[1].findall("circle")]
    assert ys == sorted(ys, reverse=True)  # larger values are drawn higher


def test_scatter_draws_every_point_per_series() -> None:
    svg = scatter([Points("a", [(1.0, 2.0), (3.0, 4.0)]), Points(HOSTILE, [(5.0, 9.0)])],
                  title="TTFT vs E2E", xlabel="TTFT", ylabel="E2E")
    root = _parse(svg)
    groups = root.findall(".//g[@class='series']")
    assert [len(g.findall("circle")) for g in groups] == [2, 1]
    assert groups[1].attrib["data-series"] == HOSTILE


def test_empty_inputs_still_make_valid_svg() -> None:
    for svg in (bar_chart([], title="t"), line_chart([], [], title="t", ylabel="y"),
                scatter([], title="t", xlabel="x", ylabel="y")):
        _parse(svg)


def test_nice_ticks_cover_the_range_with_round_steps() -> None:
    assert nice_ticks(0, 100) == [0, 20, 40, 60, 80, 100]
    ticks = nice_ticks(0, 873)
    assert ticks[0] == 0 and ticks[-1] >= 873 and ticks[1] == 200
