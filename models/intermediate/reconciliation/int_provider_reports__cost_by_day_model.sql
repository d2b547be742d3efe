{#
    What the providers' cost reports charge, per provider, UTC day and model (both providers in
    one grain, from the latest pull of each day), in USD, split by component. A cost with no
    model (an OpenAI line item without one, an Anthropic web search) is under '(not a model)';
    a component neither input, cache read, cache write nor output is in cost_usd_other. Every
    amount counts in cost_usd: nothing is dropped.
#}

with

openai_costs as (
    select * from {{ ref('stg_provider_reports__openai_costs') }}
),

anthropic_costs as (
    select * from {{ ref('stg_provider_reports__anthropic_costs') }}
),

cost_rows as (
    select provider, usage_date, model, cost_component, amount_usd from openai_costs
    union all
    select provider, usage_date, model, cost_component, amount_usd from anthropic_costs
),

final as (
    select
        cost_rows.provider,
        cost_rows.usage_date,
        coalesce(cost_rows.model, '(not a model)') as model,
        cast(sum(cost_rows.amount_usd) as decimal(24, 12)) as cost_usd,
        cast(sum(case when cost_rows.cost_component = 'input' then cost_rows.amount_usd else 0 end)
            as decimal(24, 12)) as cost_usd_input,
        cast(sum(case when cost_rows.cost_component = 'cache_read' then cost_rows.amount_usd else 0 end)
            as decimal(24, 12)) as cost_usd_cache_read,
        cast(sum(case when cost_rows.cost_component = 'cache_write' then cost_rows.amount_usd else 0 end)
            as decimal(24, 12)) as cost_usd_cache_write,
        cast(sum(case when cost_rows.cost_component = 'output' then cost_rows.amount_usd else 0 end)
            as decimal(24, 12)) as cost_usd_output,
        cast(sum(case when cost_rows.cost_component = 'other' then cost_rows.amount_usd else 0 end)
            as decimal(24, 12)) as cost_usd_other
    from cost_rows
    group by cost_rows.provider, cost_rows.usage_date, coalesce(cost_rows.model, '(not a model)')
)

select * from final
