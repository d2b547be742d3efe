"""Stripe revenue end to end through dbt on the fixtures: landing/stripe → lake → staging.

Every expected amount is typed in from tests/fixtures/stripe/EXPECTED.md (worked by hand) or
computed here from the fixture JSON with Python, never read from the models. Decision for issue
15: open invoices earn revenue too (EXPECTED.md's rule 1 lists them apart, "for information"), so
the open amounts are asserted explicitly with their status; uncollectible ones are carried with
their status and earn nothing downstream.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections import defaultdict
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from orchestration.dbt.project import dbt_executable
from orchestration.ingest.billing import BILLING, load_billing
from orchestration.ingest.stripe import load_stripe
from orchestration.ingest.table_exports import ensure_table_lake
from orchestration.paths import DATA_DIR_ENV, PROJECT_ROOT, DataPaths

FIXTURES = Path(__file__).parent / "fixtures" / "stripe"
FILES = sorted(p for p in FIXTURES.iterdir() if p.is_file() and p.suffix in (".json", ".jsonl"))
UMBRELLA = "cus_TfC3gBp6Hy1VtS"
SELECT = [
    "+stg_billing__revenue_lines",
    "+stg_billing__customers",
    "+stg_billing__plans",
    "quarantined_stripe_objects",
]


def build(paths: DataPaths, target: Path) -> None:
    load_stripe(paths.landing_for("stripe"), paths.lake)
    load_billing(paths.landing_for("billing"), paths.lake)
    ensure_table_lake(paths.lake, BILLING)
    result = subprocess.run(
        [dbt_executable(), "build", "--select", *SELECT, "--indirect-selection", "cautious",
         "--project-dir", str(PROJECT_ROOT), "--profiles-dir", str(PROJECT_ROOT),
         "--target", "duckdb", "--target-path", str(target), "--log-path", str(target / "logs")],
        env={**os.environ, DATA_DIR_ENV: str(paths.root)},
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]


def query(paths: DataPaths, sql: str) -> list[tuple]:
    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        return con.execute(sql).fetchall()


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory) -> DataPaths:
    root = tmp_path_factory.mktemp("stripe") / "data"
    paths = DataPaths(root).ensure()
    for path in FILES:
        shutil.copy(path, paths.landing_for("stripe") / path.name)
    build(paths, root.parent / "target")
    return paths


def d(text: str) -> Decimal:
    return Decimal(text)


# EXPECTED.md "Summary (invoice currency)", plus its open and uncollectible amounts:
# (customer, currency, month, status) → amount
EXPECTED_MONTHS = {
    ("cust_acme", "USD", "2025-12", "paid"): d("49.00"),
    ("cust_acme", "USD", "2026-01", "paid"): d("116.62"),
    ("cust_acme", "USD", "2026-02", "paid"): d("199.00"),
    ("cust_globex", "EUR", "2025-12", "paid"): d("85.00"),
    ("cust_globex", "EUR", "2026-01", "paid"): d("138.00"),
    ("cust_globex", "EUR", "2026-02", "paid"): d("56.00"),
    (UMBRELLA, "GBP", "2026-01", "paid"): d("30.00"),
    (UMBRELLA, "GBP", "2026-02", "paid"): d("20.00"),
    (UMBRELLA, "GBP", "2026-03", "open"): d("30.00"),  # in_1SiUmbrella…3, billed, not yet paid
    ("cust_initech", "USD", "2025-12", "paid"): d("49.00"),
    ("cust_initech", "USD", "2026-01", "uncollectible"): d("49.00"),
    # in_1ShInitech…3 (2026-02) is void: no part at all
}


def test_revenue_per_customer_month_and_status_is_expected_md(warehouse):
    got = {
        (c, cur, m, s): Decimal(a)
        for c, cur, m, s, a in query(
            warehouse,
            "select customer_id, currency, strftime(service_month, '%Y-%m'), status, sum(amount) "
            "from staging.stg_billing__revenue_lines where source = 'stripe' group by all",
        )
    }
    assert got == EXPECTED_MONTHS
    assert query(
        warehouse,
        "select count(*) from staging.stg_billing__revenue_lines "
        "where document_id = 'in_1ShInitech0000000000003'",
    ) == [(0,)]


def test_parts_carry_the_service_dates_of_expected_md(warehouse):
    parts = query(
        warehouse,
        "select document_id, line_id, kind, service_month, service_date, amount "
        "from staging.stg_billing__revenue_lines where customer_id in ('cust_globex', "
        f"'{UMBRELLA}') order by service_date, document_id",
    )
    # EXPECTED.md "In the reporting currency": each part and its service date
    assert [(p[0], p[1], p[2], p[3], p[4], Decimal(p[5])) for p in parts] == [
        ("in_1SfGlobex00000000000001", "il_1SfGlobex000000000000b1", "invoice_line",
         date(2025, 12, 1), date(2025, 12, 15), d("85.00")),
        ("in_1SfGlobex00000000000001", "il_1SfGlobex000000000000b1", "invoice_line",
         date(2026, 1, 1), date(2026, 1, 1), d("70.00")),
        ("in_1SgUmbrella000000000001", "il_1SgUmbrella00000000000c1", "invoice_line",
         date(2026, 1, 1), date(2026, 1, 1), d("30.00")),
        ("cn_1SgGlobex00000000000001", "il_1SgGlobex000000000000b2", "credit_note",
         date(2026, 1, 1), date(2026, 1, 15), d("-17.00")),
        ("in_1SgGlobex00000000000002", "il_1SgGlobex000000000000b2", "invoice_line",
         date(2026, 1, 1), date(2026, 1, 15), d("85.00")),
        ("cn_1SgGlobex00000000000001", "il_1SgGlobex000000000000b2", "credit_note",
         date(2026, 2, 1), date(2026, 2, 1), d("-14.00")),
        ("in_1SgGlobex00000000000002", "il_1SgGlobex000000000000b2", "invoice_line",
         date(2026, 2, 1), date(2026, 2, 1), d("70.00")),
        ("in_1ShUmbrella000000000002", "il_1ShUmbrella00000000000c2", "invoice_line",
         date(2026, 2, 1), date(2026, 2, 1), d("30.00")),
        ("re_3ShUmbrella000000000000R1", "il_1ShUmbrella00000000000c2", "refund",
         date(2026, 2, 1), date(2026, 2, 1), d("-10.00")),
        ("in_1SiUmbrella000000000003", "il_1SiUmbrella00000000000c3", "invoice_line",
         date(2026, 3, 1), date(2026, 3, 1), d("30.00")),
    ]  # fmt: skip
    # the refund the credit note paid out counts once: in the credit note, not as a refund
    assert query(
        warehouse,
        "select count(*) from staging.stg_billing__revenue_lines "
        "where document_id = 're_3SgGlobex0000000000000CN1'",
    ) == [(0,)]


def test_prorations_land_in_the_month_they_serve(warehouse):
    acme = query(
        warehouse,
        "select line_id, plan_id, is_proration, strftime(service_month, '%Y-%m'), amount "
        "from staging.stg_billing__revenue_lines where document_id = 'in_1ShAcme0000000000000003' "
        "order by line_id",
    )
    # billed on the February invoice, the prorations serve 16-31 January
    assert [(a[0], a[1], a[2], a[3], Decimal(a[4])) for a in acme] == [
        ("il_1ShAcme00000000000000a3", "pro", False, "2026-02", d("199.00")),
        ("il_1ShAcme00000000000000p1", "starter", True, "2026-01", d("-25.29")),
        ("il_1ShAcme00000000000000p2", "pro", True, "2026-01", d("102.71")),
    ]


def net_minor_per_invoice() -> dict[str, tuple[str, int]]:
    """Σ (amount − discounts − inclusive tax) of each non-void invoice's lines, from the JSON."""
    out = {}
    for path in FILES:
        docs = (
            [json.loads(line) for line in path.read_text().splitlines()]
            if path.suffix == ".jsonl"
            else [json.loads(path.read_text())]
        )
        for doc in docs:
            for obj in doc["data"] if doc.get("object") == "list" else [doc]:
                if obj["object"] != "invoice" or obj["status"] in ("void", "draft"):
                    continue
                net = 0
                for line in obj["lines"]["data"]:
                    discounts = line.get("pretax_credit_amounts", line.get("discount_amounts"))
                    if "taxes" in line:
                        inclusive = [t for t in line["taxes"] if t["tax_behavior"] == "inclusive"]
                    else:
                        inclusive = [t for t in line["tax_amounts"] if t["inclusive"]]
                    net += line["amount"] - sum(x["amount"] for x in discounts)
                    net -= sum(t["amount"] for t in inclusive)
                out[obj["id"]] = (obj["currency"].upper(), net)
    return out


