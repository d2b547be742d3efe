{#
    The one pricing path, steps 1-5 (DECISIONLOG.md "Pricing a call", docs/pricing.md): from the
    calls to price to the unit prices of their pricing cases. Every model that prices calls
    (int_pricing_cases_resolved, int_whatif_calls_priced, int_call_shapes_priced) calls these
    macros, so there is one implementation of the rules. Each macro writes CTEs (ending with a
    comma) into the caller's WITH list; the caller names its inputs:

      calls        provider, model (raw strings), price_date (the UTC date whose prices apply),
                   second_of_day (whole UTC second, 0..86399), prompt_tokens, service_tier
                   (null/standard, batch, flex, priority), last_ingested_at (may be null)
      model_resolutions   stg_pricing__model_resolutions
      price_rules         int_price_rules_by_state (or its rows of one price state)

    pricing_call_cases(calls, model_resolutions, price_rules) -> distinct_call_cases
      1. the cases of the calls: each call's resolved (provider, model), request context (batch,
         flex, priority), time-of-day slot (between two window boundaries of any rule) and tier
         bucket (between two tier thresholds of any rule).
    The caller then names the cases to price in each price state (cases_in_states: price_state
    plus the columns of distinct_call_cases); int_pricing_cases_resolved adds the 'previous' state
    of the models the last pricing file changed, the other models price 'current' only.
    pricing_unit_prices(cases_in_states, price_rules) -> priced_cases
      2. catalog rules: the highest-ranked standard rule set whose condition holds (start date
         reached, inside its UTC time-of-day window), then per component a context variant in
         force replaces it;
      3. period rules (negotiated sheets, LiteLLM files) in force on the case's date;
      4. the best full price list that prices the case (a LiteLLM file, else the catalog) gives
         every component; a negotiated sheet in force replaces single components of it
         (a context-specific rule over a generic one, a later sheet over an earlier one);
      5. per component, the highest tier whose threshold the case's input tokens exceed (cliff).
    Each case carries the bounds of its slot and bucket (tod_slot_end, tier_bucket_end):
    pricing_call_costs (macros/pricing/pricing_costs.sql) finds a call's case by them.
#}

{% macro pricing_call_cases(calls, model_resolutions, price_rules) -%}
pricing_calls_resolved as (
    select
        {{ calls }}.provider,
        {{ calls }}.model,
        {{ calls }}.price_date,
        {{ calls }}.last_ingested_at,
        {{ calls }}.second_of_day,
        coalesce({{ calls }}.prompt_tokens, 0) as prompt_tokens,
        {{ model_resolutions }}.price_provider_id,
        {{ model_resolutions }}.price_model_id,
        coalesce({{ model_resolutions }}.is_resolved, false) as is_model_resolved,
        {{ price_context_key(calls ~ '.service_tier') }} as context_key,
        {{ price_context_value(calls ~ '.service_tier') }} as context_value,
        coalesce({{ model_resolutions }}.is_context_priced, true) as is_context_priced
    from {{ calls }}
    left join {{ model_resolutions }}
        on {{ calls }}.provider = {{ model_resolutions }}.raw_provider
        and {{ calls }}.model = {{ model_resolutions }}.raw_model
),

pricing_tod_boundaries as (
    select {{ price_rules }}.tod_start_second as boundary_second
    from {{ price_rules }}
    where {{ price_rules }}.tod_start_second is not null
    union
    select {{ price_rules }}.tod_end_second as boundary_second
    from {{ price_rules }}
    where {{ price_rules }}.tod_end_second is not null
),

pricing_tod_slots as (
    -- every rule's window holds all of [boundary, next boundary) or none of it, so a call is
    -- priced as at the last boundary at or before its second (-1: before the first boundary)
    select
        slot_starts.tod_slot,
        lead(slot_starts.tod_slot) over (order by slot_starts.tod_slot) as tod_slot_end
    from (
        select -1 as tod_slot
        union
        select pricing_tod_boundaries.boundary_second as tod_slot from pricing_tod_boundaries
    ) as slot_starts
),

