{# A what-if token count: observed tokens x factor (a token ratio or a cache-hit rate), rounded
   half-up to a whole token; null stays null (the pricing path treats it as the real call's). #}
{% macro whatif_tokens(tokens, factor) -%}
    cast(floor(cast({{ tokens }} as double) * {{ factor }} + 0.5) as bigint)
{%- endmacro %}
