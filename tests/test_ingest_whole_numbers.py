"""A count is a whole number in every format: a CSV cell of digits (with an optional sign), a JSON
number without a fraction. ``1.5`` is never read as 2 tokens; the record is quarantined as
``wrong_type`` naming the field, and the rest of the file loads."""

from __future__ import annotations

from datetime import UTC, datetime

import duckdb
from conftest import event, write_jsonl

from orchestration.ingest.billing import load_billing
from orchestration.ingest.lake import Lake
from orchestration.ingest.usage_events import load_file

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
HEADER = "event_id,occurred_at,customer_id,workspace_id,feature,provider,model,prompt_tokens,completion_tokens"


def _rows(sql: str) -> list[tuple]:
    with duckdb.connect() as con:
        con.execute("set timezone = 'UTC'")
        return con.execute(sql).fetchall()


def test_csv_token_cells_that_are_not_digit_strings_are_quarantined_as_wrong_type(data_dir):
    landing = data_dir.landing_for("usage_events")
    cells = {
        "ok-plain": ("100", "20"),
        "ok-signs-and-spaces": ("+100", " 20 "),
        "fraction": ("100", "1.5"),
        "underscore": ("1_000", "20"),
        "hex": ("100", "0x10"),
        "exponent": ("1e3", "20"),
        "zero-fraction": ("100", "2.0"),
        "too-big": ("99999999999999999999", "20"),
    }
    lines = [
        f"{eid},2025-03-01T10:00:00Z,cus-1,ws-1,chat,openai,gpt-4o,{p},{c}"
        for eid, (p, c) in cells.items()
    ]
    path = landing / "counts.csv"
    path.write_text(HEADER + "\n" + "\n".join(lines) + "\n")
    lake = Lake(data_dir.lake)

    result = load_file(path, landing, lake, now=NOW)

    assert (result.records_read, result.records_loaded, result.records_quarantined) == (8, 2, 6)
    bad = {
        row: (code, field, message)
        for row, code, field, message in _rows(
            f"select source_row, error_code, error_field, error_message "
            f"from read_parquet('{lake.quarantine}/*.parquet')"
        )
    }
    assert {row: (code, field) for row, (code, field, _) in bad.items()} == {
        3: ("wrong_type", "completion_tokens"),
        4: ("wrong_type", "prompt_tokens"),
        5: ("wrong_type", "completion_tokens"),
        6: ("wrong_type", "prompt_tokens"),
        7: ("wrong_type", "completion_tokens"),
        8: ("wrong_type", "prompt_tokens"),
    }
    assert '"1.5"' in bad[3][2] and "whole number" in bad[3][2]
    loaded = _rows(
        f"select event_id, prompt_tokens, completion_tokens "
        f"from read_parquet('{lake.data}/*/*.parquet') order by _source_row"
    )
    assert loaded == [("ok-plain", 100, 20), ("ok-signs-and-spaces", 100, 20)]


def test_json_numbers_with_a_fraction_are_quarantined_and_a_zero_fraction_is_a_whole_number(
    data_dir,
):
    landing = data_dir.landing_for("usage_events")
    path = write_jsonl(
        landing / "counts.jsonl",
        [
            event(event_id="fraction", completion_tokens=1.5),
            event(event_id="zero-fraction", completion_tokens=2.0),
            event(event_id="text", completion_tokens="12"),
            event(event_id="plain", completion_tokens=12),
        ],
    )
    lake = Lake(data_dir.lake)

    result = load_file(path, landing, lake, now=NOW)

    assert (result.records_loaded, result.records_quarantined) == (2, 2)
    bad = _rows(
        f"select source_row, error_code, error_field from read_parquet('{lake.quarantine}/*.parquet') "
        "order by source_row"
    )
    assert bad == [(1, "wrong_type", "completion_tokens"), (3, "wrong_type", "completion_tokens")]
    loaded = dict(
        _rows(f"select event_id, completion_tokens from read_parquet('{lake.data}/*/*.parquet')")
    )
    assert loaded == {"zero-fraction": 2, "plain": 12}


def test_billing_integer_cells_that_are_not_digit_strings_are_quarantined_as_wrong_type(tmp_path):
    landing, lake = tmp_path / "billing", tmp_path / "lake"
    landing.mkdir()
    (landing / "plans.csv").write_text(
        "plan_id,plan_name,price_per_month_usd,target_gross_margin_pct,included_tasks,overage_per_task_usd,seats_included\n"
        "starter,Starter,29.00,70.0,2000,0.03,5\n"
        "half,Half,29.00,70.0,1.5,0.03,5\n"
        "under,Under,29.00,70.0,1_000,0.03,5\n"
        "hex,Hex,29.00,70.0,2000,0.03,0x10\n"
        "round,Round,29.00,70.0,2000.0,0.03,5\n"
        "neg,Neg,29.00,70.0,2000,0.03,-1\n"
    )

    [result] = load_billing(landing, lake)

    assert (result.rows_read, result.rows_loaded, result.rows_quarantined) == (6, 1, 5)
    bad = dict(
        (row, (code, field))
        for row, code, field in _rows(
            f"select source_row, error_code, error_field "
            f"from read_parquet('{lake}/quarantine/billing/*.parquet')"
        )
    )
    assert bad == {
        2: ("wrong_type", "included_tasks"),
        3: ("wrong_type", "included_tasks"),
        4: ("wrong_type", "seats_included"),
        5: ("wrong_type", "included_tasks"),
        6: ("negative_value", "seats_included"),
    }
    assert _rows(
        f"select plan_id, included_tasks, seats_included "
        f"from read_parquet('{lake}/billing/plans/*.parquet')"
    ) == [("starter", 2000, 5)]


def test_billing_amounts_must_be_plain_decimals_with_at_most_six_fraction_digits(tmp_path):
    """An invoice amount of "1e3" or "1_000" would otherwise load as $1,000, and 0.1234567 would
    be rounded: money is read exactly as written, or quarantined."""
    landing, lake = tmp_path / "billing", tmp_path / "lake"
    landing.mkdir()
    (landing / "invoices.csv").write_text(
        "invoice_id,customer_id,invoice_month,plan_id,amount_usd,status\n"
        "ok,c1,2026-11,pro,99.50,paid\n"
        "ok-credit,c1,2026-11,pro,-10,paid\n"
        "ok-point,c1,2026-11,pro,.5,paid\n"
        "ok-six,c1,2026-11,pro,0.123456,paid\n"
        "exponent,c1,2026-11,pro,1e3,paid\n"
        "underscore,c1,2026-11,pro,1_000,paid\n"
        'comma,c1,2026-11,pro,"1,000.00",paid\n'
        "seven,c1,2026-11,pro,0.1234567,paid\n"
    )

    [result] = load_billing(landing, lake)

    assert (result.rows_read, result.rows_loaded, result.rows_quarantined) == (8, 4, 4)
    bad = {
        row: (code, field)
        for row, code, field in _rows(
            f"select source_row, error_code, error_field "
            f"from read_parquet('{lake}/quarantine/billing/*.parquet')"
        )
    }
    assert bad == {r: ("wrong_type", "amount_usd") for r in (5, 6, 7, 8)}
    assert _rows(
        f"select invoice_id, amount_usd::varchar "
        f"from read_parquet('{lake}/billing/invoices/*.parquet') order by _source_row"
    ) == [
        ("ok", "99.500000"),
        ("ok-credit", "-10.000000"),
        ("ok-point", "0.500000"),
        ("ok-six", "0.123456"),
    ]
