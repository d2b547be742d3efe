"""Exchange rates (landing/fx): the ECB's reference-rate files, mapped onto the table-export loader.

The files are the European Central Bank's ``eurofxref-hist.csv`` (inside
``eurofxref-hist.zip``; unzip it into ``landing/fx/``), as the ECB publishes it: a wide table,
one row per published date, newest first, one column per currency, each cell the units of that
currency per 1 EUR::

    Date,USD,JPY,BGN,CYP,...,ZAR,
    2026-02-27,1.172,181.38,N/A,N/A,...,19.904,

The header and every row end with a comma (an unnamed last column, always empty), and ``N/A``
stands for "no rate that day" (currencies the ECB stopped publishing, or not yet publishing).

The mapping (``read_ecb_rates``) melts each row into one record per published rate: ``rate_date``
(the row's ``Date``), ``currency`` (the column's header) and ``units_per_eur`` (the cell, as
text). ``N/A`` and empty cells give no record: no rate is not an error. From there the table-export
loader (``table_exports``) validates, quarantines and publishes as for any export, once per file
content; ``source_row`` is the CSV data row (1-based, header excluded), so a quarantined rate
points at its row, and its record names its column (``currency``). Reasons:

* ``invalid_date`` (``rate_date``): the row's date is not YYYY-MM-DD (each of its rates is
  quarantined, since none of them can be dated);
* ``wrong_type`` (``units_per_eur``): a cell that is neither a decimal number nor ``N/A``;
* ``non_positive_value`` (``units_per_eur``): a rate of 0 or less;
* ``invalid_format`` (``currency``): a column header that is not a 3-letter upper-case code
  (a value under an unnamed column, ``column_<n>``, lands here);
* ``wrong_cell_count``: a row with more or fewer cells than the header.

The ECB's daily file ``eurofxref.csv`` writes its date as ``27 February 2026``: its rates are
quarantined as ``invalid_date``; use the history file, which holds the daily rates too.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import duckdb

from orchestration.contract import Field, column
from orchestration.ingest.readers import CSV_CELLS_MARK, RecordBatch, read_records
from orchestration.ingest.rules import q
from orchestration.ingest.table_exports import TableExports, TableFileLoad, load_table_exports

ENTITY = "ecb_rates"
DATE_COLUMN = "Date"
NO_RATE = "N/A"

COLUMNS: list[Field] = [
    column("rate_date", "date", True),
    column("currency", "string", True, pattern="[A-Z]{3}"),
    column("units_per_eur", "rate", True, exclusive_minimum=0),
]

# One record per non-empty, non-N/A cell of a currency column; rows with the wrong number of
# cells (marked by the reader) pass through as they are, to be quarantined as such.
MELT_SQL = f"""
with parsed as (
    select source_row, raw,
        case when not starts_with(raw, {q(CSV_CELLS_MARK)}) then raw::json end as obj
    from records
),
cells as (
    select source_row, obj ->> {q(DATE_COLUMN)} as rate_date,
        unnest(json_keys(obj)) as currency, obj
    from parsed
    where obj is not null
),
rates as (
    select source_row, rate_date, currency, obj ->> currency as cell
    from cells
    where currency <> {q(DATE_COLUMN)}
)
select source_row,
    json_object('rate_date', rate_date, 'currency', currency, 'units_per_eur', cell)::varchar as raw
from rates
where nullif(trim(cell), '') is not null and upper(trim(cell)) <> {q(NO_RATE)}
union all
select source_row, raw from parsed where obj is null
order by source_row
"""


def read_ecb_rates(path: Path) -> Iterator[RecordBatch]:
    """The rates of one ECB reference-rate CSV as long records (``rate_date``, ``currency``,
    ``units_per_eur``), ``source_row`` the CSV data row each rate came from."""
    with duckdb.connect() as con:
        for batch in read_records(path):
            con.register("records", batch.table.select(["source_row", "raw"]))
            try:
                yield RecordBatch(con.sql(MELT_SQL).to_arrow_table(), numbers_as_text=True)
            finally:
                con.unregister("records")


def _entity_of(path: Path) -> str | None:
    return ENTITY if path.name.lower().endswith((".csv", ".csv.gz")) else None


FX = TableExports("fx", {ENTITY: COLUMNS}, _entity_of, "eurofxref-hist.csv", read=read_ecb_rates)


def load_fx(landing: Path, lake_root: Path, *, now: datetime | None = None) -> list[TableFileLoad]:
    return load_table_exports(landing, lake_root, FX, now=now)
