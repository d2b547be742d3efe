{#
    The cost of every call, from the price rules in force at its timestamp (DECISIONLOG.md
    "Pricing a call"). Steps, one CTE each:
      1. resolve the call's (provider, model) to a catalog model and its request context;
      2. pick the standard rule set in force: the highest-ranked one whose condition holds
         (start date reached, or inside its UTC time-of-day window);
      3. per component, a context variant (batch, flex, priority) in force replaces it;
      4. per component, the highest tier whose threshold the call's input tokens exceed (cliff);
      5. split the tokens into billed classes: a class without its own price stays in its parent
         (cache reads and writes in input, reasoning in output), so nothing is billed twice;
      6. cost = units x price / per.
#}

with

calls as (
    select * from {{ ref('stg_usage__events') }}
),

model_resolutions as (
    select * from {{ ref('stg_pricing__model_resolutions') }}
),

current_rules as (
    select * from {{ ref('stg_pricing__price_rules') }}
    where is_current_export
),

calls_resolved as (
    select
        calls.event_id,
        calls.event_date,
        {{ seconds_of_day('calls.occurred_at') }} as second_of_day,
        coalesce(calls.prompt_tokens, 0) as prompt_tokens,
        calls.cached_prompt_tokens,
        calls.cache_write_tokens,
        coalesce(calls.completion_tokens, 0) as completion_tokens,
        calls.reasoning_tokens,
        model_resolutions.price_provider_id,
        model_resolutions.price_model_id,
        coalesce(model_resolutions.is_resolved, false) as is_model_resolved,
        case
            when not model_resolutions.is_context_priced then null
            when calls.service_tier = 'batch' then 'processing'
            when calls.service_tier in ('flex', 'priority') then 'service_tier'
        end as context_key,
        case
            when not model_resolutions.is_context_priced then null
            when calls.service_tier = 'batch' then 'batch'
            when calls.service_tier in ('flex', 'priority') then calls.service_tier
        end as context_value
    from calls
    left join model_resolutions
        on calls.provider = model_resolutions.raw_provider
        and calls.model = model_resolutions.raw_model
),

rules_in_force as (
    select
        calls_resolved.event_id,
        current_rules.rule_kind,
        current_rules.rule_rank,
        current_rules.context_key,
        current_rules.price_key,
        current_rules.usage_key,
        current_rules.unit_per,
        current_rules.tier_start,
        current_rules.usd_per_unit,
        current_rules.export_version
    from calls_resolved
    inner join current_rules
        on calls_resolved.price_provider_id = current_rules.price_provider_id
        and calls_resolved.price_model_id = current_rules.price_model_id
    where
        (current_rules.valid_from is null or calls_resolved.event_date >= current_rules.valid_from)
        and (
            current_rules.tod_start_second is null
            or (
                current_rules.tod_start_second <= current_rules.tod_end_second
                and calls_resolved.second_of_day >= current_rules.tod_start_second
                and calls_resolved.second_of_day < current_rules.tod_end_second
            )
            or (
                current_rules.tod_start_second > current_rules.tod_end_second
                and (
                    calls_resolved.second_of_day >= current_rules.tod_start_second
                    or calls_resolved.second_of_day < current_rules.tod_end_second
                )
            )
        )
        and (
            current_rules.rule_kind = 'standard'
            or (
                current_rules.context_key = calls_resolved.context_key
                and current_rules.context_value = calls_resolved.context_value
            )
        )
),

standard_rank_chosen as (
    select
        rules_in_force.event_id,
        max(rules_in_force.rule_rank) as rule_rank
    from rules_in_force
    where rules_in_force.rule_kind = 'standard'
    group by rules_in_force.event_id
),

variant_rank_chosen as (
    select
        rules_in_force.event_id,
        rules_in_force.price_key,
        min(rules_in_force.rule_rank) as rule_rank
    from rules_in_force
    where rules_in_force.rule_kind = 'variant'
    group by rules_in_force.event_id, rules_in_force.price_key
),

component_rules as (
    select rules_in_force.*
    from rules_in_force
    inner join variant_rank_chosen
        on rules_in_force.event_id = variant_rank_chosen.event_id
        and rules_in_force.price_key = variant_rank_chosen.price_key
        and rules_in_force.rule_rank = variant_rank_chosen.rule_rank
    where rules_in_force.rule_kind = 'variant'

    union all

    select rules_in_force.*
    from rules_in_force
    inner join standard_rank_chosen
        on rules_in_force.event_id = standard_rank_chosen.event_id
        and rules_in_force.rule_rank = standard_rank_chosen.rule_rank
    left join variant_rank_chosen
        on rules_in_force.event_id = variant_rank_chosen.event_id
        and rules_in_force.price_key = variant_rank_chosen.price_key
    where rules_in_force.rule_kind = 'standard'
        and variant_rank_chosen.event_id is null
),

component_tiers_ranked as (
    select
        component_rules.*,
        row_number() over (
            partition by component_rules.event_id, component_rules.price_key
            order by coalesce(component_rules.tier_start, -1) desc
        ) as tier_rank
    from component_rules
    inner join calls_resolved
        on component_rules.event_id = calls_resolved.event_id
    where component_rules.tier_start is null
        or calls_resolved.prompt_tokens > component_rules.tier_start
),

unit_prices as (
    select
        component_tiers_ranked.event_id,
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
            then component_tiers_ranked.usd_per_unit / component_tiers_ranked.unit_per end) as request_usd
    from component_tiers_ranked
    where component_tiers_ranked.tier_rank = 1
    group by component_tiers_ranked.event_id
),

