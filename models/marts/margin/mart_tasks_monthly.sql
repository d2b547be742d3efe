{#
    Tasks and successful tasks per UTC month of the task's start and per its customer and
    feature ('(untagged)' when missing): the one input of task counts for the margin marts, which
    sum it by customer or by feature. A mart (a table), not an intermediate model: it reads
    fct_tasks, where a task's success is decided, and intermediate models read only staging and
    intermediate models.
#}

with

tasks as (
    select * from {{ ref('fct_tasks') }}
),

final as (
    select
        cast({{ dbt.date_trunc('month', 'tasks.task_date') }} as date) as month,
        coalesce(tasks.customer_id, '(untagged)') as customer_id,
        coalesce(tasks.feature, '(untagged)') as feature,
        cast(count(*) as bigint) as tasks,
        cast(sum(case when tasks.is_successful then 1 else 0 end) as bigint) as successful_tasks
    from tasks
    group by
        cast({{ dbt.date_trunc('month', 'tasks.task_date') }} as date),
        coalesce(tasks.customer_id, '(untagged)'),
        coalesce(tasks.feature, '(untagged)')
)

select * from final
