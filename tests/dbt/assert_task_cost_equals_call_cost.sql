{#
    Money reconciles across layers: the cost of all tasks equals the cost of all calls, and every
    call is in exactly one task.
#}

with

llm_calls as (
    select * from {{ ref('fct_llm_calls') }}
),

tasks as (
    select * from {{ ref('fct_tasks') }}
),

call_totals as (
    select
        count(*) as calls,
        coalesce(sum(llm_calls.cost_usd), 0) as cost_usd
    from llm_calls
),

task_totals as (
    select
        coalesce(sum(tasks.attempts), 0) as attempts,
        coalesce(sum(tasks.total_cost_usd), 0) as cost_usd
    from tasks
)

select
    call_totals.calls,
    task_totals.attempts,
    call_totals.cost_usd as call_cost_usd,
    task_totals.cost_usd as task_cost_usd
from call_totals
cross join task_totals
where call_totals.calls <> task_totals.attempts
    or call_totals.cost_usd <> task_totals.cost_usd
