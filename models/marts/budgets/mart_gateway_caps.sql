{#
    What the gateway should stop, as of the latest call (docs/budgets.md): workspaces at or over
    their monthly hard cap this month (reason over_hard_cap, since = the call that crossed it),
    and workspaces flagged abusive in the last var('gateway_abuse_window_days') days up to the
    latest call (reasons runaway_loop: runaway tasks; spend_spike: a day's spend far above the
    workspace's own baseline). Untagged usage cannot be stopped by workspace and is left out.
#}

with

budget_status as (
    select * from {{ ref('mart_budget_status') }}
),

calls as (
    select * from {{ ref('fct_llm_calls') }}
),

runaway_workspaces as (
    select * from {{ ref('mart_runaway_workspaces') }}
),

latest_usage as (
    select max(budget_status.as_of) as as_of
    from budget_status
),

workspaces_over_cap as (
    select
        budget_status.scope_id as workspace_id,
        budget_status.customer_id,
        budget_status.period_start,
        budget_status.budget_usd,
        budget_status.spend_usd,
        budget_status.as_of
    from budget_status
    inner join latest_usage
        on budget_status.as_of = latest_usage.as_of
    where budget_status.budget_source = 'workspace_hard_cap'
        and budget_status.state = 'over_budget'
        and budget_status.period_start = {{ month_start('cast(latest_usage.as_of as date)') }}
),

capped_calls_running as (
    select
        workspaces_over_cap.workspace_id,
        workspaces_over_cap.budget_usd,
        calls.occurred_at,
        sum(coalesce(calls.cost_usd, 0)) over (
            partition by workspaces_over_cap.workspace_id
            order by calls.occurred_at, calls.event_id
            rows between unbounded preceding and current row
        ) as running_spend_usd
    from workspaces_over_cap
    inner join calls
        on workspaces_over_cap.workspace_id = calls.workspace_id
        and calls.event_date >= workspaces_over_cap.period_start
),

cap_crossings as (
    select
        capped_calls_running.workspace_id,
        min(capped_calls_running.occurred_at) as crossed_at
    from capped_calls_running
    where capped_calls_running.running_spend_usd >= capped_calls_running.budget_usd
    group by capped_calls_running.workspace_id
),

over_cap as (
    select
        'workspace' as scope,
        workspaces_over_cap.workspace_id as scope_id,
        workspaces_over_cap.customer_id,
        'over_hard_cap' as reason,
        cap_crossings.crossed_at as since,
        workspaces_over_cap.period_start,
        workspaces_over_cap.spend_usd,
        workspaces_over_cap.budget_usd as cap_usd,
        workspaces_over_cap.as_of
    from workspaces_over_cap
    left join cap_crossings
        on workspaces_over_cap.workspace_id = cap_crossings.workspace_id
),

recent_runaway_days as (
    select
        runaway_workspaces.workspace_id,
        runaway_workspaces.customer_id,
        runaway_workspaces.spend_date,
        runaway_workspaces.runaway_tasks,
        runaway_workspaces.reason,
        runaway_workspaces.spend_usd,
        latest_usage.as_of
    from runaway_workspaces
    cross join latest_usage
    where runaway_workspaces.workspace_id <> '(untagged)'
        and runaway_workspaces.spend_date
        > {{ add_days('cast(latest_usage.as_of as date)', -1 * var('gateway_abuse_window_days')) }}
        and runaway_workspaces.spend_date <= cast(latest_usage.as_of as date)
),

recent_runaway_reasons as (
    select
        recent_runaway_days.workspace_id,
        recent_runaway_days.customer_id,
        'runaway_loop' as reason,
        recent_runaway_days.spend_date,
        recent_runaway_days.spend_usd,
        recent_runaway_days.as_of
    from recent_runaway_days
    where recent_runaway_days.runaway_tasks > 0
    union all
    select
        recent_runaway_days.workspace_id,
        recent_runaway_days.customer_id,
        'spend_spike' as reason,
        recent_runaway_days.spend_date,
        recent_runaway_days.spend_usd,
        recent_runaway_days.as_of
    from recent_runaway_days
    where recent_runaway_days.reason in ('spend_spike', 'spend_spike_and_runaway_tasks')
),

abusive as (
    select
        'workspace' as scope,
        recent_runaway_reasons.workspace_id as scope_id,
        max(recent_runaway_reasons.customer_id) as customer_id,
        recent_runaway_reasons.reason,
        cast(min(recent_runaway_reasons.spend_date) as timestamp) as since,
        min(recent_runaway_reasons.spend_date) as period_start,
        cast(sum(recent_runaway_reasons.spend_usd) as decimal(24, 12)) as spend_usd,
        cast(null as decimal(24, 12)) as cap_usd,
        max(recent_runaway_reasons.as_of) as as_of
    from recent_runaway_reasons
    group by recent_runaway_reasons.workspace_id, recent_runaway_reasons.reason
),

caps as (
    select * from over_cap
    union all
    select * from abusive
),

final as (
    select
        concat(scope, ':', scope_id, ':', reason) as cap_id,
        scope,
        scope_id,
        customer_id,
        reason,
        since,
        period_start,
        cast(spend_usd as decimal(24, 12)) as spend_usd,
        cast(cap_usd as decimal(24, 12)) as cap_usd,
        as_of
    from caps
)

select * from final