pricing_tier_thresholds as (
    select distinct {{ price_rules }}.tier_start
    from {{ price_rules }}
    where {{ price_rules }}.tier_start is not null
),

pricing_tier_buckets as (
    -- a tier applies when input tokens exceed its threshold, i.e. when the threshold is at most
    -- the largest threshold below the call's input tokens (-1: none is below); a bucket holds
    -- the input tokens above its threshold up to and including the next one
    select
        bucket_starts.tier_bucket,
        lead(bucket_starts.tier_bucket) over (order by bucket_starts.tier_bucket) as tier_bucket_end
    from (
        select -1 as tier_bucket
        union
        select pricing_tier_thresholds.tier_start as tier_bucket from pricing_tier_thresholds
    ) as bucket_starts
),

pricing_calls_bucketed as (
    select
        pricing_calls_resolved.*,
        pricing_tod_slots.tod_slot,
        pricing_tod_slots.tod_slot_end,
        pricing_tier_buckets.tier_bucket,
        pricing_tier_buckets.tier_bucket_end
    from pricing_calls_resolved
    inner join pricing_tod_slots
        on pricing_calls_resolved.second_of_day >= pricing_tod_slots.tod_slot
        and (pricing_tod_slots.tod_slot_end is null or pricing_calls_resolved.second_of_day < pricing_tod_slots.tod_slot_end)
    inner join pricing_tier_buckets
        on (pricing_tier_buckets.tier_bucket = -1 or pricing_calls_resolved.prompt_tokens > pricing_tier_buckets.tier_bucket)
        and (
            pricing_tier_buckets.tier_bucket_end is null
            or pricing_calls_resolved.prompt_tokens <= pricing_tier_buckets.tier_bucket_end
        )
),

distinct_call_cases as (
    -- everything the choice of unit prices depends on
    select
        pricing_calls_bucketed.provider,
        pricing_calls_bucketed.model,
        pricing_calls_bucketed.price_provider_id,
        pricing_calls_bucketed.price_model_id,
        pricing_calls_bucketed.is_model_resolved,
        pricing_calls_bucketed.is_context_priced,
        pricing_calls_bucketed.context_key,
        pricing_calls_bucketed.context_value,
        pricing_calls_bucketed.price_date,
        pricing_calls_bucketed.tod_slot,
        pricing_calls_bucketed.tod_slot_end,
        pricing_calls_bucketed.tier_bucket,
        pricing_calls_bucketed.tier_bucket_end,
        max(pricing_calls_bucketed.last_ingested_at) as last_ingested_at
    from pricing_calls_bucketed
    group by
        pricing_calls_bucketed.provider,
        pricing_calls_bucketed.model,
        pricing_calls_bucketed.price_provider_id,
        pricing_calls_bucketed.price_model_id,
        pricing_calls_bucketed.is_model_resolved,
        pricing_calls_bucketed.is_context_priced,
        pricing_calls_bucketed.context_key,
        pricing_calls_bucketed.context_value,
        pricing_calls_bucketed.price_date,
        pricing_calls_bucketed.tod_slot,
        pricing_calls_bucketed.tod_slot_end,
        pricing_calls_bucketed.tier_bucket,
        pricing_calls_bucketed.tier_bucket_end
),
{%- endmacro %}


