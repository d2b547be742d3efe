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

{# The first day of the month of a date, as a date. #}
{% macro month_start(date_expression) -%}
    cast({{ dbt.date_trunc('month', date_expression) }} as date)
{%- endmacro %}

{# The number of days in the month of a date (28 to 31). #}
{% macro days_in_month(date_expression) -%}
    {{ return(adapter.dispatch('days_in_month', 'llm_margin')(date_expression)) }}
{%- endmacro %}

{% macro default__days_in_month(date_expression) -%}
    cast(extract(day from last_day({{ date_expression }})) as bigint)
{%- endmacro %}

{# The day of the month of a date (1 to 31). #}
{% macro day_of_month(date_expression) -%}
    {{ return(adapter.dispatch('day_of_month', 'llm_margin')(date_expression)) }}
{%- endmacro %}

{% macro default__day_of_month(date_expression) -%}
    cast(extract(day from {{ date_expression }}) as bigint)
{%- endmacro %}

{# Whole days from one date to a later one (negative when the second is earlier); DuckDB's
   `date - date` and Spark's `datediff(end, start)` spell it differently. #}
{% macro datediff_days(start_date, end_date) -%}
    {{ return(adapter.dispatch('datediff_days', 'llm_margin')(start_date, end_date)) }}
{%- endmacro %}

{% macro default__datediff_days(start_date, end_date) -%}
    cast({{ dbt.datediff(start_date, end_date, 'day') }} as bigint)
{%- endmacro %}

{% macro spark__datediff_days(start_date, end_date) -%}
    cast(datediff({{ end_date }}, {{ start_date }}) as bigint)
{%- endmacro %}

{# A date plus a number of months (a column or a literal), as a date. #}
{% macro add_months(date_expression, months) -%}
    {{ return(adapter.dispatch('add_months', 'llm_margin')(date_expression, months)) }}
{%- endmacro %}

{% macro default__add_months(date_expression, months) -%}
    cast({{ dbt.dateadd('month', months, date_expression) }} as date)
{%- endmacro %}

{% macro spark__add_months(date_expression, months) -%}
    add_months({{ date_expression }}, {{ months }})
{%- endmacro %}
