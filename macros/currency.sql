{#
    An amount in a currency's smallest unit (Stripe's integers: cents, pence, yen) in major units,
    exactly: times 10^-exponent, the exponent from seeds/currencies.csv (0 for JPY, 2 for USD, 3
    for KWD). Multiplied as decimals, never divided: DuckDB divides decimals in double precision.
#}
{% macro minor_to_major(amount_minor, exponent) -%}
    cast(cast({{ amount_minor }} as decimal(24, 0)) * cast(power(10, -({{ exponent }})) as decimal(13, 12)) as decimal(24, 12))
{%- endmacro %}
