"""support-analytics: customer support calls, from raw logs to a static dashboard."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("support-analytics")
except PackageNotFoundError:  # running from a source tree without an install
    __version__ = "0.0.0+unknown"
