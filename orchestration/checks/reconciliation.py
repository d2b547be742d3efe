"""Provider reconciliation: warn on every provider month outside the tolerance (invoices), and
on every provider whose own report for yesterday is (reports)."""

from datetime import timedelta

from dagster import AssetCheckResult, AssetCheckSeverity, MetadataValue, asset_check

from orchestration.checks.warehouse import WAREHOUSE_POOL, warehouse_rows
from orchestration.data_lock import writer_step
from orchestration.dbt.assets import model_key
from orchestration.settings import as_of_date

PROVIDER_RECONCILIATION = model_key("mart_provider_reconciliation")
PROVIDER_DAILY_GAPS = model_key("mart_provider_daily_gaps")


@asset_check(
    pool=WAREHOUSE_POOL,
    asset=PROVIDER_RECONCILIATION,
    description=(
        "Warns when what a provider billed for a month differs from our computed cost by more than "
        "the tolerance (dbt var provider_reconciliation_tolerance_pct or "
        "$LLM_MARGIN_RECONCILIATION_TOLERANCE_PCT, default 1%), naming the likely cause."
    ),
)
@writer_step
def provider_costs_reconcile() -> AssetCheckResult:
    rows = warehouse_rows(
        "select provider, strftime(month, '%Y-%m'), computed_cost_usd, billed_usd, difference_usd, "
        "difference_pct, likely_cause, tolerance_pct from marts.mart_provider_reconciliation "
        "where is_within_tolerance = false order by abs(difference_usd) desc, provider, month"
    )
    table = [
        "| provider | month | computed | billed | difference | % | likely cause |",
        "|---|---|---|---|---|---|---|",
    ]
    table += [
        f"| {p} | {m} | {float(c):.2f} | {float(b):.2f} | {float(d):+.2f} | "
        f"{'' if pct is None else f'{pct:+.2f}'} | {cause} |"
        for p, m, c, b, d, pct, cause, _ in rows[:50]
    ]
    return AssetCheckResult(
        passed=not rows,
        severity=AssetCheckSeverity.WARN,
        metadata={
            "provider_months_outside_tolerance": len(rows),
            "tolerance_pct": float(rows[0][7]) if rows else None,
            "causes": MetadataValue.json(sorted({r[6] for r in rows})),
            "differences": MetadataValue.md("\n".join(table)),
        },
    )


@asset_check(
    pool=WAREHOUSE_POOL,
    asset=PROVIDER_DAILY_GAPS,
    description=(
        "Warns when a provider's own usage and cost reports for yesterday (the day before "
        "$LLM_MARGIN_AS_OF_DATE, else before the day after the latest call) differ from our "
        "computed cost by more than the tolerance (default 1%, at least $0.01), or when a provider "
        "with calls yesterday has no report for it; names the model with the largest gap and its "
        "likely cause."
    ),
)
@writer_step
def provider_yesterday_reconciles() -> AssetCheckResult:
    yesterday = as_of_date(warehouse_rows) - timedelta(days=1)
    rows = warehouse_rows(
        "select provider, computed_cost_usd, provider_cost_usd, gap_usd, gap_pct, is_reported, "
        "largest_gap_model, largest_gap_cause, tolerance_pct from marts.mart_provider_daily_gaps "
        f"where usage_date = date '{yesterday.isoformat()}' "
        "and (is_within_tolerance = false or (not is_reported and our_calls > 0)) "
        "order by abs(coalesce(gap_usd, computed_cost_usd)) desc, provider"
    )
    table = [
        "| provider | day | computed | provider | gap | % | largest gap (model, cause) |",
        "|---|---|---|---|---|---|---|",
    ]
    table += [
        f"| {p} | {yesterday} | {float(c):.2f} | "
        + (
            f"{float(r):.2f} | {float(g):+.2f} | {'' if pct is None else f'{pct:+.2f}'} | "
            f"{model}, {cause} |"
            if reported
            else "not reported | | | |"
        )
        for p, c, r, g, pct, reported, model, cause, _ in rows
    ]
    return AssetCheckResult(
        passed=not rows,
        severity=AssetCheckSeverity.WARN,
        metadata={
            "day": str(yesterday),
            "providers_outside_tolerance": MetadataValue.json([r[0] for r in rows]),
            "tolerance_pct": float(rows[0][8]) if rows else None,
            "gaps": MetadataValue.md("\n".join(table)),
        },
    )
