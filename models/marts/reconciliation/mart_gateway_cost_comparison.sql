{#
    What the LLM gateway said each call cost next to llm-margin's exact price, per provider,
    model and month (docs/sources.md, "LiteLLM proxy"). Only calls whose record carries a
    gateway figure (the attribute gateway_cost_usd: LiteLLM's spend) are compared. LiteLLM prices
    from its own price file: it misses cache discounts, service tiers, tiered prices and models it
    does not know, so the difference is the money a gateway-only view gets wrong.
#}

with

llm_calls as (
    select * from {{ ref('fct_llm_calls') }}
),

gateway_figures as (
    select
        events.event_id,
        cast({{ json_text('events.attributes', 'gateway_cost_usd') }} as decimal(24, 12)) as gateway_cost_usd
    from {{ ref('stg_usage__events') }} as events
    where {{ json_text('events.attributes', 'gateway_cost_usd') }} is not null
),

compared_calls as (
    select
        llm_calls.provider,
        llm_calls.model,
        cast({{ dbt.date_trunc('month', 'llm_calls.event_date') }} as date) as month,
        llm_calls.is_priced,
        llm_calls.cost_usd,
        gateway_figures.gateway_cost_usd
    from llm_calls
    inner join gateway_figures
        on llm_calls.event_id = gateway_figures.event_id
),

by_model_month as (
    select
        compared_calls.provider,
        compared_calls.model,
        compared_calls.month,
        count(*) as calls,
        cast(sum(case when compared_calls.is_priced then 0 else 1 end) as bigint) as unpriced_calls,
        cast(sum(compared_calls.gateway_cost_usd) as decimal(24, 12)) as gateway_cost_usd,
        cast(coalesce(sum(compared_calls.cost_usd), 0) as decimal(24, 12)) as llm_margin_cost_usd
    from compared_calls
    group by compared_calls.provider, compared_calls.model, compared_calls.month
),

final as (
    select
        concat(
            by_model_month.provider, ':', by_model_month.model, ':', cast(by_model_month.month as string)
        ) as comparison_id,
        by_model_month.provider,
        by_model_month.model,
        by_model_month.month,
        by_model_month.calls,
        by_model_month.unpriced_calls,
        by_model_month.gateway_cost_usd,
        by_model_month.llm_margin_cost_usd,
        cast(by_model_month.gateway_cost_usd - by_model_month.llm_margin_cost_usd as decimal(24, 12)) as difference_usd,
        case
            when by_model_month.llm_margin_cost_usd > 0
                then cast(
                    100 * (by_model_month.gateway_cost_usd - by_model_month.llm_margin_cost_usd)
                    / by_model_month.llm_margin_cost_usd as decimal(18, 4)
                )
        end as difference_pct
    from by_model_month
)

select * from final
