{#
    Anthropic's costs, one row per UTC day and description of the latest pull of that day. The
    amount is a decimal string of US cents ("123.45" is $1.2345): amount_usd divides by 100. The
    token type gives the component: uncached input (input), cache reads (cache_read), 5-minute and
    1-hour cache writes (cache_write), output; another token type or cost type (web search, code
    execution) is 'other' and still counts in the provider's cost. Priority Tier costs are not in
    this report (Anthropic's documentation).
#}

with

dated as (
    {{ latest_pull_rows(source('provider_reports', 'anthropic_costs')) }}
),

final as (
    select
        concat(dated._file_sha256, ':', cast(dated._source_row as string)) as report_row_id,
        'anthropic' as provider,
        dated.usage_date,
        dated.model,
        dated.cost_type,
        dated.token_type,
        dated.service_tier,
        case
            when coalesce(dated.cost_type, 'tokens') <> 'tokens' then 'other'
            when dated.token_type = 'uncached_input_tokens' then 'input'
            when dated.token_type = 'cache_read_input_tokens' then 'cache_read'
            when dated.token_type in (
                'cache_creation.ephemeral_5m_input_tokens', 'cache_creation.ephemeral_1h_input_tokens'
            ) then 'cache_write'
            when dated.token_type = 'output_tokens' then 'output'
            else 'other'
        end as cost_component,
        cast(cast(dated.amount_cents as decimal(24, 12)) / 100 as decimal(24, 12)) as amount_usd,
        dated._source_file as source_file,
        dated.position
    from dated
)

select * from final
