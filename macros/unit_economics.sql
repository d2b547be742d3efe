{#
    Cost per successful task for one dimension of fct_tasks, per day, ISO week and month.
    The numerator is the cost of ALL tasks (failed ones included): that is what each success
    really costs. Used by mart_feature_unit_economics and mart_customer_unit_economics.
    periods_relation (incremental runs): only the periods it lists (period_grain, period_start)
    are computed, each from all its tasks.
#}
{% macro unit_economics(tasks_relation, dimension, periods_relation=none) -%}
    {%- for grain in ['day', 'week', 'month'] %}
    select
        '{{ grain }}' as period_grain,
        cast({{ dbt.date_trunc(grain, 'tasks.task_date') }} as date) as period_start,
        coalesce(tasks.{{ dimension }}, '(untagged)') as {{ dimension }},
        cast(count(*) as bigint) as tasks,
        cast(sum(case when tasks.is_successful then 1 else 0 end) as bigint) as successful_tasks,
        cast(sum(tasks.attempts) as bigint) as attempts,
        cast(sum(tasks.total_cost_usd) as decimal(24, 12)) as total_cost_usd,
        cast(sum(tasks.wasted_cost_usd) as decimal(24, 12)) as wasted_cost_usd,
        cast(sum(tasks.unpriced_attempts) as bigint) as unpriced_attempts
    from {{ tasks_relation }} as tasks
    {%- if periods_relation %}
    where cast({{ dbt.date_trunc(grain, 'tasks.task_date') }} as date) in (
        select periods.period_start
        from {{ periods_relation }} as periods
        where periods.period_grain = '{{ grain }}'
    )
    {%- endif %}
    group by
        cast({{ dbt.date_trunc(grain, 'tasks.task_date') }} as date),
        coalesce(tasks.{{ dimension }}, '(untagged)')
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
{%- endmacro %}

{#
    The day, week and month periods holding tasks that fct_tasks rebuilt since this model's last
    rebuild (its task_date partitions, whole: a task that moved to another day was rebuilt in
    both). For the incremental branch of the unit-economics marts.
#}
{% macro unit_economics_periods_rebuilt(tasks_relation) -%}
    {%- for grain in ['day', 'week', 'month'] %}
    select distinct
        '{{ grain }}' as period_grain,
        cast({{ dbt.date_trunc(grain, 'tasks.task_date') }} as date) as period_start
    from {{ tasks_relation }} as tasks
    where tasks.rebuilt_at > {{ last_rebuilt_at() }}
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
{%- endmacro %}

{% macro unit_economics_ratios() -%}
        cast(cast(successful_tasks as double) / tasks as double) as success_rate,
        cast(cast(attempts as double) / tasks as double) as avg_attempts_per_task,
        case when total_cost_usd > 0 then cast(wasted_cost_usd / total_cost_usd as double) end as wasted_cost_share,
        case when successful_tasks > 0
            then cast(total_cost_usd / successful_tasks as decimal(24, 12)) end as cost_per_successful_task_usd
{%- endmacro %}
