{{
    config(
        materialized='incremental',
        unique_key='event_id',
        incremental_strategy='delete+insert',
        on_schema_change='append_new_columns',
    )
}}

{#
    One row per call attempt (event_id). Every record version received for an event collapses to
    the one with the latest emitted_at; see DECISIONLOG.md "Deduplicating usage events".

    Incremental: a run picks up the records ingested since the last run, then re-derives each
    touched event from *all* its versions in the lake (so an older re-delivery can never overwrite
    a newer version), searching partitions from lookback_days before the new records' dates.
#}

with

{% if is_incremental() %}

watermark as (
    select max(last_ingested_at) as last_ingested_at
    from {{ this }}
),

new_records as (
    select
        trim(lake_events.event_id) as event_id,
        lake_events.event_date
    from {{ source('usage', 'events') }} as lake_events
    where {{ to_utc_timestamp('lake_events._ingested_at') }}
        > coalesce((select watermark.last_ingested_at from watermark), cast('1970-01-01' as timestamp))
),

lake_events as (
    select lake_events.*
    from {{ source('usage', 'events') }} as lake_events
    where
        lake_events.event_date >= (
            select {{ dbt.dateadd('day', -1 * var('lookback_days'), 'min(new_records.event_date)') }}
            from new_records
        )
        and trim(lake_events.event_id) in (select new_records.event_id from new_records)
),

{% else %}

lake_events as (
    select * from {{ source('usage', 'events') }}
),

{% endif %}

normalised as (
    select
        trim(event_id) as event_id,
        {{ to_utc_timestamp('coalesce(emitted_at, occurred_at)') }} as emitted_at,
        {{ to_utc_timestamp('occurred_at') }} as occurred_at,
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
),

versions_ranked as (
    select
        normalised.*,
        row_number() over (
            partition by normalised.event_id
            order by
                normalised.emitted_at desc,
                case when normalised.received_status = 'in_progress' then 1 else 0 end asc,
                normalised.ingested_at asc,
                normalised.source_file asc,
                normalised.source_row asc
        ) as version_rank,
        count(*) over (partition by normalised.event_id) as versions_received,
        max(normalised.ingested_at) over (partition by normalised.event_id) as last_ingested_at,
        min(normalised.ingested_at) over (partition by normalised.event_id) as first_ingested_at
    from normalised
),

final as (
    select
        event_id,
        occurred_at,
        emitted_at,
        cast(occurred_at as date) as event_date,
        customer_id,
        workspace_id,
        user_id,
        feature,
        task_id,
        parent_event_id,
        attempt,
        provider,
        model,
        route,
        fallback_from_route,
        service_tier,
        prompt_tokens,
        cached_prompt_tokens,
        cache_write_tokens,
        completion_tokens,
        reasoning_tokens,
        retries,
        latency_ms,
        case when received_status = 'in_progress' then 'incomplete' else received_status end as status,
        received_status = 'in_progress' as is_incomplete,
        outcome,
        attributes,
        versions_received,
        source_file,
        source_row,
        file_sha256,
        first_ingested_at,
        last_ingested_at
    from versions_ranked
    where version_rank = 1
)

select * from final
