{#
    A cast that gives null instead of failing when the text does not convert (dbt.safe_cast is a
    plain cast on DuckDB). DuckDB and Spark (3.2+) both spell it try_cast.
#}
{% macro try_cast_or_null(expression, data_type) -%}
    {{ return(adapter.dispatch('try_cast_or_null', 'llm_margin')(expression, data_type)) }}
{%- endmacro %}

{% macro default__try_cast_or_null(expression, data_type) -%}
    try_cast({{ expression }} as {{ data_type }})
{%- endmacro %}
