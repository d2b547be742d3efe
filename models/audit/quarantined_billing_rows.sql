{# Every billing export row that failed validation, with where it was and why. #}

with

quarantine as (
    select * from {{ source('billing', 'quarantine') }}
),

final as (
    select
        quarantine.file_sha256 || ':' || cast(quarantine.source_row as {{ dbt.type_string() }}) as quarantined_row_id,
        quarantine.entity,
        quarantine.source_file,
        quarantine.source_row,
        quarantine.file_sha256,
        quarantine.error_code,
        quarantine.error_field,
        quarantine.error_message,
        quarantine.errors,
        quarantine.raw_record,
        {{ to_utc_timestamp('quarantine.quarantined_at') }} as quarantined_at
    from quarantine
)

select * from final
