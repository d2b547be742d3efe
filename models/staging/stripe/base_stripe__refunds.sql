{# The latest loaded snapshot of each Stripe refund (pending → succeeded, or failed). #}

with

snapshots as (
    select * from {{ source('stripe', 'refunds') }}
),

snapshots_ranked as (
    select
        snapshots.*,
        row_number() over (
            partition by snapshots.refund_id
            order by snapshots._loaded_at desc, snapshots._source_file desc, snapshots._source_row desc
        ) as snapshot_rank
    from snapshots
),

final as (
    select
        refund_id,
        amount,
        currency,
        status,
        {{ to_utc_timestamp('created_at') }} as created_at,
        charge_id,
        payment_intent_id
    from snapshots_ranked
    where snapshot_rank = 1
)

select * from final
