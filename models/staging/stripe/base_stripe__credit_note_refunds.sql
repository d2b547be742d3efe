{# The refunds each credit note's latest snapshot paid out: netted by the credit note, so counted once. #}

with

refunds as (
    select * from {{ source('stripe', 'credit_note_refunds') }}
),

snapshots as (
    select * from {{ ref('base_stripe__credit_note_snapshots') }}
),

final as (
    select distinct
        refunds.credit_note_id,
        refunds.refund_id
    from refunds
    inner join snapshots
        on
            refunds.credit_note_id = snapshots.credit_note_id
            and refunds._file_sha256 = snapshots.snapshot_file_sha256
            and refunds._source_row = snapshots.snapshot_source_row
)

select * from final
