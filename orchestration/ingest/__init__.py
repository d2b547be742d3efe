"""Ingestion: landing files → validated raw lake (Parquet) + quarantine, idempotent per file content."""

from dagster import Definitions


def definitions() -> Definitions:
    """The landing and lake assets of every source on the one ingestion path."""
    from orchestration.ingest.assets import ingest_usage_events, landing_usage_events
    from orchestration.ingest.billing_assets import ingest_billing, landing_billing
    from orchestration.ingest.fx_assets import ingest_fx, landing_fx
    from orchestration.ingest.provider_invoice_assets import (
        ingest_provider_invoices,
        landing_provider_invoices,
    )
    from orchestration.ingest.provider_report_assets import (
        ingest_provider_reports,
        landing_provider_reports,
    )
    from orchestration.ingest.source_assets import landing_otel, litellm_spend_logs, otel_spans
    from orchestration.ingest.stripe_assets import ingest_stripe, landing_stripe

    return Definitions(
        assets=[
            landing_usage_events,
            landing_otel,
            otel_spans,
            litellm_spend_logs,
            ingest_usage_events,
            landing_billing,
            ingest_billing,
            landing_provider_invoices,
            ingest_provider_invoices,
            landing_fx,
            ingest_fx,
            landing_stripe,
            ingest_stripe,
            landing_provider_reports,
            ingest_provider_reports,
        ]
    )
