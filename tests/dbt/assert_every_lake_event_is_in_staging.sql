{#
    Nothing lost, nothing counted twice: every distinct event_id in the lake is exactly one row of
    stg_usage__events, and every record version received is accounted for in versions_received.
#}

with

event_versions as (
    select * from {{ ref('base_usage__event_versions') }}
),

events as (
    select * from {{ ref('stg_usage__events') }}
),

lake_totals as (
    select
        count(distinct event_versions.event_id) as distinct_events,
        count(*) as record_versions
    from event_versions
),

staging_totals as (
    select
        count(*) as calls,
        sum(events.versions_received) as record_versions
    from events
)

select
    lake_totals.distinct_events,
    staging_totals.calls,
    lake_totals.record_versions,
    staging_totals.record_versions as staged_record_versions
from lake_totals
cross join staging_totals
where lake_totals.distinct_events <> staging_totals.calls
    or lake_totals.record_versions <> staging_totals.record_versions
