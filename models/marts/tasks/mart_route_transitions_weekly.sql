{# The original route -> final route matrix per ISO week: tasks and their cost. #}

with

tasks as (
    select * from {{ ref('fct_tasks') }}
),

final as (
    select
        cast({{ dbt.date_trunc('week', 'tasks.task_date') }} as date) as week_start,
        coalesce(tasks.original_route, '(no route)') as original_route,
        coalesce(tasks.final_route, '(no route)') as final_route,
        cast(count(*) as bigint) as tasks,
        cast(sum(case when tasks.is_successful then 1 else 0 end) as bigint) as successful_tasks,
        cast(sum(tasks.total_cost_usd) as decimal(24, 12)) as total_cost_usd
    from tasks
    group by
        cast({{ dbt.date_trunc('week', 'tasks.task_date') }} as date),
        coalesce(tasks.original_route, '(no route)'),
        coalesce(tasks.final_route, '(no route)')
)

select * from final
