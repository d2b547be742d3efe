{#
    The cost of every call from the price rules in force at its timestamp, under the current
    price state (and, for calls whose prices the last pricing file changed, the previous state).
    See DECISIONLOG.md "Pricing a call" and docs/pricing.md. Steps 1-5 choose the unit prices once
    per pricing case, in int_pricing_cases_resolved; here each call takes the prices of its case
    in each price state (found by its provider and model strings, request context and date, the
    time-of-day slot holding its second and the tier bucket holding its input tokens), then:
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

calls_keyed as (
    select
        calls.event_id,
        calls.provider,
        calls.model,
        calls.event_date,
        calls.last_ingested_at,
        {{ call_second_of_day('calls.occurred_at') }} as second_of_day,
        coalesce(calls.prompt_tokens, 0) as prompt_tokens,
        calls.cached_prompt_tokens,
        calls.cache_write_tokens,
        coalesce(calls.completion_tokens, 0) as completion_tokens,
        calls.reasoning_tokens,
        {{ price_context_key('calls.service_tier') }} as context_key,
        {{ price_context_value('calls.service_tier') }} as context_value
    from calls
),

calls_with_pricing_case as (
    -- one row per state the call is priced in: the cases of a call's day are one per state, slot
    -- and bucket, and the slots (buckets) of a day do not overlap
    select
        calls_keyed.*,
        cases.price_state,
        cases.price_provider_id,
        cases.price_model_id,
        cases.price_source,
        cases.price_export_version,
        cases.input_usd_per_mtok,
        cases.cache_read_usd_per_mtok,
        cases.cache_write_usd_per_mtok,
        cases.output_usd_per_mtok,
        cases.reasoning_usd_per_mtok,
        cases.request_usd_per_k,
        cases.unpriced_reason
    from calls_keyed
    inner join cases
        on calls_keyed.provider = cases.provider
        and calls_keyed.model = cases.model
        and calls_keyed.context_key is not distinct from cases.context_key
        and calls_keyed.context_value is not distinct from cases.context_value
        and calls_keyed.event_date = cases.event_date
        and calls_keyed.second_of_day >= cases.tod_slot
        and (cases.tod_slot_end is null or calls_keyed.second_of_day < cases.tod_slot_end)
        and (cases.tier_bucket = -1 or calls_keyed.prompt_tokens > cases.tier_bucket)
        and (cases.tier_bucket_end is null or calls_keyed.prompt_tokens <= cases.tier_bucket_end)
),

billed_units as (
    select
        calls_with_pricing_case.*,
        calls_with_pricing_case.prompt_tokens
        - case when calls_with_pricing_case.cache_read_usd_per_mtok is not null
            then calls_with_pricing_case.cached_prompt_tokens else 0 end
        - case when calls_with_pricing_case.cache_write_usd_per_mtok is not null
            then calls_with_pricing_case.cache_write_tokens else 0 end as uncached_input_tokens,
        calls_with_pricing_case.completion_tokens
        - case when calls_with_pricing_case.reasoning_usd_per_mtok is not null
            then calls_with_pricing_case.reasoning_tokens else 0 end as billed_output_tokens
    from calls_with_pricing_case
),

components as (
    select
        event_id,
        price_state,
        event_date,
        last_ingested_at,
        price_provider_id,
        price_model_id,
        price_source,
        price_export_version,
        context_key as price_context_key,
        context_value as price_context_value,
        input_usd_per_mtok,
        cache_read_usd_per_mtok,
        cache_write_usd_per_mtok,
        output_usd_per_mtok,
        reasoning_usd_per_mtok,
        request_usd_per_k,
        uncached_input_tokens,
        billed_output_tokens,
        unpriced_reason,
        cast(coalesce(cast(uncached_input_tokens as decimal(15, 0)) * input_usd_per_mtok, 0) / 1000000 as decimal(24, 12))
            as input_cost_usd,
        cast(coalesce(cast(cached_prompt_tokens as decimal(15, 0)) * cache_read_usd_per_mtok, 0) / 1000000 as decimal(24, 12))
            as cache_read_cost_usd,
        cast(coalesce(cast(cache_write_tokens as decimal(15, 0)) * cache_write_usd_per_mtok, 0) / 1000000 as decimal(24, 12))
            as cache_write_cost_usd,
        cast(coalesce(cast(billed_output_tokens as decimal(15, 0)) * output_usd_per_mtok, 0) / 1000000 as decimal(24, 12))
            as output_cost_usd,
        cast(coalesce(cast(reasoning_tokens as decimal(15, 0)) * reasoning_usd_per_mtok, 0) / 1000000 as decimal(24, 12))
            as reasoning_cost_usd,
        cast(coalesce(request_usd_per_k, 0) / 1000 as decimal(24, 12)) as request_cost_usd
    from billed_units
),

final as (
    -- the call's cost: the sum of its components, null (unknown, never 0) when it has no price
    select
        components.*,
        case when components.unpriced_reason is null then
            cast(
                components.input_cost_usd
                + components.cache_read_cost_usd
                + components.cache_write_cost_usd
                + components.output_cost_usd
                + components.reasoning_cost_usd
                + components.request_cost_usd
                as decimal(24, 12)
            )
        end as cost_usd,
        (select price_load.price_load_sequence from price_load) as price_load_sequence,
        {{ rebuilt_at() }} as rebuilt_at
    from components
)

select * from final
