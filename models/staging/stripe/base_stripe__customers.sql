{#
    The latest loaded snapshot of each Stripe customer (a pull lands what changed; the latest
    load wins, then the later file and position). customer_id is the llm-margin customer:
    metadata.llm_margin_customer_id when set, else the Stripe id.
#}

with

snapshots as (
    select * from {{ source('stripe', 'customers') }}
),

snapshots_ranked as (
    select
        snapshots.*,
        row_number() over (
            partition by snapshots.customer_id
            order by snapshots._loaded_at desc, snapshots._source_file desc, snapshots._source_row desc
        ) as snapshot_rank
    from snapshots
),

final as (
    select
        coalesce(llm_margin_customer_id, customer_id) as customer_id,
        customer_id as stripe_customer_id,
        customer_name,
        email,
        currency,
        {{ to_utc_timestamp('created_at') }} as created_at,
        utm_source,
        utm_medium,
        utm_campaign,
        _source_file as source_file
    from snapshots_ranked
    where snapshot_rank = 1
)

select * from final