{% macro pricing_unit_prices(cases_in_states, price_rules) -%}
pricing_cases as (
    select
        {{ cases_in_states }}.*,
        row_number() over (
            order by
                {{ cases_in_states }}.price_state,
                {{ cases_in_states }}.provider,
                {{ cases_in_states }}.model,
                {{ cases_in_states }}.price_provider_id,
                {{ cases_in_states }}.price_model_id,
                {{ cases_in_states }}.is_model_resolved,
                {{ cases_in_states }}.is_context_priced,
                {{ cases_in_states }}.context_key,
                {{ cases_in_states }}.context_value,
                {{ cases_in_states }}.price_date,
                {{ cases_in_states }}.tod_slot,
                {{ cases_in_states }}.tier_bucket
        ) as pricing_case
    from {{ cases_in_states }}
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
        {{ price_rules }}.price_source,
        {{ price_rules }}.source_priority,
        {{ price_rules }}.export_version,
        {{ price_rules }}.load_sequence,
        {{ price_rules }}.rule_kind,
        {{ price_rules }}.rule_rank,
        {{ price_rules }}.context_key,
        {{ price_rules }}.price_key,
        {{ price_rules }}.usage_key,
        {{ price_rules }}.unit_per,
        {{ price_rules }}.tier_start,
        {{ price_rules }}.usd_per_unit,
        pricing_cases.tier_bucket
    from pricing_cases
    inner join call_price_keys
        on pricing_cases.pricing_case = call_price_keys.pricing_case
    inner join {{ price_rules }}
        on pricing_cases.price_state = {{ price_rules }}.price_state
        and call_price_keys.provider_id = {{ price_rules }}.provider_id
        and call_price_keys.model_id = {{ price_rules }}.model_id
    where
        ({{ price_rules }}.rule_kind = 'period' or not call_price_keys.is_raw_key)
        and ({{ price_rules }}.valid_from is null or pricing_cases.price_date >= {{ price_rules }}.valid_from)
        and (
            {{ price_rules }}.rule_kind <> 'period'
            or {{ price_rules }}.valid_to is null
            or pricing_cases.price_date < {{ price_rules }}.valid_to
        )
        and (
            {{ price_rules }}.tod_start_second is null
            or (
                {{ price_rules }}.tod_start_second <= {{ price_rules }}.tod_end_second
                and pricing_cases.tod_slot >= {{ price_rules }}.tod_start_second
                and pricing_cases.tod_slot < {{ price_rules }}.tod_end_second
            )
            or (
                {{ price_rules }}.tod_start_second > {{ price_rules }}.tod_end_second
                and (
                    pricing_cases.tod_slot >= {{ price_rules }}.tod_start_second
                    or pricing_cases.tod_slot < {{ price_rules }}.tod_end_second
                )
            )
        )
        and (
            {{ price_rules }}.rule_kind = 'standard'
            or ({{ price_rules }}.rule_kind = 'period' and {{ price_rules }}.context_key is null)
            or (
                {{ price_rules }}.context_key = pricing_cases.context_key
                and {{ price_rules }}.context_value = pricing_cases.context_value
                -- the catalog ignores request context for a model borrowed from a fallback provider
                and ({{ price_rules }}.rule_kind = 'period' or pricing_cases.is_context_priced)
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

priced_cases as (
    -- the case's unit prices; a case no rule prices says why (its calls' cost is unknown, never 0)
    select
        pricing_cases.price_state,
        pricing_cases.provider,
        pricing_cases.model,
        pricing_cases.context_key,
        pricing_cases.context_value,
        pricing_cases.price_date,
        pricing_cases.tod_slot,
        pricing_cases.tod_slot_end,
        pricing_cases.tier_bucket,
        pricing_cases.tier_bucket_end,
        pricing_cases.price_provider_id,
        pricing_cases.price_model_id,
        pricing_cases.is_model_resolved,
        pricing_cases.is_context_priced,
        case when unit_prices.price_sources > 1 then 'mixed' else unit_prices.price_source end as price_source,
        unit_prices.price_export_version,
        unit_prices.input_usd_per_mtok,
        unit_prices.cache_read_usd_per_mtok,
        unit_prices.cache_write_usd_per_mtok,
        unit_prices.output_usd_per_mtok,
        unit_prices.reasoning_usd_per_mtok,
        unit_prices.request_usd_per_k,
        case
            when unit_prices.price_source is null and not pricing_cases.is_model_resolved then 'unresolved_model'
            when unit_prices.input_usd_per_mtok is null and unit_prices.output_usd_per_mtok is null
                then 'no_token_price'
        end as unpriced_reason,
        pricing_cases.last_ingested_at
    from pricing_cases
    left join unit_prices
        on pricing_cases.pricing_case = unit_prices.pricing_case
),
{%- endmacro %}
