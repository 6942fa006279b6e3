"""Figures, value boxes and tables: no-data states, plain values, escaping."""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
import pytest

from support_analytics.report import charts, labels, metrics

XSS_AGENT = "<img src=x onerror=alert(1)>"
XSS_REGION = "<script>alert(1)</script>"


@pytest.fixture(scope="module")
def seg(metrics_parquet: Path) -> metrics.Segment:
    return metrics.segment(metrics_parquet)


def test_value_box_puts_the_change_on_its_own_line_and_colours_by_direction(
    metrics_parquet: Path,
) -> None:
    # 18 days whose previous 18 (from 2025-12-24) lie wholly inside the data
    comparisons = metrics.kpi_comparison(
        metrics.segment(metrics_parquet, None, "2026-01-11", "2026-01-28")
    )
    aht = charts.value_box(comparisons["aht"], "Average handle time", 18)
    assert aht.color == "danger"  # AHT went up: bad
    assert (aht.value, aht.change) == ("12.5 min", "▲ 2.5 min")
    html = aht.html()
    assert '<p class="sa-kpi-value">12.5 min</p>' in html
    assert (
        '<p class="sa-kpi-change" title="change against the previous 18 days">▲ 2.5 min</p>' in html
    )
    assert "bg-danger" in html and "bi-stopwatch" in html
    assert charts.value_box(comparisons["csat"]).color == "success"
    assert charts.value_box(comparisons["calls"]).change == "▲ 3 (100.0%)"
    assert charts.value_box(comparisons["calls"]).color == "primary"


def test_value_box_says_when_the_previous_period_is_partly_before_the_data(
    seg: metrics.Segment,
) -> None:
    """The default 28 days of the fixture: their previous 28 start 16 days before the data."""
    comparisons = metrics.kpi_comparison(seg)
    for key, comparison in comparisons.items():
        box = charts.value_box(comparison, None, 28)
        assert box.change == "previous period partly before the data", key
        assert box.color == "primary", key  # neither good nor bad: no colour
        assert "%" not in box.change and "▲" not in box.change
        assert 'title="no change shown: the previous 28 days are not all in the data"' in box.html()
    summary = labels.kpi_summary("t", seg.period.label(), None, comparisons)
    assert "Calls: 7 (previous 3; previous period partly before the data)" in summary


def test_value_box_for_an_empty_segment(metrics_parquet: Path) -> None:
    comparisons = metrics.kpi_comparison(metrics.segment(metrics_parquet, region="Nowhere"))
    box = charts.value_box(comparisons["aht"])
    assert box.value == labels.MISSING and box.color == "secondary" and box.change is None
    assert "sa-kpi-change" not in box.html()
    calls = charts.value_box(comparisons["calls"])
    assert calls.value == "0" and calls.change is not None


def test_value_box_is_stored_as_raw_html_in_markdown(seg: metrics.Segment) -> None:
    box = charts.value_box(metrics.kpi_comparison(seg)["resolution_rate"], "<b>Rate</b>")
    markdown = box._repr_markdown_()
    assert markdown.startswith("```{=html}\n") and markdown.endswith("\n```\n")
    assert "&lt;b&gt;Rate&lt;/b&gt;" in markdown and "<b>" not in markdown


def test_no_data_notice_only_for_empty_segments(metrics_parquet: Path) -> None:
    full = metrics.segment(metrics_parquet)
    assert charts.no_data_notice(full, metrics.kpi_comparison(full)) is None
    empty = metrics.segment(metrics_parquet, region=XSS_REGION)
    notice = charts.no_data_notice(empty, metrics.kpi_comparison(empty))
    assert notice is not None
    markdown = notice._repr_markdown_()
    assert "No data for this segment" in markdown and XSS_REGION not in markdown


def test_figures_are_markdown_without_text_html_or_plotly_js(seg: metrics.Segment) -> None:
    # Any text/html output makes Quarto add require.js and jQuery from a CDN; plotly.js comes
    # once per site (website.py), not inside each figure.
    charts.use_notebook_renderer()
    fig = charts.hour_weekday(metrics.hour_weekday(seg))
    bundle = pio.renderers[charts.SITE_RENDERER].to_mimebundle(fig.to_plotly_json())
    assert "text/html" not in bundle
    markdown = bundle["text/markdown"]
    assert 'data-sa-needs="plotly"' in markdown and "Plotly.newPlot" in markdown
    assert len(markdown) < 50_000  # the figure's data only
    assert bundle["application/vnd.plotly.v1+json"]["data"][0]["type"] == "heatmap"
    first, second = charts.figure_markup(fig), charts.figure_markup(fig)
    ids = [re.search(r'id="([^"]+)"', m).group(1) for m in (first, second)]
    assert ids[0] != ids[1]  # two equal charts on one page still get their own element


