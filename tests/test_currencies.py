"""Revenue in any currency, reported in USD (docs/currencies.md)."""

from __future__ import annotations

import csv
import os
import subprocess
from decimal import Decimal

from orchestration.dbt.project import dbt_executable
from orchestration.ingest.currencies import SEED, minor_unit_exponents
from orchestration.paths import DATA_DIR_ENV, PROJECT_ROOT


def _dbt_compile(tmp_path, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            dbt_executable(),
            "compile",
            "--project-dir",
            str(PROJECT_ROOT),
            "--profiles-dir",
            str(PROJECT_ROOT),
            "--target-path",
            str(tmp_path / "target"),
            "--select",
            "int_fx__revenue_rates",
        ],
        env={**os.environ, DATA_DIR_ENV: str(tmp_path / "data"), **env},
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )


def test_a_reporting_currency_other_than_usd_stops_the_build_and_says_why(tmp_path):
    (tmp_path / "data").mkdir()
    refused = _dbt_compile(tmp_path, LLM_MARGIN_REPORTING_CURRENCY="eur")
    assert refused.returncode != 0
    assert "LLM_MARGIN_REPORTING_CURRENCY is EUR, but only USD can be reported" in refused.stdout

    accepted = _dbt_compile(tmp_path, LLM_MARGIN_REPORTING_CURRENCY="usd")
    assert accepted.returncode == 0, accepted.stdout
    compiled = next((tmp_path / "target").rglob("int_fx__revenue_rates.sql")).read_text()
    assert "where rates.currency = 'USD'" in compiled


def test_the_currencies_seed_knows_the_units_stripe_documents():
    # Stripe's zero-decimal and three-decimal currencies (docs: "Supported currencies").
    exponents = minor_unit_exponents()
    assert {exponents[c] for c in ("JPY", "KRW", "VND", "CLP", "XOF")} == {0}
    assert {exponents[c] for c in ("BHD", "JOD", "KWD", "OMR", "TND")} == {3}
    assert exponents["USD"] == exponents["EUR"] == exponents["GBP"] == 2
    with SEED.open(newline="") as handle:
        codes = [row["currency"] for row in csv.DictReader(handle)]
    assert len(codes) == len(set(codes))
    assert all(len(code) == 3 and code.isupper() for code in codes)


# --- EXPECTED.md "In the reporting currency (USD)", end to end on the Stripe and ECB fixtures ---

FIXTURES = PROJECT_ROOT / "tests" / "fixtures"
STRIPE_FILES = sorted(
    p for p in (FIXTURES / "stripe").iterdir() if p.is_file() and p.suffix in (".json", ".jsonl")
)
UMBRELLA = "cus_TfC3gBp6Hy1VtS"


def _build_revenue(root, rates_file: str):
    import shutil

    from orchestration.ingest.billing import BILLING, load_billing
    from orchestration.ingest.fx import load_fx
    from orchestration.ingest.stripe import load_stripe
    from orchestration.ingest.table_exports import ensure_table_lake
    from orchestration.paths import DataPaths

    paths = DataPaths(root).ensure()
    for path in STRIPE_FILES:
        shutil.copy(path, paths.landing_for("stripe") / path.name)
    shutil.copy(FIXTURES / "fx" / rates_file, paths.landing_for("fx") / rates_file)
    load_stripe(paths.landing_for("stripe"), paths.lake)
    load_fx(paths.landing_for("fx"), paths.lake)
    load_billing(paths.landing_for("billing"), paths.lake)
    ensure_table_lake(paths.lake, BILLING)
    result = subprocess.run(
        [dbt_executable(), "build", "--select", "+int_customer_monthly_revenue",
         "--exclude", "test_type:unit", "--indirect-selection", "cautious",
         "--project-dir", str(PROJECT_ROOT),
         "--profiles-dir", str(PROJECT_ROOT), "--target", "duckdb",
         "--target-path", str(root.parent / "target"), "--log-path", str(root.parent / "logs")],
        env={**os.environ, DATA_DIR_ENV: str(root)},
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    import duckdb

    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        rows = con.execute(
            "select customer_id, strftime(month, '%Y-%m'), billing_currency, revenue_usd, "
            "uncollectible_usd, unconverted_reason from intermediate.int_customer_monthly_revenue"
        ).fetchall()
    return {(customer, month): row for customer, month, *row in rows}


def _usd_per_gbp_on(day: str) -> Decimal:
    """From the fixture rates file read with the csv module: USD per GBP on ``day``."""
    with (FIXTURES / "fx" / "eurofxref-hist.csv").open(newline="") as handle:
        row = next(r for r in csv.DictReader(handle) if r["Date"] == day)
    return Decimal(row["USD"]) / Decimal(row["GBP"])


def _close(value, expected: str) -> bool:
    return value is not None and abs(value - Decimal(expected)) < Decimal("0.000001")


def test_a_eur_invoice_becomes_usd_at_the_rate_of_each_parts_service_date(tmp_path):
    months = _build_revenue(tmp_path / "data", "eurofxref-hist.csv")

    # cust_globex (EUR): 85.00 x 1.174; 70.00 x 1.176 + 85.00 x 1.173 - 17.00 x 1.173; 70 x 1.188 - 14 x 1.188
    assert months[("cust_globex", "2025-12")][0] == "EUR"
    assert _close(months[("cust_globex", "2025-12")][1], "99.79")
    assert _close(months[("cust_globex", "2026-01")][1], "162.084")  # not 138.00 x one rate
    assert _close(months[("cust_globex", "2026-02")][1], "66.528")
    # Umbrella (GBP), the cross rate through the euro: 30 x 1.176 / 0.875; (30 - 10) x 1.188 / 0.864
    assert _close(months[(UMBRELLA, "2026-01")][1], "40.32")
    assert _close(months[(UMBRELLA, "2026-02")][1], "27.50")
    # its open March invoice (GBP 30.00, served from Sunday 2026-03-01): Friday 2026-02-27's rate
    march = months[(UMBRELLA, "2026-03")][1]
    assert march is not None and abs(march - 30 * _usd_per_gbp_on("2026-02-27")) < Decimal(
        "0.000001"
    )
    # USD needs no rate; uncollectible is apart and not revenue
    assert _close(months[("cust_acme", "2026-01")][1], "116.62")
    assert _close(months[("cust_initech", "2026-01")][1], "0")
    assert _close(months[("cust_initech", "2026-01")][2], "49.00")
    assert all(row[3] is None for row in months.values())


def test_a_month_with_a_part_that_has_no_rate_is_unconverted_with_the_reason(tmp_path):
    months = _build_revenue(tmp_path / "data", "eurofxref-hist-from-2026-01-02.csv")

    december = months[("cust_globex", "2025-12")]
    assert december[1] is None  # never 0, never 85.00
    assert december[3] == "no ECB rate for EUR and USD on or before 2025-12-15"
    # January: one part (served from 2026-01-01) has no rate; the others would convert, but the
    # month is not shown as their sum
    assert months[("cust_globex", "2026-01")][1] is None
    assert (
        months[("cust_globex", "2026-01")][3]
        == "no ECB rate for EUR and USD on or before 2026-01-01"
    )
    assert _close(months[("cust_globex", "2026-02")][1], "66.528")
    assert months[(UMBRELLA, "2026-01")][1] is None
    assert _close(months[(UMBRELLA, "2026-02")][1], "27.50")
    assert _close(months[("cust_acme", "2025-12")][1], "49.00")  # USD converts without any rate
