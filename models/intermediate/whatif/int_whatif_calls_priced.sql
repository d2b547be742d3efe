{#
    Every call of int_whatif_calls priced as the scenario rewrote it, by the one pricing path
    (macros/pricing/, the same macros as int_llm_calls_priced): the candidate provider and model
    (resolved like real calls), service tier and tokens, on the price date its price basis gives,
    at the call's own UTC second of day, under the current price state (every pricing file
    loaded). An unpriced candidate says why and has scenario_cost_usd null, never 0. A table,
    rebuilt whole each run (DECISIONLOG.md).
#}

with

whatif_calls as (
    select * from {{ ref('int_whatif_calls') }}
),

model_resolutions as (
    select * from {{ ref('stg_pricing__model_resolutions') }}
),

price_rules as (
    select * from {{ ref('int_price_rules_by_state') }}
),

calls_to_price as (
    select
        whatif_calls.scenario_id,
        whatif_calls.event_id,
        whatif_calls.candidate_provider as provider,
        whatif_calls.candidate_model as model,
        whatif_calls.candidate_service_tier as service_tier,
        whatif_calls.price_date,
        whatif_calls.second_of_day,
        whatif_calls.candidate_prompt_tokens as prompt_tokens,
        whatif_calls.candidate_cached_prompt_tokens as cached_prompt_tokens,
        whatif_calls.candidate_cache_write_tokens as cache_write_tokens,
        whatif_calls.candidate_completion_tokens as completion_tokens,
        whatif_calls.candidate_reasoning_tokens as reasoning_tokens,
        cast(null as timestamp) as last_ingested_at
    from whatif_calls
),

-- steps 1-7 (macros/pricing/): call_costs, every call with its prices and costs
{{ pricing_at_current_prices(calls='calls_to_price', model_resolutions='model_resolutions', price_rules='price_rules') }}

final as (
    select
        whatif_calls.*,
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
        call_costs.cost_usd as scenario_cost_usd
    from whatif_calls
    inner join call_costs
        on whatif_calls.scenario_id = call_costs.scenario_id
        and whatif_calls.event_id = call_costs.event_id
)

select * from final
