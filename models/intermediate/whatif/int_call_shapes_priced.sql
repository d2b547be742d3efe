{#
    Every hypothetical call the plan calculator wrote (stg_plan_shapes__call_shapes), priced by
    the one pricing path (macros/pricing/): the same model resolution, rules, tiers, windows and
    billed-unit split as a real call in int_llm_calls_priced, on its price_date and second of
    day, under the current price state (every pricing file loaded). An unpriced shape says why
    and has cost_usd null, never 0. A table: the plan calculator builds this model alone after
    writing the shapes (`dbt build --select int_call_shapes_priced`) and reads it.
#}

{{ config(materialized='table') }}

with

call_shapes as (
    select * from {{ ref('stg_plan_shapes__call_shapes') }}
),

model_resolutions as (
    select * from {{ ref('stg_pricing__model_resolutions') }}
),

price_rules as (
    select * from {{ ref('int_price_rules_by_state') }}
),

calls_to_price as (
    select
        call_shapes.*,
        cast(null as timestamp) as last_ingested_at
    from call_shapes
),

-- steps 1-7 (macros/pricing/): call_costs, every call with its prices and costs
{{ pricing_at_current_prices(calls='calls_to_price', model_resolutions='model_resolutions', price_rules='price_rules') }}

final as (
    select
        call_costs.shape_set,
        call_costs.feature,
        call_costs.task_key,
        call_costs.call_index,
        call_costs.provider,
        call_costs.model,
        call_costs.service_tier,
        call_costs.price_date,
        call_costs.second_of_day,
        call_costs.prompt_tokens,
        call_costs.cached_prompt_tokens,
        call_costs.cache_write_tokens,
        call_costs.completion_tokens,
        call_costs.reasoning_tokens,
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
        call_costs.unpriced_reason,
        call_costs.unpriced_reason is null as is_priced,
        call_costs.input_cost_usd,
        call_costs.cache_read_cost_usd,
        call_costs.cache_write_cost_usd,
        call_costs.output_cost_usd,
        call_costs.reasoning_cost_usd,
        call_costs.request_cost_usd,
        call_costs.cost_usd
    from call_costs
)

select * from final
