"""The source_freshness check: a source that stops arriving warns; one never used does not."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import duckdb
from dagster import AssetKey

from orchestration.checks.freshness import SourceFreshness, evaluate


def _spec() -> SourceFreshness:
    return SourceFreshness(
        "billing.invoices",
        AssetKey(["lake", "billing_invoices"]),
        "billing/invoices",
        "_loaded_at",
        timedelta(days=8),
    )


def _load(data_dir, loaded_at: datetime) -> None:
    folder = data_dir.lake / "billing" / "invoices"
    folder.mkdir(parents=True, exist_ok=True)
    with duckdb.connect() as con:
        con.execute(
            f"copy (select 'in_1' as invoice_id, timestamptz '{loaded_at.isoformat()}' as _loaded_at) "
            f"to '{folder / (loaded_at.strftime('%Y%m%d') + '.parquet')}' (format parquet)"
        )


def test_a_source_that_never_loaded_is_not_in_use_and_passes(data_dir):
    result = evaluate(_spec())
    assert result.passed
    assert "not in use" in result.metadata["newest_load"].value


def test_a_source_that_stopped_arriving_warns_and_a_fresh_one_passes(data_dir):
    now = datetime(2026, 11, 30, 12, tzinfo=UTC)
    _load(data_dir, now - timedelta(days=9))
    stale = evaluate(_spec(), now=now)
    assert not stale.passed
    assert stale.metadata["age_hours"].value == 9 * 24
    _load(data_dir, now - timedelta(days=1))
    assert evaluate(_spec(), now=now).passed
