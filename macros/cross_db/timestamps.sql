{#
    Engine-specific SQL lives in adapter-dispatched macros like these, never in models.
#}

{# A timestamp with time zone (or an instant) as a plain timestamp in UTC. #}
{% macro to_utc_timestamp(expression) -%}
    {{ return(adapter.dispatch('to_utc_timestamp', 'llm_margin')(expression)) }}
{%- endmacro %}

{% macro default__to_utc_timestamp(expression) -%}
    cast({{ expression }} as timestamp)
{%- endmacro %}

{% macro duckdb__to_utc_timestamp(expression) -%}
    timezone('UTC', {{ expression }})
{%- endmacro %}
