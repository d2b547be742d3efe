{#
    The unit prices of every pricing case of the what-if calls (int_whatif_calls): one row per
    candidate provider and model as written, request context, price date, time-of-day slot and
    tier bucket some rewritten call falls in, at the current price state, by the one pricing
    path (macros/pricing/, steps 1-5). int_whatif_calls_priced gives each call its case's prices,
    as int_llm_calls_priced does with int_pricing_cases_resolved for the real calls. A table of a
    few hundred rows, rebuilt whole each run.
#}

with

case_inputs as (
    -- what the choice of unit prices depends on: the candidate's, not the observed call's
    select
        whatif_calls.candidate_provider as provider,
        whatif_calls.candidate_model as model,
        whatif_calls.candidate_service_tier as service_tier,
        whatif_calls.price_date,
        whatif_calls.second_of_day,
        whatif_calls.candidate_prompt_tokens as prompt_tokens,
        cast(null as timestamp) as last_ingested_at
    from {{ ref('int_whatif_calls') }} as whatif_calls
),

model_resolutions as (
    select * from {{ ref('stg_pricing__model_resolutions') }}
),

price_rules as (
    select * from {{ ref('int_price_rules_by_state') }}
),

-- steps 1-5 (macros/pricing/): priced_cases
{{ pricing_cases_at_current_prices(calls='case_inputs', model_resolutions='model_resolutions', price_rules='price_rules') }}

final as (
    select
        priced_cases.price_state,
        priced_cases.provider,
        priced_cases.model,
        priced_cases.context_key,
        priced_cases.context_value,
        priced_cases.price_date,
        priced_cases.tod_slot,
        priced_cases.tod_slot_end,
        priced_cases.tier_bucket,
        priced_cases.tier_bucket_end,
        priced_cases.price_provider_id,
        priced_cases.price_model_id,
        priced_cases.is_model_resolved,
        priced_cases.is_context_priced,
        priced_cases.price_source,
        priced_cases.price_export_version,
        priced_cases.input_usd_per_mtok,
        priced_cases.cache_read_usd_per_mtok,
        priced_cases.cache_write_usd_per_mtok,
        priced_cases.output_usd_per_mtok,
        priced_cases.reasoning_usd_per_mtok,
        priced_cases.request_usd_per_k,
        priced_cases.unpriced_reason
    from priced_cases
)

select * from final
