{#
    AI cost per UTC day, per the customer, workspace and feature each call is charged to (its
    task's, as in fct_llm_calls), and per provider, model and unpriced reason. The weekly report
    and the BI docs read spend over any window from here - a week, a month to date, a week that
    straddles two months - by summing days, so no screen re-derives cost or attribution from the
    calls. Untagged customers and features are '(untagged)', as in every mart; an untagged
    workspace is null.

    Incremental: the event_date partitions fct_llm_calls rebuilt since this model's last rebuild
    are recomputed, each from all its calls (a new day no longer re-reads every call).
#}

{{
    config(
        materialized='incremental',
        **partition_incremental_config('event_date'),
    )
}}

with

calls as (
    select * from {{ ref('fct_llm_calls') }}
    {% if is_partition_incremental() %}
    where event_date in (
        select distinct rebuilt_calls.event_date
        from {{ ref('fct_llm_calls') }} as rebuilt_calls
        where rebuilt_calls.rebuilt_at > {{ last_rebuilt_at() }}
    )
    {% endif %}
),

final as (
    select
        calls.event_date,
        coalesce(calls.customer_id, '(untagged)') as customer_id,
        calls.workspace_id,
        coalesce(calls.feature, '(untagged)') as feature,
        calls.provider,
        calls.model,
        calls.unpriced_reason,
        cast(count(*) as bigint) as calls,
        cast(sum(case when calls.is_priced then 0 else 1 end) as bigint) as unpriced_calls,
        cast(sum(calls.prompt_tokens) as bigint) as prompt_tokens,
        cast(sum(calls.completion_tokens) as bigint) as completion_tokens,
        cast(coalesce(sum(calls.cost_usd), 0) as decimal(24, 12)) as cost_usd,
        {{ rebuilt_at() }} as rebuilt_at
    from calls
    group by
        calls.event_date,
        coalesce(calls.customer_id, '(untagged)'),
        calls.workspace_id,
        coalesce(calls.feature, '(untagged)'),
        calls.provider,
        calls.model,
        calls.unpriced_reason
)

select * from final
