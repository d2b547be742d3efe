{#
    Every call attempt placed in its customer task, ordered, classified, and tagged with the
    task's customer, workspace and feature (DECISIONLOG.md "Task attribution").

    A call's task: its own task_id; else the task of the attempt it retries or falls back from,
    following parent_event_id up to the first attempt (a recursive CTE, walking each chain down
    from its first attempt; chains longer than var('max_chain_depth') or circular are cut there,
    the rest of the chain becoming its own task); a call with neither is its own task.
#}

with recursive

calls as (
    select * from {{ ref('fct_llm_calls') }}
),

links as (
    select
        calls.event_id,
        case
            when calls.task_id is null and parents.event_id is not null then parents.event_id
        end as parent_in_chain
    from calls
    left join calls as parents
        on calls.parent_event_id = parents.event_id
),

chains as (
    select
        links.event_id,
        links.event_id as root_event_id,
        0 as depth
    from links
    where links.parent_in_chain is null

    union all

    select
        links.event_id,
        chains.root_event_id,
        chains.depth + 1 as depth
    from links
    inner join chains
        on links.parent_in_chain = chains.event_id
    where chains.depth < {{ var('max_chain_depth') }}
),

call_roots as (
    select
        links.event_id,
        coalesce(chains.root_event_id, links.event_id) as root_event_id
    from links
    left join chains
        on links.event_id = chains.event_id
),

attempts_keyed as (
    select
        calls.*,
        call_roots.root_event_id,
        coalesce(roots.task_id, roots.event_id) as task_key,
        roots.task_id is null as is_task_id_derived
    from calls
    inner join call_roots
        on calls.event_id = call_roots.event_id
    inner join calls as roots
        on call_roots.root_event_id = roots.event_id
),

attempts_ordered as (
    select
        attempts_keyed.*,
        row_number() over (
            partition by attempts_keyed.task_key
            order by attempts_keyed.occurred_at, coalesce(attempts_keyed.attempt, 1), attempts_keyed.event_id
        ) as attempt_number,
        count(*) over (partition by attempts_keyed.task_key) as task_attempts,
        lag(attempts_keyed.route) over (
            partition by attempts_keyed.task_key
            order by attempts_keyed.occurred_at, coalesce(attempts_keyed.attempt, 1), attempts_keyed.event_id
        ) as previous_route
    from attempts_keyed
),

first_attempts as (
    select
        attempts_ordered.task_key,
        attempts_ordered.customer_id as task_customer_id,
        attempts_ordered.workspace_id as task_workspace_id,
        attempts_ordered.feature as task_feature,
        attempts_ordered.user_id as task_user_id
    from attempts_ordered
    where attempts_ordered.attempt_number = 1
),

final as (
    select
        attempts_ordered.event_id,
        attempts_ordered.task_key as task_id,
        attempts_ordered.is_task_id_derived,
        attempts_ordered.root_event_id as first_event_id,
        attempts_ordered.attempt_number,
        attempts_ordered.attempt_number = attempts_ordered.task_attempts as is_last_attempt,
        case
            when attempts_ordered.attempt_number = 1 then 'initial'
            when attempts_ordered.fallback_from_route is not null then 'fallback'
            when attempts_ordered.route <> attempts_ordered.previous_route then 'fallback'
            else 'retry'
        end as attempt_kind,
        attempts_ordered.occurred_at,
        attempts_ordered.event_date,
        coalesce(first_attempts.task_customer_id, attempts_ordered.customer_id) as customer_id,
        coalesce(first_attempts.task_workspace_id, attempts_ordered.workspace_id) as workspace_id,
        coalesce(first_attempts.task_feature, attempts_ordered.feature) as feature,
        coalesce(first_attempts.task_user_id, attempts_ordered.user_id) as user_id,
        attempts_ordered.customer_id as reported_customer_id,
        attempts_ordered.workspace_id as reported_workspace_id,
        attempts_ordered.feature as reported_feature,
        attempts_ordered.customer_id is null
        or attempts_ordered.workspace_id is null
        or attempts_ordered.feature is null as has_inherited_tags,
        coalesce(attempts_ordered.customer_id <> first_attempts.task_customer_id, false)
        or coalesce(attempts_ordered.workspace_id <> first_attempts.task_workspace_id, false)
        or coalesce(attempts_ordered.feature <> first_attempts.task_feature, false) as has_tag_conflict,
        attempts_ordered.provider,
        attempts_ordered.model,
        attempts_ordered.route,
        attempts_ordered.fallback_from_route,
        attempts_ordered.status,
        attempts_ordered.is_incomplete,
        attempts_ordered.outcome,
        attempts_ordered.latency_ms,
        attempts_ordered.prompt_tokens,
        attempts_ordered.cached_prompt_tokens,
        attempts_ordered.completion_tokens,
        attempts_ordered.reasoning_tokens,
        attempts_ordered.is_priced,
        attempts_ordered.cost_usd
    from attempts_ordered
    inner join first_attempts
        on attempts_ordered.task_key = first_attempts.task_key
)

select * from final
