{#
    Cost per successful task by plan, per day, ISO week and month. A task's plan means what it
    means in every margin and budget mart: the plan its customer was billed on for the task's
    month (int_customer_monthly_revenue, the plan in force at month end), else the customer's
    current plan in the customers export. Tasks of customers billing does not know (a trial, a
    lagging export) are their own bucket, '(unknown customer)': kept and costed, never dropped.
#}

with

tasks as (
    select * from {{ ref('fct_tasks') }}
),

customers as (
    select * from {{ ref('stg_billing__customers') }}
),

revenue as (
    select * from {{ ref('int_customer_monthly_revenue') }}
),

tasks_with_plans as (
    select
        tasks.*,
        coalesce(revenue.plan_id, customers.plan_id, '(unknown customer)') as plan_id
    from tasks
    left join revenue
        on tasks.customer_id = revenue.customer_id
        and {{ month_start('tasks.task_date') }} = revenue.month
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
