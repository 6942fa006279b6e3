"""The ETL rules in PySpark, for AWS Glue or any Spark cluster; the DuckDB rules are the spec.

Pure ``DataFrame -> DataFrame`` functions (:func:`number_lines`, :func:`parse_calls`,
:func:`apply_rules`, :func:`kept_rows`, :func:`rejected_rows`) built from the same constants
as ``rules.py`` (``schema.py``); ``spark_engine.py`` does the I/O.

Where Spark's JSON and time functions differ from DuckDB's, this module adjusts Spark:

* Line numbers: ``spark.read.text`` loses the physical line number, and
  ``monotonically_increasing_id`` is not consecutive across partitions. It *is* consecutive
  within one partition, and ``_metadata.file_block_start`` says where in the file each split
  starts, so a tiny per-(partition, split) count gives each split's first line number without
  a shuffle or a Python round trip (``zipWithIndex`` would push every row through Python).
* Duplicate JSON keys: DuckDB takes the first; ``get_json_object`` does too (``from_json``
  takes the last), so field text comes from ``get_json_object``. ``NaN``/``Infinity``
  literals, which it cannot read, fall back to ``from_json``'s text.
* Validity: ``from_json`` in PERMISSIVE mode with a corrupt-record column flags malformed
  lines; single quotes are disallowed, and the line must start with ``{`` and end with ``}``
  (Jackson would ignore trailing garbage that DuckDB rejects).
* Timestamps: parsed arithmetically from the strict ISO regex's parts (proleptic Gregorian,
  24:00 allowed, offsets of any hh:mm) into epoch microseconds, exactly like DuckDB's cast,
  with no dependence on Spark's date range or rebase modes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from support_analytics import schema as s

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame

_CORRUPT = "_corrupt_record"
_JSON_OPTIONS = {
    "mode": "PERMISSIVE",
    "columnNameOfCorruptRecord": _CORRUPT,
    "allowSingleQuotes": "false",
}
_MICROS_PER_DAY = 86_400_000_000
_MICROS_PER_HOUR = 3_600_000_000
_TS_MIN_US = -62_135_596_800_000_000  # 0001-01-01T00:00:00Z
_TS_MAX_US = 253_402_300_799_999_999  # 9999-12-31T23:59:59.999999Z
# The schema's regex, but `$` as Java's `\z` (Java's `$` also matches before a final \n).
_ISO_JAVA = s.ISO_TIMESTAMP_REGEX.removesuffix("$") + r"\z"
# What DuckDB's TRY_CAST(... AS DOUBLE) accepts that could equal 1..5 (underscores between
# digits included); Java would also take "4d" or "0x1p2", which DuckDB does not.
_DOUBLE_TEXT = r"^ *[+-]?(\d+(_\d+)*(\.(\d+(_\d+)*)?)?|\.\d+(_\d+)*)([eE][+-]?\d+(_\d+)*)? *\z"


# --------------------------------------------------------------------------------------------
# Pure transformations
# --------------------------------------------------------------------------------------------
def number_lines(text_df: DataFrame) -> DataFrame:
    """Rows of ``spark.read.text`` (+ metadata) -> line_number (1-based, physical) and value.

    Expects columns ``value``, ``blk`` (``_metadata.file_block_start``), ``pid``
    (``spark_partition_id()``) and ``mid`` (``monotonically_increasing_id()``) selected in
    one projection over the scan. Rows within a split are read in order and ``mid`` counts
    them consecutively within a partition, so only one small aggregate is needed.
    """
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    splits = text_df.groupBy("pid", "blk").agg(
        F.min("mid").alias("first_mid"), F.count(F.lit(1)).alias("n")
    )
    order = Window.orderBy("blk").rowsBetween(Window.unboundedPreceding, -1)
    splits = splits.withColumn("base", F.coalesce(F.sum("n").over(order), F.lit(0)) + 1)
    return text_df.join(F.broadcast(splits.drop("n")), ["pid", "blk"]).select(
        (F.col("base") + F.col("mid") - F.col("first_mid")).alias("line_number"),
        F.col("value"),
    )


def parse_calls(lines: DataFrame) -> DataFrame:
    """(line_number, value) -> line_number, raw_bin, bad_encoding, is_object, raw field texts.

    Blank lines (spaces only after CR/LF) are dropped here, as DuckDB does: they are counted
    by the caller but are not rows.
    """
    from pyspark.sql import functions as F

    value = F.when(F.col("line_number") == 1, F.regexp_replace("value", "^\ufeff", "")).otherwise(
        F.col("value")
    )
    raw = F.regexp_replace(value, r"[\r\n]+\z", "")
    df = lines.select(
        "line_number",
        F.col("value").cast("binary").alias("raw_bin"),
        _invalid_utf8(F.col("value")).alias("bad_encoding"),
        raw.alias("raw"),
    ).where(F.trim("raw") != "")
    # Each expensive expression (JSON parse, regex) is computed once into a column of its
    # own select: Spark will not inline a non-cheap column into several later uses.
    schema = ", ".join(f"`{f}` STRING" for f in s.RAW_CALL_FIELDS) + f", `{_CORRUPT}` STRING"
    df = df.withColumn("_j", F.from_json("raw", schema, _JSON_OPTIONS))
    # DuckDB accepts trailing commas ({"a": 1,}); Jackson does not. Only lines Jackson
    # refused are retried without them, so valid lines' strings are never rewritten.
    df = df.withColumn("_refused", F.col("_j").isNull() | F.col("_j")[_CORRUPT].isNotNull())
    df = df.withColumn(
        "_json",
        F.when(F.col("_refused"), F.regexp_replace("raw", r",[ \t\r\n]*([}\]])", "$1")).otherwise(
            F.col("raw")
        ),
    )
    parsed = F.when(F.col("_refused"), F.from_json("_json", schema, _JSON_OPTIONS)).otherwise(
        F.col("_j")
    )
    is_object = (
        ~F.col("bad_encoding")
        & parsed.isNotNull()
        & parsed[_CORRUPT].isNull()
        & F.ltrim("raw").startswith("{")
        & F.col("raw").rlike(r"\}[ \t\r\n]*\z")
    )
    df = df.select("line_number", "raw_bin", "bad_encoding", "_json", is_object.alias("is_object"))
    # json_tuple reads all fields in one parse but keeps the last of duplicate keys; DuckDB
    # keeps the first, as get_json_object does. So lines that repeat a field name (rare)
    # use get_json_object per field. Both give up on a whole line holding a NaN/Infinity
    # literal, so such lines take that path too, with those literals quoted: DuckDB renders
    # them as text (NaN -> "NaN").
    tuple_cols = [f"_t{i}" for i in range(len(s.RAW_CALL_FIELDS))]
    names = "|".join(s.RAW_CALL_FIELDS)
    repeats = F.col("_json").rlike(rf'"({names})"\s*:.*"\1"\s*:')
    quoted = F.regexp_replace(
        "_json", r"([:\[,][ \t\r\n]*)(-?(?:NaN|Infinity))(?=[ \t\r\n]*[,}\]])", '$1"$2"'
    )
    df = df.select(
        "*",
        F.when(F.col("is_object") & (repeats | F.col("_json").rlike("NaN|Infinity")), quoted).alias(
            "_dup_json"
        ),
        F.json_tuple("_json", *s.RAW_CALL_FIELDS).alias(*tuple_cols),
    )
    fields = [
        F.when(
            F.col("is_object"),
            F.when(
                F.col("_dup_json").isNotNull(), F.get_json_object("_dup_json", f"$.{name}")
            ).otherwise(F.col(col)),
        ).alias(name)
        for name, col in zip(s.RAW_CALL_FIELDS, tuple_cols, strict=True)
    ]
    return df.select("line_number", "raw_bin", "bad_encoding", "is_object", *fields)


def _invalid_utf8(col: Column) -> Column:
    """Spark 4 has is_valid_utf8; on Spark 3.5 (Glue 5.0) a decode/encode round trip,
    which replaces invalid bytes with U+FFFD, tells the same."""
    from pyspark.sql import functions as F

    if hasattr(F, "is_valid_utf8"):
        return ~F.is_valid_utf8(col)
    raw = col.cast("binary")
    return F.encode(F.decode(raw, "UTF-8"), "UTF-8") != raw


def _try_double(col: Column) -> Column:
    """NULL instead of an error for text that is not a number (ANSI mode is on in Spark 4)."""
    return col.try_cast("double") if hasattr(col, "try_cast") else col.cast("double")


def _null_if_empty(col: Column) -> Column:
    from pyspark.sql import functions as F

    return F.when(col != "", col)


def _ts_parts(df: DataFrame, col: str) -> DataFrame:
    """Add ``{col}_p``: the parts of a strict ISO timestamp (NULL struct when not strict).

    The date and hh:mm sit at fixed places once the regex matched; three small regexes
    take seconds, fraction and offset. Kept as a column so each regex runs once per row.
    """
    from pyspark.sql import functions as F

    text = F.col(col)
    rest = F.substring(text, 17, 64)
    parts = F.struct(
        F.substring(text, 1, 4).cast("bigint").alias("y"),
        F.substring(text, 6, 2).cast("bigint").alias("mo"),
        F.substring(text, 9, 2).cast("bigint").alias("d"),
        F.substring(text, 12, 2).cast("bigint").alias("h"),
        F.substring(text, 15, 2).cast("bigint").alias("mi"),
        F.regexp_extract(rest, r"^:(\d{2})", 1).alias("sec"),
        F.regexp_extract(rest, r"^:\d{2}\.(\d{1,9})", 1).alias("frac"),
        F.regexp_extract(rest, r"([Zz]|[+-]\d{2}(?::?\d{2})?)\z", 1).alias("off"),
    )
    return df.withColumn(f"{col}_p", F.when(text.rlike(_ISO_JAVA), parts))


def _epoch_micros(p: Column) -> Column:
    """Parts from :func:`_ts_parts` -> UTC epoch microseconds, NULL when invalid.

    DuckDB's cast rules: proleptic Gregorian dates, 24:00[:00] as the next midnight, any
    hh:mm offset, the fraction truncated to microseconds; and years 1..9999 in UTC only
    (rules.py's _TS_MIN/_TS_MAX), since Python readers cannot hold other years.
    """
    from pyspark.sql import functions as F

    y, mo, d, h, mi = p["y"], p["mo"], p["d"], p["h"], p["mi"]
    sec = F.coalesce(_null_if_empty(p["sec"]).cast("bigint"), F.lit(0))
    frac = F.coalesce(
        _null_if_empty(F.rpad(F.substring(p["frac"], 1, 6), 6, "0")).cast("bigint"), F.lit(0)
    )
    off = p["off"]
    off_h = F.coalesce(_null_if_empty(F.substring(off, 2, 2)).cast("bigint"), F.lit(0))
    off_m = F.coalesce(
        _null_if_empty(F.regexp_replace(F.substring(off, 4, 3), ":", "")).cast("bigint"),
        F.lit(0),
    )
    sign = F.when(F.substring(off, 1, 1) == "-", -1).otherwise(1)
    off_min = sign * (off_h * 60 + off_m)
    leap = ((y % 4 == 0) & (y % 100 != 0)) | (y % 400 == 0)
    dim = (
        F.when(mo == 2, F.when(leap, 29).otherwise(28)).when(mo.isin(4, 6, 9, 11), 30).otherwise(31)
    )
    valid = (
        p.isNotNull()
        & mo.between(1, 12)
        & d.between(1, dim)
        & mi.between(0, 59)
        & sec.between(0, 59)
        & ((h <= 23) | ((h == 24) & (mi == 0) & (sec == 0) & (frac == 0)))
    )
    # days_from_civil (H. Hinnant), proleptic Gregorian, in integer arithmetic.
    yy = y - F.when(mo <= 2, 1).otherwise(0)
    era = F.floor(yy / 400)
    yoe = yy - era * 400
    doy = F.floor((153 * (mo + F.when(mo > 2, -3).otherwise(9)) + 2) / 5) + d - 1
    doe = yoe * 365 + F.floor(yoe / 4) - F.floor(yoe / 100) + doy
    days = era * 146097 + doe - 719468
    micros = (
        days * _MICROS_PER_DAY
        + h * _MICROS_PER_HOUR
        + mi * 60_000_000
        + sec * 1_000_000
        + frac
        - off_min * 60_000_000
    ).cast("bigint")
    return F.when(valid & micros.between(_TS_MIN_US, _TS_MAX_US), micros)


def apply_rules(parsed: DataFrame) -> DataFrame:
    """Parsed lines -> typed fields plus ``reason`` (NULL when the line passes), in the order
    of ``schema.REJECT_REASONS``. Duplicates are decided later, over rule-passing rows."""
    from pyspark.sql import functions as F

    def txt(name: str) -> Column:
        return _null_if_empty(F.trim(F.col(name)))

    # Lengths are of the trimmed text before lower-casing (Java's lower-casing can change a
    # value's length, DuckDB's cannot); F.length counts code points, as DuckDB's length does.
    too_long = F.lit(False)
    for name in s.BOUNDED_CALL_FIELDS:
        too_long = too_long | (F.length(txt(name)) > s.FIELD_MAX_LENGTH[name])
    start_txt = _null_if_empty(F.col(s.START_TIME))
    end_txt = _null_if_empty(F.col(s.END_TIME))
    rating_txt = txt(s.RATING)
    df = parsed.select(
        "line_number",
        "raw_bin",
        "bad_encoding",
        "is_object",
        txt(s.CALL_ID).alias(s.CALL_ID),
        txt(s.AGENT_ID).alias(s.AGENT_ID),
        txt(s.CUSTOMER_ID).alias(s.CUSTOMER_ID),
        start_txt.alias("start_txt"),
        end_txt.alias("end_txt"),
        F.lower(txt(s.ISSUE_TYPE)).alias(s.ISSUE_TYPE),
        F.lower(txt(s.RESOLUTION)).alias(s.RESOLUTION),
        rating_txt.alias("rating_txt"),
        too_long.alias("too_long"),
    )
    df = _ts_parts(_ts_parts(df, "start_txt"), "end_txt")
    rating = F.col("rating_txt")
    df = df.select(
        "*",
        _epoch_micros(F.col("start_txt_p")).alias("start_us"),
        _epoch_micros(F.col("end_txt_p")).alias("end_us"),
        F.when(rating.rlike(_DOUBLE_TEXT), _try_double(F.regexp_replace(rating, "_", ""))).alias(
            "rating_num"
        ),
    ).drop("start_txt_p", "end_txt_p")
    rating_ok = F.col("rating_num").isin(*[float(n) for n in range(s.MIN_RATING, s.MAX_RATING + 1)])
    reason = (
        F.when(F.col("bad_encoding"), s.REJECT_ENCODING)
        .when(~F.col("is_object"), s.REJECT_MALFORMED)
        .when(F.col("too_long"), s.REJECT_TOO_LONG)
        .when(F.col(s.CALL_ID).isNull(), s.REJECT_MISSING_CALL_ID)
        .when(F.col("start_txt").isNull() | F.col("end_txt").isNull(), s.REJECT_MISSING_TS)
        .when(F.col("start_us").isNull() | F.col("end_us").isNull(), s.REJECT_INVALID_TS)
        .when(F.col("end_us") <= F.col("start_us"), s.REJECT_NON_POSITIVE)
    )
    return df.select(
        "line_number",
        "raw_bin",
        reason.alias("reason"),
        s.CALL_ID,
        s.AGENT_ID,
        s.CUSTOMER_ID,
        "start_us",
        "end_us",
        s.ISSUE_TYPE,
        s.RESOLUTION,
        F.when(rating_ok, F.col("rating_num").cast("int")).alias(s.RATING),
        (F.col("rating_txt").isNotNull() & ~F.coalesce(rating_ok, F.lit(False))).alias(
            "rating_invalid"
        ),
    )


def first_lines(staged: DataFrame) -> DataFrame:
    """call_id -> the smallest line_number among rule-passing rows (the one that is kept)."""
    from pyspark.sql import functions as F

    return (
        staged.where(F.col("reason").isNull())
        .groupBy(s.CALL_ID)
        .agg(F.min("line_number").alias("first_line"))
    )


def kept_rows(staged: DataFrame, agents: DataFrame) -> DataFrame:
    """Rule-passing, first-of-their-call_id rows in contract columns (+ line_number, and
    ``rating_invalid``/``known_agent`` for the warning counts)."""
    from pyspark.sql import functions as F

    centi = s.MICROS_PER_CENTIMINUTE
    firsts = first_lines(staged)
    v = staged.where(F.col("reason").isNull()).join(firsts, s.CALL_ID)
    v = v.where(F.col("line_number") == F.col("first_line"))
    a = agents.select(
        F.col(s.AGENT_ID).alias("_agent_id"),
        s.AGENT_NAME,
        s.REGION,
        F.lit(True).alias("known_agent"),
    )
    v = v.join(F.broadcast(a), v[s.AGENT_ID] == a["_agent_id"], "left")
    cols = {
        s.CALL_ID: F.col(s.CALL_ID),
        s.AGENT_ID: F.col(s.AGENT_ID),
        s.AGENT_NAME: F.col(s.AGENT_NAME),
        s.REGION: F.col(s.REGION),
        s.CUSTOMER_ID: F.col(s.CUSTOMER_ID),
        s.START_TIME: F.timestamp_micros("start_us"),
        s.END_TIME: F.timestamp_micros("end_us"),
        s.CALL_DURATION_MINUTES: (
            F.expr(f"(end_us - start_us + {centi // 2}) div {centi}").cast("double") / 100.0
        ),
        s.ISSUE_TYPE: F.col(s.ISSUE_TYPE),
        s.RESOLUTION: F.col(s.RESOLUTION),
        s.RATING: F.col(s.RATING).cast("int"),
        s.CALL_DATE: F.date_from_unix_date(
            F.floor(F.col("start_us") / _MICROS_PER_DAY).cast("int")
        ),
        s.HOUR_OF_DAY: F.floor(
            F.pmod(F.col("start_us"), F.lit(_MICROS_PER_DAY)) / _MICROS_PER_HOUR
        ).cast("int"),
    }
    return v.select(
        *[cols[name].alias(name) for name in s.CLEANED_COLUMNS],
        "line_number",
        "rating_invalid",
        F.coalesce("known_agent", F.lit(False)).alias("known_agent"),
    )


def rejected_rows(staged: DataFrame) -> DataFrame:
    """line_number, reason, raw_bin of every rejected line, duplicates included."""
    from pyspark.sql import functions as F

    firsts = first_lines(staged)
    dups = (
        staged.where(F.col("reason").isNull())
        .join(firsts, s.CALL_ID)
        .where(F.col("line_number") != F.col("first_line"))
        .select("line_number", F.lit(s.REJECT_DUPLICATE).alias("reason"), "raw_bin")
    )
    return (
        staged.where(F.col("reason").isNotNull())
        .select("line_number", "reason", "raw_bin")
        .unionByName(dups)
    )
