{# Cost per successful task, success rate, attempts per task and wasted cost, by customer. #}

with

tasks as (
    select * from {{ ref('fct_tasks') }}
),

by_period as (
    {{ unit_economics('tasks', 'customer_id') }}
),

final as (
    select
        by_period.*,
        {{ unit_economics_ratios() }}
    from by_period
)

select * from final
