"""Stripe objects (landing/stripe) through the table-export loader's object mapping.

Expected counts and values are read from the fixture files with Python's json module or typed in
from tests/fixtures/stripe/EXPECTED.md, never taken from the loader's output.
"""

from __future__ import annotations

import gzip
import json
import shutil
from collections import Counter
from pathlib import Path

import duckdb
import pytest
from dagster import materialize

from orchestration.ingest.stripe import load_stripe
from orchestration.ingest.stripe_assets import LAKE_STRIPE, LAKE_STRIPE_QUARANTINE, ingest_stripe
from orchestration.paths import DataPaths
from orchestration.settings import Settings

FIXTURES = Path(__file__).parent / "fixtures" / "stripe"
MALFORMED = FIXTURES / "malformed"
FILES = sorted(p for p in FIXTURES.iterdir() if p.is_file() and p.suffix in (".json", ".jsonl"))


def fixture_objects() -> list[dict]:
    """Every object of the good fixture files, read with the json module."""
    out: list[dict] = []
    for path in FILES:
        docs = (
            [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
            if path.suffix == ".jsonl"
            else [json.loads(path.read_text())]
        )
        for doc in docs:
            out += doc["data"] if doc.get("object") == "list" else [doc]
    return out


def land(tmp_path: Path, *files: Path) -> tuple[Path, Path]:
    landing, lake = tmp_path / "landing" / "stripe", tmp_path / "lake"
    landing.mkdir(parents=True)
    for path in files:
        shutil.copy(path, landing / path.name)
    return landing, lake


def rows(lake: Path, table: str, columns: str = "*") -> list[tuple]:
    with duckdb.connect() as con:
        con.execute("set timezone = 'UTC'")
        return con.execute(
            f"select {columns} from read_parquet('{lake}/stripe/{table}/*.parquet', "
            "union_by_name = true) order by all"
        ).fetchall()


def quarantine(lake: Path) -> list[tuple]:
    with duckdb.connect() as con:
        return con.execute(
            "select source_file, source_row, entity, error_code, error_field, error_message "
            f"from read_parquet('{lake}/quarantine/stripe/*.parquet') order by all"
        ).fetchall()


def lake_files(lake: Path) -> dict[str, bytes]:
    return {str(p.relative_to(lake)): p.read_bytes() for p in lake.rglob("*") if p.is_file()}


def test_every_fixture_object_loads_into_its_tables(tmp_path):
    landing, lake = land(tmp_path, *FILES)
    loads = load_stripe(landing, lake)
    assert {r.source_file: r.status for r in loads} == {p.name: "loaded" for p in FILES}
    assert sum(r.rows_quarantined for r in loads) == 0

    objects = fixture_objects()
    kinds = Counter(o["object"] for o in objects)
    # EXPECTED.md "Files": 4 customers over two pages, 2 products, 4 prices, 4 subscriptions,
    # 8 + 3 invoices, 1 credit note, 2 refunds
    assert kinds == {
        "customer": 4, "product": 2, "price": 4, "subscription": 4,
        "invoice": 11, "credit_note": 1, "refund": 2,
    }  # fmt: skip
    assert sum(r.rows_read for r in loads) == len(objects) == sum(r.rows_loaded for r in loads)

    invoices = [o for o in objects if o["object"] == "invoice"]
    lines = sum(len(i["lines"]["data"]) for i in invoices)
    payments = sum(
        len(i["payments"]["data"]) if "payments" in i else int(bool(i.get("payment_intent")))
        for i in invoices
    )
    assert (lines, payments) == (13, 10)  # the open invoice has no payment yet
    expected_rows = {
        "customers": 4, "products": 2, "prices": 4, "subscription_items": 4, "invoices": 11,
        "invoice_lines": lines, "invoice_payments": payments, "credit_note_lines": 1,
        "credit_note_refunds": 1, "refunds": 2,
    }  # fmt: skip
    for table, count in expected_rows.items():
        assert len(rows(lake, table)) == count, table
        assert sum(r.rows_by_table[table] for r in loads) == count, table
    # one manifest per file content, listing every table the file filled
    manifests = [json.loads(p.read_text()) for p in (lake / "_manifests" / "stripe").glob("*.json")]
    [invoices_manifest] = [m for m in manifests if m["source_file"] == "invoices.jsonl"]
    assert {f.split("/")[1] for f in invoices_manifest["lake_files"]} == {
        "invoices",
        "invoice_lines",
        "invoice_payments",
    }


def test_positions_are_the_line_or_the_index_in_the_page(tmp_path):
    landing, lake = land(tmp_path, *FILES)
    load_stripe(landing, lake)
    customers = rows(lake, "customers", "_source_file, _source_row, customer_id")
    assert customers == [
        ("customers-page-1.json", 1, "cus_TfA1uSd9Kx2LmN"),
        ("customers-page-1.json", 2, "cus_TfB7eUr4Qw8ZpR"),
        ("customers-page-2.json", 1, "cus_TfC3gBp6Hy1VtS"),
        ("customers-page-2.json", 2, "cus_TfD5uNc2Jr7WxQ"),
    ]
    jsonl = [
        json.loads(line)["id"] for line in (FIXTURES / "invoices.jsonl").read_text().splitlines()
    ]
    loaded = rows(lake, "invoices", "_source_row, invoice_id, _source_file")
    assert [(n, i) for n, i, f in loaded if f == "invoices.jsonl"] == [
        (n, i) for n, i in enumerate(jsonl, start=1)
    ]


def test_both_api_shapes_fill_the_same_columns(tmp_path):
    landing, lake = land(tmp_path, *FILES)
    load_stripe(landing, lake)
    lines = {
        r[0]: r[1:]
        for r in rows(
            lake,
            "invoice_lines",
            "line_id, currency, amount, discount_amount, inclusive_tax_amount, "
            "exclusive_tax_amount, price_id, product_id, is_proration, subscription_id, "
            "strftime(period_start, '%Y-%m-%d'), strftime(period_end, '%Y-%m-%d')",
        )
    }
    # 2024-06-20 shape (price, proration, tax_amounts on the line)
    assert lines["il_1SfInitech000000000000d1"] == (
        "USD", 4900, 0, 0, 0, "price_1SfStarterUsd004900", "prod_TfStarter0001", "false",
        "sub_1SfInitech00000001", "2025-12-01", "2026-01-01",
    )  # fmt: skip
    # current shape: pricing.price_details, parent.*_details.proration, taxes
    assert lines["il_1ShAcme00000000000000p1"][1:9] == (
        -2529, 0, 0, 0, "price_1SfStarterUsd004900", "prod_TfStarter0001", "true",
        "sub_1SfAcme00000000001",
    )  # fmt: skip
    # the 20 % coupon is in pretax_credit_amounts and discount_amounts: counted once
    assert lines["il_1SgAcme00000000000000a2"][2] == 980
    # GBP tax is inclusive (inside amount), EUR VAT exclusive (outside it)
    assert lines["il_1SgUmbrella00000000000c1"][1:5] == (3600, 0, 600, 0)
    assert lines["il_1SfGlobex000000000000b1"][1:5] == (15500, 0, 0, 2945)
    payments = rows(lake, "invoice_payments", "invoice_id, payment_intent_id, charge_id")
    assert ("in_1SfInitech0000000000001", "pi_3SfInitech000000000000001",
            "ch_3SfInitech000000000000001") in payments  # fmt: skip
    assert ("in_1ShUmbrella000000000002", "pi_3ShUmbrella0000000000002", None) in payments
    assert "in_1SiUmbrella000000000003" not in {p[0] for p in payments}
    customers = rows(
        lake, "customers",
        "customer_id, llm_margin_customer_id, utm_source, utm_medium, utm_campaign, currency",
    )  # fmt: skip
    assert ("cus_TfC3gBp6Hy1VtS", None, None, None, None, "GBP") in customers
    assert ("cus_TfB7eUr4Qw8ZpR", "cust_globex", "newsletter", "email", None, "EUR") in customers
    assert rows(lake, "credit_note_refunds", "credit_note_id, refund_id, amount_refunded") == [
        ("cn_1SgGlobex00000000000001", "re_3SgGlobex0000000000000CN1", 3689)
    ]


def test_gzip_and_a_list_page_on_one_line_load_the_same_objects(tmp_path):
    landing, lake = land(tmp_path)
    with gzip.open(landing / "invoices.jsonl.gz", "wb") as handle:
        handle.write((FIXTURES / "invoices.jsonl").read_bytes())
    pages = [json.loads((FIXTURES / f"customers-page-{n}.json").read_text()) for n in (1, 2)]
    (landing / "customers.ndjson").write_text("".join(json.dumps(p) + "\n" for p in pages))
    loads = {r.source_file: r for r in load_stripe(landing, lake)}
    assert loads["invoices.jsonl.gz"].rows_by_table["invoice_lines"] == 10
    assert loads["customers.ndjson"].rows_loaded == 4
    # objects of the page on line 2 carry line 2
    assert rows(lake, "customers", "_source_row, customer_id") == [
        (1, "cus_TfA1uSd9Kx2LmN"),
        (1, "cus_TfB7eUr4Qw8ZpR"),
        (2, "cus_TfC3gBp6Hy1VtS"),
        (2, "cus_TfD5uNc2Jr7WxQ"),
    ]


def test_loading_again_changes_nothing(tmp_path):
    landing, lake = land(tmp_path, *FILES, *sorted(MALFORMED.iterdir()))
    load_stripe(landing, lake)
    before = lake_files(lake)
    assert {r.status for r in load_stripe(landing, lake)} == {"already_loaded"}
    assert lake_files(lake) == before
    shutil.copy(FIXTURES / "invoices.jsonl", landing / "invoices-again.jsonl")
    assert {r.status for r in load_stripe(landing, lake)} == {"already_loaded"}
    assert lake_files(lake) == before


# EXPECTED.md "Malformed input": (file, position, code, field) of each quarantined object
MALFORMED_EXPECTED = {
    "invoices-truncated.jsonl": [("invoices-truncated.jsonl", 2, "unknown", "bad_json", None)],
    "customers-truncated.json": [("customers-truncated.json", 0, "unknown", "bad_json", None)],
    "invoices-bad.jsonl": [
        ("invoices-bad.jsonl", 2, "invoice", "missing_required", "customer"),
        ("invoices-bad.jsonl", 3, "invoice", "not_smallest_unit", "lines.data[].amount"),
        ("invoices-bad.jsonl", 4, "invoice", "unknown_currency", "currency"),
        ("invoices-bad.jsonl", 5, "invoice", "lines_incomplete", "lines"),
        ("invoices-bad.jsonl", 6, "invoice", "wrong_type", "lines.data[].amount"),
    ],
}


@pytest.mark.parametrize("name", sorted(MALFORMED_EXPECTED))
def test_malformed_objects_are_quarantined_whole_with_file_position_and_reason(tmp_path, name):
    landing, lake = land(tmp_path, MALFORMED / name)
    [load] = load_stripe(landing, lake)
    assert load.status == "loaded"
    found = quarantine(lake)
    assert [row[:5] for row in found] == MALFORMED_EXPECTED[name]
    if name == "customers-truncated.json":
        # one record for the whole file, and nothing of it loads
        assert (load.rows_read, load.rows_loaded) == (1, 0)
        assert rows(lake, "customers") == []
    else:
        # the good first line loads: in_…1, its one-off 1500-cent line
        assert rows(lake, "invoices", "invoice_id, _source_row") == [
            ("in_1SgMalformed00000000001", 1)
        ]
        assert rows(lake, "invoice_lines", "invoice_id, amount") == [
            ("in_1SgMalformed00000000001", 1500)
        ]
    before = lake_files(lake)
    [again] = load_stripe(landing, lake)
    assert again.status == "already_loaded" and lake_files(lake) == before


def test_messages_name_the_path_and_the_value(tmp_path):
    landing, lake = land(tmp_path, MALFORMED / "invoices-bad.jsonl")
    load_stripe(landing, lake)
    messages = {row[1]: row[5] for row in quarantine(lake)}
    assert (
        messages[3] == "lines.data[0].amount is not an integer in the smallest currency unit: 15.5"
    )
    assert (
        messages[6].startswith("lines.data[0].amount is not an integer") and '"1500"' in messages[6]
    )
    assert '"zzz"' in messages[4]
    assert "has_more is true" in messages[5] and "14" in messages[5]


def test_other_objects_and_non_objects_are_quarantined(tmp_path):
    landing, lake = land(tmp_path)
    charge = {"id": "ch_1", "object": "charge", "amount": 100, "currency": "usd"}
    refund = {"id": "re_1", "object": "refund", "amount": 100, "currency": "usd",
              "status": "succeeded", "charge": None, "payment_intent": None}  # fmt: skip
    price = {"id": "price_x", "object": "price", "currency": "usd", "unit_amount": 49.99}
    (landing / "mixed.jsonl").write_text(
        "\n".join([json.dumps(charge), "[1, 2]", "", json.dumps(refund), json.dumps(price)]) + "\n"
    )
    [load] = load_stripe(landing, lake)
    assert [row[1:5] for row in quarantine(lake)] == [
        (1, "charge", "unknown_object", "object"),
        (2, "unknown", "not_an_object", None),
        (3, "unknown", "empty_record", None),
        (4, "refund", "missing_required", "payment_intent"),
        (5, "price", "not_smallest_unit", "unit_amount"),
    ]
    assert load.rows_loaded == 0


def test_the_dagster_asset_loads_the_folder_and_warns_on_quarantine(tmp_path):
    paths = DataPaths(tmp_path / "data").ensure()
    for path in (*FILES, MALFORMED / "invoices-bad.jsonl"):
        shutil.copy(path, paths.landing_for("stripe") / path.name)
    result = materialize(
        [ingest_stripe], resources={"settings": Settings(data_dir=str(paths.root))}
    )
    assert result.success
    metadata = {
        m.asset_key: m.metadata for m in result.get_asset_materialization_events()
        for m in [m.event_specific_data.materialization]
    }  # fmt: skip
    # 13 lines of the fixtures + the good line of invoices-bad.jsonl
    assert metadata[LAKE_STRIPE["invoice_lines"]]["rows_loaded"].value == 14
    assert metadata[LAKE_STRIPE["invoice_lines"]]["files_loaded"].value == 3
    assert metadata[LAKE_STRIPE["customers"]]["rows_loaded"].value == 4
    assert metadata[LAKE_STRIPE_QUARANTINE]["rows_quarantined"].value == 5
    [check] = result.get_asset_check_evaluations()
    assert (check.check_name, check.passed) == ("every_stripe_file_loaded", False)
    assert any(
        "invoices-bad.jsonl: 5 rows quarantined" in p for p in check.metadata["problems"].value
    )


def test_stripe_assets_are_in_the_definitions_with_lineage_to_staging(data_dir):
    from dagster import AssetKey

    from orchestration.definitions import defs
    from orchestration.paths import LANDING_SOURCES

    assert "stripe" in LANDING_SOURCES
    graph = defs.resolve_asset_graph()
    landing = AssetKey(["landing", "stripe"])
    for key in (*LAKE_STRIPE.values(), LAKE_STRIPE_QUARANTINE):
        assert landing in graph.get(key).parent_keys
    revenue = AssetKey(["staging", "stg_stripe__revenue_lines"])
    assert AssetKey(["staging", "base_stripe__invoice_lines"]) in graph.get(revenue).parent_keys
    assert (
        LAKE_STRIPE["invoice_lines"]
        in graph.get(AssetKey(["staging", "base_stripe__invoice_lines"])).parent_keys
    )
    checks = {(key.asset_key, key.name) for key in graph.asset_check_keys}
    assert (LAKE_STRIPE_QUARANTINE, "every_stripe_file_loaded") in checks
    assert (LAKE_STRIPE["invoices"], "source_freshness") in checks


def test_the_landing_sensor_sees_stripe_files(data_dir):
    from orchestration.sensors.landing import landing_state

    shutil.copy(FIXTURES / "invoices.jsonl", data_dir.landing_for("stripe") / "invoices.jsonl")
    files, settling = landing_state(data_dir.landing, now=4_000_000_000)
    assert "stripe/invoices.jsonl" in files and settling == 0
