{#
    The cost of every call from the price rules in force at its timestamp, under the current
    price state (and, for calls whose prices the last pricing file changed, the previous state).
    See DECISIONLOG.md "Pricing a call" and docs/pricing.md. Steps 1-5 choose the unit prices once
    per pricing case, in int_pricing_cases_resolved; here each call takes the prices of its case
    in each price state (found by its provider and model strings, request context and date, the
    time-of-day slot holding its second and the tier bucket holding its input tokens), then
    (the one pricing path's macro, macros/pricing/pricing_costs.sql, shared with the what-if and
    call-shape models):
      6. split tokens into billed classes: a class without its own price stays in its parent
         (cache reads and writes in input, reasoning in output), so nothing is billed twice;
      7. cost = units x price / per.

    Incremental (DECISIONLOG.md "Incremental above staging"): whole event_date partitions are
    repriced, the same days int_pricing_cases_resolved resolves again (one macro,
    pricing_days_to_rebuild): the days holding calls ingested since the last run, and the days
    those calls were in before (a re-sent record can move a call to another day), and the days a
    run was asked to rebuild. A new pricing file restates every call (and changes what
    "previous" means): then every day is repriced, exactly as a full refresh would.
#}

{{
    config(
        materialized='incremental',
        **partition_incremental_config('event_date'),
    )
}}

with

events as (
    select * from {{ ref('stg_usage__events') }}
),

pricing_cases as (
    select * from {{ ref('int_pricing_cases_resolved') }}
),

event_versions as (
    -- read by an incremental run only: where re-sent calls were before
    select * from {{ ref('base_usage__event_versions') }}
),

price_rules as (
    select * from {{ ref('int_price_rules_by_state') }}
),

price_load as (
    -- the pricing file loaded last: a call priced under an older one must be repriced
    select max(price_rules.load_sequence) as price_load_sequence
    from price_rules
    where price_rules.price_state = 'current'
),

{% if is_partition_incremental() %}

days_to_reprice as (
    -- new and re-sent calls, a new pricing file, a rebuild asked for (macros/rebuild_window.sql)
    {{ pricing_days_to_rebuild(events='events', event_versions='event_versions', price_load='price_load') }}
),

calls as (
    select events.*
    from events
    where events.event_date in (select days_to_reprice.event_date from days_to_reprice)
),

cases as (
    select pricing_cases.*
    from pricing_cases
    where pricing_cases.event_date in (select days_to_reprice.event_date from days_to_reprice)
),

{% else %}

calls as (
    select * from events
),

cases as (
    select * from pricing_cases
),

{% endif %}

calls_to_price as (
    select
        calls.event_id,
        calls.provider,
        calls.model,
        calls.event_date,
        calls.event_date as price_date,
        calls.last_ingested_at,
        {{ call_second_of_day('calls.occurred_at') }} as second_of_day,
        calls.prompt_tokens,
        calls.cached_prompt_tokens,
        calls.cache_write_tokens,
        calls.completion_tokens,
        calls.reasoning_tokens,
        calls.service_tier
    from calls
),

cases_to_apply as (
    select cases.*, cases.event_date as price_date
    from cases
),

-- steps 6-7, each call's case, billed units and costs (macros/pricing/pricing_costs.sql): call_costs
{{ pricing_call_costs(calls='calls_to_price', cases='cases_to_apply') }}

final as (
    select
        call_costs.event_id,
        call_costs.price_state,
        call_costs.event_date,
        call_costs.last_ingested_at,
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
        call_costs.input_cost_usd,
        call_costs.cache_read_cost_usd,
        call_costs.cache_write_cost_usd,
        call_costs.output_cost_usd,
        call_costs.reasoning_cost_usd,
        call_costs.request_cost_usd,
        call_costs.cost_usd,
        (select price_load.price_load_sequence from price_load) as price_load_sequence,
        {{ rebuilt_at() }} as rebuilt_at
    from call_costs
)

select * from final
