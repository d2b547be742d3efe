{#
    The cost of every call, summed per UTC month of the call (occurred_at) and per the task's
    customer, feature, workspace and user: retries and fallbacks that reported no tags are charged
    to their task's customer (int_attempts_chained_to_tasks), and a call is costed in the month it
    happened, so every month reconciles exactly with fct_llm_calls. The one monthly sum of call
    cost: the margin marts and the budget mart (every budget scope) read it, so a customer's
    month costs the same on every screen. Materialized as a table so the task chains are read
    once. Untagged customers and features are '(untagged)'; an untagged workspace is null.
#}

{{ config(materialized='table') }}

with

attempts as (
    select * from {{ ref('int_attempts_chained_to_tasks') }}
),

final as (
    select
        cast({{ dbt.date_trunc('month', 'attempts.occurred_at') }} as date) as month,
        coalesce(attempts.customer_id, '(untagged)') as customer_id,
        coalesce(attempts.feature, '(untagged)') as feature,
        attempts.workspace_id,
        attempts.user_id,
        cast(count(*) as bigint) as calls,
        cast(sum(case when attempts.is_priced then 0 else 1 end) as bigint) as unpriced_calls,
        cast(coalesce(sum(attempts.cost_usd), 0) as decimal(24, 12)) as ai_cost_usd,
        max(attempts.occurred_at) as last_call_at
    from attempts
    group by
        cast({{ dbt.date_trunc('month', 'attempts.occurred_at') }} as date),
        coalesce(attempts.customer_id, '(untagged)'),
        coalesce(attempts.feature, '(untagged)'),
        attempts.workspace_id,
        attempts.user_id
)

select * from final
