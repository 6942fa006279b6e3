"""A source mapping: which raw contract field comes from where, loaded from TOML and checked.

A mapping is data, not code: each raw field the cleaning rules read (``schema.RAW_CALL_FIELDS``)
comes from a source field (a dotted path into nested JSON, or a column name), a constant, or
a SQL expression over the source's columns, optionally through a timestamp format, a timezone
for naive times, a value map, and a keyed pseudonym. Every mistake is reported with the file,
the key and the fix, before any data is read.
"""

from __future__ import annotations

import hashlib
import tomllib
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from support_analytics import config
from support_analytics import schema as s
from support_analytics.errors import InputError
from support_analytics.io.manifest import read_manifest

FORMATS = ("json", "csv", "parquet")
TIME_FIELDS = (s.START_TIME, s.END_TIME)
REQUIRED_FIELDS = (s.CALL_ID, s.START_TIME, s.END_TIME)
#: Timestamp formats besides a strptime pattern (``%Y-%m-%d %H:%M:%S``).
NAMED_TIME_FORMATS = ("iso", "epoch", "epoch_ms")
_SOURCE_KEYS = {
    "format", "description", "delimiter", "quote", "escape", "header", "columns",
    "encoding", "filter", "latest", "fields", "personal",
}  # fmt: skip
_FIELD_KEYS = {"field", "value", "sql", "format", "timezone", "map", "default", "personal"}
PRESETS_PACKAGE = "support_analytics.etl.sources.presets"


@dataclass(frozen=True)
class FieldSpec:
    """Where one raw contract field comes from (exactly one of field, value, sql)."""

    name: str
    field: str | None = None
    value: str | None = None
    sql: str | None = None
    format: str = "iso"
    timezone: str = "UTC"
    map: dict[str, str] | None = None
    default: str | None = None
    personal: bool = False


@dataclass(frozen=True)
class Mapping:
    """A whole mapping: the source's format and options, then one spec per contract field.

    ``columns`` are the source's column names when a CSV has no header; ``fields`` are extra
    source fields that ``sql`` expressions and ``filter`` read (JSON paths or column names);
    ``personal`` fields are replaced by a keyed pseudonym as soon as they are read, so no
    rule, expression or rejects line ever sees the original value.
    """

    name: str
    origin: str
    text: str
    format: str
    specs: dict[str, FieldSpec]
    description: str = ""
    delimiter: str = ","
    quote: str = '"'
    escape: str = '"'
    header: bool = True
    columns: tuple[str, ...] = ()
    encoding: str = "utf-8"
    filter: str | None = None
    latest: str | None = None
    fields: tuple[str, ...] = ()
    personal: frozenset[str] = field(default_factory=frozenset)
    #: What ``--source`` said: the preset's name, or the file's absolute path.
    spec: str = ""
    #: Read CSV on one thread: DuckDB's parallel reader refuses quoted newlines here.
    serial: bool = False

    def source_fields(self) -> tuple[str, ...]:
        """Every source field the mapping reads, in first-use order (no duplicates)."""
        names: list[str] = []
        for spec in self.specs.values():
            if spec.field is not None:
                names.append(spec.field)
        names.extend(self.fields)
        if self.latest:
            names.append(self.latest)
        return tuple(dict.fromkeys(names))

    def options(self) -> dict[str, Any]:
        """What the manifest records: a changed mapping makes the outputs out of date."""
        return {
            "name": self.name,
            "spec": self.spec,
            "sha256": hashlib.sha256(self.text.encode()).hexdigest(),
        }


def preset_names() -> list[str]:
    """The built-in presets, shipped as TOML files users can copy and edit."""
    folder = resources.files(PRESETS_PACKAGE)
    return sorted(p.name[: -len(".toml")] for p in folder.iterdir() if p.name.endswith(".toml"))


