{#
    Each provider's day in one row: the sum of mart_provider_daily_reconciliation over its models,
    whether the day's gap is inside the tolerance (on cost: |gap| <= max(t x computed,
    min_gap_usd)), and the model with the largest gap and its likely cause. The warn check
    `provider_yesterday_reconciles` and the founder report read it.
#}

with

rows_by_model as (
    select * from {{ ref('mart_provider_daily_reconciliation') }}
),

largest as (
    select
        rows_by_model.provider,
        rows_by_model.usage_date,
        rows_by_model.model,
        rows_by_model.gap_usd,
        rows_by_model.likely_cause,
        row_number() over (
            partition by rows_by_model.provider, rows_by_model.usage_date
            order by abs(cast(coalesce(rows_by_model.gap_usd, 0) as double)) desc, rows_by_model.model
        ) as gap_rank
    from rows_by_model
),

days as (
    select
        rows_by_model.provider,
        rows_by_model.usage_date,
        cast(count(*) as bigint) as models,
        cast(sum(rows_by_model.our_calls) as bigint) as our_calls,
        cast(sum(rows_by_model.computed_cost_usd) as decimal(24, 12)) as computed_cost_usd,
        cast(sum(rows_by_model.provider_cost_usd) as decimal(24, 12)) as provider_cost_usd,
        min(case when rows_by_model.is_reported then 1 else 0 end) = 1 as is_reported,
        max(rows_by_model.tolerance_pct) as tolerance_pct,
        max(rows_by_model.min_gap_usd) as min_gap_usd,
        cast(sum(case when rows_by_model.is_within_tolerance then 0 else 1 end) as bigint)
            as models_outside_tolerance
    from rows_by_model
    group by rows_by_model.provider, rows_by_model.usage_date
),

final as (
    select
        concat(days.provider, ':', cast(days.usage_date as string)) as provider_day_id,
        days.provider,
        days.usage_date,
        days.models,
        days.our_calls,
        days.computed_cost_usd,
        case when days.is_reported then days.provider_cost_usd end as provider_cost_usd,
        case when days.is_reported
            then cast(days.provider_cost_usd - days.computed_cost_usd as decimal(24, 12))
        end as gap_usd,
        case
            when days.is_reported and days.computed_cost_usd <> 0
                then cast(days.provider_cost_usd - days.computed_cost_usd as double)
                / cast(days.computed_cost_usd as double) * 100
        end as gap_pct,
        days.tolerance_pct,
        days.is_reported,
        case
            when days.is_reported
                then abs(cast(days.provider_cost_usd - days.computed_cost_usd as double)) <= greatest(
                    days.tolerance_pct / 100 * cast(days.computed_cost_usd as double), days.min_gap_usd
                )
        end as is_within_tolerance,
        days.models_outside_tolerance,
        largest.model as largest_gap_model,
        largest.gap_usd as largest_gap_usd,
        largest.likely_cause as largest_gap_cause
    from days
    inner join largest
        on days.provider = largest.provider
        and days.usage_date = largest.usage_date
        and largest.gap_rank = 1
)

select * from final
