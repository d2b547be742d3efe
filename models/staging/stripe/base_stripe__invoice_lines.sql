{#
    The lines of each invoice's latest snapshot (base_stripe__invoices), with their service
    period as UTC calendar dates: the line serves date(period_start) <= d < date(period_end).
    Amounts stay in the smallest unit; net_amount = amount − discounts − inclusive tax
    (exclusive tax is not in `amount`).
#}

with

invoices as (
    select * from {{ ref('base_stripe__invoices') }}
),

lines as (
    select * from {{ source('stripe', 'invoice_lines') }}
),

final as (
    select
        lines.invoice_id,
        lines.line_id,
        lines.line_index,
        lines.currency,
        lines.amount,
        lines.discount_amount,
        lines.inclusive_tax_amount,
        lines.amount - lines.discount_amount - lines.inclusive_tax_amount as net_amount,
        cast({{ to_utc_timestamp('lines.period_start') }} as date) as period_start_date,
        cast({{ to_utc_timestamp('lines.period_end') }} as date) as period_end_date,
        lines.price_id,
        lines.product_id,
        cast(lines.is_proration as boolean) as is_proration,
        lines.subscription_id
    from lines
    inner join invoices
        on
            lines.invoice_id = invoices.invoice_id
            and lines._file_sha256 = invoices.snapshot_file_sha256
            and lines._source_row = invoices.snapshot_source_row
)

select * from final