def test_the_parts_of_each_invoice_sum_exactly_to_its_lines(warehouse):
    sums = {
        doc: (cur, Decimal(total))
        for doc, cur, total in query(
            warehouse,
            "select document_id, currency, sum(amount) from staging.stg_billing__revenue_lines "
            "where kind = 'invoice_line' group by all",
        )
    }
    expected = {
        doc: (cur, Decimal(net) / 100) for doc, (cur, net) in net_minor_per_invoice().items()
    }
    assert sums == expected
    assert len(sums) == 10  # 11 invoices, one void


def test_customers_and_plans_come_from_stripe(warehouse):
    customers = {
        row[0]: row[1:]
        for row in query(
            warehouse,
            "select customer_id, customer_name, plan_id, signed_up_at, utm_source, utm_medium, "
            "utm_campaign, source from staging.stg_billing__customers",
        )
    }

    def created(stripe_id: str) -> datetime:
        for page in ("customers-page-1.json", "customers-page-2.json"):
            for c in json.loads((FIXTURES / page).read_text())["data"]:
                if c["id"] == stripe_id:
                    return datetime.fromtimestamp(c["created"], UTC).replace(tzinfo=None)
        raise KeyError(stripe_id)

    # EXPECTED.md "The customers" and "Current plan"
    assert customers == {
        "cust_acme": ("Acme Robotics Inc.", "pro", created("cus_TfA1uSd9Kx2LmN"),
                      "google", "cpc", "launch-q4", "stripe"),
        "cust_globex": ("Globex GmbH", "pro", created("cus_TfB7eUr4Qw8ZpR"),
                        "newsletter", "email", None, "stripe"),
        UMBRELLA: ("Umbrella Analytics Ltd", "starter", created(UMBRELLA),
                   None, None, None, "stripe"),
        "cust_initech": ("Initech LLC", "starter", created("cus_TfD5uNc2Jr7WxQ"),
                         "partner", "referral", "reseller-2025", "stripe"),
    }  # fmt: skip
    plans = query(
        warehouse,
        "select plan_id, plan_name, price_per_month_usd, target_gross_margin_pct, "
        "included_tasks, source from staging.stg_billing__plans order by plan_id",
    )
    # the USD monthly prices (49.00, 199.00; the EUR and GBP prices are not USD) and the
    # products' metadata
    assert [(p[0], p[1], Decimal(p[2]), Decimal(p[3]), p[4], p[5]) for p in plans] == [
        ("pro", "LLM Margin Pro", d("199"), d("75"), None, "stripe"),
        ("starter", "LLM Margin Starter", d("49"), d("70"), None, "stripe"),
    ]


