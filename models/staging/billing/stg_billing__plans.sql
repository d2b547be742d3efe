{#
    The plans of the latest plans export (an export is a full list: the latest one replaces the
    ones before, which stay in the lake). A plan_id listed twice keeps its first row.
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

final as (
    select
        plan_id,
        plan_name,
        price_per_month_usd,
        target_gross_margin_pct,
        included_tasks,
        overage_per_task_usd,
        seats_included,
        source_file
    from rows_ranked
    where row_rank = 1
)

select * from final
