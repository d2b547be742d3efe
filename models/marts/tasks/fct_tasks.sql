{#
    One row per customer task: every attempt (retries, fallbacks, agent loops) charged to the task
    and its customer. total_cost_usd sums the attempts' cost_usd, so summed over tasks it equals
    the cost in fct_llm_calls exactly.

    Incremental: the task_date partitions int_attempts_chained_to_tasks rebuilt since this
    model's last rebuild are rebuilt here, whole (every attempt of a task is in its task_date
    partition there, whatever the attempt's own date).
#}

{{
    config(
        materialized='incremental',
        **partition_incremental_config('task_date'),
    )
}}

with

attempts as (
    select * from {{ ref('int_attempts_chained_to_tasks') }}
    {% if is_partition_incremental() %}
    where task_date in (
        select distinct rebuilt_attempts.task_date
        from {{ ref('int_attempts_chained_to_tasks') }} as rebuilt_attempts
        where rebuilt_attempts.rebuilt_at > {{ last_rebuilt_at() }}
    )
    {% endif %}
),

tasks_summarised as (
    select
        attempts.task_id,
        max(case when attempts.attempt_number = 1 then attempts.event_id end) as first_event_id,
        max(case when attempts.is_last_attempt then attempts.event_id end) as last_event_id,
        max(attempts.customer_id) as customer_id,
        max(attempts.workspace_id) as workspace_id,
        max(attempts.user_id) as user_id,
        max(attempts.feature) as feature,
        min(attempts.occurred_at) as started_at,
        max(attempts.occurred_at) as last_attempt_at,
        cast(count(*) as bigint) as attempts,
        cast(sum(case when attempts.attempt_kind = 'retry' then 1 else 0 end) as bigint) as retry_attempts,
        cast(sum(case when attempts.attempt_kind = 'fallback' then 1 else 0 end) as bigint) as fallback_attempts,
        max(case when attempts.attempt_number = 1 then attempts.route end) as original_route,
        max(case when attempts.is_last_attempt then attempts.route end) as final_route,
        max(case when attempts.is_last_attempt then attempts.provider end) as final_provider,
        max(case when attempts.is_last_attempt then attempts.model end) as final_model,
        max(case when attempts.is_last_attempt then attempts.status end) as final_status,
        -- the outcome the task reported last (the final attempt's, else an earlier one's)
        {{ max_by('attempts.outcome', 'case when attempts.outcome is not null then attempts.attempt_number end') }}
        as outcome,
        max(case when attempts.is_last_attempt and attempts.is_incomplete then 1 else 0 end) = 1
        as is_incomplete,
        max(case when attempts.has_inherited_tags then 1 else 0 end) = 1 as has_inherited_tags,
        max(case when attempts.has_tag_conflict then 1 else 0 end) = 1 as has_tag_conflict,
        max(case when attempts.is_task_id_derived then 1 else 0 end) = 1 as is_task_id_derived,
        cast(sum(case when attempts.is_priced then 0 else 1 end) as bigint) as unpriced_attempts,
        cast(sum(attempts.prompt_tokens) as bigint) as prompt_tokens,
        cast(sum(attempts.cached_prompt_tokens) as bigint) as cached_prompt_tokens,
        cast(sum(attempts.completion_tokens) as bigint) as completion_tokens,
        cast(sum(attempts.reasoning_tokens) as bigint) as reasoning_tokens,
        cast(sum(attempts.latency_ms) as bigint) as total_latency_ms,
        cast(sum(attempts.cost_usd) as decimal(24, 12)) as total_cost_usd,
        cast(sum(case when attempts.is_last_attempt then attempts.cost_usd end) as decimal(24, 12))
        as last_attempt_cost_usd
    from attempts
    group by attempts.task_id
),

tasks_judged as (
    select
        tasks_summarised.*,
        tasks_summarised.final_status = 'success'
        and coalesce(tasks_summarised.outcome, 'accepted') not in ('rejected', 'failed', 'abandoned')
        as is_successful
    from tasks_summarised
),

final as (
    select
        tasks_judged.task_id,
        tasks_judged.first_event_id,
        tasks_judged.last_event_id,
        tasks_judged.customer_id,
        tasks_judged.workspace_id,
        tasks_judged.user_id,
        tasks_judged.feature,
        tasks_judged.started_at,
        tasks_judged.last_attempt_at as ended_at,
        cast(tasks_judged.started_at as date) as task_date,
        tasks_judged.attempts,
        tasks_judged.retry_attempts,
        tasks_judged.fallback_attempts,
        tasks_judged.original_route,
        tasks_judged.final_route,
        tasks_judged.final_provider,
        tasks_judged.final_model,
        tasks_judged.final_status,
        tasks_judged.outcome,
        tasks_judged.is_successful,
        tasks_judged.is_incomplete,
        tasks_judged.original_route <> tasks_judged.final_route as is_fallback,
        tasks_judged.attempts > {{ var('runaway_task_attempts') }}
        or coalesce(tasks_judged.total_cost_usd > {{ var('runaway_task_cost_usd') }}, false) as is_runaway,
        tasks_judged.has_inherited_tags,
        tasks_judged.has_tag_conflict,
        tasks_judged.is_task_id_derived,
        tasks_judged.unpriced_attempts,
        tasks_judged.prompt_tokens,
        tasks_judged.cached_prompt_tokens,
        tasks_judged.completion_tokens,
        tasks_judged.reasoning_tokens,
        tasks_judged.total_latency_ms,
        tasks_judged.total_cost_usd,
        -- output not used: every attempt of a failed task, every attempt but the last of a
        -- successful one (one attempt per task is the last; unpriced attempts add nothing)
        coalesce(
            cast(
                tasks_judged.total_cost_usd
                - case when tasks_judged.is_successful
                    then coalesce(tasks_judged.last_attempt_cost_usd, 0) else 0 end
                as decimal(24, 12)
            ),
            cast(0 as decimal(24, 12))
        ) as wasted_cost_usd,
        {{ rebuilt_at() }} as rebuilt_at
    from tasks_judged
)

select * from final
