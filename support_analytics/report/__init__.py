"""The report: every number (``metrics``), every figure (``charts``), the overview's filter
data (``slices``), labels and styles, the pages papermill runs (``pages``) with their checked
parameters (``params``), the site Quarto renders (``site``; staged, swapped in whole and one
report at a time: ``render``) and its offline post-render step (``website``), the page
scripts in ``web/``, and the Planning page's forecasts and staffing (``planning``). It reads
the ETL's outputs; nothing below it imports from here.

Notebooks import only from this package: ``from support_analytics.report import charts,
labels, metrics``."""

from __future__ import annotations

from support_analytics.report import charts, labels, metrics, planning, slices, styles

__all__ = ["charts", "labels", "metrics", "planning", "slices", "styles"]
