{#
    The exchange rate that converts each (currency, service date) of revenue into the reporting
    currency (docs/currencies.md). Rule: the ECB reference rates of the service date; on a date the
    ECB did not publish (a weekend, a TARGET holiday) the latest earlier date that has both
    currencies; never 1.0, never a later date. The ECB quotes units per euro, so the cross rate is
    reporting-units-per-euro / currency-units-per-euro, divided in double precision (a decimal
    division keeps too few places on Spark) and kept to 12 places. A rate older than var('fx_max_rate_age_days')
    days before the service date (a rates file not refreshed) is not used: the pair is then
    unconverted, with the reason, as is a pair with no earlier rate at all.
    Revenue already in the reporting currency needs no rate and is not listed.
#}

{%- set reporting = reporting_currency() %}
{%- set max_age_days = var('fx_max_rate_age_days', 7) | int %}

with

revenue_lines as (
    select * from {{ ref('stg_billing__revenue_lines') }}
),

rates as (
    select * from {{ ref('stg_fx__ecb_rates') }}
),

needed as (
    select distinct
        revenue_lines.currency,
        revenue_lines.service_date
    from revenue_lines
    where revenue_lines.currency != '{{ reporting }}'
),

reporting_rates as (
    select
        rates.rate_date,
        rates.units_per_eur
    from rates
    where rates.currency = '{{ reporting }}'
),

candidates_ranked as (
    select
        needed.currency,
        needed.service_date,
        rates.rate_date,
        rates.units_per_eur as currency_per_eur,
        reporting_rates.units_per_eur as reporting_per_eur,
        row_number() over (
            partition by needed.currency, needed.service_date
            order by rates.rate_date desc
        ) as rate_rank
    from needed
    inner join rates
        on
            needed.currency = rates.currency
            and rates.rate_date <= needed.service_date
    inner join reporting_rates
        on rates.rate_date = reporting_rates.rate_date
),

latest_rates as (
    select *
    from candidates_ranked
    where rate_rank = 1
),

final as (
    select
        needed.currency,
        needed.service_date,
        '{{ reporting }}' as reporting_currency,
        latest_rates.rate_date,
        case
            when latest_rates.rate_date >= {{ add_days('needed.service_date', -max_age_days) }}
                then cast(
                    cast(latest_rates.reporting_per_eur as double)
                    / cast(latest_rates.currency_per_eur as double)
                    as decimal(24, 12)
                )
        end as rate,
        case
            when latest_rates.rate_date is null
                then concat(
                    'no ECB rate for ', needed.currency, ' and {{ reporting }} on or before ',
                    cast(needed.service_date as {{ dbt.type_string() }})
                )
            when latest_rates.rate_date < {{ add_days('needed.service_date', -max_age_days) }}
                then concat(
                    'the latest ECB rate for ', needed.currency, ' and {{ reporting }} before ',
                    cast(needed.service_date as {{ dbt.type_string() }}), ' is from ',
                    cast(latest_rates.rate_date as {{ dbt.type_string() }}),
                    ', more than {{ max_age_days }} days earlier: load a newer rates file'
                )
        end as unconverted_reason
    from needed
    left join latest_rates
        on
            needed.currency = latest_rates.currency
            and needed.service_date = latest_rates.service_date
)

select * from final