def test_script_json_cannot_close_its_script_tag() -> None:
    text = charts.script_json({"name": "</script><script>alert(1)</script> & <!--"})
    assert "</" not in text and "<!--" not in text and "&" not in text
    assert json.loads(text) == {"name": "</script><script>alert(1)</script> & <!--"}


def test_interactive_table_escapes_in_the_browser_and_keeps_numbers() -> None:
    df = pd.DataFrame({"Agent": [XSS_AGENT, None], "Calls": [3, 4], "CSAT": [4.5, None]})
    table = charts.interactive_table(df, decimals={"CSAT": 1}, page_length=10, name="board")
    html = table.html
    assert XSS_AGENT not in html  # inside the JSON, < and > are \u escapes
    spec = json.loads(re.search(r"var spec = (\{.*\});", html).group(1))
    assert spec["rows"] == [[XSS_AGENT, 3, 4.5], [None, 4, None]]
    assert [c["numeric"] for c in spec["columns"]] == [False, True, True]
    assert [c["decimals"] for c in spec["columns"]][1:] == [0, 1]
    assert spec["pageLength"] in spec["lengthMenu"] and spec["lengthMenu"] == [10, 15, 50, 100]
    assert "new SupportTable(el, spec)" in html and 'data-sa-needs="tables"' in html
    assert 'data-sa-table="board"' in html


def test_gaps_table_lists_runs_or_says_none(metrics_parquet: Path) -> None:
    gaps = metrics.data_gaps(metrics_parquet)
    table = charts.gaps_table(gaps, metrics.data_range(metrics_parquet))
    assert "2025-12-21" in table.html and "2025-12-25" in table.html
    none = charts.gaps_table(gaps.iloc[0:0], (date(2026, 1, 1), date(2026, 1, 9), 10))
    assert "None: every day from 2026-01-01 to 2026-01-09 has calls." in none.html
    nothing = charts.gaps_table(gaps.iloc[0:0], (None, None, 0))  # every line was rejected
    assert "every day" not in nothing.html and "No calls were kept" in nothing.html


def test_rows_kept_at_zero_is_a_warning_not_green() -> None:
    assert charts.count_box("output", 0, "Rows kept").color == "warning"
    assert charts.count_box("output", 12, "Rows kept").color == "success"


@pytest.mark.parametrize(
    "build",
    [
        lambda seg: charts.daily_volume(metrics.daily_volume(seg), seg.period),
        lambda seg: charts.hour_weekday(metrics.hour_weekday(seg)),
        lambda seg: charts.duration_distribution(metrics.duration_histogram(seg)),
        lambda seg: charts.issue_breakdown(metrics.issue_breakdown(seg)),
    ],
)
def test_every_chart_has_a_no_data_state(metrics_parquet: Path, build) -> None:
    empty = metrics.segment(metrics_parquet, region="Nowhere")
    fig = build(empty)
    assert isinstance(fig, go.Figure)
    assert not fig.data and "No calls" in fig.layout.annotations[0].text


def test_charts_with_data_have_traces(seg: metrics.Segment) -> None:
    assert len(charts.daily_volume(metrics.daily_volume(seg), seg.period).data) == 2
    assert len(charts.issue_breakdown(metrics.issue_breakdown(seg)).data) == 3  # resolutions
    assert charts.region_comparison(metrics.region_comparison(seg), seg) is not None


def test_region_comparison_only_on_the_all_regions_page(metrics_parquet: Path) -> None:
    north = metrics.segment(metrics_parquet, region="North")
    assert charts.region_comparison(metrics.region_comparison(north), north) is None


def test_names_from_the_data_are_escaped_in_figures() -> None:
    df = pd.DataFrame(
        {
            "region": [XSS_REGION],
            "calls": [3],
            "resolution_rate": [0.5],
            "fcr": [0.25],
            "escalation_rate": [0.1],
        }
    )
    seg = metrics.Segment(Path("unused"), None, metrics.Period(date(2026, 1, 1), date(2026, 1, 2)))
    payload = json.dumps(charts.region_comparison(df, seg).to_plotly_json(), default=str)
    assert XSS_REGION not in payload and "&lt;script&gt;" in payload
    issues = pd.DataFrame(
        {"issue_type": [XSS_AGENT], "resolution": ["resolved"], "calls": [1], "issue_calls": [1]}
    )
    payload = json.dumps(charts.issue_breakdown(issues).to_plotly_json(), default=str)
    assert XSS_AGENT not in payload


LONG = "escalated to the second-line billing team after a chargeback dispute"


