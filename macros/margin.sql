{#
    Margin arithmetic shared by the margin marts (docs/margin.md), so every mart computes it alike.
#}

{# Gross margin in percent of revenue; null when there is no revenue (a free or unknown customer). #}
{% macro margin_pct(revenue, cost) -%}
    case when {{ revenue }} != 0
        then 100 * (cast({{ revenue }} as double) - cast({{ cost }} as double)) / cast({{ revenue }} as double)
    end
{%- endmacro %}

{#
    A cost spread over a count: per active customer, per successful task (the cost of ALL the
    period's calls over the successful tasks started in it). Null when the count is 0.
#}
{% macro cost_per(cost, count) -%}
    case when {{ count }} > 0
        then cast({{ cost }} / {{ count }} as decimal(24, 12))
    end
{%- endmacro %}

{#
    The sum of a money column over rows that each must be known: null when any row's value is
    null (a customer month whose revenue could not be converted), so a roll-up never shows a
    margin that silently counted unknown revenue as zero.
#}
{% macro sum_if_all_known(value) -%}
    case when count(*) = count({{ value }})
        then cast(sum({{ value }}) as decimal(24, 12))
    end
{%- endmacro %}
