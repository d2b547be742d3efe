{#
    Every call of int_whatif_calls priced as the scenario rewrote it, by the one pricing path
    (macros/pricing/, the same macros as int_llm_calls_priced): the candidate provider and model
    (resolved like real calls), service tier and tokens, on the price date its price basis gives,
    at the call's own UTC second of day, under the current price state (every pricing file
    loaded). An unpriced candidate says why and has scenario_cost_usd null, never 0.

    Each call takes its case's unit prices from int_whatif_cases_priced (steps 1-5, priced once per
    case) and its billed units and costs here (steps 6-7). The calls go through pricing_call_costs
    whole (the observed provider, model, tier and tokens renamed observed_*, the candidate ones in
    the names the macro reads): no join back on (scenario_id, event_id), which cost more than the
    pricing itself (BENCHMARKS.md, 2026-12-01).

    Incremental by event_date like int_whatif_calls (macros/whatif.sql): a run prices the days
    int_whatif_calls rebuilt since this model's last run.
#}

{{ config(**whatif_partition_config()) }}

-- the scenarios' periods, for the stale rows deleted before an incremental run (macros/whatif.sql):
-- depends_on: {{ ref('int_whatif_scenarios') }}

with

{% if is_partition_incremental() %}

days_rebuilt as (
    {{ partitions_rebuilt_in(['int_whatif_calls']) }}
),

whatif_calls as (
    select * from {{ ref('int_whatif_calls') }}
    where event_date in (select days_rebuilt.event_date from days_rebuilt)
),

{% else %}

whatif_calls as (
    select * from {{ ref('int_whatif_calls') }}
),

{% endif %}

calls_to_price as (
    -- every column of the call; what the pricing macros read is the candidate's
    select
        whatif_calls.scenario_id,
        whatif_calls.scenario_file,
        whatif_calls.event_id,
        whatif_calls.rule_index,
        whatif_calls.rule_line,
        whatif_calls.occurred_at,
        whatif_calls.event_date,
        whatif_calls.second_of_day,
        whatif_calls.task_id,
        whatif_calls.is_last_attempt,
        whatif_calls.customer_id,
        whatif_calls.feature,
        whatif_calls.route,
        whatif_calls.provider as observed_provider,
        whatif_calls.model as observed_model,
        whatif_calls.service_tier as observed_service_tier,
        whatif_calls.prompt_tokens as observed_prompt_tokens,
        whatif_calls.cached_prompt_tokens as observed_cached_prompt_tokens,
        whatif_calls.cache_write_tokens as observed_cache_write_tokens,
        whatif_calls.completion_tokens as observed_completion_tokens,
        whatif_calls.reasoning_tokens as observed_reasoning_tokens,
        whatif_calls.actual_cost_usd,
        whatif_calls.actual_unpriced_reason,
        whatif_calls.rule_candidate_provider,
        whatif_calls.rule_candidate_model,
        whatif_calls.rule_candidate_service_tier,
        whatif_calls.cache_hit_rate,
        whatif_calls.token_ratio,
        whatif_calls.price_basis,
        whatif_calls.price_date,
        whatif_calls.assumptions,
        whatif_calls.candidate_provider,
        whatif_calls.candidate_model,
        whatif_calls.candidate_service_tier,
        whatif_calls.candidate_prompt_tokens,
        whatif_calls.candidate_cached_prompt_tokens,
        whatif_calls.candidate_cache_write_tokens,
        whatif_calls.candidate_completion_tokens,
        whatif_calls.candidate_reasoning_tokens,
        whatif_calls.candidate_provider as provider,
        whatif_calls.candidate_model as model,
        whatif_calls.candidate_service_tier as service_tier,
        whatif_calls.candidate_prompt_tokens as prompt_tokens,
        whatif_calls.candidate_cached_prompt_tokens as cached_prompt_tokens,
        whatif_calls.candidate_cache_write_tokens as cache_write_tokens,
        whatif_calls.candidate_completion_tokens as completion_tokens,
        whatif_calls.candidate_reasoning_tokens as reasoning_tokens,
        cast(null as timestamp) as last_ingested_at
    from whatif_calls
),

whatif_cases as (
    select * from {{ ref('int_whatif_cases_priced') }}
),

-- steps 6-7 (macros/pricing/): call_costs, every call with its case's prices and its costs
{{ pricing_call_costs(calls='calls_to_price', cases='whatif_cases') }}

final as (
    select
        call_costs.scenario_id,
        call_costs.scenario_file,
        call_costs.event_id,
        call_costs.rule_index,
        call_costs.rule_line,
        call_costs.occurred_at,
        call_costs.event_date,
        call_costs.second_of_day,
        call_costs.task_id,
        call_costs.is_last_attempt,
        call_costs.customer_id,
        call_costs.feature,
        call_costs.route,
        call_costs.observed_provider as provider,
        call_costs.observed_model as model,
        call_costs.observed_service_tier as service_tier,
        call_costs.observed_prompt_tokens as prompt_tokens,
        call_costs.observed_cached_prompt_tokens as cached_prompt_tokens,
        call_costs.observed_cache_write_tokens as cache_write_tokens,
        call_costs.observed_completion_tokens as completion_tokens,
        call_costs.observed_reasoning_tokens as reasoning_tokens,
        call_costs.actual_cost_usd,
        call_costs.actual_unpriced_reason,
        call_costs.rule_candidate_provider,
        call_costs.rule_candidate_model,
        call_costs.rule_candidate_service_tier,
        call_costs.cache_hit_rate,
        call_costs.token_ratio,
        call_costs.price_basis,
        call_costs.price_date,
        call_costs.assumptions,
        call_costs.candidate_provider,
        call_costs.candidate_model,
        call_costs.candidate_service_tier,
        call_costs.candidate_prompt_tokens,
        call_costs.candidate_cached_prompt_tokens,
        call_costs.candidate_cache_write_tokens,
        call_costs.candidate_completion_tokens,
        call_costs.candidate_reasoning_tokens,
        call_costs.price_provider_id,
        call_costs.price_model_id,
        call_costs.price_source,
        call_costs.price_export_version,
        call_costs.price_context_key,
        call_costs.price_context_value,
        call_costs.input_usd_per_mtok,
        call_costs.cache_read_usd_per_mtok,
        call_costs.cache_write_usd_per_mtok,
        call_costs.output_usd_per_mtok,
        call_costs.reasoning_usd_per_mtok,
        call_costs.request_usd_per_k,
        call_costs.uncached_input_tokens,
        call_costs.billed_output_tokens,
        call_costs.unpriced_reason as scenario_unpriced_reason,
        call_costs.input_cost_usd,
        call_costs.cache_read_cost_usd,
        call_costs.cache_write_cost_usd,
        call_costs.output_cost_usd,
        call_costs.reasoning_cost_usd,
        call_costs.request_cost_usd,
        call_costs.cost_usd as scenario_cost_usd,
        {{ rebuilt_at() }} as rebuilt_at
    from call_costs
)

select * from final
