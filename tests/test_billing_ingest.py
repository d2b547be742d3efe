"""Billing exports: good rows load, bad rows are quarantined with the column and the reason."""

from __future__ import annotations

import duckdb

from orchestration.ingest.billing import load_billing


def test_bad_billing_rows_are_quarantined_with_a_reason_and_the_rest_loads(tmp_path):
    landing, lake = tmp_path / "billing", tmp_path / "lake"
    landing.mkdir()
    (landing / "plans.csv").write_text(
        "plan_id,plan_name,price_per_month_usd,target_gross_margin_pct,included_tasks,overage_per_task_usd,seats_included\n"
        "starter,Starter,29.00,70.0,2000,0.03,5\n"
        "pro,Pro,-1,70.0,,,\n"
        "team,Team,99,150,,,\n"
        ",Nameless,10,50,,,\n"
    )
    (landing / "invoices.csv").write_text(
        "invoice_id,customer_id,invoice_month,plan_id,amount_usd,status\n"
        "in_1,cus_1,2026-10,starter,29.00,paid\n"
        "in_2,cus_1,2026-13,starter,29.00,paid\n"
        "in_3,cus_1,2026-11,starter,abc,paid\n"
        "in_4,cus_1,2026-11,starter,29.00,refunded\n"
        "in_5,cus_1,2026-11\n"
        "in_6,cus_2,2026-11,starter,-5.00,paid\n"
    )
    (landing / "notes.txt").write_text("not billing")
    results = {r.source_file: r for r in load_billing(landing, lake)}
    assert (results["plans.csv"].rows_read, results["plans.csv"].rows_loaded) == (4, 1)
    assert (results["invoices.csv"].rows_read, results["invoices.csv"].rows_loaded) == (6, 2)
    assert results["notes.txt"].status == "unsupported"
    with duckdb.connect() as con:
        bad = {
            (entity, row): (code, field)
            for entity, row, code, field in con.execute(
                f"select entity, source_row, error_code, error_field from read_parquet('{lake}/quarantine/billing/*.parquet')"
            ).fetchall()
        }
    assert bad == {
        ("plans", 2): ("negative_value", "price_per_month_usd"),
        ("plans", 3): ("out_of_range", "target_gross_margin_pct"),
        ("plans", 4): ("missing_required", "plan_id"),
        ("invoices", 2): ("invalid_month", "invoice_month"),
        ("invoices", 3): ("wrong_type", "amount_usd"),
        ("invoices", 4): ("unknown_value", "status"),
        ("invoices", 5): ("wrong_cell_count", None),
    }
    again = {r.source_file: r.status for r in load_billing(landing, lake)}
    assert again["plans.csv"] == "already_loaded"


def test_invoices_in_any_currency_need_an_amount_in_it(tmp_path):
    landing, lake = tmp_path / "billing", tmp_path / "lake"
    landing.mkdir()
    (landing / "invoices.csv").write_text(
        "invoice_id,customer_id,invoice_month,plan_id,amount_usd,status,currency,amount\n"
        "in_1,cus_1,2026-10,starter,29.00,paid,,\n"  # no currency: USD, amount_usd read
        "in_2,cus_2,2026-10,starter,,open,eur,155.00\n"  # any case
        "in_3,cus_2,2026-10,starter,180.00,paid,EUR,\n"  # EUR with only a USD amount
        "in_4,cus_3,2026-10,starter,,paid,ZZZ,10\n"
        "in_5,cus_3,2026-10,starter,,uncollectible,JPY,4900\n"
        "in_6,cus_3,2026-10,starter,,paid,USD,\n"
    )
    results = load_billing(landing, lake)
    assert [(r.rows_read, r.rows_loaded) for r in results] == [(6, 3)]
    with duckdb.connect() as con:
        bad = con.execute(
            f"select source_row, error_code, error_field, error_message "
            f"from read_parquet('{lake}/quarantine/billing/*.parquet') order by source_row"
        ).fetchall()
        good = con.execute(
            f"select invoice_id, currency, amount, amount_usd, status "
            f"from read_parquet('{lake}/billing/invoices/*.parquet') order by invoice_id"
        ).fetchall()
    assert [(row, code, field) for row, code, field, _ in bad] == [
        (3, "missing_required", "amount"),
        (4, "unknown_currency", "currency"),
        (6, "missing_required", "amount"),
    ]
    assert "currency is EUR" in bad[0][3]
    assert '"ZZZ"' in bad[1][3]
    assert [(i, c, s) for i, c, _, _, s in good] == [
        ("in_1", None, "paid"),
        ("in_2", "eur", "open"),
        ("in_5", "JPY", "uncollectible"),
    ]
    assert str(good[1][2]) == "155.000000" and str(good[2][2]) == "4900.000000"