def preset_text(name: str) -> str:
    """A preset's TOML text; InputError naming the presets when there is no such one."""
    if name not in preset_names():
        raise InputError(
            f"--source {name}: no such preset and no such file; presets: "
            f"{', '.join(preset_names())} (or pass a mapping .toml path)"
        )
    return resources.files(PRESETS_PACKAGE).joinpath(f"{name}.toml").read_text("utf-8")


def is_default(source: str | Path | None) -> bool:
    """True for today's NDJSON format (no mapping at all)."""
    return source is None or str(source) == config.DEFAULT_SOURCE


def recorded_source(manifest: Path | str, calls: Path | str) -> str | None:
    """The source a manifest recorded for these same calls (None: the default format)."""
    recorded = read_manifest(manifest, warn=False)
    if ((recorded.get("inputs") or {}).get("calls") or {}).get("path") != str(calls):
        return None
    return ((recorded.get("options") or {}).get("source") or {}).get("spec")


def load_mapping(source: str | Path) -> Mapping:
    """A preset name or a mapping file -> a checked Mapping (InputError on any mistake)."""
    path = Path(source)
    if path.is_file():
        try:
            text = path.read_text("utf-8")
        except UnicodeDecodeError:
            raise InputError(f"{path}: not UTF-8 text; save the mapping as UTF-8") from None
        return replace(parse_mapping(text, str(path), path.stem), spec=str(path.resolve()))
    if path.suffix == ".toml" or "/" in str(source):
        raise InputError(f"{source}: mapping file not found; check the path")
    name = str(source)
    return replace(parse_mapping(preset_text(name), f"preset {name}", name), spec=name)


