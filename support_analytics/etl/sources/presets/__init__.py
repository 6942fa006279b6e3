"""Preset mappings, shipped as TOML files users can copy (`support-analytics source show`)."""
