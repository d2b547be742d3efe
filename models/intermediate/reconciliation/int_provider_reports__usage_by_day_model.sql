{#
    What the providers' usage reports say, per provider, UTC day and model (both providers in one
    grain, from the latest pull of each day). Input tokens include cache reads and cache writes,
    as llm-margin's prompt_tokens does; batch_input_tokens is the input of Batch traffic (OpenAI
    batch = true, Anthropic service_tier batch). Anthropic reports no request count: requests is
    null for it.
#}

with

openai_usage as (
    select * from {{ ref('stg_provider_reports__openai_usage') }}
),

anthropic_usage as (
    select * from {{ ref('stg_provider_reports__anthropic_usage') }}
),

usage_rows as (
    select
        provider, usage_date, model, is_batch, requests,
        input_tokens, cache_read_tokens, cache_write_tokens, output_tokens
    from openai_usage
    union all
    select
        provider, usage_date, model, is_batch, requests,
        input_tokens, cache_read_tokens, cache_write_tokens, output_tokens
    from anthropic_usage
),

final as (
    select
        usage_rows.provider,
        usage_rows.usage_date,
        coalesce(usage_rows.model, '(not a model)') as model,
        sum(usage_rows.requests) as requests,
        sum(usage_rows.input_tokens) as input_tokens,
        sum(usage_rows.cache_read_tokens) as cache_read_tokens,
        sum(usage_rows.cache_write_tokens) as cache_write_tokens,
        sum(usage_rows.output_tokens) as output_tokens,
        sum(case when usage_rows.is_batch then usage_rows.input_tokens else 0 end)
            as batch_input_tokens
    from usage_rows
    group by usage_rows.provider, usage_rows.usage_date, coalesce(usage_rows.model, '(not a model)')
)

select * from final
