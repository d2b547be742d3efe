{# Seconds since midnight (with fraction) of a UTC timestamp. #}
{% macro seconds_of_day(expression) -%}
    {{ return(adapter.dispatch('seconds_of_day', 'llm_margin')(expression)) }}
{%- endmacro %}

{% macro default__seconds_of_day(expression) -%}
    (unix_micros({{ expression }}) - unix_micros(date_trunc('DAY', {{ expression }}))) / 1000000.0
{%- endmacro %}

{% macro duckdb__seconds_of_day(expression) -%}
    (epoch({{ expression }}) - epoch(date_trunc('day', {{ expression }})))
{%- endmacro %}
