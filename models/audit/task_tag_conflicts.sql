{#
    Attempts whose own customer, workspace or feature differ from their task's (its first
    attempt's). The task keeps the first attempt's tags; nothing is overwritten silently: here is
    every disagreement, for the emitter to fix.
#}

with

attempts as (
    select * from {{ ref('int_attempts_chained_to_tasks') }}
),

final as (
    select
        attempts.event_id,
        attempts.task_id,
        attempts.attempt_number,
        attempts.occurred_at,
        attempts.customer_id as task_customer_id,
        attempts.reported_customer_id,
        attempts.workspace_id as task_workspace_id,
        attempts.reported_workspace_id,
        attempts.feature as task_feature,
        attempts.reported_feature,
        attempts.cost_usd
    from attempts
    where attempts.has_tag_conflict
)

select * from final
