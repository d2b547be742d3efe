"""Provider invoice reconciliation: warn on every provider month outside the tolerance."""

from dagster import AssetCheckResult, AssetCheckSeverity, MetadataValue, asset_check

from orchestration.checks.warehouse import WAREHOUSE_POOL, warehouse_rows
from orchestration.dbt.assets import model_key

PROVIDER_RECONCILIATION = model_key("mart_provider_reconciliation")


@asset_check(
    pool=WAREHOUSE_POOL,
    asset=PROVIDER_RECONCILIATION,
    description=(
        "Warns when what a provider billed for a month differs from our computed cost by more than "
        "the tolerance (dbt var provider_reconciliation_tolerance_pct or "
        "$LLM_MARGIN_RECONCILIATION_TOLERANCE_PCT, default 1%), naming the likely cause."
    ),
)
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
