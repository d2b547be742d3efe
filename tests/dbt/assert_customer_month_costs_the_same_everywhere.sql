-- One number, one place: a customer's month of AI cost is the same in fct_llm_calls (grouped by
-- the customer each call is charged to), in mart_customer_monthly_margin and in the customer
-- budget of mart_budget_status; a workspace's month is the same in fct_llm_calls and in its hard
-- cap's spend; the daily mart the report reads sums to the same. An untagged retry counts for its task's customer and workspace in all of them.
-- Returns the disagreeing (scope, id, month) rows; exact, since all are sums of the same decimals.

with

calls as (
    select * from {{ ref('fct_llm_calls') }}
),

customer_margin as (
    select * from {{ ref('mart_customer_monthly_margin') }}
),

budget_status as (
    select * from {{ ref('mart_budget_status') }}
),

daily_cost as (
    select * from {{ ref('mart_daily_ai_cost') }}
),

daily_cost_by_customer_month as (
    select
        daily_cost.customer_id,
        cast({{ dbt.date_trunc('month', 'daily_cost.event_date') }} as date) as month,
        sum(daily_cost.cost_usd) as cost_usd
    from daily_cost
    group by
        daily_cost.customer_id,
        cast({{ dbt.date_trunc('month', 'daily_cost.event_date') }} as date)
),

calls_by_customer_month as (
    select
        coalesce(calls.customer_id, '(untagged)') as customer_id,
        cast({{ dbt.date_trunc('month', 'calls.occurred_at') }} as date) as month,
        coalesce(sum(calls.cost_usd), 0) as cost_usd
    from calls
    group by
        coalesce(calls.customer_id, '(untagged)'),
        cast({{ dbt.date_trunc('month', 'calls.occurred_at') }} as date)
),

calls_by_workspace_month as (
    select
        calls.workspace_id,
        cast({{ dbt.date_trunc('month', 'calls.occurred_at') }} as date) as month,
        coalesce(sum(calls.cost_usd), 0) as cost_usd
    from calls
    where calls.workspace_id is not null
    group by
        calls.workspace_id,
        cast({{ dbt.date_trunc('month', 'calls.occurred_at') }} as date)
),

margin_vs_calls as (
    -- every customer month with calls or margin: the two must agree (billed customers without
    -- usage have a margin row with cost 0 and no calls)
    select
        'customer_margin' as compared,
        coalesce(calls_by_customer_month.customer_id, customer_margin.customer_id) as scope_id,
        coalesce(calls_by_customer_month.month, customer_margin.month) as month,
        coalesce(calls_by_customer_month.cost_usd, 0) as calls_cost_usd,
        coalesce(customer_margin.ai_cost_usd, 0) as other_cost_usd
    from calls_by_customer_month
    full outer join customer_margin
        on calls_by_customer_month.customer_id = customer_margin.customer_id
        and calls_by_customer_month.month = customer_margin.month
),

customer_budgets_vs_calls as (
    select
        'customer_budget' as compared,
        budget_status.scope_id,
        budget_status.period_start as month,
        coalesce(calls_by_customer_month.cost_usd, 0) as calls_cost_usd,
        budget_status.spend_usd as other_cost_usd
    from budget_status
    left join calls_by_customer_month
        on budget_status.scope_id = calls_by_customer_month.customer_id
        and budget_status.period_start = calls_by_customer_month.month
    where budget_status.scope = 'customer'
),

workspace_caps_vs_calls as (
    select
        'workspace_cap' as compared,
        budget_status.scope_id,
        budget_status.period_start as month,
        coalesce(calls_by_workspace_month.cost_usd, 0) as calls_cost_usd,
        budget_status.spend_usd as other_cost_usd
    from budget_status
    left join calls_by_workspace_month
        on budget_status.scope_id = calls_by_workspace_month.workspace_id
        and budget_status.period_start = calls_by_workspace_month.month
    where budget_status.scope = 'workspace'
),

daily_vs_calls as (
    select
        'daily_cost' as compared,
        coalesce(calls_by_customer_month.customer_id, daily_cost_by_customer_month.customer_id)
            as scope_id,
        coalesce(calls_by_customer_month.month, daily_cost_by_customer_month.month) as month,
        coalesce(calls_by_customer_month.cost_usd, 0) as calls_cost_usd,
        coalesce(daily_cost_by_customer_month.cost_usd, 0) as other_cost_usd
    from calls_by_customer_month
    full outer join daily_cost_by_customer_month
        on calls_by_customer_month.customer_id = daily_cost_by_customer_month.customer_id
        and calls_by_customer_month.month = daily_cost_by_customer_month.month
),

compared as (
    select * from margin_vs_calls
    union all
    select * from daily_vs_calls
    union all
    select * from customer_budgets_vs_calls
    union all
    select * from workspace_caps_vs_calls
),

final as (
    select *
    from compared
    where compared.calls_cost_usd <> compared.other_cost_usd
)

select * from final
