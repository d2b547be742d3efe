"""Read a landing file as batches of records: (source_row, raw JSON text), whatever its format.

Every format is reduced to one shape so one vectorised validator serves them all:

* JSON Lines (``.jsonl``, ``.ndjson``, optionally ``.gz``): each physical line is a record; the
  line number is its position. Lines are cut with numpy on the raw bytes (no per-line Python).
* CSV (``.csv``, optionally ``.gz``): the header names the fields (an unnamed header cell is
  ``column_<position>``); each data row becomes a JSON object of strings (empty cell = null).
  Rows with the wrong number of cells are records too,
  kept with their text so they can be quarantined. ``source_row`` counts data rows from 1.
* Parquet: each row becomes a JSON object; ``source_row`` counts rows from 1.
"""

from __future__ import annotations

import csv
import gzip
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from orchestration.sql_text import literal

CHUNK_BYTES = 64 * 1024 * 1024
PARQUET_BATCH_ROWS = 250_000

JSONL_SUFFIXES = (".jsonl", ".ndjson", ".jsonl.gz", ".ndjson.gz")
CSV_SUFFIXES = (".csv", ".csv.gz")
PARQUET_SUFFIXES = (".parquet",)
# A record whose ``raw`` starts with FAULT_MARK is not a record but a fault found while reading
# (``\x00<kind>:<detail>:<text>``): a CSV row with the wrong cell count, or a page that is not a
# report page (``report_pages``). Validators quarantine it with the text after the second colon.
FAULT_MARK = "\x00"
CSV_CELLS_MARK = "\x00csv-cells:"


def all_utf8(column: pa.ChunkedArray) -> bool:
    """Whether every value of a binary column is UTF-8 text: Arrow checks the whole column in
    one vectorised pass, so a loader can decode it strictly (``line_text_sql``)."""
    try:
        column.cast(pa.large_string())
    except pa.ArrowInvalid:
        return False
    return True


def line_text_sql(*, strict: bool, column: str = "raw_bytes") -> str:
    """SQL: a JSON Lines record's text from its bytes (``_lines_table`` keeps each line's final
    newline byte), decoded as UTF-8 without that byte; finish with ``line_end_trimmed_sql``.

    ``strict``: fail on bytes that are not UTF-8 (``decode``) instead of reading them as null
    (``try(decode(...))``, which costs some 30 times more per record)."""
    cut = (
        f"case when octet_length({column}) > 0 and {column}[-1:] = '\\x0A'::blob "
        f"then {column}[1:-2] else {column} end"
    )
    return f"decode({cut})" if strict else f"try(decode({cut}))"


def line_end_trimmed_sql(text: str) -> str:
    """SQL: ``rtrim(text, CR || LF)``, the ``rtrim`` (which costs more than the rest of decoding
    together) run only on the few texts that still end in either."""
    return (
        f"case when suffix({text}, chr(13)) or suffix({text}, chr(10)) "
        f"then rtrim({text}, chr(13) || chr(10)) else {text} end"
    )


class UnsupportedFileError(ValueError):
    """A landing file whose name does not say which format it holds."""


@dataclass(frozen=True)
class RecordBatch:
    """Records of one file: ``table`` has ``source_row`` (int64), ``raw`` (string or null when
    the bytes are not UTF-8), ``raw_bytes`` (binary, only for JSON Lines), ``numbers_as_text``
    (true when numbers arrive as text, as in CSV) and ``mapped``."""

    table: pa.Table
    numbers_as_text: bool
    # Records a source's mapping made (orchestration.ingest.sources): only they may carry the
    # mapping's error field (``validate.MAPPING_ERROR``); in the contract's own files that key is
    # an unknown field like any other, kept in ``attributes``.
    mapped: bool = False


def file_format(path: Path) -> str:
    name = path.name.lower()
    if name.endswith(JSONL_SUFFIXES):
        return "jsonl"
    if name.endswith(CSV_SUFFIXES):
        return "csv"
    if name.endswith(PARQUET_SUFFIXES):
        return "parquet"
    raise UnsupportedFileError(
        f"{path}: unsupported file type; expected one of "
        f"{', '.join(JSONL_SUFFIXES + CSV_SUFFIXES + PARQUET_SUFFIXES)}"
    )


def is_landing_file(path: Path) -> bool:
    """Hidden and temporary files (``.name``, ``*.tmp``, ``*.part``) are not yet landed."""
    name = path.name
    return (
        path.is_file() and not name.startswith((".", "_")) and not name.endswith((".tmp", ".part"))
    )


def read_records(path: Path) -> Iterator[RecordBatch]:
    fmt = file_format(path)
    if fmt == "jsonl":
        yield from _read_jsonl(path)
    elif fmt == "csv":
        yield from _read_csv(path)
    else:
        yield from _read_parquet(path)


def read_json_lines(path: Path) -> Iterator[RecordBatch]:
    """Any file of one JSON document per line (plain or gzip, whatever its suffix says)."""
    yield from _read_jsonl(path)


def _open(path: Path):
    if path.name.lower().endswith(".gz"):
        return gzip.open(path, "rb")
    return open(path, "rb")