def test_a_later_snapshot_replaces_the_invoice_and_its_lines_and_csv_stays_beside(tmp_path):
    paths = DataPaths(tmp_path / "data").ensure()
    for path in FILES:
        shutil.copy(path, paths.landing_for("stripe") / path.name)
    # a later pull: the open March invoice is now paid, its line re-priced to 2400 incl. 400 tax
    [line] = [
        json.loads(x)
        for x in (FIXTURES / "invoices.jsonl").read_text().splitlines()
        if json.loads(x)["id"] == "in_1SiUmbrella000000000003"
    ]
    line["status"] = "paid"
    item = line["lines"]["data"][0]
    item["id"] = "il_1SiUmbrella0000000000c3b"
    item["amount"] = 2400
    item["taxes"][0]["amount"] = 400
    line["total"], line["total_excluding_tax"] = 2400, 2000
    load_stripe(paths.landing_for("stripe"), paths.lake)  # the first snapshots load first
    # a second Stripe customer for cust_acme (say, its EU entity), created later: one customer
    acme_eu = {"id": "cus_TfE9acmeEu00001", "object": "customer", "created": 1769900000,
               "currency": "eur", "name": "Acme Robotics EU", "email": None,
               "metadata": {"llm_margin_customer_id": "cust_acme"}}  # fmt: skip
    (paths.landing_for("stripe") / "pull-2026-03-05.jsonl").write_text(
        json.dumps(line) + "\n" + json.dumps(acme_eu) + "\n"
    )
    # a file with bad objects: they stay out, in the audit, and its good line loads
    shutil.copy(FIXTURES / "malformed" / "invoices-bad.jsonl", paths.landing_for("stripe"))
    # and the CSV exports keep working beside Stripe
    billing = paths.landing_for("billing")
    (billing / "plans.csv").write_text(
        "plan_id,plan_name,price_per_month_usd,target_gross_margin_pct\nlegacy,Legacy,29,60\n"
    )
    (billing / "customers.csv").write_text(
        "customer_id,customer_name,plan_id,signed_up_at\n"
        "cust_csv,CSV Co,legacy,2025-10-01T00:00:00Z\n"
    )
    (billing / "invoices.csv").write_text(
        "invoice_id,customer_id,invoice_month,plan_id,amount_usd,status\n"
        "inv-1,cust_csv,2026-01,legacy,29.00,paid\n"
    )
    build(paths, tmp_path / "target")
    umbrella_march = query(
        paths,
        "select document_id, line_id, status, amount from staging.stg_billing__revenue_lines "
        f"where customer_id = '{UMBRELLA}' and service_month = date '2026-03-01'",
    )
    # the later snapshot wins whole: its one line, paid, 2400 − 400 pence; the old line is gone
    assert [(r[0], r[1], r[2], Decimal(r[3])) for r in umbrella_march] == [
        ("in_1SiUmbrella000000000003", "il_1SiUmbrella0000000000c3b", "paid", d("20.00"))
    ]
    by_source = query(
        paths,
        "select source, count(distinct customer_id), sum(amount) filter (where currency = 'USD') "
        "from staging.stg_billing__revenue_lines group by source order by source",
    )
    # EXPECTED.md "Malformed input": the good line of invoices-bad.jsonl is USD 15.00 (cust_acme)
    stripe_usd = sum(a for (_, cur, _, _), a in EXPECTED_MONTHS.items() if cur == "USD") + d("15")
    assert [(s, n, Decimal(a)) for s, n, a in by_source] == [
        ("csv", 1, d("29.00")),
        ("stripe", 4, stripe_usd),
    ]
    assert query(
        paths, "select source, count(*) from staging.stg_billing__customers group by 1 order by 1"
    ) == [("csv", 1), ("stripe", 4)]
    assert query(
        paths,
        "select customer_name from staging.stg_billing__customers where customer_id = 'cust_acme'",
    ) == [("Acme Robotics EU",)]
    assert query(
        paths, "select plan_id, source from staging.stg_billing__plans order by plan_id"
    ) == [("legacy", "csv"), ("pro", "stripe"), ("starter", "stripe")]
    assert query(
        paths,
        "select source_file, source_row, object_kind, error_code, error_field "
        "from audit.quarantined_stripe_objects order by source_row",
    ) == [
        ("invoices-bad.jsonl", 2, "invoice", "missing_required", "customer"),
        ("invoices-bad.jsonl", 3, "invoice", "not_smallest_unit", "lines.data[].amount"),
        ("invoices-bad.jsonl", 4, "invoice", "unknown_currency", "currency"),
        ("invoices-bad.jsonl", 5, "invoice", "lines_incomplete", "lines"),
        ("invoices-bad.jsonl", 6, "invoice", "wrong_type", "lines.data[].amount"),
    ]


