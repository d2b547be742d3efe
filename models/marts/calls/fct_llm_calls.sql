{#
    One row per deduplicated provider call attempt, with its tokens, its exact cost and the task
    it serves. Money is computed once, at the call grain (int_llm_calls_priced); everything above
    sums cost_usd. A call with no resolvable price has is_priced = false, a reason, and cost_usd
    null.

    customer_id, workspace_id, feature, user_id and task_id are the TASK's (DECISIONLOG.md "A call
    is charged to its task's owner"): a retry or fallback that reported no tags of its own is
    charged to the customer of the task it serves, as in every budget, cap and margin figure.
    reported_* are the tags the call carried itself, for debugging an emitter.

    Incremental: the event_date partitions int_llm_calls_priced rebuilt since this model's last
    rebuild, and those holding attempts int_attempts_chained_to_tasks re-chained (a late parent
    re-attributes its orphans), are rebuilt here, whole (macros/cross_db/incremental.sql).

    Built after fct_tasks (the depends_on line below; every task_id here is a task there): the
    two biggest models of a build, built side by side, shared DuckDB's one memory limit and two
    cores and took 110 s and 102 s at 10M events against ~30 s and ~20 s each alone
    (BENCHMARKS.md, DECISIONLOG.md "The two facts one after the other").
#}

-- depends_on: {{ ref('fct_tasks') }}

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

final as (
    select
        calls.event_id,
        calls.occurred_at,
        calls.event_date,
        attempts.customer_id,
        attempts.workspace_id,
        attempts.user_id,
        attempts.feature,
        attempts.task_id,
        calls.customer_id as reported_customer_id,
        calls.workspace_id as reported_workspace_id,
        calls.user_id as reported_user_id,
        calls.feature as reported_feature,
        calls.task_id as reported_task_id,
        attempts.has_inherited_tags,
        attempts.attempt_kind,
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
        calls.versions_received,
        calls.last_ingested_at,
        {{ rebuilt_at() }} as rebuilt_at
    from calls
    inner join calls_priced
        on calls.event_id = calls_priced.event_id
    inner join attempts
        on calls.event_id = attempts.event_id
)

select * from final
