{#
    AI gross margin per plan and month: the customer margin mart summed by each customer's plan in
    that month (the plan in force at month end). Usage of customers billing does not know is the
    '(unknown customer)' plan, kept and costed. Revenue is unknown (null) when any of the plan's
    customers has revenue that could not be converted to USD (unconverted_customers says how many).
#}

with

customer_margin as (
    select * from {{ ref('mart_customer_monthly_margin') }}
),

plans as (
    select * from {{ ref('stg_billing__plans') }}
),

by_plan as (
    select
        customer_margin.plan_id,
        customer_margin.month,
        customer_margin.is_month_to_date,
        cast(count(*) as bigint) as customers,
        cast(sum(case when customer_margin.calls > 0 then 1 else 0 end) as bigint) as active_customers,
        {{ sum_if_all_known('customer_margin.revenue_usd') }} as revenue_usd,
        cast(count(customer_margin.unconverted_reason) as bigint) as unconverted_customers,
        cast(sum(customer_margin.ai_cost_usd) as decimal(24, 12)) as ai_cost_usd,
        cast(sum(customer_margin.tasks) as bigint) as tasks,
        cast(sum(customer_margin.successful_tasks) as bigint) as successful_tasks
    from customer_margin
    group by customer_margin.plan_id, customer_margin.month, customer_margin.is_month_to_date
),

final as (
    select
        by_plan.plan_id,
        by_plan.month,
        by_plan.is_month_to_date,
        by_plan.customers,
        by_plan.active_customers,
        by_plan.revenue_usd,
        by_plan.unconverted_customers,
        by_plan.ai_cost_usd,
        cast(by_plan.revenue_usd - by_plan.ai_cost_usd as decimal(24, 12)) as gross_margin_usd,
        {{ margin_pct('by_plan.revenue_usd', 'by_plan.ai_cost_usd') }} as gross_margin_pct,
        cast(plans.target_gross_margin_pct as double) as target_gross_margin_pct,
        {{ cost_per('by_plan.ai_cost_usd', 'by_plan.active_customers') }} as cost_per_active_customer_usd,
        by_plan.tasks,
        by_plan.successful_tasks,
        {{ cost_per('by_plan.ai_cost_usd', 'by_plan.successful_tasks') }} as cost_per_successful_task_usd,
        by_plan.revenue_usd - by_plan.ai_cost_usd < 0 as is_negative_margin,
        coalesce(
            {{ margin_pct('by_plan.revenue_usd', 'by_plan.ai_cost_usd') }} < plans.target_gross_margin_pct, false
        ) as is_below_target_margin
    from by_plan
    left join plans
        on by_plan.plan_id = plans.plan_id
)

select * from final
