{# The latest loaded snapshot of each Stripe price (unit_amount in the currency's smallest unit). #}

with

snapshots as (
    select * from {{ source('stripe', 'prices') }}
),

snapshots_ranked as (
    select
        snapshots.*,
        row_number() over (
            partition by snapshots.price_id
            order by snapshots._loaded_at desc, snapshots._source_file desc, snapshots._source_row desc
        ) as snapshot_rank
    from snapshots
),

final as (
    select
        price_id,
        product_id,
        currency,
        unit_amount,
        recurring_interval,
        recurring_interval_count,
        tax_behavior,
        cast(active as boolean) as is_active,
        {{ to_utc_timestamp('created_at') }} as created_at
    from snapshots_ranked
    where snapshot_rank = 1
)

select * from final
