"""How a figure reaches a page: stored as raw HTML (never text/html, for which Quarto adds
CDN scripts), drawn once its card has a size, with a clear no-data state."""

from __future__ import annotations

import functools
import hashlib
import itertools
import json
from collections.abc import Callable
from typing import Any

import plotly.graph_objects as go
import plotly.io as pio
from plotly.io._base_renderers import MimetypeRenderer

from support_analytics.report import labels, styles

#: Quarto renders stored outputs. A figure is stored as Markdown holding a raw HTML block (a
#: div and a ``Plotly.newPlot`` call), not as text/html: any text/html output makes Quarto add
#: require.js and jQuery from a CDN to the page. plotly.js itself is not in the output: the
#: markup asks for it (``data-sa-needs``) and :mod:`website` loads one copy per site.
SITE_RENDERER = "support_analytics_site"


#: The key in a figure's layout.meta naming the chart (web/dashboard.js redraws by that name).
CHART_META_KEY = "sa_chart"


#: Plotly's configuration on every page.
PLOTLY_CONFIG: dict[str, Any] = {
    "responsive": True,
    # No mode bar: it covered the legends of small cards. Zoom by dragging, reset with a
    # double click, as in any plotly chart.
    "displayModeBar": False,
}


def script_json(value: Any) -> str:
    """JSON that is safe inside an HTML ``<script>``: no ``</script>``, ``<!--`` or ``&``
    sequence can form, whatever strings the data holds."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def raw_html(markup: str) -> str:
    """A Pandoc raw HTML block: Quarto passes it through untouched."""
    return "```{=html}\n" + markup + "\n```\n"


_ids = itertools.count(1)


def element_id(prefix: str, payload: str) -> str:
    """An element id that is stable when a notebook is re-executed (content hash plus the
    output's sequence number in this kernel), and unique on the page even when two outputs are
    the same (three identical "no data" charts shared one id, and two were never drawn)."""
    return f"{prefix}-{hashlib.sha256(payload.encode('utf-8')).hexdigest()[:10]}-{next(_ids)}"


#: Draws an element once it has a size, and tells it when the size changes. Dashboard cards
#: have no size while the page lays itself out; a chart drawn then measures its legend and
#: tick labels as zero wide, and they overlap.
WHEN_SIZED = """(function (id, draw, resize) {
  var el = document.getElementById(id), drawn = false, pending = false;
  function check() {
    pending = false;
    if (el.offsetWidth === 0 || el.offsetHeight === 0) return;
    if (!drawn) { drawn = true; draw(el); } else if (resize) { resize(el); }
  }
  new ResizeObserver(function () {
    if (!pending) { pending = true; requestAnimationFrame(check); }
  }).observe(el);
  check();
})(%(id)s, function (el) {"""


def figure_markup(fig: go.Figure | dict[str, Any]) -> str:
    """The HTML of one chart: a div that fills its card and the call that draws it."""
    spec = pio.to_json(fig, validate=False, remove_uids=True)
    dom_id = element_id("sa-plot", spec)
    meta = (json.loads(spec).get("layout") or {}).get("meta") or {}
    name = meta.get(CHART_META_KEY) if isinstance(meta, dict) else None
    chart = f' data-sa-chart="{labels.escape(name)}"' if name else ""
    # A page script (web/dashboard.js) may have replaced the figure before it was drawn.
    return (
        f'<div id="{dom_id}" class="sa-plot html-fill-item" data-sa-needs="plotly"{chart}>'
        "</div>\n"
        f"<script>{WHEN_SIZED % {'id': json.dumps(dom_id)}}\n"
        f"  var spec = el._saFigure || {script_json(spec)};\n"
        f"  Plotly.newPlot(el, spec.data, spec.layout, {json.dumps(PLOTLY_CONFIG)});\n"
        "}, function (el) { Plotly.Plots.resize(el); });</script>"
    )


def named_chart(name: str) -> Callable[[Callable[..., go.Figure | None]], Callable[..., Any]]:
    """Names a chart builder's figure (layout.meta), so the overview's filters can redraw it."""

    def wrap(build: Callable[..., go.Figure | None]) -> Callable[..., Any]:
        @functools.wraps(build)
        def named(*args: Any, **kwargs: Any) -> go.Figure | None:
            fig = build(*args, **kwargs)
            if fig is not None:
                fig.update_layout(meta={CHART_META_KEY: name})
            return fig

        return named

    return wrap


class _SiteRenderer(MimetypeRenderer):
    """Figures as raw HTML in Markdown for Quarto, plus plotly's own JSON for JupyterLab."""

    def to_mimebundle(self, fig_dict: dict[str, Any]) -> dict[str, Any]:
        return {
            "text/markdown": raw_html(figure_markup(fig_dict)),
            "application/vnd.plotly.v1+json": json.loads(
                pio.to_json(fig_dict, validate=False, remove_uids=True)
            ),
        }


def use_notebook_renderer() -> None:
    """Store figures in the form the site needs (papermill's default is JSON only, which Quarto
    cannot display, and plotly's notebook renderer inlines plotly.js into every page)."""
    pio.renderers[SITE_RENDERER] = _SiteRenderer()
    pio.renderers.default = SITE_RENDERER


def no_data_figure(message: str = "No calls for this segment in the reporting period") -> go.Figure:
    """An empty chart that says why it is empty."""
    fig = go.Figure()
    fig.add_annotation(
        text=labels.escape(message),
        x=0.5,
        y=0.5,
        xref="paper",
        yref="paper",
        showarrow=False,
        font={"size": 15, "color": styles.NOTE_TEXT},
    )
    fig.update_layout(
        **styles.base_layout(height=300),
        xaxis={"visible": False},
        yaxis={"visible": False},
    )
    return fig


# --------------------------------------------------------------------------------------------
# Value boxes and notices
# --------------------------------------------------------------------------------------------
class Markup:
    """A rich-display object stored as Markdown holding one raw HTML block (see
    :data:`SITE_RENDERER` for why never text/html)."""

    def __init__(self, html: str, text: str = "") -> None:
        self.html = html
        self.text = text

    def _repr_markdown_(self) -> str:
        return raw_html(self.html)

    def __repr__(self) -> str:
        return self.text or "html"