billed_units as (
    select
        calls_resolved.*,
        unit_prices.price_export_version,
        unit_prices.input_usd_per_mtok,
        unit_prices.cache_read_usd_per_mtok,
        unit_prices.cache_write_usd_per_mtok,
        unit_prices.output_usd_per_mtok,
        unit_prices.reasoning_usd_per_mtok,
        unit_prices.request_usd,
        calls_resolved.prompt_tokens
        - case when unit_prices.cache_read_usd_per_mtok is not null
            then calls_resolved.cached_prompt_tokens else 0 end
        - case when unit_prices.cache_write_usd_per_mtok is not null
            then calls_resolved.cache_write_tokens else 0 end as uncached_input_tokens,
        calls_resolved.completion_tokens
        - case when unit_prices.reasoning_usd_per_mtok is not null
            then calls_resolved.reasoning_tokens else 0 end as billed_output_tokens
    from calls_resolved
    left join unit_prices
        on calls_resolved.event_id = unit_prices.event_id
),

final as (
    select
        event_id,
        price_provider_id,
        price_model_id,
        price_export_version,
        context_key as price_context_key,
        context_value as price_context_value,
        input_usd_per_mtok,
        cache_read_usd_per_mtok,
        cache_write_usd_per_mtok,
        output_usd_per_mtok,
        reasoning_usd_per_mtok,
        request_usd,
        uncached_input_tokens,
        billed_output_tokens,
        case
            when not is_model_resolved then 'unresolved_model'
            when input_usd_per_mtok is null and output_usd_per_mtok is null then 'no_token_price'
        end as unpriced_reason,
        cast(coalesce(uncached_input_tokens * input_usd_per_mtok, 0) / 1000000 as decimal(24, 12))
            as input_cost_usd,
        cast(coalesce(cached_prompt_tokens * cache_read_usd_per_mtok, 0) / 1000000 as decimal(24, 12))
            as cache_read_cost_usd,
        cast(coalesce(cache_write_tokens * cache_write_usd_per_mtok, 0) / 1000000 as decimal(24, 12))
            as cache_write_cost_usd,
        cast(coalesce(billed_output_tokens * output_usd_per_mtok, 0) / 1000000 as decimal(24, 12))
            as output_cost_usd,
        cast(coalesce(reasoning_tokens * reasoning_usd_per_mtok, 0) / 1000000 as decimal(24, 12))
            as reasoning_cost_usd,
        cast(coalesce(request_usd, 0) as decimal(24, 12)) as request_cost_usd
    from billed_units
)

select * from final
