{#
    Every budget against its month-to-date spend, for every month with usage (docs/budgets.md).
    Spend is int_call_costs_monthly's, the sum the margin marts read: every call charged to its
    task's customer, workspace and feature, so an untagged retry counts against its customer's
    budget and its workspace's cap.
    Scopes: customer (revenue x (1 - plan target gross margin); months with positive revenue
    only), workspace (the billing export's hard cap), plan and feature (seeds/configured_budgets.csv).
    as_of is the latest call in the data, not the wall clock. The run rate projects the month:
    spend / elapsed days x days in month, where elapsed days count the as_of day itself (a past
    month is complete: its projection is its spend). States compare money in decimals, so 50%,
    80% and 100% are exact boundaries; the projection is compared multiplied out
    (spend x days >= budget x elapsed days), since DuckDB divides decimals in double precision.
#}

with

monthly_costs as (
    select * from {{ ref('int_call_costs_monthly') }}
),

revenue as (
    select * from {{ ref('int_customer_monthly_revenue') }}
),

plans as (
    select * from {{ ref('stg_billing__plans') }}
),

customers as (
    select * from {{ ref('stg_billing__customers') }}
),

workspaces as (
    select * from {{ ref('stg_billing__workspaces') }}
),

configured_budgets as (
    select * from {{ ref('configured_budgets') }}
),

spend as (
    select
        monthly_costs.month as period_start,
        nullif(monthly_costs.customer_id, '(untagged)') as customer_id,
        monthly_costs.workspace_id,
        nullif(monthly_costs.feature, '(untagged)') as feature,
        monthly_costs.ai_cost_usd as spend_usd,
        monthly_costs.last_call_at
    from monthly_costs
),

latest_usage as (
    select max(spend.last_call_at) as as_of
    from spend
),

customer_months as (
    select
        spend.period_start,
        spend.customer_id,
        cast(sum(spend.spend_usd) as decimal(24, 12)) as spend_usd
    from spend
    where spend.customer_id is not null
    group by spend.period_start, spend.customer_id
),

customer_months_on_plans as (
    select
        customer_months.period_start,
        customer_months.customer_id,
        customer_months.spend_usd,
        coalesce(revenue.plan_id, customers.plan_id) as plan_id,
        revenue.revenue_usd
    from customer_months
    left join revenue
        on customer_months.customer_id = revenue.customer_id
        and customer_months.period_start = revenue.month
    left join customers
        on customer_months.customer_id = customers.customer_id
),

customer_budgets as (
    select
        'customer' as scope,
        customer_months_on_plans.customer_id as scope_id,
        customer_months_on_plans.customer_id,
        customer_months_on_plans.period_start,
        cast(
            customer_months_on_plans.revenue_usd
            * cast((100 - plans.target_gross_margin_pct) * 0.01 as decimal(9, 8))
            as decimal(24, 12)
        ) as budget_usd,
        'revenue_at_target_margin' as budget_source,
        customer_months_on_plans.spend_usd
    from customer_months_on_plans
    inner join plans
        on customer_months_on_plans.plan_id = plans.plan_id
    where customer_months_on_plans.revenue_usd > 0
),

workspace_budgets as (
    select
        'workspace' as scope,
        workspaces.workspace_id as scope_id,
        workspaces.customer_id,
        spend.period_start,
        cast(workspaces.monthly_hard_cap_usd as decimal(24, 12)) as budget_usd,
        'workspace_hard_cap' as budget_source,
        cast(sum(spend.spend_usd) as decimal(24, 12)) as spend_usd
    from spend
    inner join workspaces
        on spend.workspace_id = workspaces.workspace_id
    where workspaces.monthly_hard_cap_usd is not null
    group by
        workspaces.workspace_id,
        workspaces.customer_id,
        spend.period_start,
        workspaces.monthly_hard_cap_usd
),

configured_scope_spend as (
    -- spend per plan and per feature: the scopes whose budgets come from the seed
    select
        'plan' as scope,
        customer_months_on_plans.plan_id as scope_id,
        customer_months_on_plans.period_start,
        customer_months_on_plans.spend_usd
    from customer_months_on_plans
    union all
    select
        'feature' as scope,
        spend.feature as scope_id,
        spend.period_start,
        spend.spend_usd
    from spend
),

configured_budgets_spent as (
    select
        configured_budgets.scope,
        configured_budgets.scope_id,
        cast(null as string) as customer_id,
        configured_scope_spend.period_start,
        cast(configured_budgets.monthly_budget_usd as decimal(24, 12)) as budget_usd,
        'configured' as budget_source,
        cast(sum(configured_scope_spend.spend_usd) as decimal(24, 12)) as spend_usd
    from configured_scope_spend
    inner join configured_budgets
        on configured_scope_spend.scope = configured_budgets.scope
        and configured_scope_spend.scope_id = configured_budgets.scope_id
    group by
        configured_budgets.scope,
        configured_budgets.scope_id,
        configured_scope_spend.period_start,
        configured_budgets.monthly_budget_usd
),

budgets as (
    select * from customer_budgets
    union all
    select * from workspace_budgets
    union all
    select * from configured_budgets_spent
),

budgets_timed as (
    select
        budgets.*,
        latest_usage.as_of,
        {{ days_in_month('budgets.period_start') }} as days_in_period,
        case
            when budgets.period_start = {{ month_start('cast(latest_usage.as_of as date)') }}
                then {{ day_of_month('cast(latest_usage.as_of as date)') }}
            else {{ days_in_month('budgets.period_start') }}
        end as elapsed_days
    from budgets
    cross join latest_usage
),

budgets_projected as (
    select
        budgets_timed.*,
        case
            when budgets_timed.elapsed_days = budgets_timed.days_in_period then budgets_timed.spend_usd
            else cast(
                cast(budgets_timed.spend_usd as double) * budgets_timed.days_in_period
                / budgets_timed.elapsed_days
                as decimal(24, 12)
            )
        end as projected_spend_usd,
        -- the projection compared exactly: spend / elapsed x days >= budget, multiplied out
        -- (day counts as decimal(2, 0): a bigint factor would push Spark past 38 digits and
        -- make it round the product to 6 decimals)
        budgets_timed.spend_usd * cast(budgets_timed.days_in_period as decimal(2, 0))
        >= budgets_timed.budget_usd * cast(budgets_timed.elapsed_days as decimal(2, 0))
            as is_projected_over
    from budgets_timed
),

budgets_judged as (
    -- every threshold crossed, decided once, here: the alerts read these flags, never the rule
    select
        budgets_projected.*,
        budgets_projected.budget_usd > 0
        and budgets_projected.spend_usd >= budgets_projected.budget_usd * 0.5 as has_reached_50_pct,
        budgets_projected.budget_usd > 0
        and budgets_projected.spend_usd >= budgets_projected.budget_usd * 0.8 as has_reached_80_pct,
        budgets_projected.spend_usd > 0
        and budgets_projected.spend_usd >= budgets_projected.budget_usd as is_over_budget
    from budgets_projected
),

final as (
    select
        concat(scope, ':', scope_id, ':', cast(period_start as string)) as budget_status_id,
        scope,
        scope_id,
        customer_id,
        period_start,
        as_of,
        budget_usd,
        budget_source,
        spend_usd,
        case
            when budget_usd > 0 then cast(spend_usd as double) / cast(budget_usd as double)
        end as share_used,
        elapsed_days,
        days_in_period,
        projected_spend_usd,
        case
            when budget_usd > 0 then cast(projected_spend_usd as double) / cast(budget_usd as double)
        end as projected_share,
        has_reached_50_pct,
        has_reached_80_pct,
        not is_over_budget and spend_usd > 0 and is_projected_over as is_projected_breach,
        is_over_budget,
        case
            when is_over_budget then 'over_budget'
            when spend_usd > 0 and is_projected_over then 'projected_breach'
            when has_reached_80_pct then 'soft_80'
            when has_reached_50_pct then 'soft_50'
            else 'ok'
        end as state
    from budgets_judged
)

select * from final
