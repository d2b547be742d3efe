{#
    No retry or fallback chain is deeper than var('max_chain_depth'): int_attempts_chained_to_tasks
    follows a chain that far (its pointer-jumping rounds are sized from the var) and leaves every
    attempt beyond it its own task. Such an attempt is a call without a task_id whose parent is in
    a chain that did reach its first attempt, yet which is not in its parent's task. Circular
    chains (no first attempt at all) are not reported here: each of their calls is its own task by
    rule (docs/tasks.md).
#}

with

events as (
    select * from {{ ref('stg_usage__events') }}
),

attempts as (
    select * from {{ ref('int_attempts_chained_to_tasks') }}
)

select
    events.event_id,
    events.parent_event_id,
    parent_attempts.first_event_id as parent_first_event_id,
    {{ var('max_chain_depth') }} as max_chain_depth
from events
inner join attempts as child_attempts
    on events.event_id = child_attempts.event_id
inner join attempts as parent_attempts
    on events.parent_event_id = parent_attempts.event_id
where events.task_id is null
    and parent_attempts.first_event_id <> parent_attempts.event_id
    and child_attempts.first_event_id <> parent_attempts.first_event_id
