{#
    Cost per successful task, success rate, attempts per task and wasted cost, by customer.

    Incremental: the (period_grain, period_start) partitions holding a task_date that fct_tasks
    rebuilt are recomputed, each from all its tasks.
#}

{{
    config(
        materialized='incremental',
        **partition_incremental_config(['period_grain', 'period_start']),
    )
}}

with

tasks as (
    select * from {{ ref('fct_tasks') }}
),

{% if is_partition_incremental() %}

periods_to_rebuild as (
    {{ unit_economics_periods_rebuilt('tasks') }}
),

{% endif %}

by_period as (
    {{ unit_economics('tasks', 'customer_id', 'periods_to_rebuild' if is_partition_incremental() else none) }}
),

final as (
    select
        by_period.*,
        {{ unit_economics_ratios() }},
        {{ rebuilt_at() }} as rebuilt_at
    from by_period
)

select * from final
