{#
    Every call attempt placed in its customer task, ordered, classified, and tagged with the
    task's customer, workspace and feature (DECISIONLOG.md "Task attribution"). Reads the staged
    events and their current prices (not fct_llm_calls, which reads this model for its task
    attribution).

    A call's task: its own task_id; else the task of the attempt it retries or falls back from,
    following parent_event_id up to the first attempt (pointer jumping: ceil(log2(max_chain_depth
    + 1)) rounds over the chained calls, however deep the chains; docs/tasks.md). A call whose
    chain is circular or deeper than var('max_chain_depth') is its own task, and the test
    assert_task_chains_within_max_chain_depth fails on a chain that deep. A call with neither a
    task_id nor a parent is its own task.

    Incremental (DECISIONLOG.md "Incremental tasks: the touched tasks, whole"): partitions are
    task_date, the date of the task's first attempt. A run re-chains every task touched by a call
    in a day int_llm_calls_priced rebuilt - the task the call was in, the task it is in now, the tasks of
    its parent and of its children (a late parent merges an orphan's task into its own) - from
    ALL their attempts, however old; then writes the task_date partitions those tasks were or are
    in, whole (the other tasks of those days copied unchanged).
#}

{{
    config(
        materialized='incremental',
        **partition_incremental_config('task_date'),
    )
}}

{%- set attempt_columns = [
    'event_id', 'task_id', 'is_task_id_derived', 'first_event_id', 'attempt_number',
    'is_last_attempt', 'attempt_kind', 'occurred_at', 'event_date', 'task_date', 'customer_id',
    'workspace_id', 'feature', 'user_id', 'reported_customer_id', 'reported_workspace_id',
    'reported_feature', 'has_inherited_tags', 'has_tag_conflict', 'provider', 'model', 'route',
    'fallback_from_route', 'status', 'is_incomplete', 'outcome', 'latency_ms', 'prompt_tokens',
    'cached_prompt_tokens', 'completion_tokens', 'reasoning_tokens', 'is_priced', 'cost_usd',
] %}

with

{% if is_partition_incremental() %}

calls_rebuilt as (
    -- every call of the event_date partitions int_llm_calls_priced rebuilt since this model's
    -- last run
    select
        rebuilt_events.event_id,
        rebuilt_events.task_id,
        rebuilt_events.parent_event_id
    from {{ ref('stg_usage__events') }} as rebuilt_events
    where rebuilt_events.event_date in (
        select distinct rebuilt_prices.event_date
        from {{ ref('int_llm_calls_priced') }} as rebuilt_prices
        where rebuilt_prices.rebuilt_at > {{ last_rebuilt_at() }}
    )
),

calls_linked as (
    -- those calls, their parents and their children
    select calls_rebuilt.event_id from calls_rebuilt
    union
    select calls_rebuilt.parent_event_id as event_id
    from calls_rebuilt
    where calls_rebuilt.parent_event_id is not null
    union
    select child_events.event_id
    from {{ ref('stg_usage__events') }} as child_events
    where child_events.parent_event_id in (select calls_rebuilt.event_id from calls_rebuilt)
),

tasks_touched as (
    -- the tasks those calls were in, and the task ids the rebuilt calls carry now
    select built.task_id
    from {{ this }} as built
    where built.event_id in (select calls_linked.event_id from calls_linked)
    union
    select calls_rebuilt.task_id
    from calls_rebuilt
    where calls_rebuilt.task_id is not null
),

events_to_chain as (
    -- every attempt of the touched tasks, whatever its date, and the linked calls
    select calls_linked.event_id from calls_linked
    union
    select built.event_id
    from {{ this }} as built
    where built.task_id in (select tasks_touched.task_id from tasks_touched)
),

{% endif %}

events as (
    select * from {{ ref('stg_usage__events') }}
    {% if is_partition_incremental() %}
    where event_id in (select events_to_chain.event_id from events_to_chain)
    {% endif %}
),

calls_priced as (
    select * from {{ ref('int_llm_calls_priced') }}
    where price_state = 'current'
    {% if is_partition_incremental() %}
        and event_id in (select events_to_chain.event_id from events_to_chain)
    {% endif %}
),

calls as (
    -- each call with the tags it reported itself and its cost under the current prices
    select
        events.event_id,
        events.occurred_at,
        events.event_date,
        events.customer_id,
        events.workspace_id,
        events.user_id,
        events.feature,
        events.task_id,
        events.parent_event_id,
        events.attempt,
        events.provider,
        events.model,
        events.route,
        events.fallback_from_route,
        events.status,
        events.is_incomplete,
        events.outcome,
        events.latency_ms,
        coalesce(events.prompt_tokens, 0) as prompt_tokens,
        events.cached_prompt_tokens,
        coalesce(events.completion_tokens, 0) as completion_tokens,
        events.reasoning_tokens,
        calls_priced.unpriced_reason is null as is_priced,
        calls_priced.cost_usd
    from events
    inner join calls_priced
        on events.event_id = calls_priced.event_id
),

chain_steps_0 as (
    -- every call without a task_id whose parent is among the calls, pointing one step up at that
    -- parent (only these few percent of the calls take part in the rounds below)
    select
        children.event_id,
        parents.event_id as pointer,
        1 as steps
    from calls as children
    inner join calls as parents
        on children.parent_event_id = parents.event_id
    where children.task_id is null
),

{#- Pointer jumping: in each round every pointer jumps to its pointer's pointer, so after round r
    a call points 2^r steps up its chain, or at the chain's first attempt if that is nearer (a
    first attempt is not in chain_steps, so a pointer at it finds no answer and stays). `steps`
    counts how far it went. The rounds stop once 2^r > max_chain_depth: a call then points at its
    first attempt exactly when its chain has at most max_chain_depth steps (steps <= the cap),
    and a deeper or circular chain is left with steps > the cap. Each round reads the previous
    one once (a call's "ask" row and its "answer" row meet in one window partition instead of a
    self-join), so on Spark, which inlines a CTE at every reference, the plan grows by one
    round's size per round, not doubling. #}
{%- set max_chain_depth = var('max_chain_depth') | int %}
{%- set chain_rounds = namespace(count=0) %}
{%- for _ in range(64) %}
    {%- if 2 ** chain_rounds.count <= max_chain_depth %}
        {%- set chain_rounds.count = chain_rounds.count + 1 %}
    {%- endif %}
{%- endfor %}
{%- for round in range(1, chain_rounds.count + 1) %}

chain_jump_{{ round }} as (
    -- each call twice: asking at its pointer, and answering at itself
    select
        chain_steps.event_id,
        chain_steps.pointer,
        chain_steps.steps,
        chain_roles.is_answer,
        case
            when chain_roles.is_answer then chain_steps.event_id else chain_steps.pointer
        end as meeting_id
    from chain_steps_{{ round - 1 }} as chain_steps
    cross join (
        select false as is_answer
        union all
        select true as is_answer
    ) as chain_roles
),

chain_answers_{{ round }} as (
    select
        chain_jump_{{ round }}.*,
        max(case when chain_jump_{{ round }}.is_answer then chain_jump_{{ round }}.pointer end)
            over (partition by chain_jump_{{ round }}.meeting_id) as answer_pointer,
        max(case when chain_jump_{{ round }}.is_answer then chain_jump_{{ round }}.steps end)
            over (partition by chain_jump_{{ round }}.meeting_id) as answer_steps
    from chain_jump_{{ round }}
),

chain_steps_{{ round }} as (
    -- 2^{{ round }} steps up, or the first attempt if nearer
    select
        chain_answers_{{ round }}.event_id,
        coalesce(chain_answers_{{ round }}.answer_pointer, chain_answers_{{ round }}.pointer)
            as pointer,
        chain_answers_{{ round }}.steps + coalesce(chain_answers_{{ round }}.answer_steps, 0)
            as steps
    from chain_answers_{{ round }}
    where not chain_answers_{{ round }}.is_answer
),
{%- endfor %}

call_roots as (
    -- a call's first attempt; itself when it has no parent in its chain, or its chain is
    -- circular or deeper than max_chain_depth
    select
        calls.event_id,
        case
            when chain_steps.steps <= {{ max_chain_depth }} then chain_steps.pointer
            else calls.event_id
        end as root_event_id
    from calls
    left join chain_steps_{{ chain_rounds.count }} as chain_steps
        on calls.event_id = chain_steps.event_id
),

attempts_keyed as (
    -- only what ordering needs: the windows below sort every attempt, so keep their rows narrow
    select
        calls.event_id,
        call_roots.root_event_id,
        coalesce(roots.task_id, roots.event_id) as task_key,
        roots.task_id is null as is_task_id_derived,
        calls.occurred_at,
        coalesce(calls.attempt, 1) as attempt,
        calls.route
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
            order by attempts_keyed.occurred_at, attempts_keyed.attempt, attempts_keyed.event_id
        ) as attempt_number,
        count(*) over (partition by attempts_keyed.task_key) as task_attempts,
        lag(attempts_keyed.route) over (
            partition by attempts_keyed.task_key
            order by attempts_keyed.occurred_at, attempts_keyed.attempt, attempts_keyed.event_id
        ) as previous_route
    from attempts_keyed
),

first_attempts as (
    select
        attempts_ordered.task_key,
        first_calls.customer_id as task_customer_id,
        first_calls.workspace_id as task_workspace_id,
        first_calls.feature as task_feature,
        first_calls.user_id as task_user_id,
        first_calls.event_date as task_date
    from attempts_ordered
    inner join calls as first_calls
        on attempts_ordered.event_id = first_calls.event_id
    where attempts_ordered.attempt_number = 1
),

attempts_chained as (
    select
        attempts_ordered.event_id,
        attempts_ordered.task_key as task_id,
        attempts_ordered.is_task_id_derived,
        attempts_ordered.root_event_id as first_event_id,
        attempts_ordered.attempt_number,
        attempts_ordered.attempt_number = attempts_ordered.task_attempts as is_last_attempt,
        case
            when attempts_ordered.attempt_number = 1 then 'initial'
            when attempt_calls.fallback_from_route is not null then 'fallback'
            when attempt_calls.route <> attempts_ordered.previous_route then 'fallback'
            else 'retry'
        end as attempt_kind,
        attempt_calls.occurred_at,
        attempt_calls.event_date,
        first_attempts.task_date,
        coalesce(first_attempts.task_customer_id, attempt_calls.customer_id) as customer_id,
        coalesce(first_attempts.task_workspace_id, attempt_calls.workspace_id) as workspace_id,
        coalesce(first_attempts.task_feature, attempt_calls.feature) as feature,
        coalesce(first_attempts.task_user_id, attempt_calls.user_id) as user_id,
        attempt_calls.customer_id as reported_customer_id,
        attempt_calls.workspace_id as reported_workspace_id,
        attempt_calls.feature as reported_feature,
        attempt_calls.customer_id is null
        or attempt_calls.workspace_id is null
        or attempt_calls.feature is null as has_inherited_tags,
        coalesce(attempt_calls.customer_id <> first_attempts.task_customer_id, false)
        or coalesce(attempt_calls.workspace_id <> first_attempts.task_workspace_id, false)
        or coalesce(attempt_calls.feature <> first_attempts.task_feature, false) as has_tag_conflict,
        attempt_calls.provider,
        attempt_calls.model,
        attempt_calls.route,
        attempt_calls.fallback_from_route,
        attempt_calls.status,
        attempt_calls.is_incomplete,
        attempt_calls.outcome,
        attempt_calls.latency_ms,
        attempt_calls.prompt_tokens,
        attempt_calls.cached_prompt_tokens,
        attempt_calls.completion_tokens,
        attempt_calls.reasoning_tokens,
        attempt_calls.is_priced,
        attempt_calls.cost_usd
    from attempts_ordered
    inner join calls as attempt_calls
        on attempts_ordered.event_id = attempt_calls.event_id
    inner join first_attempts
        on attempts_ordered.task_key = first_attempts.task_key
),

{% if is_partition_incremental() %}

task_dates_to_rebuild as (
    -- where the re-chained tasks start now, and where their attempts' tasks started before
    select distinct attempts_chained.task_date from attempts_chained
    union
    select built.task_date
    from {{ this }} as built
    where built.event_id in (select attempts_chained.event_id from attempts_chained)
),

attempts_in_rebuilt_partitions as (
    select
        {% for column in attempt_columns %}attempts_chained.{{ column }},
        {% endfor -%}
        {{ rebuilt_at() }} as rebuilt_at
    from attempts_chained
    union all
    -- the untouched tasks of those days, unchanged
    select
        {% for column in attempt_columns %}built.{{ column }},
        {% endfor -%}
        {{ rebuilt_at() }} as rebuilt_at
    from {{ this }} as built
    where built.task_date in (select task_dates_to_rebuild.task_date from task_dates_to_rebuild)
        and built.event_id not in (select attempts_chained.event_id from attempts_chained)
),

final as (
    select * from attempts_in_rebuilt_partitions
)

{% else %}

final as (
    select
        {% for column in attempt_columns %}attempts_chained.{{ column }},
        {% endfor -%}
        {{ rebuilt_at() }} as rebuilt_at
    from attempts_chained
)

{% endif %}

select * from final
