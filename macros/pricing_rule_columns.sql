{# The columns that make two price rules the same rule (used to find what a pricing file changed). #}
{% macro rule_content_columns() -%}
    provider_id, model_id, price_source, rule_kind, rule_rank, context_key, context_value, valid_from,
    valid_to, tod_start_second, tod_end_second, price_key, tier_start, usd_per_unit
{%- endmacro %}

{#
    What a call contributes to its pricing case, written once for the two models that need it:
    int_pricing_cases_resolved finds the distinct cases of the calls with these expressions, and
    int_llm_calls_priced finds each call's case with the same ones.
#}

{# The request context a call's price variants are chosen by: processing=batch, service_tier=flex|priority. #}
{% macro price_context_key(service_tier) -%}
    case
        when {{ service_tier }} = 'batch' then 'processing'
        when {{ service_tier }} in ('flex', 'priority') then 'service_tier'
    end
{%- endmacro %}

{% macro price_context_value(service_tier) -%}
    case
        when {{ service_tier }} = 'batch' then 'batch'
        when {{ service_tier }} in ('flex', 'priority') then {{ service_tier }}
    end
{%- endmacro %}

{# The call's whole second of the UTC day: window boundaries are whole seconds, so a call's whole
   second is inside exactly the same windows as the call. #}
{% macro call_second_of_day(occurred_at) -%}
    cast(floor({{ seconds_of_day(occurred_at) }}) as integer)
{%- endmacro %}
