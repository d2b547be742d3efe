{#
    Per ISO week and original route: how many tasks started there, how many ended on another
    route (fallback rate) and what the fallback attempts cost.
#}

with

tasks as (
    select * from {{ ref('fct_tasks') }}
),

attempts as (
    select * from {{ ref('int_attempts_chained_to_tasks') }}
),

fallback_costs as (
    select
        attempts.task_id,
        cast(sum(attempts.cost_usd) as decimal(24, 12)) as fallback_cost_usd
    from attempts
    where attempts.attempt_kind = 'fallback'
    group by attempts.task_id
),

final as (
    select
        cast({{ dbt.date_trunc('week', 'tasks.task_date') }} as date) as week_start,
        coalesce(tasks.original_route, '(no route)') as original_route,
        cast(count(*) as bigint) as tasks_started,
        cast(sum(case when tasks.is_fallback then 1 else 0 end) as bigint) as tasks_fallen_back,
        cast(sum(case when tasks.is_fallback then 1 else 0 end) as double) / count(*) as fallback_rate,
        cast(sum(tasks.fallback_attempts) as bigint) as fallback_attempts,
        cast(coalesce(sum(fallback_costs.fallback_cost_usd), 0) as decimal(24, 12)) as fallback_cost_usd,
        cast(sum(tasks.total_cost_usd) as decimal(24, 12)) as total_cost_usd
    from tasks
    left join fallback_costs
        on tasks.task_id = fallback_costs.task_id
    group by
        cast({{ dbt.date_trunc('week', 'tasks.task_date') }} as date),
        coalesce(tasks.original_route, '(no route)')
)

select * from final
