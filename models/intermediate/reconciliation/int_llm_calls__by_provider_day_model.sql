{#
    The llm-margin side of every provider reconciliation, summed once: the calls of
    fct_llm_calls per provider, UTC day, model as logged and the catalog model it was priced as.
    Intermediate models do not read marts, so it reads what fct_llm_calls is built from, the same
    way: the staged calls, their current price (int_llm_calls_priced) and their attempt
    (int_attempts_chained_to_tasks); a call is priced when it has no unpriced_reason. The
    singular test assert_provider_reconciliation_reconciles_with_calls_and_invoices holds the
    sums to fct_llm_calls.
    The daily reconciliation (mart_provider_daily_reconciliation) reads it per day and model, the
    monthly invoice reconciliation (mart_provider_reconciliation) rolls it up to the month.

    cost_usd counts priced calls only (an unpriced call has no cost, never $0; priced_calls says
    how many were priced). Anthropic's cost report leaves out Priority Tier costs, so the
    priority-tier part of each sum is also given on its own (priority_cost_usd) for the daily
    comparison to leave out.

    Incremental, as fct_llm_calls: the event_date partitions int_llm_calls_priced rebuilt since
    this model's last rebuild, and those int_attempts_chained_to_tasks re-chained, are recomputed
    whole; a new day no longer joins every call again.
#}

{{
    config(
        materialized='incremental',
        **partition_incremental_config('event_date'),
    )
}}

with

{% if is_partition_incremental() %}

days_to_rebuild as (
    {{ partitions_rebuilt_in(['int_llm_calls_priced', 'int_attempts_chained_to_tasks']) }}
),

{% endif %}

calls as (
    select * from {{ ref('stg_usage__events') }}
    {% if is_partition_incremental() %}
    where event_date in (select days_to_rebuild.event_date from days_to_rebuild)
    {% endif %}
),

calls_priced as (
    select * from {{ ref('int_llm_calls_priced') }}
    where price_state = 'current'
    {% if is_partition_incremental() %}
        and event_date in (select days_to_rebuild.event_date from days_to_rebuild)
    {% endif %}
),

attempts as (
    select * from {{ ref('int_attempts_chained_to_tasks') }}
    {% if is_partition_incremental() %}
    where event_date in (select days_to_rebuild.event_date from days_to_rebuild)
    {% endif %}
),

llm_calls as (
    select
        calls.provider,
        calls.event_date,
        calls.model,
        calls.service_tier,
        coalesce(calls.prompt_tokens, 0) as prompt_tokens,
        calls.cached_prompt_tokens,
        calls.cache_write_tokens,
        coalesce(calls.completion_tokens, 0) as completion_tokens,
        calls_priced.price_model_id,
        calls_priced.unpriced_reason is null as is_priced,
        calls_priced.cost_usd
    from calls
    inner join calls_priced
        on calls.event_id = calls_priced.event_id
    inner join attempts
        on calls.event_id = attempts.event_id
),

final as (
    select
        llm_calls.provider,
        llm_calls.event_date,
        llm_calls.model,
        llm_calls.price_model_id,
        count(*) as calls,
        sum(case when llm_calls.is_priced then 1 else 0 end) as priced_calls,
        sum(llm_calls.prompt_tokens) as prompt_tokens,
        sum(coalesce(llm_calls.cached_prompt_tokens, 0)) as cached_prompt_tokens,
        sum(coalesce(llm_calls.cache_write_tokens, 0)) as cache_write_tokens,
        sum(coalesce(llm_calls.completion_tokens, 0)) as completion_tokens,
        sum(case when llm_calls.service_tier = 'batch' then llm_calls.prompt_tokens else 0 end)
            as batch_prompt_tokens,
        sum(case when llm_calls.service_tier = 'priority' then 1 else 0 end) as priority_calls,
        cast(sum(llm_calls.cost_usd) as decimal(24, 12)) as cost_usd,
        cast(
            sum(case when llm_calls.service_tier = 'priority' then llm_calls.cost_usd end)
            as decimal(24, 12)
        ) as priority_cost_usd,
        {{ rebuilt_at() }} as rebuilt_at
    from llm_calls
    group by llm_calls.provider, llm_calls.event_date, llm_calls.model, llm_calls.price_model_id
)

select * from final
