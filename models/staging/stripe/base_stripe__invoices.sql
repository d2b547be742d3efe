{#
    The latest loaded snapshot of each Stripe invoice (open → paid → ...: the latest load wins,
    then the later file and position). snapshot_file_sha256 / snapshot_source_row name the
    snapshot, so its lines and payments are taken from the same one.
#}

with

snapshots as (
    select * from {{ source('stripe', 'invoices') }}
),

snapshots_ranked as (
    select
        snapshots.*,
        row_number() over (
            partition by snapshots.invoice_id
            order by snapshots._loaded_at desc, snapshots._source_file desc, snapshots._source_row desc
        ) as snapshot_rank
    from snapshots
),

final as (
    select
        invoice_id,
        invoice_number,
        customer_id as stripe_customer_id,
        currency,
        status,
        {{ to_utc_timestamp('created_at') }} as created_at,
        total,
        total_excluding_tax,
        amount_paid,
        subscription_id,
        _file_sha256 as snapshot_file_sha256,
        _source_row as snapshot_source_row,
        _source_file as source_file
    from snapshots_ranked
    where snapshot_rank = 1
)

select * from final
