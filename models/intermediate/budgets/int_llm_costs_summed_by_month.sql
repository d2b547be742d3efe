{{ config(materialized='table') }}

{#
    Priced spend per month, customer, workspace and feature: the one pass over fct_llm_calls that
    every budget scope sums from. A table, not a view, so that the budget mart's four scopes do
    not each scan the calls again (Spark inlines a view or CTE at every reference).
#}

with

calls as (
    select * from {{ ref('fct_llm_calls') }}
),

final as (
    select
        {{ month_start('calls.event_date') }} as period_start,
        calls.customer_id,
        calls.workspace_id,
        calls.feature,
        cast(count(*) as bigint) as calls,
        cast(sum(case when calls.is_priced then 0 else 1 end) as bigint) as unpriced_calls,
        cast(coalesce(sum(calls.cost_usd), 0) as decimal(24, 12)) as spend_usd,
        max(calls.occurred_at) as last_call_at
    from calls
    group by
        {{ month_start('calls.event_date') }},
        calls.customer_id,
        calls.workspace_id,
        calls.feature
)

select * from final
