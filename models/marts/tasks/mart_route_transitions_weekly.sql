{#
    The original route -> final route matrix per ISO week: tasks and their cost.

    Incremental: the weeks holding a task_date that fct_tasks rebuilt are recomputed whole.
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

tasks as (
    select all_tasks.*
    from all_tasks
    {% if is_partition_incremental() %}
    where cast({{ dbt.date_trunc('week', 'all_tasks.task_date') }} as date) in (
        select distinct cast({{ dbt.date_trunc('week', 'rebuilt_tasks.task_date') }} as date)
        from all_tasks as rebuilt_tasks
        where rebuilt_tasks.rebuilt_at > {{ last_rebuilt_at() }}
    )
    {% endif %}
),

final as (
    select
        cast({{ dbt.date_trunc('week', 'tasks.task_date') }} as date) as week_start,
        coalesce(tasks.original_route, '(no route)') as original_route,
        coalesce(tasks.final_route, '(no route)') as final_route,
        cast(count(*) as bigint) as tasks,
        cast(sum(case when tasks.is_successful then 1 else 0 end) as bigint) as successful_tasks,
        cast(sum(tasks.total_cost_usd) as decimal(24, 12)) as total_cost_usd,
        {{ rebuilt_at() }} as rebuilt_at
    from tasks
    group by
        cast({{ dbt.date_trunc('week', 'tasks.task_date') }} as date),
        coalesce(tasks.original_route, '(no route)'),
        coalesce(tasks.final_route, '(no route)')
)

select * from final
