{#
    Money in more than one currency (docs/currencies.md).

    reporting_currency(): the one currency margins are reported in, var('reporting_currency'), else
    $LLM_MARGIN_REPORTING_CURRENCY, else USD. Costs are in USD as the providers bill them and are
    not converted yet, so any other value stops the build with this message rather than putting
    euros of revenue beside dollars of cost.
#}
{% macro reporting_currency() -%}
    {%- set code = (var('reporting_currency', env_var('LLM_MARGIN_REPORTING_CURRENCY', 'USD')) or 'USD') | trim | upper -%}
    {%- if code != 'USD' -%}
        {{ exceptions.raise_compiler_error(
            "LLM_MARGIN_REPORTING_CURRENCY is " ~ code ~ ", but only USD can be reported for now: "
            ~ "AI costs are billed in USD and are not converted, so a margin in " ~ code
            ~ " would subtract dollars from " ~ code ~ " (docs/currencies.md). Unset it or set USD."
        ) }}
    {%- endif -%}
    {{ return(code) }}
{%- endmacro %}

{#
    An amount in another currency: amount x rate, where rate is units of the reporting currency per
    unit of the amount's currency (int_fx__revenue_rates). Multiplying two decimals is exact on
    every engine; the rate itself is kept to 12 decimal places.
#}
{% macro convert_currency(amount, rate) -%}
    cast({{ amount }} * {{ rate }} as decimal(24, 12))
{%- endmacro %}
