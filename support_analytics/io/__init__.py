"""The storage layer, one way up: ``files`` (atomic writes, fsync, sha256) <- ``storage`` (local
paths and s3:// URLs behind one interface) <- ``fingerprint`` (one "still matches" check) <-
``manifest`` (read, write, payload, verify). Nothing here knows about calls or pages."""

from __future__ import annotations

from support_analytics.io import files, fingerprint, manifest, storage

__all__ = ["files", "fingerprint", "manifest", "storage"]
