{#
    Every Stripe object that failed validation, whole, with where it was and why
    (docs/stripe.md "Quarantine"). Objects of one list page on one JSON Lines line share the line's
    position: object_seq tells them apart.
#}

with

quarantine as (
    select * from {{ source('stripe', 'quarantine') }}
),

numbered as (
    select
        quarantine.*,
        row_number() over (
            partition by quarantine.file_sha256, quarantine.source_row
            order by quarantine.raw_record
        ) as object_seq
    from quarantine
),

final as (
    select
        numbered.file_sha256 || ':' || cast(numbered.source_row as {{ dbt.type_string() }})
            || ':' || cast(numbered.object_seq as {{ dbt.type_string() }}) as quarantined_object_id,
        numbered.entity as object_kind,
        numbered.source_file,
        numbered.source_row,
        numbered.file_sha256,
        numbered.error_code,
        numbered.error_field,
        numbered.error_message,
        numbered.errors,
        numbered.raw_record,
        {{ to_utc_timestamp('numbered.quarantined_at') }} as quarantined_at
    from numbered
)

select * from final
