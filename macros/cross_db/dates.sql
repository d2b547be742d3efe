{#
    Date arithmetic that stays a date and passes nulls through (dbt.dateadd returns a timestamp,
    and on Spark it raises on a null input).
#}

{% macro add_days(date_expression, days) -%}
    {{ return(adapter.dispatch('add_days', 'llm_margin')(date_expression, days)) }}
{%- endmacro %}

{% macro default__add_days(date_expression, days) -%}
    cast({{ dbt.dateadd('day', days, date_expression) }} as date)
{%- endmacro %}

{% macro spark__add_days(date_expression, days) -%}
    date_add({{ date_expression }}, {{ days }})
{%- endmacro %}
