{#
    Every usage-event record that failed validation, with where it was and why: fix the emitter
    (or the file) and drop a corrected file into landing; nothing here is ever deleted.
#}

with

quarantine as (
    select * from {{ source('usage', 'quarantine') }}
),

final as (
    select
        file_sha256 || ':' || cast(source_row as {{ dbt.type_string() }}) as quarantined_record_id,
        source_file,
        source_format,
        source_row,
        file_sha256,
        error_code,
        error_field,
        error_message,
        error_count,
        errors,
        nullif(trim(event_id), '') as event_id,
        nullif(trim(customer_id), '') as customer_id,
        raw_record,
        {{ to_utc_timestamp('quarantined_at') }} as quarantined_at
    from quarantine
)

select * from final
