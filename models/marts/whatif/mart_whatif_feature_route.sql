{#
    Each what-if scenario per feature and route (docs/pricing.md "What-if pricing"): the period's
    real calls at their actual cost against the same calls priced as the scenario rewrote them
    (int_whatif_calls_priced). All calls of one feature and route take the same rule (matching
    depends on nothing else), so the rule's candidate, tier and assumptions describe the row.
    Costs sum priced calls only; unpriced calls are counted, never $0 (a cost is null when every
    call is unpriced). Successful tasks: the tasks whose last attempt is in this feature and
    route and that succeeded (fct_tasks.is_successful), so they add up over routes.
#}

with

whatif_calls as (
    select * from {{ ref('int_whatif_calls_priced') }}
),

scenarios as (
    select * from {{ ref('int_whatif_scenarios') }}
),

tasks as (
    select * from {{ ref('fct_tasks') }}
),

calls_with_tasks as (
    select
        whatif_calls.*,
        coalesce(whatif_calls.is_last_attempt and tasks.is_successful, false) as is_successful_task_end
    from whatif_calls
    left join tasks
        on whatif_calls.task_id = tasks.task_id
),

unpriced_reasons as (
    select distinct
        calls_with_tasks.scenario_id,
        calls_with_tasks.feature,
        calls_with_tasks.route,
        calls_with_tasks.scenario_unpriced_reason
    from calls_with_tasks
    where calls_with_tasks.scenario_unpriced_reason is not null
),

reasons_joined as (
    select
        unpriced_reasons.scenario_id,
        unpriced_reasons.feature,
        unpriced_reasons.route,
        {{ dbt.listagg('unpriced_reasons.scenario_unpriced_reason', "', '", 'order by unpriced_reasons.scenario_unpriced_reason') }} as scenario_unpriced_reasons
    from unpriced_reasons
    group by unpriced_reasons.scenario_id, unpriced_reasons.feature, unpriced_reasons.route
),

by_feature_route as (
    select
        calls_with_tasks.scenario_id,
        calls_with_tasks.feature,
        calls_with_tasks.route,
        min(calls_with_tasks.price_basis) as price_basis,
        case when min(calls_with_tasks.price_basis) <> 'call_time' then min(calls_with_tasks.price_date) end as price_date,
        min(calls_with_tasks.rule_candidate_provider) as candidate_provider,
        min(calls_with_tasks.rule_candidate_model) as candidate_model,
        min(calls_with_tasks.rule_candidate_service_tier) as candidate_service_tier,
        min(calls_with_tasks.assumptions) as assumptions,
        cast(count(*) as bigint) as calls,
        cast(sum(case when calls_with_tasks.is_successful_task_end then 1 else 0 end) as bigint) as successful_tasks,
        cast(sum(calls_with_tasks.actual_cost_usd) as decimal(24, 12)) as actual_cost_usd,
        cast(sum(calls_with_tasks.scenario_cost_usd) as decimal(24, 12)) as scenario_cost_usd,
        cast(sum(case when calls_with_tasks.actual_unpriced_reason is not null then 1 else 0 end) as bigint)
            as actual_unpriced_calls,
        cast(sum(case when calls_with_tasks.scenario_unpriced_reason is not null then 1 else 0 end) as bigint)
            as scenario_unpriced_calls
    from calls_with_tasks
    group by calls_with_tasks.scenario_id, calls_with_tasks.feature, calls_with_tasks.route
),

final as (
    select
        cast(by_feature_route.scenario_id as string) as scenario_id,
        cast(by_feature_route.feature as string) as feature,
        cast(by_feature_route.route as string) as route,
        scenarios.period_start,
        scenarios.period_end,
        cast(by_feature_route.price_basis as string) as price_basis,
        by_feature_route.price_date,
        cast(by_feature_route.candidate_provider as string) as candidate_provider,
        cast(by_feature_route.candidate_model as string) as candidate_model,
        cast(by_feature_route.candidate_service_tier as string) as candidate_service_tier,
        cast(by_feature_route.assumptions as string) as assumptions,
        by_feature_route.calls,
        by_feature_route.successful_tasks,
        by_feature_route.actual_cost_usd,
        by_feature_route.scenario_cost_usd,
        cast(by_feature_route.scenario_cost_usd - by_feature_route.actual_cost_usd as decimal(24, 12))
            as cost_difference_usd,
        by_feature_route.actual_unpriced_calls,
        by_feature_route.scenario_unpriced_calls,
        cast(reasons_joined.scenario_unpriced_reasons as string) as scenario_unpriced_reasons,
        {{ cost_per('by_feature_route.actual_cost_usd', 'by_feature_route.successful_tasks') }}
            as actual_cost_per_successful_task_usd,
        {{ cost_per('by_feature_route.scenario_cost_usd', 'by_feature_route.successful_tasks') }}
            as scenario_cost_per_successful_task_usd
    from by_feature_route
    inner join scenarios
        on by_feature_route.scenario_id = scenarios.scenario_id
    left join reasons_joined
        on by_feature_route.scenario_id = reasons_joined.scenario_id
        and by_feature_route.feature = reasons_joined.feature
        and by_feature_route.route is not distinct from reasons_joined.route
)

select * from final
