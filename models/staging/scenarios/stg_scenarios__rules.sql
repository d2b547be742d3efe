{#
    The rules of every loaded what-if scenario, typed, with the interface's defaults applied
    (token_ratio 1, price_basis today, candidate_service_tier observed). Ephemeral: whether the
    scenario file exists is checked each time a what-if model is built (no rows before scenarios
    are first loaded).
#}

{{ config(materialized='ephemeral') }}

with

scenario_rules as (
    {{ optional_lake_source('scenarios', 'scenario_rules') }}
),

final as (
    select
        cast(scenario_rules.scenario_id as string) as scenario_id,
        cast(scenario_rules.scenario_file as string) as scenario_file,
        cast(scenario_rules.rule_index as integer) as rule_index,
        cast(scenario_rules.rule_line as integer) as rule_line,
        cast(scenario_rules.match_feature as string) as match_feature,
        cast(scenario_rules.match_route as string) as match_route,
        cast(scenario_rules.candidate_provider as string) as candidate_provider,
        cast(scenario_rules.candidate_model as string) as candidate_model,
        cast(coalesce(scenario_rules.candidate_service_tier, 'observed') as string) as candidate_service_tier,
        cast(scenario_rules.cache_hit_rate as double) as cache_hit_rate,
        cast(coalesce(scenario_rules.token_ratio, 1.0) as double) as token_ratio,
        cast(scenario_rules.period_start as date) as period_start,
        cast(scenario_rules.period_end as date) as period_end,
        cast(coalesce(scenario_rules.price_basis, 'today') as string) as price_basis,
        cast(scenario_rules.price_date as date) as price_date,
        cast(scenario_rules.assumptions as string) as assumptions
    from scenario_rules
)

select * from final
