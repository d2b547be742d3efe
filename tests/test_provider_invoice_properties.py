"""The provider invoice files' rules as the oracle: generated invoice lines load or are
quarantined exactly as docs/provider-reconciliation.md ("Invoice files") says.

Each example is one provider invoice CSV of generated lines (columns in a shuffled order: the
header names them), loaded with ``provider_invoices.load_provider_invoices`` into a fresh lake.
The rules, from the doc's table and paragraph: `provider`, `invoice_month`, `model`,
`amount_usd` and `currency` are required (`missing_required` when empty); `invoice_month` is
`YYYY-MM` (`invalid_month`); `requests` a whole number >= 0 written as digits (`wrong_type`,
`negative_value`); `amount_usd` a plain decimal with at most six fraction digits (`wrong_type`),
which may be negative (a credit: the loader keeps it, the expectation suite stops it);
`currency` `USD` in any case, anything else `unknown_value`; a line with another number of cells
than the header `wrong_cell_count`. An accepted line must be in the lake with exactly its values;
any other must be quarantined at its row with reasons that are all rules it breaks.
"""

from __future__ import annotations

import csv
import re
import tempfile
from decimal import Decimal
from pathlib import Path

import duckdb
from export_cells import count_cell, is_plain, money_cell
from hypothesis import given
from hypothesis import strategies as st

from orchestration.ingest.provider_invoices import load_provider_invoices

COLUMNS = ["provider", "invoice_month", "model", "requests", "amount_usd", "currency"]
REQUIRED = ("provider", "invoice_month", "model", "amount_usd", "currency")

line = st.fixed_dictionaries(
    {
        "provider": st.sampled_from(["", "openai", "Anthropic", "x'; drop table y; --"]),
        "invoice_month": st.one_of(
            st.builds(lambda y, m: f"{y:04}-{m:02}", st.integers(2000, 2099), st.integers(1, 12)),
            st.sampled_from(["", "2026-13", "2026-00", "2026-1", "202611", "2026-11-01"]),
        ),
        "model": st.sampled_from(["", "gpt-4o", "claude-sonnet-4-20250514", 'a "quoted", model']),
        "requests": count_cell,
        "amount_usd": money_cell,
        "currency": st.sampled_from(["", "USD", "usd", "Usd", "EUR", "US$", "dollars"]),
    }
)
lines = st.lists(
    st.one_of(line, st.integers(-1, 1).filter(bool).map(lambda extra: {"_cells": extra})),
    min_size=1,
    max_size=30,
)


def broken_rules(row: dict[str, str]) -> set[tuple[str, str | None]]:
    """(reason, column) of every rule of the doc the line breaks."""
    if "_cells" in row:
        return {("wrong_cell_count", None)}
    broken: set[tuple[str, str | None]] = {
        ("missing_required", name) for name in REQUIRED if row[name] == ""
    }
    month = row["invoice_month"]
    if month and not re.fullmatch(r"[0-9]{4}-(0[1-9]|1[0-2])", month):
        broken.add(("invalid_month", "invoice_month"))
    requests = row["requests"]
    if requests:
        body = requests[1:] if requests[:1] in "+-" else requests
        if not (body.isascii() and body.isdigit()):
            broken.add(("wrong_type", "requests"))
        elif int(requests) < 0:
            broken.add(("negative_value", "requests"))
    if row["amount_usd"] and not is_plain(row["amount_usd"], 6):
        broken.add(("wrong_type", "amount_usd"))
    if row["currency"] and row["currency"].upper() != "USD":
        broken.add(("unknown_value", "currency"))
    return broken


def expected_line(row: dict[str, str]) -> dict:
    out = {name: (row[name] or None) for name in COLUMNS}
    out["requests"] = int(row["requests"]) if row["requests"] else None
    out["amount_usd"] = Decimal(row["amount_usd"])
    out["currency"] = "usd"  # stored in lower case, whatever case the file wrote
    return out


@given(st.permutations(COLUMNS), lines)
def test_invoice_lines_load_or_are_quarantined_as_the_doc_says(header, generated):
    with tempfile.TemporaryDirectory() as tmp:
        landing, lake = Path(tmp) / "provider_invoices", Path(tmp) / "lake"
        landing.mkdir()
        with open(landing / "openai-2026-11.csv", "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(header)
            for row in generated:
                if "_cells" in row:
                    writer.writerow(["x"] * (len(header) + row["_cells"]))
                else:
                    writer.writerow([row[c] for c in header])
        (result,) = load_provider_invoices(landing, lake)
        with duckdb.connect() as con:
            loaded = {
                row[-1]: dict(zip(COLUMNS, row[:-1], strict=True))
                for row in con.execute(
                    f"select {', '.join(COLUMNS)}, _source_row from "
                    f"read_parquet('{lake}/provider_invoices/lines/*.parquet') "
                    "where _source_row is not null"
                ).fetchall()
            }
            quarantined: dict[int, set[tuple[str, str | None]]] = {}
            for source_row, code, field in con.execute(
                "select source_row, error_code, error_field from "
                f"read_parquet('{lake}/quarantine/provider_invoices/*.parquet')"
            ).fetchall():
                quarantined.setdefault(source_row, set()).add((code, field))

    assert (result.rows_read, result.rows_loaded + result.rows_quarantined) == (
        len(generated),
        len(generated),
    )
    for number, row in enumerate(generated, start=1):
        broken = broken_rules(row)
        if not broken:
            assert number not in quarantined, (row, quarantined.get(number))
            assert loaded.get(number) == expected_line(row), row
        else:
            assert number not in loaded, (row, broken)
            reasons = quarantined.get(number)
            assert reasons, (row, broken)
            assert reasons <= broken, (row, reasons, broken)
