{#
    The items of the latest loaded snapshot of each Stripe subscription: items follow their
    subscription's snapshot (file and position), so a re-pulled subscription replaces its items
    as a whole.
#}

with

items as (
    select * from {{ source('stripe', 'subscription_items') }}
),

snapshots_ranked as (
    select
        items.subscription_id,
        items._file_sha256,
        items._source_row,
        row_number() over (
            partition by items.subscription_id
            order by max(items._loaded_at) desc, max(items._source_file) desc, items._source_row desc
        ) as snapshot_rank
    from items
    group by items.subscription_id, items._file_sha256, items._source_row
),

final as (
    select
        items.subscription_id,
        items.subscription_item_id,
        items.customer_id as stripe_customer_id,
        items.status,
        items.price_id,
        items.product_id,
        items.quantity,
        {{ to_utc_timestamp('items.current_period_start') }} as current_period_start,
        {{ to_utc_timestamp('items.current_period_end') }} as current_period_end,
        {{ to_utc_timestamp('items.created_at') }} as created_at,
        {{ to_utc_timestamp('items.ended_at') }} as ended_at
    from items
    inner join snapshots_ranked
        on
            items.subscription_id = snapshots_ranked.subscription_id
            and items._file_sha256 = snapshots_ranked._file_sha256
            and items._source_row = snapshots_ranked._source_row
            and snapshots_ranked.snapshot_rank = 1
)

select * from final
