{{
    config(
        materialized='incremental',
        on_schema_change='append_new_columns',
        **event_grain_incremental_config(unique_key='event_id', partition_column='event_date'),
    )
}}

{#
    One row per call attempt (event_id). Every record version received for an event collapses to
    the one with the latest emitted_at; see DECISIONLOG.md "Deduplicating usage events".

    Incremental: a run picks up the records ingested since the last run (and, when asked, every
    record of the days in vars rebuild_from..rebuild_to), then re-derives each
    touched event from *all* its versions in the lake (so an older re-delivery can never overwrite
    a newer version), searching partitions from lookback_days before the new records' dates.
    How the rows are replaced depends on the engine (macros/cross_db/incremental.sql):
    - delete+insert on event_id (DuckDB): emit the touched events only;
    - insert_overwrite of event_date partitions (Spark on Parquet): emit every event of every
      partition a touched event is in, or was in, each re-derived from all its versions.
#}

with

{% if is_incremental() %}

watermark as (
    select max(last_ingested_at) as last_ingested_at
    from {{ this }}
),

new_versions as (
    select
        event_versions.event_id,
        event_versions.lake_event_date
    from {{ ref('base_usage__event_versions') }} as event_versions
    where event_versions.ingested_at
        > coalesce((select watermark.last_ingested_at from watermark), cast('1970-01-01' as timestamp))
        -- and every version dated in the days a run was asked to rebuild (macros/rebuild_window.sql)
        or {{ in_rebuild_window('event_versions.lake_event_date') }}
),

touched_event_versions as (
    select event_versions.*
    from {{ ref('base_usage__event_versions') }} as event_versions
    where
        event_versions.lake_event_date >= (
            select {{ add_days('min(new_versions.lake_event_date)', -1 * var('lookback_days')) }}
            from new_versions
        )
        and event_versions.event_id in (select new_versions.event_id from new_versions)
),

{% if incremental_overwrites_partitions() %}

partitions_to_rebuild as (
    -- where the touched events may land now (the dates of all their versions) ...
    select distinct cast(touched_event_versions.occurred_at as date) as event_date
    from touched_event_versions
    union
    -- ... and where they are now, so a partition an event leaves is rewritten without it
    select distinct existing_events.event_date
    from {{ this }} as existing_events
    where existing_events.event_id in (select new_versions.event_id from new_versions)
),

event_versions as (
    -- every version of every event of those partitions (an event's versions lie within
    -- lookback_days of each other, so nothing before the earliest partition's window is needed)
    select event_versions.*
    from {{ ref('base_usage__event_versions') }} as event_versions
    where event_versions.lake_event_date >= (
        select {{ add_days('min(partitions_to_rebuild.event_date)', -1 * var('lookback_days')) }}
        from partitions_to_rebuild
    )
),

{% else %}

event_versions as (
    select * from touched_event_versions
),

{% endif %}

{% else %}

event_versions as (
    select * from {{ ref('base_usage__event_versions') }}
),

{% endif %}

versions_ranked as (
    select
        event_versions.*,
        row_number() over (
            partition by event_versions.event_id
            order by
                event_versions.emitted_at desc,
                case when event_versions.received_status = 'in_progress' then 1 else 0 end asc,
                event_versions.ingested_at asc,
                event_versions.source_file asc,
                event_versions.source_row asc
        ) as version_rank,
        count(*) over (partition by event_versions.event_id) as versions_received,
        max(event_versions.ingested_at) over (partition by event_versions.event_id) as last_ingested_at,
        min(event_versions.ingested_at) over (partition by event_versions.event_id) as first_ingested_at
    from event_versions
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

{% if is_incremental() and incremental_overwrites_partitions() %}

select final.*
from final
where final.event_date in (select partitions_to_rebuild.event_date from partitions_to_rebuild)

{% else %}

select * from final

{% endif %}
