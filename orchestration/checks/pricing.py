"""Pricing checks on the marts: unpriced usage is surfaced, restatements are reported."""

from dagster import AssetCheckResult, AssetCheckSeverity, MetadataValue, asset_check

from orchestration.checks.warehouse import WAREHOUSE_POOL, warehouse_rows
from orchestration.data_lock import writer_step
from orchestration.dbt.assets import model_key

UNPRICED_USAGE = model_key("mart_unpriced_usage")
PRICE_RESTATEMENTS = model_key("mart_price_restatements")


@asset_check(
    pool=WAREHOUSE_POOL,
    asset=UNPRICED_USAGE,
    description="Warns when any call has no price, naming the top missing models.",
)
@writer_step
def no_unpriced_usage() -> AssetCheckResult:
    rows = warehouse_rows(
        "select provider, model, unpriced_reason, calls, prompt_tokens + completion_tokens "
        "from marts.mart_unpriced_usage order by calls desc, provider, model"
    )
    top = [
        f"{p}/{m} ({reason}): {calls} calls, {tokens} tokens"
        for p, m, reason, calls, tokens in rows[:10]
    ]
    return AssetCheckResult(
        passed=not rows,
        severity=AssetCheckSeverity.WARN,
        metadata={
            "unpriced_models": len(rows),
            "unpriced_calls": sum(r[3] for r in rows),
            "top_missing_models": MetadataValue.json(top),
        },
    )


@asset_check(
    pool=WAREHOUSE_POOL,
    asset=PRICE_RESTATEMENTS,
    description="Reports the cost of past calls restated by the last pricing file (before, after, delta).",
)
@writer_step
def restatements_reported() -> AssetCheckResult:
    rows = warehouse_rows(
        "select customer_id, cast(month as varchar), calls_restated, cost_before_usd, cost_after_usd, delta_usd "
        "from marts.mart_price_restatements order by abs(delta_usd) desc, customer_id, month"
    )
    table = ["| customer | month | calls | before | after | delta |", "|---|---|---|---|---|---|"]
    table += [f"| {c} | {m[:7]} | {n} | {b} | {a} | {d} |" for c, m, n, b, a, d in rows[:50]]
    total = sum((r[5] for r in rows), 0)
    return AssetCheckResult(
        passed=not rows,
        severity=AssetCheckSeverity.WARN,
        metadata={
            "customer_months_restated": len(rows),
            "total_delta_usd": float(total),
            "restatements": MetadataValue.md("\n".join(table)),
        },
    )