def _read_jsonl(path: Path) -> Iterator[RecordBatch]:
    first_row = 1
    carry = b""
    with _open(path) as handle:
        while True:
            block = handle.read(CHUNK_BYTES)
            at_end = not block
            data = carry + block
            if not data:
                break
            if at_end:
                complete, carry = data, b""
            else:
                cut = data.rfind(b"\n")
                if cut < 0:  # one line longer than a chunk: keep reading
                    carry = data
                    continue
                complete, carry = data[: cut + 1], data[cut + 1 :]
            table = _lines_table(complete, first_row)
            first_row += table.num_rows
            yield RecordBatch(table, numbers_as_text=False)
            if at_end:
                break


def _lines_table(data: bytes, first_row: int) -> pa.Table:
    """Split bytes into lines without a Python loop; a final newline ends the last line."""
    if data.endswith(b"\n"):
        data = data[:-1]
    arr = np.frombuffer(data, dtype=np.uint8)
    newlines = np.flatnonzero(arr == 10)
    starts = np.concatenate([[0], newlines + 1])
    # Offsets delimit each line *including* its "\n" (stripped later in SQL), the last one ends at len.
    offsets = np.concatenate([starts, [len(data)]]).astype(np.int64)
    lines = pa.LargeBinaryArray.from_buffers(
        pa.large_binary(), len(starts), [None, pa.py_buffer(offsets.tobytes()), pa.py_buffer(data)]
    )
    rows = np.arange(first_row, first_row + len(starts), dtype=np.int64)
    return pa.table({"source_row": rows, "raw_bytes": lines})


def _read_csv(path: Path) -> Iterator[RecordBatch]:
    with _open(path) as handle:
        header = handle.readline().decode("utf-8-sig", errors="replace")
    names = next(csv.reader([header]), [])
    names = [name.strip() for name in names]
    if not any(names):
        return
    # A header cell with no name (the ECB's rate files end every line with a comma) is named by
    # its position, so its cells stay in the record and a mapping can tell it apart.
    names = [name or f"column_{position}" for position, name in enumerate(names, start=1)]
    invalid: dict[int, str] = {}

    def keep_invalid(row: pacsv.InvalidRow) -> str:
        # Single-threaded reading numbers rows from the start of the file, header included.
        invalid[int(row.number) - 1] = row.text
        return "skip"

    reader = pacsv.open_csv(
        path,
        read_options=pacsv.ReadOptions(
            use_threads=False, skip_rows=1, column_names=names, block_size=16 * 1024 * 1024
        ),
        parse_options=pacsv.ParseOptions(
            invalid_row_handler=keep_invalid, newlines_in_values=True, ignore_empty_lines=False
        ),
        convert_options=pacsv.ConvertOptions(
            column_types={name: pa.string() for name in names},
            strings_can_be_null=True,
            quoted_strings_can_be_null=True,
            null_values=[""],
        ),
    )
    next_row = 1
    with duckdb.connect() as con:
        for batch in reader:
            count = batch.num_rows
            # Good rows take, in order, the row numbers that the skipped (invalid) rows left free.
            window = np.arange(next_row, next_row + count + len(invalid) + 1, dtype=np.int64)
            taken = np.fromiter(invalid.keys(), dtype=np.int64, count=len(invalid))
            rows = window[~np.isin(window, taken)][:count]
            if count:
                next_row = int(rows[-1]) + 1
            yield RecordBatch(_rows_as_json(con, pa.Table.from_batches([batch]), rows), True)
    if invalid:
        rows = pa.array(list(invalid.keys()), pa.int64())
        # Marked, not JSON: the validator reports these as rows with the wrong number of cells.
        texts = pa.array([f"{CSV_CELLS_MARK}{len(names)}:{text}" for text in invalid.values()])
        yield RecordBatch(pa.table({"source_row": rows, "raw": texts}), True)


def _rows_as_json(con: duckdb.DuckDBPyConnection, table: pa.Table, rows: np.ndarray) -> pa.Table:
    """Each row as a JSON object keyed by its column names, whatever they are: the columns are
    renamed by position for SQL, and each name is a string literal, so a name that is empty,
    holds a quote, or differs from another only in letter case (SQL identifiers do not) is a
    key like any other."""
    names = table.column_names
    positional = table.rename_columns([f"c{i}" for i in range(len(names))])
    con.register("named_rows", positional.append_column("source_row", pa.array(rows, pa.int64())))
    pairs = ", ".join(f"{literal(name)}, c{i}" for i, name in enumerate(names))
    try:
        return con.sql(
            f"select source_row, json_object({pairs})::varchar as raw from named_rows"
        ).to_arrow_table()
    finally:
        con.unregister("named_rows")


def _read_parquet(path: Path) -> Iterator[RecordBatch]:
    parquet = pq.ParquetFile(path)
    first_row = 1
    with duckdb.connect() as con:
        for batch in parquet.iter_batches(batch_size=PARQUET_BATCH_ROWS):
            rows = np.arange(first_row, first_row + batch.num_rows, dtype=np.int64)
            first_row += batch.num_rows
            yield RecordBatch(_rows_as_json(con, pa.Table.from_batches([batch]), rows), False)
