{#
    One row per deduplicated provider call attempt, with its tags, tokens and exact cost.
    Money is computed once, here, at the call grain; everything above sums cost_usd.
    A call with no resolvable price has is_priced = false, a reason, and cost_usd null.

    Incremental: the event_date partitions int_llm_calls_priced rebuilt since this model's last
    rebuild are rebuilt here, whole (macros/cross_db/incremental.sql).
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
    select distinct priced.event_date
    from {{ ref('int_llm_calls_priced') }} as priced
    where priced.rebuilt_at > {{ last_rebuilt_at() }}
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

final as (
    select
        calls.event_id,
        calls.occurred_at,
        calls.event_date,
        calls.customer_id,
        calls.workspace_id,
        calls.user_id,
        calls.feature,
        calls.task_id,
        calls.parent_event_id,
        calls.attempt,
        calls.provider,
        calls.model,
        calls.route,
        calls.fallback_from_route,
        calls.service_tier,
        calls.status,
        calls.is_incomplete,
        calls.outcome,
        calls.latency_ms,
        coalesce(calls.prompt_tokens, 0) as prompt_tokens,
        calls.cached_prompt_tokens,
        calls.cache_write_tokens,
        coalesce(calls.completion_tokens, 0) as completion_tokens,
        calls.reasoning_tokens,
        calls_priced.price_provider_id,
        calls_priced.price_model_id,
        calls_priced.price_source,
        calls_priced.price_export_version,
        calls_priced.unpriced_reason is null as is_priced,
        calls_priced.unpriced_reason,
        case when calls_priced.unpriced_reason is null then calls_priced.input_cost_usd end as input_cost_usd,
        case when calls_priced.unpriced_reason is null then calls_priced.cache_read_cost_usd end
            as cache_read_cost_usd,
        case when calls_priced.unpriced_reason is null then calls_priced.cache_write_cost_usd end
            as cache_write_cost_usd,
        case when calls_priced.unpriced_reason is null then calls_priced.output_cost_usd end as output_cost_usd,
        case when calls_priced.unpriced_reason is null then calls_priced.reasoning_cost_usd end
            as reasoning_cost_usd,
        case when calls_priced.unpriced_reason is null then calls_priced.request_cost_usd end as request_cost_usd,
        calls_priced.cost_usd,
        calls.last_ingested_at,
        {{ rebuilt_at() }} as rebuilt_at
    from calls
    inner join calls_priced
        on calls.event_id = calls_priced.event_id
)

select * from final
