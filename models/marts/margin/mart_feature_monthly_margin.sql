{#
    AI cost and allocated gross margin per feature and month. Revenue is not billed per feature:
    each customer's revenue of the month is allocated to its features in proportion to their share
    of that customer's AI cost that month (DECISIONLOG 2026-11-29). Revenue of a customer-month
    with no AI cost is the '(no AI cost)' row, so allocated revenue sums to the customer margin
    mart's revenue. AI cost is every call's cost in its UTC month, by the task's feature.
#}

with

call_costs as (
    select * from {{ ref('int_call_costs_monthly') }}
),

tasks_monthly as (
    select * from {{ ref('mart_tasks_monthly') }}
),

customer_margin as (
    select * from {{ ref('mart_customer_monthly_margin') }}
),

usage_months as (
    select max(call_costs.month) as latest_month
    from call_costs
),

feature_costs_by_customer as (
    select
        call_costs.customer_id,
        call_costs.month,
        call_costs.feature,
        cast(sum(call_costs.calls) as bigint) as calls,
        cast(sum(call_costs.unpriced_calls) as bigint) as unpriced_calls,
        cast(sum(call_costs.ai_cost_usd) as decimal(24, 12)) as ai_cost_usd
    from call_costs
    group by call_costs.customer_id, call_costs.month, call_costs.feature
),

revenue_allocated as (
    select
        feature_costs_by_customer.feature,
        feature_costs_by_customer.month,
        feature_costs_by_customer.customer_id,
        feature_costs_by_customer.calls,
        feature_costs_by_customer.unpriced_calls,
        feature_costs_by_customer.ai_cost_usd,
        case
            when customer_margin.ai_cost_usd > 0
                then cast(
                    cast(customer_margin.revenue_usd as double)
                    * cast(feature_costs_by_customer.ai_cost_usd as double)
                    / cast(customer_margin.ai_cost_usd as double)
                    as decimal(24, 12)
                )
            else cast(0 as decimal(24, 12))
        end as allocated_revenue_usd
    from feature_costs_by_customer
    inner join customer_margin
        on
            feature_costs_by_customer.customer_id = customer_margin.customer_id
            and feature_costs_by_customer.month = customer_margin.month
    union all
    select
        '(no AI cost)' as feature,
        customer_margin.month,
        customer_margin.customer_id,
        cast(0 as bigint) as calls,
        cast(0 as bigint) as unpriced_calls,
        cast(0 as decimal(24, 12)) as ai_cost_usd,
        customer_margin.revenue_usd as allocated_revenue_usd
    from customer_margin
    where customer_margin.ai_cost_usd = 0 and (customer_margin.revenue_usd != 0 or customer_margin.revenue_usd is null)
),

by_feature as (
    select
        revenue_allocated.feature,
        revenue_allocated.month,
        cast(count(distinct case when revenue_allocated.calls > 0 then revenue_allocated.customer_id end) as bigint)
            as active_customers,
        cast(sum(revenue_allocated.calls) as bigint) as calls,
        cast(sum(revenue_allocated.unpriced_calls) as bigint) as unpriced_calls,
        cast(sum(revenue_allocated.ai_cost_usd) as decimal(24, 12)) as ai_cost_usd,
        {{ sum_if_all_known('revenue_allocated.allocated_revenue_usd') }} as allocated_revenue_usd
    from revenue_allocated
    group by revenue_allocated.feature, revenue_allocated.month
),

tasks_by_feature as (
    select
        tasks_monthly.feature,
        tasks_monthly.month,
        cast(sum(tasks_monthly.tasks) as bigint) as tasks,
        cast(sum(tasks_monthly.successful_tasks) as bigint) as successful_tasks
    from tasks_monthly
    group by tasks_monthly.feature, tasks_monthly.month
),

month_totals as (
    select
        by_feature.month,
        sum(by_feature.ai_cost_usd) as ai_cost_usd
    from by_feature
    group by by_feature.month
),

final as (
    select
        by_feature.feature,
        by_feature.month,
        by_feature.month = usage_months.latest_month as is_month_to_date,
        by_feature.active_customers,
        by_feature.calls,
        by_feature.unpriced_calls,
        by_feature.ai_cost_usd,
        case when month_totals.ai_cost_usd > 0
            then cast(by_feature.ai_cost_usd as double) / cast(month_totals.ai_cost_usd as double)
        end as ai_cost_share,
        by_feature.allocated_revenue_usd,
        cast(by_feature.allocated_revenue_usd - by_feature.ai_cost_usd as decimal(24, 12)) as gross_margin_usd,
        {{ margin_pct('by_feature.allocated_revenue_usd', 'by_feature.ai_cost_usd') }} as gross_margin_pct,
        coalesce(tasks_by_feature.tasks, 0) as tasks,
        coalesce(tasks_by_feature.successful_tasks, 0) as successful_tasks,
        {{ cost_per('by_feature.ai_cost_usd', 'tasks_by_feature.successful_tasks') }} as cost_per_successful_task_usd,
        by_feature.allocated_revenue_usd - by_feature.ai_cost_usd < 0 as is_negative_margin
    from by_feature
    cross join usage_months
    inner join month_totals
        on by_feature.month = month_totals.month
    left join tasks_by_feature
        on
            by_feature.feature = tasks_by_feature.feature
            and by_feature.month = tasks_by_feature.month
)

select * from final
