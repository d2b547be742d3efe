{#
    Anthropic's messages usage, one row per UTC day and group (model, service tier, context
    window) of the latest pull of that day (as stg_provider_reports__openai_usage). Total input is
    uncached + cache writes (5 minutes and 1 hour) + cache reads, as llm-margin's prompt_tokens
    counts it. The report has no request count: requests is null.
#}

with

results as (
    select * from {{ source('provider_reports', 'anthropic_usage') }}
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
        coalesce(dated.service_tier = 'batch', false) as is_batch,
        dated.service_tier,
        dated.context_window,
        cast(null as bigint) as requests,
        dated.uncached_input_tokens
        + coalesce(dated.cache_creation_5m_input_tokens, 0)
        + coalesce(dated.cache_creation_1h_input_tokens, 0)
        + dated.cache_read_input_tokens as input_tokens,
        dated.cache_read_input_tokens as cache_read_tokens,
        coalesce(dated.cache_creation_5m_input_tokens, 0)
        + coalesce(dated.cache_creation_1h_input_tokens, 0) as cache_write_tokens,
        dated.output_tokens,
        dated._source_file as source_file,
        dated.position
    from dated
    inner join pulls_ranked
        on dated.usage_date = pulls_ranked.usage_date
        and dated._file_sha256 = pulls_ranked._file_sha256
        and pulls_ranked.pull_rank = 1
)

select * from final
