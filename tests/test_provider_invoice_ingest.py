"""Provider invoices load through the billing loader: good lines to their own lake folder, bad
lines quarantined with the column and the reason, each file once per content."""

from __future__ import annotations

import duckdb

from orchestration.ingest.provider_invoices import load_provider_invoices


def test_bad_invoice_lines_are_quarantined_and_the_rest_loads_once(tmp_path):
    landing, lake = tmp_path / "provider_invoices", tmp_path / "lake"
    landing.mkdir()
    (landing / "openai-2026-11.csv").write_text(
        "provider,invoice_month,model,requests,amount_usd,currency\n"
        "openai,2026-11,gpt-4o,120,7.86,USD\n"
        "openai,2026-11,gpt-4o-mini,,0.31,usd\n"
        "openai,2026-11,gpt-4.1,10,6.41,EUR\n"
        "openai,2026-11,o3-mini,-3,1.12,USD\n"
        "openai,2026-13,o4-mini,1,0.20,USD\n"
        "openai,2026-11,,1,0.20,USD\n"
    )
    (landing / "readme.txt").write_text("not an invoice")
    results = {r.source_file: r for r in load_provider_invoices(landing, lake)}
    invoice = results["openai-2026-11.csv"]
    assert (invoice.status, invoice.rows_read, invoice.rows_loaded) == ("loaded", 6, 2)
    assert results["readme.txt"].status == "unsupported"
    with duckdb.connect() as con:
        loaded = con.execute(
            f"select model, requests, amount_usd::double, currency "
            f"from read_parquet('{lake}/provider_invoices/lines/*.parquet') order by _source_row"
        ).fetchall()
        bad = dict(
            con.execute(
                f"select source_row, error_code || ':' || error_field "
                f"from read_parquet('{lake}/quarantine/provider_invoices/*.parquet')"
            ).fetchall()
        )
    assert loaded == [("gpt-4o", 120, 7.86, "usd"), ("gpt-4o-mini", None, 0.31, "usd")]
    assert bad == {
        3: "unknown_value:currency",
        4: "negative_value:requests",
        5: "invalid_month:invoice_month",
        6: "missing_required:model",
    }
    # nothing leaks into the billing lake, and a second run loads nothing again
    assert not (lake / "billing").exists() or not any((lake / "billing").rglob("*-0.parquet"))
    again = load_provider_invoices(landing, lake)
    assert {r.status for r in again if r.source_file.endswith(".csv")} == {"already_loaded"}
