{#- The value of `value` on the row where `ordering` is largest; rows with a null ordering are
    ignored (null when every row's is). DuckDB, Spark, Trino and Snowflake spell it max_by. -#}
{% macro max_by(value, ordering) -%}
    {{ return(adapter.dispatch('max_by', 'llm_margin')(value, ordering)) }}
{%- endmacro %}

{% macro default__max_by(value, ordering) -%}
    max_by({{ value }}, {{ ordering }})
{%- endmacro %}
