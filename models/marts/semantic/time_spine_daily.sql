{#
    One row per day from 2020-01-01 to 2039-12-31: the daily time spine MetricFlow needs for the
    semantic layer (models/marts/semantic/_semantic__models.yml). Built from digits so it runs
    alike on DuckDB and Spark.
#}

with

digits as (
    select 0 as digit union all select 1 union all select 2 union all select 3 union all select 4
    union all select 5 union all select 6 union all select 7 union all select 8 union all select 9
),

day_numbers as (
    select
        thousands.digit * 1000 + hundreds.digit * 100 + tens.digit * 10 + ones.digit as day_number
    from digits as thousands
    cross join digits as hundreds
    cross join digits as tens
    cross join digits as ones
),

final as (
    select {{ add_days("cast('2020-01-01' as date)", 'day_numbers.day_number') }} as date_day
    from day_numbers
    where day_numbers.day_number < 7305
)

select * from final
