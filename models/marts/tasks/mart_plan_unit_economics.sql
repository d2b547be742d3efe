{#
    Cost per successful task by plan (the customer's current plan in the latest customers export),
    per day, ISO week and month. Tasks of customers billing does not know (a trial, a lagging
    export) are their own bucket, '(unknown customer)': kept and costed, never dropped.
#}

with

tasks as (
    select * from {{ ref('fct_tasks') }}
),

customers as (
    select * from {{ ref('stg_billing__customers') }}
),

tasks_with_plans as (
    select
        tasks.*,
        coalesce(customers.plan_id, '(unknown customer)') as plan_id
    from tasks
    left join customers
        on tasks.customer_id = customers.customer_id
),

by_period as (
    {{ unit_economics('tasks_with_plans', 'plan_id') }}
),

final as (
    select
        by_period.*,
        {{ unit_economics_ratios() }}
    from by_period
)

select * from final