def parse_mapping(text: str, origin: str, name: str) -> Mapping:
    """TOML text -> Mapping; ``origin`` names the file in every error."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{origin}: not valid TOML ({exc}); fix the syntax") from None
    src = _table(data.get("source"), origin, "[source]")
    unknown = sorted(set(src) - _SOURCE_KEYS)
    if unknown:
        raise InputError(
            f"{origin}: [source] has unknown key(s) {', '.join(unknown)}; "
            f"allowed: {', '.join(sorted(_SOURCE_KEYS))}"
        )
    fmt = src.get("format")
    if fmt not in FORMATS:
        raise InputError(
            f"{origin}: [source] format = {fmt!r}; set it to one of {', '.join(FORMATS)}"
        )
    raw_fields = _table(data.get("fields"), origin, "[fields]")
    extra = sorted(set(data) - {"source", "fields"})
    if extra:
        raise InputError(
            f"{origin}: unknown table(s) {', '.join(extra)}; use [source] and [fields]"
        )
    unknown = sorted(set(raw_fields) - set(s.RAW_CALL_FIELDS))
    if unknown:
        raise InputError(
            f"{origin}: [fields] names {', '.join(unknown)}, not contract fields; "
            f"map only {', '.join(s.RAW_CALL_FIELDS)}"
        )
    missing = [f for f in REQUIRED_FIELDS if f not in raw_fields]
    if missing:
        raise InputError(
            f"{origin}: [fields] lacks {', '.join(missing)}; every mapping needs "
            f"{', '.join(REQUIRED_FIELDS)}"
        )
    specs = {n: _spec(n, raw_fields[n], origin) for n in s.RAW_CALL_FIELDS if n in raw_fields}
    columns = _strings(src.get("columns", []), origin, "[source] columns")
    if fmt == "csv" and not src.get("header", True) and not columns:
        raise InputError(
            f"{origin}: header = false needs [source] columns = [...] naming each column"
        )
    personal = set(_strings(src.get("personal", []), origin, "[source] personal"))
    personal |= {sp.field for sp in specs.values() if sp.personal and sp.field}
    mapping = Mapping(
        name=name,
        origin=origin,
        text=text,
        format=fmt,
        specs=specs,
        description=str(src.get("description", "")),
        delimiter=_char(src, "delimiter", ",", origin),
        quote=_char(src, "quote", '"', origin, empty=True),
        escape=_char(src, "escape", '"', origin, empty=True),
        header=_bool(src.get("header", True), origin, "[source] header"),
        columns=tuple(columns),
        encoding=str(src.get("encoding", "utf-8")),
        filter=_opt_str(src.get("filter"), origin, "[source] filter"),
        latest=_opt_str(src.get("latest"), origin, "[source] latest"),
        fields=tuple(_strings(src.get("fields", []), origin, "[source] fields")),
        personal=frozenset(personal),
    )
    if fmt == "csv" and columns:
        named = set(columns)
        for used in mapping.source_fields():
            if used not in named:
                raise InputError(
                    f"{origin}: {used!r} is not one of [source] columns "
                    f"({', '.join(columns)}); fix the name or add the column"
                )
    return mapping


def _spec(name: str, raw: Any, origin: str) -> FieldSpec:
    where = f"[fields] {name}"
    if isinstance(raw, str):
        raw = {"field": raw}
    spec = _table(raw, origin, where)
    unknown = sorted(set(spec) - _FIELD_KEYS)
    if unknown:
        raise InputError(
            f"{origin}: {where} has unknown key(s) {', '.join(unknown)}; "
            f"allowed: {', '.join(sorted(_FIELD_KEYS))}"
        )
    given = [k for k in ("field", "value", "sql") if k in spec]
    if len(given) != 1:
        raise InputError(
            f"{origin}: {where} needs exactly one of field, value or sql "
            f"(found {', '.join(given) or 'none'})"
        )
    fmt = str(spec.get("format", "iso"))
    timed = ("format", "timezone")
    if name not in TIME_FIELDS and any(k in spec for k in timed):
        raise InputError(f"{origin}: {where}: format and timezone apply to start_time/end_time")
    if fmt not in NAMED_TIME_FORMATS and "%" not in fmt:
        raise InputError(
            f"{origin}: {where} format = {fmt!r}; use iso, epoch, epoch_ms or a strptime "
            "pattern such as '%Y-%m-%d %H:%M:%S'"
        )
    zone = str(spec.get("timezone", "UTC"))
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise InputError(
            f"{origin}: {where} timezone = {zone!r} is not a time zone; use an IANA name "
            "such as 'Europe/Berlin' or 'UTC'"
        ) from None
    value_map = spec.get("map")
    if value_map is not None:
        value_map = _table(value_map, origin, f"{where} map")
        value_map = {str(k): _opt_str(v, origin, f"{where} map") for k, v in value_map.items()}
    return FieldSpec(
        name=name,
        field=_opt_str(spec.get("field"), origin, f"{where} field"),
        value=None if "value" not in spec else str(spec["value"]),
        sql=_opt_str(spec.get("sql"), origin, f"{where} sql"),
        format=fmt,
        timezone=zone,
        map=value_map,
        default=None if spec.get("default") is None else str(spec["default"]),
        personal=_bool(spec.get("personal", False), origin, f"{where} personal"),
    )


def _table(value: Any, origin: str, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InputError(f"{origin}: {where} is missing or not a table; add it")
    return value


def _strings(value: Any, origin: str, where: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise InputError(f"{origin}: {where} must be a list of non-empty strings")
    return list(value)


def _opt_str(value: Any, origin: str, where: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise InputError(f"{origin}: {where} must be a non-empty string")
    return value


def _bool(value: Any, origin: str, where: str) -> bool:
    if not isinstance(value, bool):
        raise InputError(f"{origin}: {where} must be true or false")
    return value


def _char(src: dict[str, Any], key: str, default: str, origin: str, empty: bool = False) -> str:
    value = src.get(key, default)
    if not isinstance(value, str) or len(value) > 1 or (not value and not empty):
        raise InputError(f"{origin}: [source] {key} must be a single character (got {value!r})")
    return value
