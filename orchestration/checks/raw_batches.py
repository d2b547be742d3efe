"""The Great Expectations checks of every raw batch kind (expectations/README.md)."""

from pathlib import Path

from orchestration.checks.gx_suites import gx_check
from orchestration.ingest.assets import LAKE_USAGE_EVENTS
from orchestration.ingest.billing_assets import LAKE_BILLING
from orchestration.ingest.lake import HASH_PREFIX
from orchestration.ingest.provider_invoice_assets import LAKE_PROVIDER_INVOICES
from orchestration.pricing.assets import LAKE_PRICE_RULES


def _usage_event_files(lake: Path, part: str, sha: str) -> list[Path]:
    # one landing file becomes <sha16>-<chunk>-<n>.parquet in every event_date= partition it touches
    return sorted((lake / "usage_events").glob(f"event_date=*/{sha[:HASH_PREFIX]}-*.parquet"))


def _price_rule_files(lake: Path, part: str, sha: str) -> list[Path]:
    return sorted((lake / "prices" / "rules").glob(f"{sha[:HASH_PREFIX]}.parquet"))


def _billing_files(lake: Path, part: str, sha: str) -> list[Path]:
    return sorted((lake / "billing" / part).glob(f"{sha[:HASH_PREFIX]}-*.parquet"))


def _provider_invoice_files(lake: Path, part: str, sha: str) -> list[Path]:
    return sorted((lake / "provider_invoices" / "lines").glob(f"{sha[:HASH_PREFIX]}-*.parquet"))


gx_usage_events = gx_check(
    name="gx_usage_events_batch",
    suite="usage_events",
    part_assets={"all": LAKE_USAGE_EVENTS},
    files_for=_usage_event_files,
)
gx_pricing_exports = gx_check(
    name="gx_pricing_exports_batch",
    suite="pricing_exports",
    part_assets={"all": LAKE_PRICE_RULES},
    files_for=_price_rule_files,
)
gx_billing_exports = gx_check(
    name="gx_billing_exports_batch",
    suite="billing_exports",
    part_assets=dict(LAKE_BILLING),
    files_for=_billing_files,
)
gx_provider_invoices = gx_check(
    name="gx_provider_invoices_batch",
    suite="provider_invoices",
    part_assets={"all": LAKE_PROVIDER_INVOICES},
    files_for=_provider_invoice_files,
)

GX_CHECKS = [gx_usage_events, gx_pricing_exports, gx_billing_exports, gx_provider_invoices]
