{#
    AI gross margin per customer and month (docs/margin.md). Revenue: int_customer_monthly_revenue.
    AI cost: every call's cost in the UTC month of the call, charged to its task's customer. Months
    run from the first to the latest month of usage data; the latest is month-to-date. Usage of
    customers billing does not know is kept as its own rows (is_known_customer false, plan
    '(unknown customer)'); customers billed but without usage appear with cost 0. Money is in the
    reporting currency (USD); a month whose revenue could not be converted has no revenue and no
    margin (null, with unconverted_reason), never a margin computed from zero revenue.
#}

with

call_costs as (
    select * from {{ ref('int_call_costs_monthly') }}
),

tasks_monthly as (
    select * from {{ ref('mart_tasks_monthly') }}
),

revenue as (
    select * from {{ ref('int_customer_monthly_revenue') }}
),

customers as (
    select * from {{ ref('stg_billing__customers') }}
),

usage_months as (
    select
        min(call_costs.month) as first_month,
        max(call_costs.month) as latest_month
    from call_costs
),

usage_by_customer as (
    select
        call_costs.customer_id,
        call_costs.month,
        cast(sum(call_costs.calls) as bigint) as calls,
        cast(sum(call_costs.unpriced_calls) as bigint) as unpriced_calls,
        cast(sum(call_costs.ai_cost_usd) as decimal(24, 12)) as ai_cost_usd,
        cast(count(distinct call_costs.workspace_id) as bigint) as active_workspaces,
        cast(count(distinct call_costs.user_id) as bigint) as active_users
    from call_costs
    group by call_costs.customer_id, call_costs.month
),

tasks_by_customer as (
    select
        tasks_monthly.customer_id,
        tasks_monthly.month,
        cast(sum(tasks_monthly.tasks) as bigint) as tasks,
        cast(sum(tasks_monthly.successful_tasks) as bigint) as successful_tasks
    from tasks_monthly
    group by tasks_monthly.customer_id, tasks_monthly.month
),

revenue_in_usage_months as (
    select revenue.*
    from revenue
    cross join usage_months
    where revenue.month between usage_months.first_month and usage_months.latest_month
),

customer_months as (
    select usage_by_customer.customer_id, usage_by_customer.month from usage_by_customer
    union
    select tasks_by_customer.customer_id, tasks_by_customer.month from tasks_by_customer
    union
    select revenue_in_usage_months.customer_id, revenue_in_usage_months.month from revenue_in_usage_months
),

customer_months_joined as (
    select
        customer_months.customer_id,
        customer_months.month,
        customer_months.month = usage_months.latest_month as is_month_to_date,
        (customers.customer_id is not null or revenue_in_usage_months.customer_id is not null)
            as is_known_customer,
        customers.customer_name,
        coalesce(revenue_in_usage_months.plan_id, customers.plan_id, '(unknown customer)') as plan_id,
        case when revenue_in_usage_months.unconverted_reason is null
            then cast(coalesce(revenue_in_usage_months.revenue_usd, 0) as decimal(24, 12))
        end as revenue_usd,
        cast(coalesce(revenue_in_usage_months.revenue_open_usd, 0) as decimal(24, 12)) as revenue_open_usd,
        cast(coalesce(revenue_in_usage_months.uncollectible_usd, 0) as decimal(24, 12)) as uncollectible_usd,
        revenue_in_usage_months.billing_currency,
        revenue_in_usage_months.unconverted_reason,
        cast(coalesce(usage_by_customer.ai_cost_usd, 0) as decimal(24, 12)) as ai_cost_usd,
        coalesce(usage_by_customer.calls, 0) as calls,
        coalesce(usage_by_customer.unpriced_calls, 0) as unpriced_calls,
        coalesce(tasks_by_customer.tasks, 0) as tasks,
        coalesce(tasks_by_customer.successful_tasks, 0) as successful_tasks,
        coalesce(usage_by_customer.active_workspaces, 0) as active_workspaces,
        coalesce(usage_by_customer.active_users, 0) as active_users
    from customer_months
    cross join usage_months
    left join usage_by_customer
        on
            customer_months.customer_id = usage_by_customer.customer_id
            and customer_months.month = usage_by_customer.month
    left join tasks_by_customer
        on
            customer_months.customer_id = tasks_by_customer.customer_id
            and customer_months.month = tasks_by_customer.month
    left join revenue_in_usage_months
        on
            customer_months.customer_id = revenue_in_usage_months.customer_id
            and customer_months.month = revenue_in_usage_months.month
    left join customers
        on customer_months.customer_id = customers.customer_id
),

final as (
    select
        customer_id,
        month,
        is_month_to_date,
        customer_name,
        plan_id,
        '{{ reporting_currency() }}' as reporting_currency,
        billing_currency,
        revenue_usd,
        revenue_open_usd,
        uncollectible_usd,
        unconverted_reason,
        ai_cost_usd,
        cast(revenue_usd - ai_cost_usd as decimal(24, 12)) as gross_margin_usd,
        {{ margin_pct('revenue_usd', 'ai_cost_usd') }} as gross_margin_pct,
        calls,
        unpriced_calls,
        tasks,
        successful_tasks,
        {{ cost_per('ai_cost_usd', 'successful_tasks') }} as cost_per_successful_task_usd,
        active_workspaces,
        active_users,
        cast(rank() over (partition by month order by ai_cost_usd desc) as bigint) as ai_cost_rank,
        revenue_usd - ai_cost_usd < 0 as is_negative_margin,
        is_known_customer
    from customer_months_joined
)

select * from final
