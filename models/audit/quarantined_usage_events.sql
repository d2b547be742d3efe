{#
    Every usage-event record that failed validation, with where it was and why: fix the emitter
    (or the file) and drop a corrected file into landing; nothing here is ever deleted. OTLP
    lines and spans the span store could not read are here too (source_format 'otlp'): a
    record assembled from spans is named by its span's file and line, and its event id (several
    spans share a line).
#}

with

quarantine as (
    select * from {{ source('usage', 'quarantine') }}
),

otel_quarantine as (
    select * from {{ source('usage', 'otel_spans_quarantine') }}
),

records as (
    select
        file_sha256 || ':' || cast(source_row as {{ dbt.type_string() }})
        || case when source_format = 'otlp' then ':' || coalesce(event_id, '') else '' end
            as quarantined_record_id,
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
),

otel_lines_and_spans as (
    select
        file_sha256 || ':' || cast(source_row as {{ dbt.type_string() }}) || ':span:'
        || coalesce(cast(span_index as {{ dbt.type_string() }}), 'line') as quarantined_record_id,
        source_file,
        'otlp' as source_format,
        source_row,
        file_sha256,
        error_code,
        cast(null as {{ dbt.type_string() }}) as error_field,
        error_message,
        1 as error_count,
        cast(null as {{ dbt.type_string() }}) as errors,
        case when trace_id is not null and span_id is not null then trace_id || ':' || span_id end as event_id,
        cast(null as {{ dbt.type_string() }}) as customer_id,
        raw_record,
        {{ to_utc_timestamp('quarantined_at') }} as quarantined_at
    from otel_quarantine
),

final as (
    select * from records
    union all
    select * from otel_lines_and_spans
)

select * from final
