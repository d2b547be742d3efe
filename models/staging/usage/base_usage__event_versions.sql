{#
    Every usage-event record version in the lake, typed and normalised, one row per record
    received (re-deliveries and stream versions included). stg_usage__events collapses them.
#}

with

lake_events as (
    select * from {{ source('usage', 'events') }}
),

normalised as (
    select
        trim(event_id) as event_id,
        {{ to_utc_timestamp('coalesce(emitted_at, occurred_at)') }} as emitted_at,
        {{ to_utc_timestamp('occurred_at') }} as occurred_at,
        event_date as lake_event_date,
        nullif(trim(customer_id), '') as customer_id,
        nullif(trim(workspace_id), '') as workspace_id,
        nullif(trim(user_id), '') as user_id,
        nullif(trim(feature), '') as feature,
        nullif(trim(task_id), '') as task_id,
        nullif(trim(parent_event_id), '') as parent_event_id,
        attempt,
        lower(trim(provider)) as provider,
        trim(model) as model,
        nullif(trim(route), '') as route,
        nullif(trim(fallback_from_route), '') as fallback_from_route,
        coalesce(lower(nullif(trim(service_tier), '')), 'standard') as service_tier,
        prompt_tokens,
        coalesce(cached_prompt_tokens, 0) as cached_prompt_tokens,
        coalesce(cache_write_tokens, 0) as cache_write_tokens,
        completion_tokens,
        coalesce(reasoning_tokens, 0) as reasoning_tokens,
        coalesce(retries, 0) as retries,
        latency_ms,
        coalesce(lower(nullif(trim(status), '')), 'success') as received_status,
        lower(nullif(trim(outcome), '')) as outcome,
        attributes,
        _source_file as source_file,
        _source_row as source_row,
        _file_sha256 as file_sha256,
        {{ to_utc_timestamp('_ingested_at') }} as ingested_at
    from lake_events
)

select * from normalised
