"""The one Dagster code location of llm-margin: ingestion assets + dbt assets + checks."""

from __future__ import annotations

import os

from dagster import Definitions

from orchestration.paths import DATA_DIR_ENV, data_dir

# dbt (a subprocess) reads the data directory from the environment: always make it absolute.
os.environ.setdefault(DATA_DIR_ENV, str(data_dir()))

from orchestration.alerts.assets import budget_alerts, gateway_caps_json  # noqa: E402
from orchestration.checks.freshness import lake_source_freshness  # noqa: E402
from orchestration.checks.pricing import no_unpriced_usage, restatements_reported  # noqa: E402
from orchestration.checks.raw_batches import GX_CHECKS  # noqa: E402
from orchestration.checks.reconciliation import provider_costs_reconcile  # noqa: E402
from orchestration.dbt.assets import llm_margin_dbt_assets  # noqa: E402
from orchestration.ingest.assets import ingest_usage_events, landing_usage_events  # noqa: E402
from orchestration.ingest.billing_assets import ingest_billing, landing_billing  # noqa: E402
from orchestration.ingest.provider_invoice_assets import (  # noqa: E402
    ingest_provider_invoices,
    landing_provider_invoices,
)
from orchestration.jobs import (  # noqa: E402
    budget_alerts_job,
    ingest_and_build_job,
    weekly_report_job,
)
from orchestration.pricing.assets import (  # noqa: E402
    lake_model_resolutions,
    lake_price_rules,
    pricing_catalog_export,
)
from orchestration.resources import dbt_resource  # noqa: E402
from orchestration.schedules import hourly_incremental_build, weekly_report  # noqa: E402
from orchestration.sensors.budgets import (  # noqa: E402
    budget_threshold_sensor,
    webhook_outbox_sensor,
)
from orchestration.sensors.landing import landing_sensor  # noqa: E402
from orchestration.serving.assets import serving_copy  # noqa: E402

defs = Definitions(
    assets=[
        landing_usage_events,
        ingest_usage_events,
        landing_billing,
        ingest_billing,
        landing_provider_invoices,
        ingest_provider_invoices,
        pricing_catalog_export,
        lake_price_rules,
        lake_model_resolutions,
        llm_margin_dbt_assets,
        serving_copy,
        budget_alerts,
        gateway_caps_json,
    ],
    asset_checks=[
        no_unpriced_usage,
        restatements_reported,
        provider_costs_reconcile,
        *GX_CHECKS,
        lake_source_freshness,
    ],
    jobs=[ingest_and_build_job, budget_alerts_job, weekly_report_job],
    sensors=[budget_threshold_sensor, webhook_outbox_sensor, landing_sensor],
    schedules=[hourly_incremental_build, weekly_report],
    resources={"dbt": dbt_resource()},
)
