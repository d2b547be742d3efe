{# The latest loaded snapshot of each Stripe product; plan_id is metadata.llm_margin_plan_id, else the product id. #}

with

snapshots as (
    select * from {{ source('stripe', 'products') }}
),

snapshots_ranked as (
    select
        snapshots.*,
        row_number() over (
            partition by snapshots.product_id
            order by snapshots._loaded_at desc, snapshots._source_file desc, snapshots._source_row desc
        ) as snapshot_rank
    from snapshots
),

final as (
    select
        product_id,
        product_name,
        coalesce(plan_id, product_id) as plan_id,
        target_gross_margin_pct,
        cast(active as boolean) as is_active,
        {{ to_utc_timestamp('created_at') }} as created_at,
        _source_file as source_file
    from snapshots_ranked
    where snapshot_rank = 1
)

select * from final
