"""Flatten one provider report page (a JSON document of daily buckets) into table-export records.

A page is ``{"data": [bucket, ...], "has_more": ..., "next_page": ...}``; a bucket holds its start,
end and ``results``. Each result becomes one record (``source_row`` = its 1-based ordinal in the
page, ``raw`` = a JSON object of text cells): the bucket's start and end (ISO-8601 text; OpenAI's
Unix seconds are converted, anything else is passed through for the ``timestamp`` rule to judge),
``position`` (``data[<bucket>].results[<result>]``, 0-based) and each declared column read from its
path in the result. Numbers keep the digits the page wrote (parsed as ``Decimal``, written in plain
notation: ``1.2e-05`` → ``0.000012``; one with no fraction as an integer: ``2.0`` → ``2``), booleans are ``true``/``false``, JSON null is a null cell.

A page that is not complete JSON, or is JSON without a ``data`` list of bucket objects, is one
fault record (``source_row`` 0): ``PAGE_ERROR_MARK<code>:<first 2,000 characters>``,
which the loader quarantines with the code as its reason (``provider_reports.page_rules``).
Pages are small (a page holds at most 31 daily buckets), so the page is parsed in Python; the
validation stays one SQL pass over the records.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pyarrow as pa

from orchestration.ingest.readers import FAULT_MARK, RecordBatch

PAGE_ERROR_MARK = f"{FAULT_MARK}page-error:"
PAGE_TEXT_CHARS = 2000


def _text(path: Path) -> str:
    data = path.read_bytes()
    if path.name.lower().endswith(".gz"):
        data = gzip.decompress(data)
    return data.decode("utf-8", errors="replace")


def _cell(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        # A JSON number with no fraction is a whole number however it is written (2.0, 1e3), as
        # in the usage events' JSON (JSON Schema's integer): its text is the integer's digits.
        if value.is_finite() and value == value.to_integral_value():
            value = value.to_integral_value()
        return format(value, "f")
    if isinstance(value, (dict, list)):
        return json.dumps(value, default=str)
    return str(value)


def _instant(value) -> str | None:
    """A bucket bound as ISO-8601 text: Unix seconds (an integer) are converted to UTC."""
    if isinstance(value, int) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return _cell(value)


def _at(result: dict, path: tuple[str, ...]):
    value = result
    for key in path:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def _fault(code: str, text: str) -> list[tuple[int, str]]:
    return [(0, f"{PAGE_ERROR_MARK}{code}:{text[:PAGE_TEXT_CHARS]}")]


def page_records(
    text: str,
    columns: list[str],
    paths: dict[str, tuple[str, ...]],
    bucket_keys: tuple[str, str],
) -> list[tuple[int, str]]:
    """(source_row, raw) of every result of the page, or one fault record."""
    try:
        page = json.loads(text, parse_float=Decimal)
    except ValueError:
        return _fault("bad_json", text)
    buckets = page.get("data") if isinstance(page, dict) else None
    if not isinstance(buckets, list) or not all(
        isinstance(b, dict) and isinstance(b.get("results"), list) for b in buckets
    ):
        return _fault("not_a_report_page", text)
    start_key, end_key = bucket_keys
    records: list[tuple[int, str]] = []
    for b, bucket in enumerate(buckets):
        for r, result in enumerate(bucket["results"]):
            result = result if isinstance(result, dict) else {}
            cells = {
                name: _cell(_at(result, paths.get(name, (name,))))
                for name in columns
                if name not in ("bucket_start", "bucket_end", "position")
            }
            cells["bucket_start"] = _instant(bucket.get(start_key))
            cells["bucket_end"] = _instant(bucket.get(end_key))
            cells["position"] = f"data[{b}].results[{r}]"
            records.append((len(records) + 1, json.dumps(cells)))
    return records


def read_report_page(
    path: Path,
    columns: list[str],
    paths: dict[str, tuple[str, ...]],
    bucket_keys: tuple[str, str],
) -> Iterator[RecordBatch]:
    records = page_records(_text(path), columns, paths, bucket_keys)
    yield RecordBatch(
        pa.table(
            {
                "source_row": pa.array([r[0] for r in records], pa.int64()),
                "raw": pa.array([r[1] for r in records], pa.string()),
            }
        ),
        numbers_as_text=True,
    )
