{#
    The one pricing path, steps 6-7 (docs/pricing.md): each call takes the unit prices of its
    pricing case in every price state the cases have, then
      6. tokens are split into billed classes: a class without its own price stays in its parent
         (cache reads and writes in input, reasoning in output), so nothing is billed twice;
      7. cost = units x price / per; cost_usd is the sum of the components, null (unknown, never
         0) when the case has no price.

    pricing_call_costs(calls, cases) writes CTEs ending with `call_costs` (ending with a comma)
    into the caller's WITH list:
      calls   provider, model, price_date, second_of_day, prompt_tokens, cached_prompt_tokens,
              cache_write_tokens, completion_tokens, reasoning_tokens, service_tier, and any
              columns of the caller's (carried through: the caller's final selects what it keeps)
      cases   the priced cases of those calls (pricing_unit_prices' priced_cases, or
              int_pricing_cases_resolved with its event_date as price_date)
    call_costs: one row per call and price state: the call's columns (prompt and completion
    tokens null as 0), price_context_key / price_context_value, the case's price columns,
    uncached_input_tokens, billed_output_tokens, the six *_cost_usd components and cost_usd.
#}

{% macro pricing_call_costs(calls, cases) -%}
pricing_calls_keyed as (
    select
        {{ calls }}.*,
        coalesce({{ calls }}.prompt_tokens, 0) as billed_prompt_tokens,
        coalesce({{ calls }}.completion_tokens, 0) as billed_completion_tokens,
        {{ price_context_key(calls ~ '.service_tier') }} as price_context_key,
        {{ price_context_value(calls ~ '.service_tier') }} as price_context_value
    from {{ calls }}
),

calls_with_pricing_case as (
    -- one row per state the call is priced in: the cases of a call's day are one per state, slot
    -- and bucket, and the slots (buckets) of a day do not overlap
    select
        pricing_calls_keyed.*,
        {{ cases }}.price_state,
        {{ cases }}.price_provider_id,
        {{ cases }}.price_model_id,
        {{ cases }}.price_source,
        {{ cases }}.price_export_version,
        {{ cases }}.input_usd_per_mtok,
        {{ cases }}.cache_read_usd_per_mtok,
        {{ cases }}.cache_write_usd_per_mtok,
        {{ cases }}.output_usd_per_mtok,
        {{ cases }}.reasoning_usd_per_mtok,
        {{ cases }}.request_usd_per_k,
        {{ cases }}.unpriced_reason
    from pricing_calls_keyed
    inner join {{ cases }}
        on pricing_calls_keyed.provider = {{ cases }}.provider
        and pricing_calls_keyed.model = {{ cases }}.model
        and pricing_calls_keyed.price_context_key is not distinct from {{ cases }}.context_key
        and pricing_calls_keyed.price_context_value is not distinct from {{ cases }}.context_value
        and pricing_calls_keyed.price_date = {{ cases }}.price_date
        and pricing_calls_keyed.second_of_day >= {{ cases }}.tod_slot
        and ({{ cases }}.tod_slot_end is null or pricing_calls_keyed.second_of_day < {{ cases }}.tod_slot_end)
        and ({{ cases }}.tier_bucket = -1 or pricing_calls_keyed.billed_prompt_tokens > {{ cases }}.tier_bucket)
        and ({{ cases }}.tier_bucket_end is null or pricing_calls_keyed.billed_prompt_tokens <= {{ cases }}.tier_bucket_end)
),

billed_units as (
    select
        calls_with_pricing_case.*,
        calls_with_pricing_case.billed_prompt_tokens
        - case when calls_with_pricing_case.cache_read_usd_per_mtok is not null
            then calls_with_pricing_case.cached_prompt_tokens else 0 end
        - case when calls_with_pricing_case.cache_write_usd_per_mtok is not null
            then calls_with_pricing_case.cache_write_tokens else 0 end as uncached_input_tokens,
        calls_with_pricing_case.billed_completion_tokens
        - case when calls_with_pricing_case.reasoning_usd_per_mtok is not null
            then calls_with_pricing_case.reasoning_tokens else 0 end as billed_output_tokens
    from calls_with_pricing_case
),

