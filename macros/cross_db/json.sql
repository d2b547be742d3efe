{# The text of a top-level key of a JSON object held as text (null when absent or JSON null). #}
{% macro json_text(column, key) -%}
    {{ return(adapter.dispatch('json_text', 'llm_margin')(column, key)) }}
{%- endmacro %}

{% macro default__json_text(column, key) -%}
    json_extract_string({{ column }}, '$.{{ key }}')
{%- endmacro %}

{% macro spark__json_text(column, key) -%}
    get_json_object({{ column }}, '$.{{ key }}')
{%- endmacro %}

{# The same, or null when the text is not valid JSON (quarantined records may not be). #}
{% macro json_text_or_null(column, key) -%}
    {{ return(adapter.dispatch('json_text_or_null', 'llm_margin')(column, key)) }}
{%- endmacro %}

{% macro default__json_text_or_null(column, key) -%}
    case when json_valid({{ column }}) then json_extract_string({{ column }}, '$.{{ key }}') end
{%- endmacro %}

{% macro spark__json_text_or_null(column, key) -%}
    get_json_object({{ column }}, '$.{{ key }}')
{%- endmacro %}
