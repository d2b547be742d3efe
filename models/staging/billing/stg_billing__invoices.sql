{#
    The invoices of the latest invoices export (an export is a full list: the latest one replaces the
    ones before, which stay in the lake). An invoice_id listed twice keeps its first row. The amount
    is in the invoice's currency: `amount` with `currency`, or the older layout's `amount_usd`
    (ingestion refuses a non-USD invoice without `amount`).
#}

with

exports as (
    select * from {{ source('billing', 'invoices') }}
),

latest_export as (
    select max(exports._loaded_at) as loaded_at
    from exports
),

rows_ranked as (
    select
        exports.invoice_id,
        exports.customer_id,
        exports.invoice_month,
        exports.plan_id,
        upper(coalesce(exports.currency, 'USD')) as currency,
        cast(coalesce(exports.amount, exports.amount_usd) as decimal(24, 12)) as amount,
        exports.status,
        exports._source_file as source_file,
        row_number() over (partition by exports.invoice_id order by exports._source_row) as row_rank
    from exports
    inner join latest_export
        on exports._loaded_at = latest_export.loaded_at
),

final as (
    select
        invoice_id,
        customer_id,
        invoice_month,
        plan_id,
        currency,
        amount,
        status,
        source_file
    from rows_ranked
    where row_rank = 1
)

select * from final
