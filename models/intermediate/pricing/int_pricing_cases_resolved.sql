{#
    The unit prices of every pricing case of the calls: the calls that share a price state,
    provider and model (raw and resolved), request context, date, time-of-day slot and tier bucket
    are inside exactly the same price rules, so their prices are chosen once, here, and
    int_llm_calls_priced gives each call its case's prices (DECISIONLOG.md "Pricing once per
    pricing case"; a day of traffic holds a few thousand cases against a million calls).
    See DECISIONLOG.md "Pricing a call" and docs/pricing.md. The steps are the one pricing
    path's macros (macros/pricing/pricing_cases.sql), shared with the what-if and call-shape
    models: step 1 finds the cases of the calls (resolved model, request context, time-of-day
    slot, tier bucket); this model prices them under the current price state and, for the models
    whose prices the last pricing file changed, the previous one; steps 2-5 choose each case's
    unit prices (catalog rules, period rules, the best price list, tiers). Each case also carries
    the bounds of its slot and bucket (tod_slot_end, tier_bucket_end): int_llm_calls_priced finds
    a call's case by them, so the slots and buckets are defined once.

    Incremental (DECISIONLOG.md "Incremental above staging"), like int_llm_calls_priced: whole
    event_date partitions are resolved again: the days holding calls ingested since the last run,
    and the days the re-sent ones were in before (their earlier versions' dates, read from the
    lake within lookback_days), and the days a run was asked to rebuild (vars rebuild_from and
    rebuild_to, macros/rebuild_window.sql). A new pricing file resolves every day again.
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

model_resolutions as (
    select * from {{ ref('stg_pricing__model_resolutions') }}
),

price_rules as (
    select * from {{ ref('int_price_rules_by_state') }}
),

event_versions as (
    -- read by an incremental run only: where re-sent calls were before
    select * from {{ ref('base_usage__event_versions') }}
),

price_load as (
    -- the pricing file loaded last: a case resolved under an older one must be resolved again
    select max(price_rules.load_sequence) as price_load_sequence
    from price_rules
    where price_rules.price_state = 'current'
),

{% if is_partition_incremental() %}

days_to_resolve as (
    -- new and re-sent calls, a new pricing file, a rebuild asked for (macros/rebuild_window.sql)
    {{ pricing_days_to_rebuild(events='events', event_versions='event_versions', price_load='price_load') }}
),

calls as (
    select events.*
    from events
    where events.event_date in (select days_to_resolve.event_date from days_to_resolve)
),

{% else %}

calls as (
    select * from events
),

{% endif %}

rule_contents as (
    select
        price_rules.price_state,
        price_rules.provider_id,
        price_rules.model_id,
        price_rules.price_source,
        price_rules.rule_kind,
        price_rules.rule_rank,
        price_rules.context_key,
        price_rules.context_value,
        price_rules.valid_from,
        price_rules.valid_to,
        price_rules.tod_start_second,
        price_rules.tod_end_second,
        price_rules.price_key,
        price_rules.tier_start,
        price_rules.usd_per_unit
    from price_rules
),

rules_only_in_current as (
    select {{ rule_content_columns() }} from rule_contents where rule_contents.price_state = 'current'
    except
    select {{ rule_content_columns() }} from rule_contents where rule_contents.price_state = 'previous'
),

rules_only_in_previous as (
    select {{ rule_content_columns() }} from rule_contents where rule_contents.price_state = 'previous'
    except
    select {{ rule_content_columns() }} from rule_contents where rule_contents.price_state = 'current'
),

models_repriced as (
    -- models whose rules the last pricing file changed; none before the second pricing file
    select distinct changed.provider_id, changed.model_id
    from (
        select rules_only_in_current.provider_id, rules_only_in_current.model_id from rules_only_in_current
        union all
        select rules_only_in_previous.provider_id, rules_only_in_previous.model_id from rules_only_in_previous
    ) as changed
    where exists (select 1 from rule_contents where rule_contents.price_state = 'previous')
),

calls_to_price as (
    select
        calls.provider,
        calls.model,
        calls.event_date as price_date,
        calls.last_ingested_at,
        {{ call_second_of_day('calls.occurred_at') }} as second_of_day,
        calls.prompt_tokens,
        calls.service_tier
    from calls
),

-- step 1, the cases of the calls (macros/pricing/pricing_cases.sql): distinct_call_cases
{{ pricing_call_cases(calls='calls_to_price', model_resolutions='model_resolutions', price_rules='price_rules') }}

repriced_call_cases as (
    -- the cases of the models the last pricing file changed, by resolved model or by raw strings
    -- (a set: a case whose resolved model and raw strings both changed is priced once)
    select distinct_call_cases.*
    from distinct_call_cases
    inner join models_repriced
        on distinct_call_cases.price_provider_id = models_repriced.provider_id
        and distinct_call_cases.price_model_id = models_repriced.model_id
    union
    select distinct_call_cases.*
    from distinct_call_cases
    inner join models_repriced
        on distinct_call_cases.provider = models_repriced.provider_id
        and distinct_call_cases.model = models_repriced.model_id
),

cases_in_states as (
    select 'current' as price_state, distinct_call_cases.*
    from distinct_call_cases
    union all
    select 'previous' as price_state, repriced_call_cases.*
    from repriced_call_cases
),

-- steps 2-5, the unit prices of every case in its state (macros/pricing/pricing_cases.sql): priced_cases
{{ pricing_unit_prices(cases_in_states='cases_in_states', price_rules='price_rules') }}

final as (
    select
        priced_cases.price_state,
        priced_cases.provider,
        priced_cases.model,
        priced_cases.context_key,
        priced_cases.context_value,
        priced_cases.price_date as event_date,
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
        priced_cases.unpriced_reason,
        priced_cases.last_ingested_at,
        (select price_load.price_load_sequence from price_load) as price_load_sequence,
        {{ rebuilt_at() }} as rebuilt_at
    from priced_cases
)

select * from final
