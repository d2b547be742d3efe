"""Margin from Stripe-shaped revenue equals margin from the equivalent CSV exports, to the cent.

The generator plans the revenue once and writes it both ways (``--billing both``: the CSV exports
in one data directory, Stripe objects and ECB rates in a second, everything else identical). Both
are built end to end; every customer month of the margin mart must agree. Slow (two builds)."""

from __future__ import annotations

import contextlib
import io
from decimal import Decimal

import duckdb
import pytest

from orchestration import cli
from orchestration.paths import DATA_DIR_ENV

CENT = Decimal("0.01")
COLUMNS = (
    "customer_id, month, plan_id, billing_currency, revenue_usd, revenue_open_usd, "
    "uncollectible_usd, ai_cost_usd, gross_margin_usd, unconverted_reason"
)


def _build(root) -> list[tuple]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(DATA_DIR_ENV, str(root))
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(printed):
            code = cli.main(["materialize", "--log-level", "WARNING"])
        assert code == 0, printed.getvalue()
    with duckdb.connect(str(root / "warehouse.duckdb"), read_only=True) as con:
        return con.execute(
            f"select {COLUMNS} from marts.mart_customer_monthly_margin order by customer_id, month"
        ).fetchall()


def _cents(rows: list[tuple]) -> list[tuple]:
    return [tuple(v.quantize(CENT) if isinstance(v, Decimal) else v for v in row) for row in rows]


def test_margin_from_stripe_equals_margin_from_csv_to_the_cent(tmp_path, monkeypatch):
    csv_root, stripe_root = tmp_path / "csv", tmp_path / "stripe"
    monkeypatch.setenv(DATA_DIR_ENV, str(csv_root))
    args = ["--events", "2500", "--days", "40", "--customers", "8", "--seed", "7"]
    assert (
        cli.main(
            [
                "generate",
                *args,
                "--billing",
                "both",
                "--stripe-data-dir",
                str(stripe_root),
                "--quiet",
            ]
        )
        == 0
    )
    assert (csv_root / "landing" / "billing").is_dir() and (
        stripe_root / "landing" / "stripe"
    ).is_dir()

    from_csv, from_stripe = _cents(_build(csv_root)), _cents(_build(stripe_root))

    # The revenue really is in several currencies and converted, so the equality means something.
    currencies = {row[3] for row in from_stripe if row[3] is not None}
    assert {"USD", "EUR", "GBP"} <= currencies, currencies
    assert all(row[9] is None for row in from_stripe), "every month converts"
    assert sum(row[4] for row in from_csv) > 0
    assert from_stripe == from_csv
