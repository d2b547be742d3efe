{#
    Every plan, from every billing source: the plans of the latest plans export (an export is a
    full list: the latest one replaces the ones before, which stay in the lake; a plan_id listed
    twice keeps its first row), and the Stripe products (stg_stripe__plans). `source` says which.
#}

with

exports as (
    select * from {{ source('billing', 'plans') }}
),

latest_export as (
    select max(exports._loaded_at) as loaded_at
    from exports
),

rows_ranked as (
    select
        exports.plan_id,
        exports.plan_name,
        exports.price_per_month_usd,
        exports.target_gross_margin_pct,
        exports.included_tasks,
        exports.overage_per_task_usd,
        exports.seats_included,
        exports._source_file as source_file,
        row_number() over (partition by exports.plan_id order by exports._source_row) as row_rank
    from exports
    inner join latest_export
        on exports._loaded_at = latest_export.loaded_at
),

csv_plans as (
    select
        plan_id,
        plan_name,
        price_per_month_usd,
        target_gross_margin_pct,
        included_tasks,
        overage_per_task_usd,
        seats_included,
        source_file,
        'csv' as source
    from rows_ranked
    where row_rank = 1
),

stripe_plans as (
    select
        plan_id,
        plan_name,
        price_per_month_usd,
        target_gross_margin_pct,
        included_tasks,
        overage_per_task_usd,
        seats_included,
        source_file,
        'stripe' as source
    from {{ ref('stg_stripe__plans') }}
),

final as (
    select * from csv_plans
    union all
    select * from stripe_plans
)

select * from final
