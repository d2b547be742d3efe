{# The columns that make two price rules the same rule (used to find what a pricing file changed). #}
{% macro rule_content_columns() -%}
    provider_id, model_id, price_source, rule_kind, rule_rank, context_key, context_value, valid_from,
    valid_to, tod_start_second, tod_end_second, price_key, tier_start, usd_per_unit
{%- endmacro %}
