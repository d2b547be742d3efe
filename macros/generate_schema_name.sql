{#
    Models land in the schema their folder names (staging, intermediate, marts, audit), not in
    "<target schema>_<custom schema>": these schema names are a stable interface (architecture.md).
#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
