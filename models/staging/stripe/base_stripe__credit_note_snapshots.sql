{# The latest loaded snapshot of each credit note, from the snapshots its lines and refunds carry. #}

with

seen as (
    select credit_note_id, _file_sha256, _source_row, _loaded_at, _source_file
    from {{ source('stripe', 'credit_note_lines') }}
    union all
    select credit_note_id, _file_sha256, _source_row, _loaded_at, _source_file
    from {{ source('stripe', 'credit_note_refunds') }}
),

snapshots as (
    select distinct credit_note_id, _file_sha256, _source_row, _loaded_at, _source_file
    from seen
),

snapshots_ranked as (
    select
        snapshots.*,
        row_number() over (
            partition by snapshots.credit_note_id
            order by snapshots._loaded_at desc, snapshots._source_file desc, snapshots._source_row desc
        ) as snapshot_rank
    from snapshots
),

final as (
    select
        credit_note_id,
        _file_sha256 as snapshot_file_sha256,
        _source_row as snapshot_source_row
    from snapshots_ranked
    where snapshot_rank = 1
)

select * from final
