{#
    The cost of every call from the price rules in force at its timestamp, under the current
    price state (and, for calls whose prices the last pricing file changed, the previous state).
    See DECISIONLOG.md "Pricing a call" and docs/pricing.md. One CTE per step:
      1. resolve the call's (provider, model) and its request context (batch, flex, priority);
      2. catalog rules: the highest-ranked standard rule set whose condition holds (start date
         reached, inside its UTC time-of-day window), then per component a context variant in
         force replaces it;
      3. period rules (negotiated sheets, LiteLLM files) in force on the call's date;
      4. the best full price list that prices the call (a LiteLLM file, else the catalog) gives
         every component; a negotiated sheet in force replaces single components of it
         (a context-specific rule over a generic one, a later sheet over an earlier one);
      5. per component, the highest tier whose threshold the call's input tokens exceed (cliff);
      6. split tokens into billed classes: a class without its own price stays in its parent
         (cache reads and writes in input, reasoning in output), so nothing is billed twice;
      7. cost = units x price / per.
    Steps 2-5 run once per pricing case, not once per call: the calls that share a state,
    provider and model, request context, date, time-of-day slot (between two window boundaries
    of any rule) and tier bucket (between two tier thresholds of any rule) get the same unit
    prices, and a day of traffic holds a few thousand cases against a million calls
    (BENCHMARKS.md "Findings").

    Incremental (DECISIONLOG.md "Incremental above staging"): whole event_date partitions are
    repriced: the days holding calls ingested since the last run, and the days those calls were
    in before (a re-sent record can move a call to another day). A new pricing file restates
    every call (and changes what "previous" means): then every day is repriced, exactly as a full
    refresh would.
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

price_load as (
    -- the pricing file loaded last: a call priced under an older one must be repriced
    select max(price_rules.load_sequence) as price_load_sequence
    from price_rules
    where price_rules.price_state = 'current'
),

{% if is_partition_incremental() %}

days_to_reprice as (
    select distinct events.event_date
    from events
    where
        events.last_ingested_at > (select max(built.last_ingested_at) from {{ this }} as built)
        or coalesce((select price_load.price_load_sequence from price_load), -1)
        <> coalesce((select max(built.price_load_sequence) from {{ this }} as built), -1)
    union
    -- where re-derived calls were before
    select priced.event_date
    from {{ this }} as priced
    where priced.event_id in (
        select events.event_id
        from events
        where events.last_ingested_at > (select max(built.last_ingested_at) from {{ this }} as built)
    )
),

calls as (
    select events.*
    from events
    where events.event_date in (select days_to_reprice.event_date from days_to_reprice)
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

calls_resolved as (
    select
        calls.event_id,
        calls.provider,
        calls.model,
        calls.event_date,
        calls.last_ingested_at,
        -- window boundaries are whole seconds: a call's whole second is inside exactly the same windows
        cast(floor({{ seconds_of_day('calls.occurred_at') }}) as integer) as second_of_day,
        coalesce(calls.prompt_tokens, 0) as prompt_tokens,
        calls.cached_prompt_tokens,
        calls.cache_write_tokens,
        coalesce(calls.completion_tokens, 0) as completion_tokens,
        calls.reasoning_tokens,
        model_resolutions.price_provider_id,
        model_resolutions.price_model_id,
        coalesce(model_resolutions.is_resolved, false) as is_model_resolved,
        case
            when calls.service_tier = 'batch' then 'processing'
            when calls.service_tier in ('flex', 'priority') then 'service_tier'
        end as context_key,
        case
            when calls.service_tier = 'batch' then 'batch'
            when calls.service_tier in ('flex', 'priority') then calls.service_tier
        end as context_value,
        coalesce(model_resolutions.is_context_priced, true) as is_context_priced
    from calls
    left join model_resolutions
        on calls.provider = model_resolutions.raw_provider
        and calls.model = model_resolutions.raw_model
),

tod_boundaries as (
    select price_rules.tod_start_second as boundary_second
    from price_rules
    where price_rules.tod_start_second is not null
    union
    select price_rules.tod_end_second as boundary_second
    from price_rules
    where price_rules.tod_end_second is not null
),

call_seconds as (
    select distinct calls_resolved.second_of_day from calls_resolved
),

tod_slots as (
    -- every rule's window holds all of [boundary, next boundary) or none of it, so a call is
    -- priced as at the last boundary at or before its second (-1 before the first boundary)
    select
        call_seconds.second_of_day,
        coalesce(max(tod_boundaries.boundary_second), -1) as tod_slot
    from call_seconds
    left join tod_boundaries
        on tod_boundaries.boundary_second <= call_seconds.second_of_day
    group by call_seconds.second_of_day
),

tier_thresholds as (
    select distinct price_rules.tier_start
    from price_rules
    where price_rules.tier_start is not null
),

call_prompt_sizes as (
    select distinct calls_resolved.prompt_tokens from calls_resolved
),

tier_buckets as (
    -- a tier applies when input tokens exceed its threshold, i.e. when the threshold is at most
    -- the largest threshold below the call's input tokens (-1 when none is below)
    select
        call_prompt_sizes.prompt_tokens,
        coalesce(max(tier_thresholds.tier_start), -1) as tier_bucket
    from call_prompt_sizes
    left join tier_thresholds
        on tier_thresholds.tier_start < call_prompt_sizes.prompt_tokens
    group by call_prompt_sizes.prompt_tokens
),

calls_bucketed as (
    select
        calls_resolved.*,
        tod_slots.tod_slot,
        tier_buckets.tier_bucket
    from calls_resolved
    inner join tod_slots
        on calls_resolved.second_of_day = tod_slots.second_of_day
    inner join tier_buckets
        on calls_resolved.prompt_tokens = tier_buckets.prompt_tokens
),

calls_in_states as (
    select 'current' as price_state, calls_bucketed.*
    from calls_bucketed
    union all
    select 'previous' as price_state, calls_bucketed.*
    from calls_bucketed
    inner join models_repriced
        on (
            calls_bucketed.price_provider_id = models_repriced.provider_id
            and calls_bucketed.price_model_id = models_repriced.model_id
        )
    union all
    select 'previous' as price_state, calls_bucketed.*
    from calls_bucketed
    inner join models_repriced
        on calls_bucketed.provider = models_repriced.provider_id
        and calls_bucketed.model = models_repriced.model_id
        and not (
            coalesce(calls_bucketed.price_provider_id, '') = calls_bucketed.provider
            and coalesce(calls_bucketed.price_model_id, '') = calls_bucketed.model
        )
),

distinct_pricing_cases as (
    -- everything the choice of unit prices depends on
    select distinct
        calls_in_states.price_state,
        calls_in_states.provider,
        calls_in_states.model,
        calls_in_states.price_provider_id,
        calls_in_states.price_model_id,
        calls_in_states.is_model_resolved,
        calls_in_states.is_context_priced,
        calls_in_states.context_key,
        calls_in_states.context_value,
        calls_in_states.event_date,
        calls_in_states.tod_slot,
        calls_in_states.tier_bucket
    from calls_in_states
),

pricing_cases as (
    select
        distinct_pricing_cases.*,
        row_number() over (
            order by
                distinct_pricing_cases.price_state,
                distinct_pricing_cases.provider,
                distinct_pricing_cases.model,
                distinct_pricing_cases.price_provider_id,
                distinct_pricing_cases.price_model_id,
                distinct_pricing_cases.is_model_resolved,
                distinct_pricing_cases.is_context_priced,
                distinct_pricing_cases.context_key,
                distinct_pricing_cases.context_value,
                distinct_pricing_cases.event_date,
                distinct_pricing_cases.tod_slot,
                distinct_pricing_cases.tier_bucket
        ) as pricing_case
    from distinct_pricing_cases
),

call_price_keys as (
    -- A call is priced by catalog rules of its resolved model, and by period rules written for
    -- either its resolved model or its raw provider and model strings.
    select
        pricing_cases.pricing_case,
        pricing_cases.price_provider_id as provider_id,
        pricing_cases.price_model_id as model_id,
        false as is_raw_key
    from pricing_cases
    where pricing_cases.is_model_resolved
    union all
    select
        pricing_cases.pricing_case,
        pricing_cases.provider as provider_id,
        pricing_cases.model as model_id,
        true as is_raw_key
    from pricing_cases
    where not (
        coalesce(pricing_cases.price_provider_id, '') = pricing_cases.provider
        and coalesce(pricing_cases.price_model_id, '') = pricing_cases.model
    )
),

rules_in_force as (
    select
        pricing_cases.pricing_case,
        price_rules.price_source,
        price_rules.source_priority,
        price_rules.export_version,
        price_rules.load_sequence,
        price_rules.rule_kind,
        price_rules.rule_rank,
        price_rules.context_key,
        price_rules.price_key,
        price_rules.usage_key,
        price_rules.unit_per,
        price_rules.tier_start,
        price_rules.usd_per_unit,
        pricing_cases.tier_bucket
    from pricing_cases
    inner join call_price_keys
        on pricing_cases.pricing_case = call_price_keys.pricing_case
    inner join price_rules
        on pricing_cases.price_state = price_rules.price_state
        and call_price_keys.provider_id = price_rules.provider_id
        and call_price_keys.model_id = price_rules.model_id
    where
        (price_rules.rule_kind = 'period' or not call_price_keys.is_raw_key)
        and (price_rules.valid_from is null or pricing_cases.event_date >= price_rules.valid_from)
        and (
            price_rules.rule_kind <> 'period'
            or price_rules.valid_to is null
            or pricing_cases.event_date < price_rules.valid_to
        )
        and (
            price_rules.tod_start_second is null
            or (
                price_rules.tod_start_second <= price_rules.tod_end_second
                and pricing_cases.tod_slot >= price_rules.tod_start_second
                and pricing_cases.tod_slot < price_rules.tod_end_second
            )
            or (
                price_rules.tod_start_second > price_rules.tod_end_second
                and (
                    pricing_cases.tod_slot >= price_rules.tod_start_second
                    or pricing_cases.tod_slot < price_rules.tod_end_second
                )
            )
        )
        and (
            price_rules.rule_kind = 'standard'
            or (price_rules.rule_kind = 'period' and price_rules.context_key is null)
            or (
                price_rules.context_key = pricing_cases.context_key
                and price_rules.context_value = pricing_cases.context_value
                -- the catalog ignores request context for a model borrowed from a fallback provider
                and (price_rules.rule_kind = 'period' or pricing_cases.is_context_priced)
            )
        )
),

rules_ranked as (
    select
        rules_in_force.*,
        max(case when rules_in_force.rule_kind = 'standard' then rules_in_force.rule_rank end) over (
            partition by rules_in_force.pricing_case
        ) as standard_rank_in_force,
        min(case when rules_in_force.rule_kind = 'variant' then rules_in_force.rule_rank end) over (
            partition by rules_in_force.pricing_case, rules_in_force.price_key
        ) as variant_rank_in_force,
        -- Catalog exports and LiteLLM files are full price lists: a call takes every component
        -- from the one best list that prices it (a component it lacks stays in its parent class).
        min(case when rules_in_force.price_source <> 'negotiated' then rules_in_force.source_priority end) over (
            partition by rules_in_force.pricing_case
        ) as price_list_priority
    from rules_in_force
),

candidate_rules as (
    select rules_ranked.*
    from rules_ranked
    where
        (
            rules_ranked.rule_kind = 'variant'
            and rules_ranked.rule_rank = rules_ranked.variant_rank_in_force
        )
        or (
            rules_ranked.rule_kind = 'standard'
            and rules_ranked.rule_rank = rules_ranked.standard_rank_in_force
            and rules_ranked.variant_rank_in_force is null
        )
        or rules_ranked.rule_kind = 'period'
),

component_candidates as (
    select candidate_rules.*
    from candidate_rules
    where candidate_rules.price_source = 'negotiated'
        or candidate_rules.source_priority = candidate_rules.price_list_priority
),

component_source_ranked as (
    select
        component_candidates.*,
        dense_rank() over (
            partition by component_candidates.pricing_case, component_candidates.price_key
            order by
                component_candidates.source_priority asc,
                case when component_candidates.context_key is null then 1 else 0 end asc,
                component_candidates.load_sequence desc
        ) as source_rank
    from component_candidates
),

component_tiers_ranked as (
    select
        component_source_ranked.*,
        row_number() over (
            partition by component_source_ranked.pricing_case, component_source_ranked.price_key
            order by coalesce(component_source_ranked.tier_start, -1) desc
        ) as tier_rank
    from component_source_ranked
    where component_source_ranked.source_rank = 1
        and (
            component_source_ranked.tier_start is null
            or component_source_ranked.tier_start <= component_source_ranked.tier_bucket
        )
),

unit_prices as (
    select
        component_tiers_ranked.pricing_case,
        max(component_tiers_ranked.price_source) as price_source,
        count(distinct component_tiers_ranked.price_source) as price_sources,
        max(component_tiers_ranked.export_version) as price_export_version,
        max(case when component_tiers_ranked.usage_key = 'input_tokens'
            then component_tiers_ranked.usd_per_unit end) as input_usd_per_mtok,
        max(case when component_tiers_ranked.usage_key = 'cache_read_tokens'
            then component_tiers_ranked.usd_per_unit end) as cache_read_usd_per_mtok,
        max(case when component_tiers_ranked.usage_key = 'cache_write_tokens'
            then component_tiers_ranked.usd_per_unit end) as cache_write_usd_per_mtok,
        max(case when component_tiers_ranked.usage_key = 'output_tokens'
            then component_tiers_ranked.usd_per_unit end) as output_usd_per_mtok,
        max(case when component_tiers_ranked.usage_key = 'output_reasoning_tokens'
            then component_tiers_ranked.usd_per_unit end) as reasoning_usd_per_mtok,
        max(case when component_tiers_ranked.usage_key = 'requests'
            then component_tiers_ranked.usd_per_unit end) as request_usd_per_k
    from component_tiers_ranked
    where component_tiers_ranked.tier_rank = 1
    group by component_tiers_ranked.pricing_case
),

calls_with_pricing_case as (
    select
        calls_in_states.*,
        pricing_cases.pricing_case
    from calls_in_states
    inner join pricing_cases
        on calls_in_states.price_state = pricing_cases.price_state
        and calls_in_states.provider = pricing_cases.provider
        and calls_in_states.model = pricing_cases.model
        and calls_in_states.price_provider_id is not distinct from pricing_cases.price_provider_id
        and calls_in_states.price_model_id is not distinct from pricing_cases.price_model_id
        and calls_in_states.is_model_resolved = pricing_cases.is_model_resolved
        and calls_in_states.is_context_priced = pricing_cases.is_context_priced
        and calls_in_states.context_key is not distinct from pricing_cases.context_key
        and calls_in_states.context_value is not distinct from pricing_cases.context_value
        and calls_in_states.event_date = pricing_cases.event_date
        and calls_in_states.tod_slot = pricing_cases.tod_slot
        and calls_in_states.tier_bucket = pricing_cases.tier_bucket
),

billed_units as (
    select
        calls_with_pricing_case.*,
        unit_prices.price_source,
        unit_prices.price_sources,
        unit_prices.price_export_version,
        unit_prices.input_usd_per_mtok,
        unit_prices.cache_read_usd_per_mtok,
        unit_prices.cache_write_usd_per_mtok,
        unit_prices.output_usd_per_mtok,
        unit_prices.reasoning_usd_per_mtok,
        unit_prices.request_usd_per_k,
        calls_with_pricing_case.prompt_tokens
        - case when unit_prices.cache_read_usd_per_mtok is not null
            then calls_with_pricing_case.cached_prompt_tokens else 0 end
        - case when unit_prices.cache_write_usd_per_mtok is not null
            then calls_with_pricing_case.cache_write_tokens else 0 end as uncached_input_tokens,
        calls_with_pricing_case.completion_tokens
        - case when unit_prices.reasoning_usd_per_mtok is not null
            then calls_with_pricing_case.reasoning_tokens else 0 end as billed_output_tokens
    from calls_with_pricing_case
    left join unit_prices
        on calls_with_pricing_case.pricing_case = unit_prices.pricing_case
),

components as (
    select
        event_id,
        price_state,
        event_date,
        last_ingested_at,
        price_provider_id,
        price_model_id,
        case when price_sources > 1 then 'mixed' else price_source end as price_source,
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
        case
            when price_source is null and not is_model_resolved then 'unresolved_model'
            when input_usd_per_mtok is null and output_usd_per_mtok is null then 'no_token_price'
        end as unpriced_reason,
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
