{#
    OpenAI's completions usage, one row per UTC day and group (model, batch) of the latest pull of
    that day: a report restates its recent days, so each pull is kept in the lake and the file
    loaded last (then the later file name) is the one a day is read from, even when it says less.
#}

with

dated as (
    {{ latest_pull_rows(source('provider_reports', 'openai_usage')) }}
),

final as (
    select
        concat(dated._file_sha256, ':', cast(dated._source_row as string)) as report_row_id,
        'openai' as provider,
        dated.usage_date,
        dated.model,
        coalesce(dated.batch = 'true', false) as is_batch,
        dated.service_tier,
        dated.project_id,
        dated.num_model_requests as requests,
        dated.input_tokens,
        coalesce(dated.input_cached_tokens, 0) as cache_read_tokens,
        coalesce(dated.input_cache_write_tokens, 0) as cache_write_tokens,
        dated.output_tokens,
        dated._source_file as source_file,
        dated.position
    from dated
)

select * from final
