"""Exports in other formats (Amazon Connect contact records, CSV/TSV, Parquet) through a mapping.

* ``mapping``: the mapping model, loaded from TOML (a file, or a preset shipped in
  ``presets/``) and checked before any data is read;
* ``pseudonym``: the keyed pseudonym that replaces personal fields (phone numbers);
* ``readers``: the source's files (file, folder, glob; JSON, CSV, Parquet; gzip) as one
  relation of text columns;
* ``select``: the mapping as SQL, giving the rows the default format's rules read;
* ``engine``: the DuckDB engine for a mapped source (the run shell is ``etl/run.py``'s);
* ``diagnose``: why a run kept nothing (a missing field, a format no value fits);
* ``check``: ``support-analytics source check``, a mapping tried on a sample.
"""

from __future__ import annotations

from support_analytics.etl.sources.engine import MappedEngine
from support_analytics.etl.sources.mapping import (
    Mapping,
    is_default,
    load_mapping,
    preset_names,
    preset_text,
)

__all__ = [
    "MappedEngine",
    "Mapping",
    "is_default",
    "load_mapping",
    "preset_names",
    "preset_text",
]
