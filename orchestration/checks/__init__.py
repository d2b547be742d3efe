"""Asset checks that read the warehouse after dbt has built it."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the package holds gx_validation, which the GX worker imports without Dagster
    from dagster import Definitions


def definitions() -> Definitions:
    """Great Expectations on each raw batch, freshness, pricing, reconciliation,
    alert and serving-copy checks."""
    from dagster import Definitions

    from orchestration.checks.alerts import alerts_agree_with_their_thresholds
    from orchestration.checks.freshness import lake_source_freshness
    from orchestration.checks.pricing import no_unpriced_usage, restatements_reported
    from orchestration.checks.raw_batches import GX_CHECKS
    from orchestration.checks.reconciliation import (
        provider_costs_reconcile,
        provider_yesterday_reconciles,
    )
    from orchestration.checks.serving import serving_copy_matches_warehouse

    return Definitions(
        asset_checks=[
            no_unpriced_usage,
            restatements_reported,
            provider_costs_reconcile,
            provider_yesterday_reconciles,
            *GX_CHECKS,
            lake_source_freshness,
            alerts_agree_with_their_thresholds,
            serving_copy_matches_warehouse,
        ]
    )
