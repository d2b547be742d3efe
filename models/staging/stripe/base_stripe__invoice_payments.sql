{# The payments (payment intent, charge) of each invoice's latest snapshot: what a refund is matched by. #}

with

invoices as (
    select * from {{ ref('base_stripe__invoices') }}
),

payments as (
    select * from {{ source('stripe', 'invoice_payments') }}
),

final as (
    select distinct
        payments.invoice_id,
        payments.payment_intent_id,
        payments.charge_id
    from payments
    inner join invoices
        on
            payments.invoice_id = invoices.invoice_id
            and payments._file_sha256 = invoices.snapshot_file_sha256
            and payments._source_row = invoices.snapshot_source_row
)

select * from final
