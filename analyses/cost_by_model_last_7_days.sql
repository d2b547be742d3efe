{#
    Ad-hoc analysis (compiled by `dbt compile`, not built): the week's AI cost by provider and
    model, with the share of calls that could not be priced. Run the compiled SQL from
    target/compiled/ against the warehouse or the serving copy.
#}

with

llm_calls as (
    select * from {{ ref('fct_llm_calls') }}
),

last_week as (
    select *
    from llm_calls
    where llm_calls.event_date > (select {{ add_days('max(llm_calls.event_date)', -7) }} from llm_calls)
),

final as (
    select
        last_week.provider,
        last_week.model,
        count(*) as calls,
        sum(last_week.cost_usd) as cost_usd,
        avg(case when last_week.is_priced then 0.0 else 1.0 end) as unpriced_share
    from last_week
    group by last_week.provider, last_week.model
)

select * from final
order by cost_usd desc
