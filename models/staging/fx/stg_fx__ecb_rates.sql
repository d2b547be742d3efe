{#
    The ECB's euro reference rates, one row per published date and currency: units of the
    currency per 1 EUR. Each rates file repeats the history, so a date and currency arrive once
    per file: the latest load wins (then the later file name and row, so a tie stays
    deterministic), and an older file's rate stays only where no later file has that date and
    currency. EUR is the base of every rate: it is 1 on every date that published any rate, a
    definition rather than a fallback (a date the ECB did not publish has no EUR row either).
#}

with

rates as (
    select * from {{ source('fx', 'ecb_rates') }}
),

rates_ranked as (
    select
        rates.rate_date,
        rates.currency,
        rates.units_per_eur,
        rates._source_file as source_file,
        rates._source_row as source_row,
        row_number() over (
            partition by rates.rate_date, rates.currency
            order by rates._loaded_at desc, rates._source_file desc, rates._source_row desc
        ) as load_rank
    from rates
),

latest_rates as (
    select
        rate_date,
        currency,
        cast(units_per_eur as decimal(18, 8)) as units_per_eur,
        false as is_base_currency,
        source_file,
        source_row
    from rates_ranked
    where load_rank = 1
),

published_dates as (
    select distinct latest_rates.rate_date
    from latest_rates
),

euro_rates as (
    select
        published_dates.rate_date,
        'EUR' as currency,
        cast(1 as decimal(18, 8)) as units_per_eur,
        true as is_base_currency,
        cast(null as {{ dbt.type_string() }}) as source_file,
        cast(null as bigint) as source_row
    from published_dates
),

unioned as (
    select * from latest_rates
    union all
    select * from euro_rates
),

final as (
    select
        concat(unioned.currency, ':', cast(unioned.rate_date as {{ dbt.type_string() }})) as ecb_rate_id,
        unioned.rate_date,
        unioned.currency,
        unioned.units_per_eur,
        unioned.is_base_currency,
        unioned.source_file,
        unioned.source_row
    from unioned
)

select * from final