def test_the_day_split_and_allocation_unit_tests_ran(warehouse):
    run = json.loads((warehouse.root.parent / "target" / "run_results.json").read_text())
    ran = {r["unique_id"].split(".")[-1]: r["status"] for r in run["results"]}
    assert ran["test_stripe_line_split_by_days_with_cumulative_floors"] == "pass"
    assert ran["test_stripe_refund_and_credit_allocation_over_lines"] == "pass"


def test_currency_totals_per_status_sum_the_lines(warehouse):
    """No part is lost or doubled: per currency and status, the parts sum to the invoice lines'
    nets minus the credit note (EUR 31.00) and the direct refund (GBP 10.00)."""
    nets: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    statuses = {"in_1SiUmbrella000000000003": "open", "in_1SgInitech0000000000002": "uncollectible"}
    for doc, (cur, net) in net_minor_per_invoice().items():
        nets[(cur, statuses.get(doc, "paid"))] += Decimal(net) / 100
    nets[("EUR", "paid")] -= d("31.00")
    nets[("GBP", "paid")] -= d("10.00")
    got = {
        (cur, s): Decimal(a)
        for cur, s, a in query(
            warehouse,
            "select currency, status, sum(amount) from staging.stg_billing__revenue_lines group by all",
        )
    }
    assert got == dict(nets)
