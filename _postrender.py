"""Quarto's post-render hook (_quarto.yml): makes the rendered site work from disk, offline.

Quarto runs it with its Python (QUARTO_PYTHON); `support-analytics report` points that at the
project's environment. The work is in support_analytics/report/website.py.
"""

import os
import sys
from pathlib import Path

try:
    from support_analytics.report.website import post_render
except ImportError:
    sys.exit(
        "post-render: support_analytics is not importable by this Python "
        f"({sys.executable}); render with QUARTO_PYTHON=.venv/bin/python "
        "or run `support-analytics report`"
    )

post_render(Path(os.environ.get("QUARTO_PROJECT_OUTPUT_DIR", "_site")))
