{#
    Every real call in each scenario's period, matched to the scenario's rule and rewritten as
    the scenario assumes it would have been sent (docs/pricing.md "What-if pricing"):
      - period: int_whatif_scenarios' (the first rule's, by default the last full calendar month
        before the latest event_date, every day held when the warehouse holds no full month);
      - rule: the most specific rule of the scenario matching the call's feature (its task's, as
        everywhere) and route: feature+route > feature > route > neither; a call no rule matches
        is replayed unchanged (own provider and model, tier observed, cache observed, ratio 1),
        at the price basis of the scenario's first rule, so the totals cover the whole period;
      - candidate provider/model (null = the call's own), service tier (observed = the call's own,
        standard = none);
      - tokens x token_ratio, rounded half-up; with a cache_hit_rate, cached prompt tokens =
        round(candidate prompt tokens x rate) and cache writes at most what is left uncached;
      - price date by price_basis: today = the first day of the prices in force on the build
        date (int_whatif_scenarios.today_price_date: the same prices), call_time = the call's
        date, date = the rule's price_date; the call keeps its UTC second of day (off-peak
        windows apply).
    The call's actual cost (int_llm_calls_priced, current price state) rides along for the marts.

    Incremental by event_date (macros/whatif.sql, DECISIONLOG.md "What-if calls by scenario and
    day"): a run rebuilds, for every scenario, the days some scenario has not built under its
    current scenario_state (a new or changed scenario, a price change taking effect, a day the
    period newly covers) and the days whose calls, prices or tasks were rebuilt since this
    model's last run. Only the days of some scenario's period are ever read.
#}

{{ config(**whatif_partition_config()) }}

with

rules as (
    select * from {{ ref('stg_scenarios__rules') }}
),

scenarios as (
    select * from {{ ref('int_whatif_scenarios') }}
),

periods_covered as (
    -- the days of every scenario's period: the calls of other days are never read
    select
        min(scenarios.period_start) as first_day,
        max(scenarios.period_end) as end_day
    from scenarios
),

events as (
    select * from {{ ref('stg_usage__events') }}
    where event_date >= (select periods_covered.first_day from periods_covered)
        and event_date < (select periods_covered.end_day from periods_covered)
),

scenario_days as (
    -- every day of each scenario's period that holds calls
    select
        scenarios.scenario_id,
        scenarios.scenario_state,
        event_days.event_date
    from scenarios
    inner join (select distinct events.event_date from events) as event_days
        on event_days.event_date >= scenarios.period_start
        and event_days.event_date < scenarios.period_end
),

{% if is_partition_incremental() %}

built_partitions as (
    select distinct
        built.scenario_id,
        built.event_date,
        built.scenario_state
    from {{ this }} as built
),

days_rebuilt_upstream as (
    -- the days whose calls, prices or tasks were rebuilt since this model's last run
    {{ partitions_rebuilt_in(['int_llm_calls_priced', 'int_attempts_chained_to_tasks']) }}
),

days_to_build as (
    -- the days of some scenario not built under its current state, and the days rebuilt below;
    -- each is rebuilt whole, for every scenario whose period covers it
    select scenario_days.event_date
    from scenario_days
    left join built_partitions
        on scenario_days.scenario_id = built_partitions.scenario_id
        and scenario_days.event_date = built_partitions.event_date
        and scenario_days.scenario_state = built_partitions.scenario_state
    where built_partitions.scenario_id is null
    union
    select scenario_days.event_date
    from scenario_days
    inner join days_rebuilt_upstream
        on scenario_days.event_date = days_rebuilt_upstream.event_date
),

{% else %}

days_to_build as (
    select distinct scenario_days.event_date
    from scenario_days
),

{% endif %}

calls as (
    select events.*
    from events
    where events.event_date in (select days_to_build.event_date from days_to_build)
),

attempts as (
    select * from {{ ref('int_attempts_chained_to_tasks') }}
    where event_date in (select days_to_build.event_date from days_to_build)
),

calls_priced as (
    select * from {{ ref('int_llm_calls_priced') }}
    where price_state = 'current'
        and event_date in (select days_to_build.event_date from days_to_build)
),

real_calls as (
    select
        calls.event_id,
        calls.occurred_at,
        calls.event_date,
        {{ call_second_of_day('calls.occurred_at') }} as second_of_day,
        attempts.task_id,
        attempts.is_last_attempt,
        coalesce(attempts.customer_id, '(untagged)') as customer_id,
        coalesce(attempts.feature, '(untagged)') as feature,
        calls.route,
        calls.provider,
        calls.model,
        calls.service_tier,
        calls.prompt_tokens,
        calls.cached_prompt_tokens,
        calls.cache_write_tokens,
        calls.completion_tokens,
        calls.reasoning_tokens,
        calls_priced.cost_usd as actual_cost_usd,
        calls_priced.unpriced_reason as actual_unpriced_reason
    from calls
    inner join attempts
        on calls.event_id = attempts.event_id
    inner join calls_priced
        on calls.event_id = calls_priced.event_id
),

calls_in_period as (
    select
        scenarios.scenario_id,
        scenarios.scenario_file,
        scenarios.scenario_state,
        scenarios.default_price_basis,
        scenarios.default_price_date,
        scenarios.today_price_date,
        real_calls.*
    from scenarios
    inner join real_calls
        on real_calls.event_date >= scenarios.period_start
        and real_calls.event_date < scenarios.period_end
),

rule_matches as (
    -- the most specific matching rule of the call's scenario
    select
        calls_in_period.scenario_id,
        calls_in_period.event_id,
        rules.rule_index,
        row_number() over (
            partition by calls_in_period.scenario_id, calls_in_period.event_id
            order by
                case when rules.match_feature is not null then 2 else 0 end
                + case when rules.match_route is not null then 1 else 0 end desc,
                rules.rule_index
        ) as match_rank
    from calls_in_period
    inner join rules
        on calls_in_period.scenario_id = rules.scenario_id
        and (rules.match_feature is null or rules.match_feature = calls_in_period.feature)
        and (rules.match_route is null or rules.match_route = calls_in_period.route)
),

calls_matched as (
    select
        calls_in_period.*,
        rules.rule_index,
        rules.rule_line,
        rules.candidate_provider as rule_candidate_provider,
        rules.candidate_model as rule_candidate_model,
        coalesce(rules.candidate_service_tier, 'observed') as rule_candidate_service_tier,
        rules.cache_hit_rate,
        coalesce(rules.token_ratio, 1.0) as token_ratio,
        coalesce(rules.price_basis, calls_in_period.default_price_basis) as price_basis,
        case when rules.rule_index is not null then rules.price_date else calls_in_period.default_price_date end
            as rule_price_date,
        coalesce(
            rules.assumptions,
            'No rule matches: replayed as observed (own provider, model, service tier and cache hits, token ratio 1).'
        ) as assumptions
    from calls_in_period
    left join rule_matches
        on calls_in_period.scenario_id = rule_matches.scenario_id
        and calls_in_period.event_id = rule_matches.event_id
        and rule_matches.match_rank = 1
    left join rules
        on rule_matches.scenario_id = rules.scenario_id
        and rule_matches.rule_index = rules.rule_index
),

calls_rewritten as (
    select
        calls_matched.*,
        coalesce(calls_matched.rule_candidate_provider, calls_matched.provider) as candidate_provider,
        coalesce(calls_matched.rule_candidate_model, calls_matched.model) as candidate_model,
        case
            when calls_matched.rule_candidate_service_tier = 'observed' then calls_matched.service_tier
            when calls_matched.rule_candidate_service_tier = 'standard' then cast(null as string)
            else calls_matched.rule_candidate_service_tier
        end as candidate_service_tier,
        {{ whatif_tokens('calls_matched.prompt_tokens', 'calls_matched.token_ratio') }} as candidate_prompt_tokens,
        {{ whatif_tokens('calls_matched.cached_prompt_tokens', 'calls_matched.token_ratio') }} as ratio_cached_prompt_tokens,
        {{ whatif_tokens('calls_matched.cache_write_tokens', 'calls_matched.token_ratio') }} as ratio_cache_write_tokens,
        {{ whatif_tokens('calls_matched.completion_tokens', 'calls_matched.token_ratio') }} as candidate_completion_tokens,
        {{ whatif_tokens('calls_matched.reasoning_tokens', 'calls_matched.token_ratio') }} as candidate_reasoning_tokens,
        case
            when calls_matched.price_basis = 'call_time' then calls_matched.event_date
            when calls_matched.price_basis = 'date' then calls_matched.rule_price_date
            else calls_matched.today_price_date
        end as price_date
    from calls_matched
),

calls_with_cache as (
    select
        calls_rewritten.*,
        case
            when calls_rewritten.cache_hit_rate is null then calls_rewritten.ratio_cached_prompt_tokens
            else {{ whatif_tokens('coalesce(calls_rewritten.candidate_prompt_tokens, 0)', 'calls_rewritten.cache_hit_rate') }}
        end as candidate_cached_prompt_tokens
    from calls_rewritten
),

final as (
    select
        calls_with_cache.scenario_id,
        calls_with_cache.scenario_file,
        calls_with_cache.event_id,
        calls_with_cache.rule_index,
        calls_with_cache.rule_line,
        calls_with_cache.occurred_at,
        calls_with_cache.event_date,
        calls_with_cache.second_of_day,
        calls_with_cache.task_id,
        calls_with_cache.is_last_attempt,
        calls_with_cache.customer_id,
        calls_with_cache.feature,
        calls_with_cache.route,
        calls_with_cache.provider,
        calls_with_cache.model,
        calls_with_cache.service_tier,
        calls_with_cache.prompt_tokens,
        calls_with_cache.cached_prompt_tokens,
        calls_with_cache.cache_write_tokens,
        calls_with_cache.completion_tokens,
        calls_with_cache.reasoning_tokens,
        calls_with_cache.actual_cost_usd,
        calls_with_cache.actual_unpriced_reason,
        calls_with_cache.rule_candidate_provider,
        calls_with_cache.rule_candidate_model,
        calls_with_cache.rule_candidate_service_tier,
        calls_with_cache.cache_hit_rate,
        calls_with_cache.token_ratio,
        calls_with_cache.price_basis,
        calls_with_cache.price_date,
        calls_with_cache.assumptions,
        calls_with_cache.candidate_provider,
        calls_with_cache.candidate_model,
        calls_with_cache.candidate_service_tier,
        calls_with_cache.candidate_prompt_tokens,
        calls_with_cache.candidate_cached_prompt_tokens,
        case
            when calls_with_cache.cache_hit_rate is null or calls_with_cache.ratio_cache_write_tokens is null
                then calls_with_cache.ratio_cache_write_tokens
            -- cache writes fit in what the assumed cache hits leave of the prompt
            else least(
                calls_with_cache.ratio_cache_write_tokens,
                coalesce(calls_with_cache.candidate_prompt_tokens, 0) - calls_with_cache.candidate_cached_prompt_tokens
            )
        end as candidate_cache_write_tokens,
        calls_with_cache.candidate_completion_tokens,
        calls_with_cache.candidate_reasoning_tokens,
        calls_with_cache.scenario_state,
        {{ rebuilt_at() }} as rebuilt_at
    from calls_with_cache
)

select * from final
