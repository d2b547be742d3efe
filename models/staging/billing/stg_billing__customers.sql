{#
    Every billed customer, from every billing source: the customers of the latest customers export
    (an export is a full list: the latest one replaces the ones before, which stay in the lake; a
    customer_id listed twice keeps its first row), and the Stripe customers
    (stg_stripe__customers: the latest snapshot of each). `source` says which.
#}

with

exports as (
    select * from {{ source('billing', 'customers') }}
),

latest_export as (
    select max(exports._loaded_at) as loaded_at
    from exports
),

rows_ranked as (
    select
        exports.customer_id,
        exports.customer_name,
        exports.plan_id,
        {{ to_utc_timestamp('exports.signed_up_at') }} as signed_up_at,
        exports.utm_source,
        exports.utm_medium,
        exports.utm_campaign,
        exports._source_file as source_file,
        row_number() over (partition by exports.customer_id order by exports._source_row) as row_rank
    from exports
    inner join latest_export
        on exports._loaded_at = latest_export.loaded_at
),

csv_customers as (
    select
        customer_id,
        customer_name,
        plan_id,
        signed_up_at,
        utm_source,
        utm_medium,
        utm_campaign,
        source_file,
        'csv' as source
    from rows_ranked
    where row_rank = 1
),

stripe_customers as (
    select
        customer_id,
        customer_name,
        plan_id,
        signed_up_at,
        utm_source,
        utm_medium,
        utm_campaign,
        source_file,
        'stripe' as source
    from {{ ref('stg_stripe__customers') }}
),

final as (
    select * from csv_customers
    union all
    select * from stripe_customers
)

select * from final
