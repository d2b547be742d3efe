{#
    The tokens of usage events llm-margin quarantined (the usage quarantine source, listed in
    audit.quarantined_usage_events; OTLP lines are left out: no tokens to read), per
    provider, UTC day and model, as far as the quarantined record says: the provider saw those
    calls, we did not count them. The daily reconciliation names a gap they explain
    `lost in quarantine` instead of `bypassed gateway`. Records that are not JSON, or lack a
    provider, model or date, cannot be attributed and are left out; the day is the first ten
    characters of occurred_at (the UTC date for a timestamp written in UTC); a negative count
    counts as 0.
#}

with

quarantined as (
    select * from {{ source('usage', 'quarantine') }}
),

fielded as (
    select
        lower(trim({{ json_text_or_null('quarantined.raw_record', 'provider') }})) as provider,
        trim({{ json_text_or_null('quarantined.raw_record', 'model') }}) as model,
        {{ try_cast_or_null(
            'substring(' ~ json_text_or_null('quarantined.raw_record', 'occurred_at') ~ ', 1, 10)',
            'date') }} as event_date,
        {{ try_cast_or_null(json_text_or_null('quarantined.raw_record', 'prompt_tokens'), 'bigint') }}
            as prompt_tokens,
        {{ try_cast_or_null(json_text_or_null('quarantined.raw_record', 'completion_tokens'), 'bigint') }}
            as completion_tokens,
        {{ try_cast_or_null(json_text_or_null('quarantined.raw_record', 'cached_prompt_tokens'), 'bigint') }}
            as cached_prompt_tokens,
        {{ try_cast_or_null(json_text_or_null('quarantined.raw_record', 'cache_write_tokens'), 'bigint') }}
            as cache_write_tokens,
        lower(trim({{ json_text_or_null('quarantined.raw_record', 'service_tier') }})) as service_tier
    from quarantined
),

final as (
    select
        fielded.provider,
        fielded.event_date,
        fielded.model,
        count(*) as quarantined_events,
        sum(greatest(coalesce(fielded.prompt_tokens, 0), 0)) as quarantined_prompt_tokens,
        sum(greatest(coalesce(fielded.completion_tokens, 0), 0)) as quarantined_completion_tokens,
        sum(greatest(coalesce(fielded.cached_prompt_tokens, 0), 0)) as quarantined_cached_prompt_tokens,
        sum(greatest(coalesce(fielded.cache_write_tokens, 0), 0)) as quarantined_cache_write_tokens,
        sum(
            case when fielded.service_tier = 'batch' then greatest(coalesce(fielded.prompt_tokens, 0), 0) else 0 end
        ) as quarantined_batch_prompt_tokens
    from fielded
    where fielded.provider is not null
        and fielded.model is not null
        and fielded.event_date is not null
    group by fielded.provider, fielded.event_date, fielded.model
)

select * from final