call_components as (
    select
        billed_units.*,
        cast(coalesce(cast(billed_units.uncached_input_tokens as decimal(15, 0)) * billed_units.input_usd_per_mtok, 0) / 1000000 as decimal(24, 12))
            as input_cost_usd,
        cast(coalesce(cast(billed_units.cached_prompt_tokens as decimal(15, 0)) * billed_units.cache_read_usd_per_mtok, 0) / 1000000 as decimal(24, 12))
            as cache_read_cost_usd,
        cast(coalesce(cast(billed_units.cache_write_tokens as decimal(15, 0)) * billed_units.cache_write_usd_per_mtok, 0) / 1000000 as decimal(24, 12))
            as cache_write_cost_usd,
        cast(coalesce(cast(billed_units.billed_output_tokens as decimal(15, 0)) * billed_units.output_usd_per_mtok, 0) / 1000000 as decimal(24, 12))
            as output_cost_usd,
        cast(coalesce(cast(billed_units.reasoning_tokens as decimal(15, 0)) * billed_units.reasoning_usd_per_mtok, 0) / 1000000 as decimal(24, 12))
            as reasoning_cost_usd,
        cast(coalesce(billed_units.request_usd_per_k, 0) / 1000 as decimal(24, 12)) as request_cost_usd
    from billed_units
),

call_costs as (
    -- the call's cost: the sum of its components, null (unknown, never 0) when it has no price
    select
        call_components.*,
        case when call_components.unpriced_reason is null then
            cast(
                call_components.input_cost_usd
                + call_components.cache_read_cost_usd
                + call_components.cache_write_cost_usd
                + call_components.output_cost_usd
                + call_components.reasoning_cost_usd
                + call_components.request_cost_usd
                as decimal(24, 12)
            )
        end as cost_usd
    from call_components
),
{%- endmacro %}

{#
    Hypothetical calls (a what-if scenario's, the plan calculator's shapes) priced at the current
    price state (the rules of int_price_rules_by_state in `price_rules`, both states).

    pricing_cases_at_current_prices: steps 1-5, the cases of the calls and their unit prices
    (priced_cases). int_whatif_cases_priced keeps them in a table of their own, so that the
    engine joins millions of calls to a few hundred cases it can count (in one statement, DuckDB
    took the cases for the larger side and hashed the calls: BENCHMARKS.md, 2026-12-01).
    pricing_at_current_prices: steps 1-7 in one, ending with call_costs, for small inputs
    (int_call_shapes_priced).
#}
{% macro pricing_cases_at_current_prices(calls, model_resolutions, price_rules) -%}
current_price_rules as (
    select {{ price_rules }}.*
    from {{ price_rules }}
    where {{ price_rules }}.price_state = 'current'
),

-- step 1, the cases of the calls (macros/pricing/pricing_cases.sql): distinct_call_cases
{{ pricing_call_cases(calls=calls, model_resolutions=model_resolutions, price_rules='current_price_rules') }}

cases_in_states as (
    select 'current' as price_state, distinct_call_cases.*
    from distinct_call_cases
),

-- steps 2-5, the unit prices of every case: priced_cases
{{ pricing_unit_prices(cases_in_states='cases_in_states', price_rules='current_price_rules') }}
{%- endmacro %}

{% macro pricing_at_current_prices(calls, model_resolutions, price_rules) -%}
{{ pricing_cases_at_current_prices(calls=calls, model_resolutions=model_resolutions, price_rules=price_rules) }}

-- steps 6-7, billed units and costs: call_costs
{{ pricing_call_costs(calls=calls, cases='priced_cases') }}
{%- endmacro %}
