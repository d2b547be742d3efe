{#
    One row per landing file content loaded, with its counts, and the reconciliation of those
    counts against what the lake and the quarantine actually hold for that file.
#}

with

file_loads as (
    select * from {{ source('usage', 'file_loads') }}
),

lake_events as (
    select * from {{ source('usage', 'events') }}
),

quarantine as (
    select * from {{ source('usage', 'quarantine') }}
),

lake_counts as (
    select
        lake_events._file_sha256 as file_sha256,
        count(*) as lake_records
    from lake_events
    group by lake_events._file_sha256
),

quarantine_counts as (
    select
        quarantine.file_sha256,
        count(*) as quarantined_records
    from quarantine
    group by quarantine.file_sha256
),

final as (
    select
        file_loads.file_sha256,
        file_loads.source_file,
        file_loads.source_format,
        file_loads.size_bytes,
        file_loads.records_read,
        file_loads.records_loaded,
        file_loads.records_quarantined,
        file_loads.first_event_date,
        file_loads.last_event_date,
        {{ to_utc_timestamp('file_loads.loaded_at') }} as loaded_at,
        coalesce(lake_counts.lake_records, 0) as lake_records,
        coalesce(quarantine_counts.quarantined_records, 0) as quarantine_records,
        file_loads.records_read = file_loads.records_loaded + file_loads.records_quarantined
        and coalesce(lake_counts.lake_records, 0) = file_loads.records_loaded
        and coalesce(quarantine_counts.quarantined_records, 0) = file_loads.records_quarantined
        as is_reconciled
    from file_loads
    left join lake_counts
        on file_loads.file_sha256 = lake_counts.file_sha256
    left join quarantine_counts
        on file_loads.file_sha256 = quarantine_counts.file_sha256
)

select * from final
