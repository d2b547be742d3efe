{#
    Anthropic's messages usage, one row per UTC day and group (model, service tier, context
    window) of the latest pull of that day (as stg_provider_reports__openai_usage). Total input is
    uncached + cache writes (5 minutes and 1 hour) + cache reads, as llm-margin's prompt_tokens
    counts it. The report has no request count: requests is null.
#}

with

dated as (
    {{ latest_pull_rows(source('provider_reports', 'anthropic_usage')) }}
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
)

select * from final
