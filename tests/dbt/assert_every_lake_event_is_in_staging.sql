{#
    Nothing lost, nothing counted twice: every distinct event_id in the lake is exactly one row of
    stg_usage__events, and every record version received is accounted for in versions_received.

    On an incremental run (macros/data_test_window.sql) the same holds for the events with a
    record dated in the days the run rebuilt: their versions lie within lookback_days of each
    other (as stg_usage__events assumes), so all of them are read from lookback_days before the
    first rebuilt day; and no staging row of those days is missing from the lake. Elsewhere, the
    whole lake against the whole table.
#}

{%- set first_day = first_rebuilt_day() %}

with

{% if first_day is none %}

event_versions as (
    select * from {{ ref('base_usage__event_versions') }}
),

events as (
    select * from {{ ref('stg_usage__events') }}
),

{% else %}

events_in_window as (
    select distinct windowed_versions.event_id
    from {{ ref('base_usage__event_versions') }} as windowed_versions
    where windowed_versions.lake_event_date >= {{ first_day }}
),

event_versions as (
    select lake_versions.*
    from {{ ref('base_usage__event_versions') }} as lake_versions
    where
        lake_versions.lake_event_date >= {{ add_days(first_day, -1 * var('lookback_days')) }}
        and lake_versions.event_id in (select events_in_window.event_id from events_in_window)
),

events as (
    select staged.*
    from {{ ref('stg_usage__events') }} as staged
    where
        staged.event_id in (select events_in_window.event_id from events_in_window)
        -- a staging row of those days that no lake record of them explains is counted too
        or staged.event_date >= {{ first_day }}
),

{% endif %}

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