def test_chart_names_are_escaped_once_and_long_ones_cut_with_the_whole_in_the_hover() -> None:
    """A quoted name reads as typed (no &quot; in a legend: Plotly does not decode it), a long
    one is cut with an ellipsis on axes and legends, two long names cut alike stay two bars,
    and the hover shows the whole name, '%' included (not read as a placeholder)."""
    issues = pd.DataFrame(
        {
            "issue_type": ['"refunds"', LONG, LONG + " (2)", "100%{y} off"],
            "resolution": [LONG, "resolved", "resolved", "resolved"],
            "calls": [3, 2, 1, 1],
            "issue_calls": [3, 2, 1, 1],
        }
    )
    fig = charts.issue_breakdown(issues)
    legend = [trace.name for trace in fig.data]
    assert "&quot;" not in json.dumps(fig.to_plotly_json(), default=str)
    cut = labels.shorten(labels.humanize(LONG))
    assert cut.endswith("…") and len(cut) <= labels.CHART_LABEL_CHARS
    assert cut in legend and labels.humanize(LONG) not in legend
    ticks = list(fig.layout.yaxis.ticktext)
    assert ticks[0] == '"refunds"' and ticks[1] == ticks[2] == cut
    assert len(set(fig.data[0].y)) == 4  # keyed by the whole names
    hover = fig.data[[t.name for t in fig.data].index(cut)].hovertemplate
    assert labels.humanize(LONG) in hover
    assert ticks[3] == "100%{y} off"  # axis text is not a template
    durations = pd.DataFrame(
        {
            "issue_type": ['"refunds"', LONG],
            "bin_start": [0.0, 2.0],
            "bin_end": [2.0, 4.0],
            "calls": [1, 1],
        }
    )
    fig = charts.duration_distribution(durations)
    assert [t.name for t in fig.data] == ['"refunds"', cut]
    assert labels.humanize(LONG) in fig.data[1].hovertemplate
    assert labels.template_text("100%{y}") == "100&#37;{y}"
    assert labels.chart_text('<b>"x"</b>') == '&lt;b&gt;"x"&lt;/b&gt;'


def test_duration_bins_are_labelled_with_an_open_last_bin() -> None:
    df = pd.DataFrame(
        {
            "issue_type": ["a", "a"],
            "bin_start": [0.0, 40.0],
            "bin_end": [2.0, None],
            "calls": [1, 2],
        }
    )
    fig = charts.duration_distribution(df)
    assert list(fig.data[0].customdata) == ["0–2", "40+"]  # what the hover names
    assert list(fig.data[0].x) == [0.0, 40.0] and fig.data[0].width == 2.0
    assert fig.layout.xaxis.ticktext[-1] == "40+"


def test_leaderboard_frame_has_friendly_headers_and_no_customer_ids(seg: metrics.Segment) -> None:
    frame = charts.leaderboard_frame(metrics.agent_leaderboard(seg))
    assert list(frame.columns) == [
        "Agent",
        "Region",
        "Calls",
        "AHT (min)",
        "CSAT",
        "Resolution %",
        "FCR %",
        "Escalations",
    ]
    assert frame["Calls"].sum() == 7


def test_labels_format_kpis_and_deltas() -> None:
    assert labels.fmt_kpi("calls", 1234) == "1,234"
    assert labels.fmt_kpi("fcr", 0.5714) == "57.1%"
    assert labels.fmt_kpi("csat", None) == labels.MISSING
    assert labels.fmt_delta("resolution_rate", -0.012) == "▼ 1.2 pp"
    assert labels.fmt_delta("calls", 5, 0.05) == "▲ 5 (5.0%)"
    assert labels.fmt_delta("aht", None) == "no previous data"
    assert labels.fmt_delta("calls", 203, 50.75, "partial") == (
        "previous period partly before the data"
    )
    assert labels.fmt_delta("aht", None, None, "none") == "no data before this period"
    assert labels.escape(XSS_AGENT) == "&lt;img src=x onerror=alert(1)&gt;"


def _slicer_config(markup: charts.Markup) -> dict:
    text = re.search(r'class="sa-slicer-config">(.*?)</script>', str(markup.html), re.S).group(1)
    return json.loads(text)


def test_the_filters_default_to_the_pages_period(metrics_parquet: Path) -> None:
    """`report --start-date/--end-date` reach the page: the filters' default selection (and
    the text shown before they load) is the notebook's period, not the last 28 days."""
    ranged = metrics.segment(metrics_parquet, None, "2026-01-05", "2026-01-12")
    controls = charts.slicer_controls(ranged)
    assert _slicer_config(controls)["default_period"] == {"from": "2026-01-05", "to": "2026-01-12"}
    assert "2026-01-05 to 2026-01-12" in str(controls.html)
    default = charts.slicer_controls(metrics.segment(metrics_parquet))
    assert _slicer_config(default)["default_period"] == {"from": "2026-01-01", "to": "2026-01-28"}
