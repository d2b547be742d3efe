{#
    Each what-if scenario per plan: the gross margin of the scenario's period as it was and as
    the scenario prices the same calls. Revenue and each customer's plan are the margin mart's
    (mart_customer_monthly_margin: the period's recognised revenue, the plan in force at month
    end) for the calendar months that overlap the period (whole months: exact for the default
    period, a full month); AI cost is the sum of the
    period's calls (int_whatif_calls_priced), actual and under the scenario, charged to the
    task's customer as everywhere. Customers of those months without calls count with cost 0;
    unpriced calls are counted, never $0. Margin % is null when revenue is 0 or unknown.
#}

with

whatif_calls as (
    select * from {{ ref('int_whatif_calls_priced') }}
),

scenarios as (
    select * from {{ ref('int_whatif_scenarios') }}
),

customer_margin as (
    select * from {{ ref('mart_customer_monthly_margin') }}
),

scenario_periods as (
    -- the periods of the scenarios that replay some call
    select
        scenarios.scenario_id,
        scenarios.period_start,
        scenarios.period_end
    from scenarios
    where scenarios.scenario_id in (select whatif_calls.scenario_id from whatif_calls)
),

customer_months as (
    -- every customer month of the margin mart whose month overlaps the scenario's period
    select
        scenario_periods.scenario_id,
        customer_margin.customer_id,
        customer_margin.month,
        customer_margin.plan_id,
        customer_margin.revenue_usd
    from scenario_periods
    inner join customer_margin
        on customer_margin.month >= cast({{ dbt.date_trunc('month', 'scenario_periods.period_start') }} as date)
        and customer_margin.month < scenario_periods.period_end
),

call_costs as (
    select
        whatif_calls.scenario_id,
        whatif_calls.customer_id,
        cast({{ dbt.date_trunc('month', 'whatif_calls.occurred_at') }} as date) as month,
        cast(sum(whatif_calls.actual_cost_usd) as decimal(24, 12)) as actual_ai_cost_usd,
        cast(sum(whatif_calls.scenario_cost_usd) as decimal(24, 12)) as scenario_ai_cost_usd,
        cast(sum(case when whatif_calls.scenario_unpriced_reason is not null then 1 else 0 end) as bigint)
            as scenario_unpriced_calls
    from whatif_calls
    group by
        whatif_calls.scenario_id,
        whatif_calls.customer_id,
        cast({{ dbt.date_trunc('month', 'whatif_calls.occurred_at') }} as date)
),

customer_month_costs as (
    select
        coalesce(customer_months.scenario_id, call_costs.scenario_id) as scenario_id,
        coalesce(customer_months.customer_id, call_costs.customer_id) as customer_id,
        coalesce(customer_months.plan_id, '(unknown customer)') as plan_id,
        customer_months.revenue_usd,
        coalesce(call_costs.actual_ai_cost_usd, 0) as actual_ai_cost_usd,
        coalesce(call_costs.scenario_ai_cost_usd, 0) as scenario_ai_cost_usd,
        coalesce(call_costs.scenario_unpriced_calls, 0) as scenario_unpriced_calls
    from customer_months
    full outer join call_costs
        on customer_months.scenario_id = call_costs.scenario_id
        and customer_months.customer_id = call_costs.customer_id
        and customer_months.month = call_costs.month
),

by_plan as (
    select
        customer_month_costs.scenario_id,
        customer_month_costs.plan_id,
        cast(count(distinct customer_month_costs.customer_id) as bigint) as customers,
        {{ sum_if_all_known('customer_month_costs.revenue_usd') }} as revenue_usd,
        cast(sum(customer_month_costs.actual_ai_cost_usd) as decimal(24, 12)) as actual_ai_cost_usd,
        cast(sum(customer_month_costs.scenario_ai_cost_usd) as decimal(24, 12)) as scenario_ai_cost_usd,
        cast(sum(customer_month_costs.scenario_unpriced_calls) as bigint) as scenario_unpriced_calls
    from customer_month_costs
    group by customer_month_costs.scenario_id, customer_month_costs.plan_id
),

final as (
    select
        cast(by_plan.scenario_id as string) as scenario_id,
        cast(by_plan.plan_id as string) as plan_id,
        by_plan.customers,
        by_plan.revenue_usd,
        by_plan.actual_ai_cost_usd,
        by_plan.scenario_ai_cost_usd,
        cast(by_plan.revenue_usd - by_plan.actual_ai_cost_usd as decimal(24, 12)) as actual_gross_margin_usd,
        cast(by_plan.revenue_usd - by_plan.scenario_ai_cost_usd as decimal(24, 12)) as scenario_gross_margin_usd,
        {{ margin_pct('by_plan.revenue_usd', 'by_plan.actual_ai_cost_usd') }} as actual_gross_margin_pct,
        {{ margin_pct('by_plan.revenue_usd', 'by_plan.scenario_ai_cost_usd') }} as scenario_gross_margin_pct,
        by_plan.scenario_unpriced_calls
    from by_plan
)

select * from final
