{#
    Anthropic's costs, one row per UTC day and description of the latest pull of that day. The
    amount is a decimal string of US cents ("123.45" is $1.2345): amount_usd divides by 100. The
    token type gives the component: uncached input (input), cache reads (cache_read), 5-minute and
    1-hour cache writes (cache_write), output; another token type or cost type (web search, code
    execution) is 'other' and still counts in the provider's cost. Priority Tier costs are not in
    this report (Anthropic's documentation).
#}

with

results as (
    select * from {{ source('provider_reports', 'anthropic_costs') }}
),

dated as (
    select
        results.*,
        cast({{ to_utc_timestamp('results.bucket_start') }} as date) as usage_date
    from results
),

pulls_ranked as (
    select
        dated.usage_date,
        dated._file_sha256,
        row_number() over (
            partition by dated.usage_date
            order by max(dated._loaded_at) desc, max(dated._source_file) desc, dated._file_sha256 desc
        ) as pull_rank
    from dated
    group by dated.usage_date, dated._file_sha256
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
    inner join pulls_ranked
        on dated.usage_date = pulls_ranked.usage_date
        and dated._file_sha256 = pulls_ranked._file_sha256
        and pulls_ranked.pull_rank = 1
)

select * from final
