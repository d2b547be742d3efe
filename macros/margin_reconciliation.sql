{#
    Rows (months) where a margin mart's AI cost differs from fct_llm_calls' cost for the same UTC
    month of the call; used by the singular tests in tests/dbt/margin/. Exact: both are sums of the
    same decimal costs.
#}
{% macro margin_cost_mismatches(mart) -%}
with

calls as (
    select * from {{ ref('fct_llm_calls') }}
),

mart as (
    select * from {{ mart }}
),

calls_by_month as (
    select
        cast({{ dbt.date_trunc('month', 'calls.occurred_at') }} as date) as month,
        coalesce(sum(calls.cost_usd), 0) as call_cost_usd
    from calls
    group by cast({{ dbt.date_trunc('month', 'calls.occurred_at') }} as date)
),

mart_by_month as (
    select
        mart.month,
        coalesce(sum(mart.ai_cost_usd), 0) as mart_cost_usd
    from mart
    group by mart.month
),

final as (
    select
        coalesce(calls_by_month.month, mart_by_month.month) as month,
        calls_by_month.call_cost_usd,
        mart_by_month.mart_cost_usd
    from calls_by_month
    full outer join mart_by_month
        on calls_by_month.month = mart_by_month.month
    where
        coalesce(calls_by_month.call_cost_usd, 0) != coalesce(mart_by_month.mart_cost_usd, 0)
        or calls_by_month.month is null
        or mart_by_month.month is null
)

select * from final
{%- endmacro %}
