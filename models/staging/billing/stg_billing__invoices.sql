{#
    The invoices of the latest invoices export (an export is a full list: the latest one replaces the
    ones before, which stay in the lake). A invoice_id listed twice keeps its first row.
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
        exports.amount_usd,
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
        amount_usd,
        status,
        source_file
    from rows_ranked
    where row_rank = 1
)

select * from final
