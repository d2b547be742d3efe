{#
    What the last pricing file changed in the cost of calls already made, per customer and month:
    before (previous price state), after (current), delta. A new export whose changes start in the
    future changes nothing here; a correction of a past price shows up as a non-zero delta.
#}

with

calls as (
    select * from {{ ref('stg_usage__events') }}
),

calls_priced as (
    select * from {{ ref('int_llm_calls_priced') }}
),

costs as (
    select
        calls_priced.event_id,
        calls_priced.price_state,
        calls_priced.cost_usd
    from calls_priced
),

calls_repriced as (
    select
        previous_costs.event_id,
        previous_costs.cost_usd as cost_before_usd,
        current_costs.cost_usd as cost_after_usd
    from costs as previous_costs
    inner join costs as current_costs
        on previous_costs.event_id = current_costs.event_id
        and current_costs.price_state = 'current'
    where previous_costs.price_state = 'previous'
        and (
            previous_costs.cost_usd <> current_costs.cost_usd
            or (previous_costs.cost_usd is null) <> (current_costs.cost_usd is null)
        )
),

final as (
    select
        coalesce(calls.customer_id, '(untagged)') as customer_id,
        cast({{ dbt.date_trunc('month', 'calls.event_date') }} as date) as month,
        cast(count(*) as bigint) as calls_restated,
        cast(sum(calls_repriced.cost_before_usd) as decimal(24, 12)) as cost_before_usd,
        cast(sum(calls_repriced.cost_after_usd) as decimal(24, 12)) as cost_after_usd,
        cast(
            coalesce(sum(calls_repriced.cost_after_usd), 0) - coalesce(sum(calls_repriced.cost_before_usd), 0)
            as decimal(24, 12)
        ) as delta_usd
    from calls_repriced
    inner join calls
        on calls_repriced.event_id = calls.event_id
    group by coalesce(calls.customer_id, '(untagged)'), {{ dbt.date_trunc('month', 'calls.event_date') }}
)

select * from final
