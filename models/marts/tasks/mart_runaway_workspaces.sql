{#
    Workspace-days that ran away, with the evidence: days holding runaway tasks (more attempts or
    cost than var('runaway_task_attempts') / var('runaway_task_cost_usd')), and days whose spend
    exceeds var('runaway_workspace_k') x the median daily spend of the workspace's previous active
    days within var('runaway_workspace_baseline_days') (at least
    var('runaway_workspace_min_history_days') of them).
#}

with

tasks as (
    select * from {{ ref('fct_tasks') }}
),

workspace_days as (
    select
        coalesce(tasks.workspace_id, '(untagged)') as workspace_id,
        max(tasks.customer_id) as customer_id,
        tasks.task_date as spend_date,
        cast(count(*) as bigint) as tasks,
        cast(sum(case when tasks.is_runaway then 1 else 0 end) as bigint) as runaway_tasks,
        cast(sum(tasks.attempts) as bigint) as attempts,
        cast(max(tasks.attempts) as bigint) as max_task_attempts,
        cast(coalesce(sum(tasks.total_cost_usd), 0) as decimal(24, 12)) as spend_usd
    from tasks
    group by coalesce(tasks.workspace_id, '(untagged)'), tasks.task_date
),

baselines as (
    select
        workspace_days.workspace_id,
        workspace_days.spend_date,
        cast(count(history.spend_date) as bigint) as history_days,
        cast({{ median('cast(history.spend_usd as double)') }} as double) as baseline_median_usd
    from workspace_days
    inner join workspace_days as history
        on workspace_days.workspace_id = history.workspace_id
        and history.spend_date < workspace_days.spend_date
        and history.spend_date >= {{ add_days('workspace_days.spend_date', -1 * var('runaway_workspace_baseline_days')) }}
    group by workspace_days.workspace_id, workspace_days.spend_date
),

days_judged as (
    select
        workspace_days.*,
        baselines.history_days,
        baselines.baseline_median_usd,
        coalesce(baselines.history_days >= {{ var('runaway_workspace_min_history_days') }}
            and cast(workspace_days.spend_usd as double)
            > {{ var('runaway_workspace_k') }} * baselines.baseline_median_usd, false) as is_spend_spike
    from workspace_days
    left join baselines
        on workspace_days.workspace_id = baselines.workspace_id
        and workspace_days.spend_date = baselines.spend_date
),

final as (
    select
        workspace_id,
        customer_id,
        spend_date,
        case
            when is_spend_spike and runaway_tasks > 0 then 'spend_spike_and_runaway_tasks'
            when is_spend_spike then 'spend_spike'
            else 'runaway_tasks'
        end as reason,
        tasks,
        runaway_tasks,
        attempts,
        max_task_attempts,
        spend_usd,
        baseline_median_usd,
        history_days,
        cast(case when baseline_median_usd > 0 then cast(spend_usd as double) / baseline_median_usd end as double)
            as spend_ratio
    from days_judged
    where is_spend_spike or runaway_tasks > 0
)

select * from final
