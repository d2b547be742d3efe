{#
    Per ISO week and original route: how many tasks started there, how many ended on another
    route (fallback rate) and what the fallback attempts cost.

    Incremental: the weeks holding a task_date that fct_tasks rebuilt are recomputed whole (an
    attempt sits in its task's task_date, so the week's fallback attempts come with its tasks).
#}

{{
    config(
        materialized='incremental',
        **partition_incremental_config('week_start'),
    )
}}

with

all_tasks as (
    select * from {{ ref('fct_tasks') }}
),

all_attempts as (
    select * from {{ ref('int_attempts_chained_to_tasks') }}
),

{% if is_partition_incremental() %}

weeks_to_rebuild as (
    select distinct cast({{ dbt.date_trunc('week', 'all_tasks.task_date') }} as date) as week_start
    from all_tasks
    where all_tasks.rebuilt_at > {{ last_rebuilt_at() }}
),

{% endif %}

tasks as (
    select all_tasks.*
    from all_tasks
    {% if is_partition_incremental() %}
    where cast({{ dbt.date_trunc('week', 'all_tasks.task_date') }} as date) in (
        select weeks_to_rebuild.week_start from weeks_to_rebuild
    )
    {% endif %}
),

attempts as (
    select all_attempts.*
    from all_attempts
    {% if is_partition_incremental() %}
    where cast({{ dbt.date_trunc('week', 'all_attempts.task_date') }} as date) in (
        select weeks_to_rebuild.week_start from weeks_to_rebuild
    )
    {% endif %}
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
        cast(cast(sum(case when tasks.is_fallback then 1 else 0 end) as double) / count(*) as double) as fallback_rate,
        cast(sum(tasks.fallback_attempts) as bigint) as fallback_attempts,
        cast(coalesce(sum(fallback_costs.fallback_cost_usd), 0) as decimal(24, 12)) as fallback_cost_usd,
        cast(sum(tasks.total_cost_usd) as decimal(24, 12)) as total_cost_usd,
        {{ rebuilt_at() }} as rebuilt_at
    from tasks
    left join fallback_costs
        on tasks.task_id = fallback_costs.task_id
    group by
        cast({{ dbt.date_trunc('week', 'tasks.task_date') }} as date),
        coalesce(tasks.original_route, '(no route)')
)

select * from final
